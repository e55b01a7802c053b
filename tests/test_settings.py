"""The settings object: where each value comes from, and that the suite itself is hermetic."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from paperscope.settings import Settings


def test_the_config_file_is_the_one_in_the_data_directory_given(tmp_path, monkeypatch):
    shell_dir, given_dir = tmp_path / "shell", tmp_path / "given"
    for folder, port in ((shell_dir, 7001), (given_dir, 7002)):
        folder.mkdir()
        (folder / "paperscope.toml").write_text(f"port = {port}\n")
    monkeypatch.setenv("PAPERSCOPE_DATA_DIR", str(shell_dir))

    assert Settings().port == 7001
    assert Settings(data_dir=given_dir).port == 7002  # not the shell's file
    assert Settings(data_dir=given_dir, port=7003).port == 7003  # arguments win


def test_environment_beats_the_file_and_the_file_beats_defaults(tmp_path, monkeypatch):
    (tmp_path / "paperscope.toml").write_text('host = "0.0.0.0"\nport = 7004\n')
    monkeypatch.setenv("PAPERSCOPE_PORT", "7005")
    settings = Settings(data_dir=tmp_path)
    assert (settings.host, settings.port) == ("0.0.0.0", 7005)
    monkeypatch.setenv("PAPERSCOPE_CONFIG", str(tmp_path / "elsewhere.toml"))
    assert Settings(data_dir=tmp_path).host == "127.0.0.1"  # that file does not exist


def test_the_suite_ignores_the_shells_paperscope_variables(backend, database_url):
    """tests/conftest.py drops every PAPERSCOPE_* a developer exported (a database URL
    above all) and gives each test a data directory of its own (and on the PostgreSQL run a
    database of its own)."""
    if backend == "postgresql":
        assert os.environ.pop("PAPERSCOPE_DATABASE_URL") == database_url
    leaked = {
        name
        for name in os.environ
        if name.startswith("PAPERSCOPE_")
        and name
        not in {
            "PAPERSCOPE_DATA_DIR",
            "PAPERSCOPE_MODELS_DIR",
            "PAPERSCOPE_REQUIRE_BROWSER",
            "PAPERSCOPE_ARTIFACTS",
        }
    }
    assert not leaked
    settings = Settings()
    assert settings.database_url is None
    assert Path(os.environ["PAPERSCOPE_DATA_DIR"]).parent.name.startswith("test_the_suite_ignores")


@pytest.mark.parametrize("port", ["-1", "70000"])
def test_settings_out_of_range_are_refused(monkeypatch, port):
    monkeypatch.setenv("PAPERSCOPE_PORT", port)
    with pytest.raises(ValueError, match="port"):
        Settings()


def test_every_setting_is_documented_and_read():
    """Like Datasette's tests/test_docs.py: a setting the README leaves out, or that nothing
    in the package reads, fails here."""
    from paperscope.settings import SETTINGS

    root = Path(__file__).resolve().parents[1]
    readme = root / "README.md"
    documented = set(re.findall(r"`(PAPERSCOPE_[A-Z0-9_]+)`", readme.read_text()))
    missing = [setting.env for setting in SETTINGS if setting.env not in documented]
    assert not missing, f"settings missing from README.md's Configuration table: {missing}"

    sources = "\n".join(path.read_text() for path in (root / "src" / "paperscope").rglob("*.py"))
    unread = [s.name for s in SETTINGS if not re.search(rf"\.{s.name}\b", sources)]
    assert not unread, f"settings nothing in src/paperscope reads: {unread}"
    assert all(setting.help for setting in SETTINGS)
