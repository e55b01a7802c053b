"""Running the web app under uvicorn: ``serve(settings, host, port, workers)``.

With several workers, each gets its own listening socket on the same port (SO_REUSEPORT),
so the kernel spreads new connections over them by address hash. uvicorn's own
multi-worker mode shares one socket, and the first worker to wake accepts a whole burst of
connections: under 50 keep-alive clients one worker was seen holding 41 of them and the
other 9.
"""

from __future__ import annotations

import copy
import os
import shutil
import socket
from typing import Any

import uvicorn
from uvicorn.supervisors.multiprocess import Multiprocess, Process

from paperscope.errors import Unavailable
from paperscope.settings import LOOPBACK_HOSTS, Settings
from paperscope.store import open_store

APP = "paperscope.web.app:create_app"


class CannotListen(Unavailable, RuntimeError):
    pass


def serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    """Serve until interrupted (SIGINT/SIGTERM). Raises CannotListen before touching anything
    when host:port already answers."""
    if port and answers(host, port):
        raise CannotListen(f"something already listens on {host}:{port}")
    # Fail before listening if the schema is not current (`paperscope migrate` makes it so).
    open_store(settings, migrate_schema=False).engine.dispose()
    # A fresh server starts with an empty page cache (its workers share it on disk).
    shutil.rmtree(settings.data_dir / "cache" / "pages", ignore_errors=True)
    # The app (in each worker) reads its settings from the environment: it must know where it
    # listens (sign-in links of a loopback server without mail are built on it, and a server
    # listening beyond loopback never prints them).
    os.environ["PAPERSCOPE_HOST"], os.environ["PAPERSCOPE_PORT"] = host, str(port)
    if settings.encoder_threads is None and workers > 1:
        # Workers are separate processes that read settings from the environment.
        os.environ["PAPERSCOPE_ENCODER_THREADS"] = str(max(1, (os.cpu_count() or 1) // workers))
    options: dict[str, Any] = {"host": host, "port": port, "workers": workers, "factory": True}
    # uvicorn's own access log and proxy-header handling are off: the app has both
    # (web/access_log.py, and ProxyHeadersMiddleware with `forwarded_allow_ips`).
    options |= {"log_level": "warning", "access_log": False, "proxy_headers": False}
    options["log_config"] = log_config(settings.access_log)
    if workers == 1 or not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.run(APP, **options)
        return
    sockets = listening_sockets(host, port, workers)
    try:
        BalancedWorkers(uvicorn.Config(APP, **options), sockets).run()
    finally:
        for sock in sockets:
            sock.close()


def log_config(access_log: bool) -> dict:
    """uvicorn's logging set-up (applied in every worker) plus paperscope's access log."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["formatters"]["line"] = {"format": "%(message)s"}
    config["handlers"]["access_lines"] = {
        "class": "logging.StreamHandler",
        "formatter": "line",
        "stream": "ext://sys.stdout",
    }
    # Where the keyword index came from at start (a snapshot, refused ones and why).
    config["loggers"]["paperscope.search"] = {
        "handlers": ["default"],
        "level": "INFO",
        "propagate": False,
    }
    config["loggers"]["paperscope.access"] = {
        "handlers": ["access_lines"],
        "level": "INFO" if access_log else "WARNING",
        "propagate": False,
    }
    return config


def exposure_warning(settings: Settings, host: str) -> str | None:
    """What to say when a server others can reach would refuse them (or mislink them)."""
    if host in LOOPBACK_HOSTS or host.startswith("127.") or settings.public_url:
        return None
    if set(settings.allowed_hosts) <= set(LOOPBACK_HOSTS):
        return (
            f"listening on {host}, but only requests naming {', '.join(LOOPBACK_HOSTS)} are "
            "answered: set PAPERSCOPE_PUBLIC_URL (the address readers use) or "
            "PAPERSCOPE_ALLOWED_HOSTS"
        )
    return None


def listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """`count` sockets bound to host:port with SO_REUSEPORT (port 0: one free port)."""
    family, address = _family(host), (host, port)
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind(address)
            sock.set_inheritable(True)
            address = sock.getsockname()  # port 0: the others take the port the first got
    except OSError as error:
        for sock in sockets:
            sock.close()
        raise CannotListen(f"cannot listen on {host}:{port}: {error.strerror}") from error
    return sockets


def answers(host: str, port: int) -> bool:
    """Whether a server accepts connections at host:port (for a wildcard host, on the
    loopback interface). SO_REUSEPORT would let a second paperscope on the same port join
    the first's group and take a share of its connections: this is asked first."""
    family = _family(host)
    if host in ("", "0.0.0.0", "::"):
        host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            return probe.connect_ex((host, port)) == 0
        except socket.gaierror:
            return False  # a host that does not resolve: binding it will say so


def _family(host: str) -> socket.AddressFamily:
    # As uvicorn decides it: an IPv6 address has a colon, anything else is IPv4.
    return socket.AF_INET6 if ":" in host else socket.AF_INET


class BalancedWorkers(Multiprocess):
    """uvicorn's worker supervisor (health checks, restarts, signals), but worker i listens
    on socket i only. A worker started again after a crash listens on all of them: that
    keeps every socket served, at the cost of a less even spread until the next start."""

    def init_processes(self) -> None:
        for sock in self.sockets:
            process = Process(self.config, [sock])
            process.start()
            self.processes.append(process)
