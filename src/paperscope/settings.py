"""The one typed settings object, read from the environment and an optional TOML file.

Precedence, highest first: keyword arguments, ``PAPERSCOPE_*`` environment variables,
the TOML file named by ``PAPERSCOPE_CONFIG`` (or ``paperscope.toml`` in the data
directory), then the defaults below.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("paperscope", appauthor=False))


def _config_file() -> Path:
    explicit = os.environ.get("PAPERSCOPE_CONFIG")
    if explicit:
        return Path(explicit)
    data_dir = os.environ.get("PAPERSCOPE_DATA_DIR")
    return (Path(data_dir) if data_dir else _default_data_dir()) / "paperscope.toml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAPERSCOPE_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: a SQLite file in the data directory."
    )

    # arXiv sources. The defaults are arXiv's documented endpoints; tests point them at 127.0.0.1.
    arxiv_oai_url: str = "https://oaipmh.arxiv.org/oai"
    arxiv_api_url: str = "https://export.arxiv.org/api/query"
    # arXiv asks for one request every 3 seconds from harvesters.
    arxiv_request_delay_s: float = Field(default=3.0, ge=0)
    arxiv_max_retries: int = Field(default=5, ge=0)
    arxiv_max_retry_after_s: float = Field(default=600.0, ge=0)
    http_timeout_s: float = Field(default=60.0, gt=0)
    user_agent: str = "paperscope/0.1 (+https://github.com/paperscope/paperscope)"

    ingest_batch_size: int = Field(default=2000, ge=1)

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'paperscope.db'}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_file())
        return (init_settings, env_settings, toml)
