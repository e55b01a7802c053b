"""An ingest killed with SIGKILL midway, then run again, ends exactly like an uninterrupted one."""

import os
import signal
import subprocess
import sys
import time

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from tests.conftest import DEMO_CORPUS

TABLES = {
    "papers": "id",
    "paper_authors": "paper_id, position",
    "paper_categories": "paper_id, category",
    "harvest_state": "source",
}


def run_ingest(data_dir, database, *extra, wait=True):
    env = os.environ | {
        "PAPERSCOPE_DATA_DIR": str(data_dir),
        "PAPERSCOPE_DATABASE_URL": database,
        "PAPERSCOPE_INGEST_BATCH_SIZE": "50",
    }
    command = [sys.executable, "-m", "paperscope", "ingest", str(DEMO_CORPUS), "--no-index", *extra]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if wait:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr.decode()
    return process


def count_papers(engine):
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM papers")).scalar()
    except (OperationalError, ProgrammingError):  # not created yet
        return 0


def dump(engine):
    with engine.connect() as connection:
        return {
            table: connection.execute(text(f"SELECT * FROM {table} ORDER BY {order}")).all()
            for table, order in TABLES.items()
        }


def database_for(directory, new_database):
    """Each run's own database: a file in its data directory, or a PostgreSQL database."""
    return new_database() or f"sqlite:///{directory / 'paperscope.db'}"


def test_sigkill_midway_then_rerun_equals_an_uninterrupted_run(tmp_path, new_database):
    reference_dir, killed_dir = tmp_path / "reference", tmp_path / "killed"
    reference_url = database_for(reference_dir, new_database)
    killed_url = database_for(killed_dir, new_database)
    run_ingest(reference_dir, reference_url)
    reference_db, killed_db = create_engine(reference_url), create_engine(killed_url)
    reference = dump(reference_db)
    total = len(reference["papers"])
    assert total > 3000

    process = run_ingest(killed_dir, killed_url, wait=False)
    deadline = time.monotonic() + 120
    while count_papers(killed_db) < total // 4:
        assert process.poll() is None, process.communicate()[1].decode()[-2000:]
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = count_papers(killed_db)
    assert 0 < partial < total, "the kill must land midway for this test to mean anything"

    run_ingest(killed_dir, killed_url)
    assert dump(killed_db) == reference
    reference_db.dispose()
    killed_db.dispose()
