"""Migrations run once, by `paperscope migrate`, under a lock; servers only check."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import text

from paperscope.settings import Settings
from paperscope.store import SchemaOutOfDate, create_database_engine, open_store
from paperscope.store.database import schema_revisions


def paperscope(database_url: str, *args: str, wait: bool = True):
    env = os.environ | {"PAPERSCOPE_DATABASE_URL": database_url}
    command = [sys.executable, "-m", "paperscope", *args]
    if not wait:
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_serve_refuses_a_database_without_the_schema_and_says_what_to_run(
    empty_database_url, tmp_path
):
    settings = Settings(data_dir=tmp_path / "data", database_url=empty_database_url)
    try:
        open_store(settings, migrate_schema=False)
    except SchemaOutOfDate as error:
        assert "paperscope migrate" in str(error)
    else:
        raise AssertionError("a store without a schema was opened for serving")
    served = paperscope(empty_database_url, "serve", "--port", "0")
    assert served.returncode == 1
    assert "no paperscope schema yet: run `paperscope migrate`" in served.stderr


def test_migrate_applies_the_schema_once_however_many_run_at_once(empty_database_url):
    runs = [paperscope(empty_database_url, "migrate", wait=False) for _ in range(4)]
    outcomes = [(run.wait(120), run.stderr.read().decode()) for run in runs]
    assert all(code == 0 for code, _ in outcomes), outcomes
    upgraded = [err for _, err in outcomes if "schema upgraded" in err]
    assert len(upgraded) == 1, outcomes  # the others found it done when they got the lock
    engine = create_database_engine(empty_database_url)
    current, head = schema_revisions(engine)
    assert current == head
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    engine.dispose()
    again = paperscope(empty_database_url, "migrate")
    assert again.returncode == 0 and "already current" in again.stderr
