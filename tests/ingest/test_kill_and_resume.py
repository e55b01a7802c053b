"""An ingest killed with SIGKILL midway, then run again, ends exactly like an uninterrupted one."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

from tests.conftest import DEMO_CORPUS

TABLES = {
    "papers": "id",
    "paper_authors": "paper_id, position",
    "paper_categories": "paper_id, category",
    "harvest_state": "source",
}


def run_ingest(data_dir, *extra, wait=True):
    env = os.environ | {
        "PAPERSCOPE_DATA_DIR": str(data_dir),
        "PAPERSCOPE_INGEST_BATCH_SIZE": "50",
    }
    command = [sys.executable, "-m", "paperscope", "ingest", str(DEMO_CORPUS), "--no-index", *extra]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if wait:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr.decode()
    return process


def count_papers(database):
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as connection:
            return connection.execute("SELECT count(*) FROM papers").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def dump(database):
    with sqlite3.connect(database) as connection:
        return {
            table: connection.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()
            for table, order in TABLES.items()
        }


def test_sigkill_midway_then_rerun_equals_an_uninterrupted_run(tmp_path):
    reference_dir, killed_dir = tmp_path / "reference", tmp_path / "killed"
    run_ingest(reference_dir)
    reference = dump(reference_dir / "paperscope.db")
    total = len(reference["papers"])
    assert total > 3000

    process = run_ingest(killed_dir, wait=False)
    deadline = time.monotonic() + 120
    while count_papers(killed_dir / "paperscope.db") < total // 4:
        assert process.poll() is None, "ingest finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = count_papers(killed_dir / "paperscope.db")
    assert 0 < partial < total, "the kill must land midway for this test to mean anything"

    run_ingest(killed_dir)
    assert dump(killed_dir / "paperscope.db") == reference
