"""`paperscope serve`: several workers, each on its own socket of one port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from paperscope.store import open_store
from paperscope.web.serve import CannotListen, answers, listening_sockets


def test_sockets_of_one_port_share_its_connections():
    sockets = listening_sockets("127.0.0.1", 0, 3)
    try:
        ports = {sock.getsockname()[1] for sock in sockets}
        assert len(ports) == 1
        port = ports.pop()
        for sock in sockets:
            sock.listen(64)
            sock.setblocking(False)
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(30)]
        time.sleep(0.1)
        accepted = []
        for sock in sockets:
            count = 0
            while True:
                try:
                    conn, _ = sock.accept()
                except BlockingIOError:
                    break
                conn.close()
                count += 1
            accepted.append(count)
        # The kernel spreads connections over the sockets: a shared socket would give one
        # worker all 30. All 30 on one of 3 sockets by chance: 3 * (1/3)**30.
        assert sum(accepted) == 30
        assert max(accepted) < 30
        for client in clients:
            client.close()
    finally:
        for sock in sockets:
            sock.close()


def test_a_port_that_answers_is_refused_and_a_bad_host_says_so():
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert answers("127.0.0.1", port)
        assert answers("0.0.0.0", port)
    assert not answers("127.0.0.1", port)
    with pytest.raises(CannotListen, match=r"cannot listen on no-such-host\.invalid"):
        listening_sockets("no-such-host.invalid", 0, 2)
    assert not answers("no-such-host.invalid", port)


def test_localhost_listens_where_clients_of_127_0_0_1_connect():
    # Like uvicorn: a name is bound as IPv4, never as ::1 alone.
    sockets = listening_sockets("localhost", 0, 2)
    try:
        assert {sock.getsockname()[0] for sock in sockets} == {"127.0.0.1"}
    finally:
        for sock in sockets:
            sock.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening_sockets_on(port: int) -> int:
    """LISTEN entries for the port in the kernel's table (one per socket)."""
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(
        1 for line in lines if line.split()[1].endswith(f":{port:04X}") and line.split()[3] == "0A"
    )


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux's /proc")
def test_serve_runs_workers_on_their_own_sockets_and_refuses_a_taken_port(web_settings):
    port = _free_port()
    env = os.environ | {
        "PAPERSCOPE_DATA_DIR": str(web_settings.data_dir),
        "PAPERSCOPE_DATABASE_URL": web_settings.effective_database_url,
        "PAPERSCOPE_MODELS_DIR": str(web_settings.models_dir),
    }
    command = [sys.executable, "-m", "paperscope", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port)]
    server = subprocess.Popen(
        [*command, "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        # Each worker listens on its socket once its start-up is done; the first to finish
        # answers while the other may still be loading the model.
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, server.stdout.read().decode()
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                if health.status_code == 200 and _listening_sockets_on(port) == 2:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "two workers did not listen within 90 s"
            time.sleep(0.25)
        store = open_store(web_settings)
        papers = store.papers.count()
        store.engine.dispose()
        answered = health.json()
        # Where this worker's keyword index came from: its own, built by it or by the other
        # worker first (no snapshot folder is set).
        assert answered.pop("keyword_index")["from"] in {"this node", "built here"}
        assert answered == {
            "ok": True,
            "semantic": True,
            "papers": papers,
            "embedded": papers,
        }
        # Every connection gets answered, whichever worker's socket it lands on.
        for _ in range(10):
            with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
                assert client.get("/search", params={"q": "segmentation"}).status_code == 200
        assert _listening_sockets_on(port) == 2

        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode != 0
        assert f"something already listens on 127.0.0.1:{port}" in second.stderr
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
    assert _listening_sockets_on(port) == 0
