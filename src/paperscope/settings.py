"""The one typed settings object, read from the environment and an optional TOML file.

Precedence, highest first: keyword arguments, ``PAPERSCOPE_*`` environment variables,
the TOML file named by ``PAPERSCOPE_CONFIG`` (or ``paperscope.toml`` in the data
directory), then the defaults below.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import platformdirs
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("paperscope", appauthor=False))


def _config_file(data_dir: object = None) -> Path:
    """PAPERSCOPE_CONFIG, else paperscope.toml in the data directory the settings will
    have: the one given as an argument first, as for every other setting."""
    explicit = os.environ.get("PAPERSCOPE_CONFIG")
    if explicit:
        return Path(explicit)
    data_dir = data_dir or os.environ.get("PAPERSCOPE_DATA_DIR")
    return (Path(data_dir).expanduser() if data_dir else _default_data_dir()) / "paperscope.toml"


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

    models_dir: Path | None = Field(
        default=None,  # filled in from data_dir below
        description="Where embedding models are installed; default: models/ in the data dir.",
    )

    # Search. Fusion defaults were chosen on SciFact train (README, "Search quality").
    embedding_model: str = Field(
        default="minilm", description="Packaged model name, or a directory with an ONNX model."
    )
    vector_index: Literal["auto", "exact", "hnsw"] = "auto"
    # Stored vectors are always computed in float32 (the same on every machine). Queries too
    # by default; "fast" computes them in bfloat16 on a CPU that has it: about a third less
    # time a query, but a host with bfloat16 then orders some results unlike one without.
    query_precision: Literal["exact", "fast"] = "exact"
    # Threads the embedding model may use (default: every core). `paperscope serve` with
    # several workers gives each its share, so workers do not fight over cores.
    encoder_threads: int | None = Field(default=None, ge=1, le=256)
    fusion: Literal["convex", "rrf"] = "convex"
    fusion_alpha: float = Field(default=0.45, ge=0, le=1, description="Weight of the dense side.")
    rrf_k: float = Field(default=60.0, gt=0)
    fusion_candidates: int = Field(default=100, ge=10, le=1000)
    # A query no paper shares a word with matches nothing unless some paper's cosine to it
    # reaches this (gibberish has nearest neighbours too). On SciFact's 5,183 documents the
    # best cosine of 1,108 of its 1,109 queries is above 0.3 (and every one shares a word
    # with some document), that of 90% of 420 random letter strings below.
    min_similarity: float = Field(default=0.3, ge=-1, le=1)
    # `paperscope ingest` embeds new papers itself only when there are at most this many;
    # more (a first bulk load) is left to `paperscope index`, which says so.
    embed_on_ingest_max: int = Field(default=5_000, ge=0)
    # How often `paperscope index` writes where it stands when its output is no terminal.
    progress_log_every_s: float = Field(default=10.0, gt=0, le=3600)
    similar_method: Literal["plain", "csls"] = "csls"
    similar_candidates: int = Field(default=100, ge=10, le=1000)

    # Trending: score = (upvotes + 1) / (hours since published + 2) ** gravity, over the
    # papers of the last `trending_window_days` days the store holds.
    trending_window_days: int = Field(default=7, ge=1, le=90)
    trending_gravity: float = Field(default=1.5, ge=0, le=5)

    # Web server (`paperscope serve`).
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    # Every absolute link (feeds, later sign-in and unsubscribe mail) is built on this, never
    # on a request's Host header. Unset: on the request's own address, which must then be
    # one of `allowed_hosts`.
    public_url: str | None = Field(
        default=None, description="Absolute base URL for links, e.g. https://papers.example"
    )
    # Host names a request may name (Host header); others get 400. The public URL's host is
    # always allowed. "*.example.org" matches subdomains; "*" allows any (not behind a proxy!).
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(LOOPBACK_HOSTS)
    )
    # Clients whose X-Forwarded-For/-Proto are believed (uvicorn's forwarded_allow_ips):
    # addresses or networks, comma-separated; "*" trusts everyone.
    forwarded_allow_ips: str = "127.0.0.1"
    # One JSON line per request on stdout (web/access_log.py), from `paperscope serve`.
    access_log: bool = True
    # Limits on what a request may send; beyond them it gets a 4xx saying which.
    max_request_body_bytes: int = Field(default=1_000_000, ge=1_000, le=100_000_000)
    # 16 KiB: a query of the longest allowed (1,000 characters) fits even percent-encoded.
    max_url_chars: int = Field(default=16_384, ge=256, le=65_536)
    # Rendered pages and API answers are kept this long per server process (0: never);
    # a change to the indexes drops them at once.
    page_cache_s: float = Field(default=60.0, ge=0, le=3600)
    # Requests one server process works on at once; later ones wait in arrival order (0: no
    # limit). See web/admission.py.
    max_concurrent_requests: int = Field(default=2, ge=0, le=1000)
    # A pipeline may push papers with PUT /api/papers/{id} and this bearer token (unset: off).
    ingest_token: SecretStr | None = Field(default=None, min_length=16)
    # The "papers in your inbox" box on every page (digests: paperscope digest send).
    subscriptions_enabled: bool = True

    # Email (sign-in links, later digests): one SMTP server. No host: no mail; a server bound
    # to loopback then prints sign-in links on its console instead (one person, at once).
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_s: float = Field(default=30.0, gt=0)
    mail_from: str = "paperscope <paperscope@localhost>"
    # DKIM: a PEM private key file and its selector sign every message (domain: the From's).
    dkim_private_key: Path | None = None
    dkim_selector: str | None = None
    dkim_domain: str | None = None

    # Digests.
    digest_max_papers: int = Field(default=10, ge=1, le=100)
    digest_lease_s: float = Field(default=120.0, gt=0)
    digest_batch: int = Field(default=100, ge=1, le=10_000)
    digest_retry_s: float = Field(default=300.0, ge=0)  # first back-off; doubles each try
    digest_max_attempts: int = Field(default=6, ge=1)

    # Accounts: sign in with a one-time link (no passwords).
    sign_in_link_minutes: int = Field(default=15, ge=1, le=24 * 60)
    session_days: int = Field(default=30, ge=1, le=365)
    # Anyone with an address may join (the first link signs them up); False: only
    # addresses `paperscope users add` made (others get the same answer, and no mail).
    open_signup: bool = True
    # Signs CSRF tokens. Unset: a key made once and kept in the database (every server
    # shares it); set it to rotate.
    secret_key: SecretStr | None = Field(default=None, min_length=16)

    # Community, with Hugging Face's defaults.
    submission_max_age_days: int = Field(default=7, ge=1, le=3650)
    submissions_per_day: int = Field(default=5, ge=1, le=1000)
    # A paper this paperscope lacks is fetched from arXiv off the request path: each try
    # waits at most this long for an answer, and one arXiv has not answered for
    # `submission_fetch_give_up_s` fails with a reason the member sees.
    submission_fetch_timeout_s: float = Field(default=10.0, gt=0, le=120)
    submission_fetch_give_up_s: float = Field(default=1800.0, gt=0)
    comment_max_chars: int = Field(default=10_000, ge=100, le=100_000)
    # Rate limits, per member (per address and per client for sign-in links), held in
    # the database so that they hold across app servers.
    sign_in_requests_per_hour: int = Field(default=5, ge=1)
    sign_in_requests_per_hour_per_client: int = Field(default=30, ge=1)
    votes_per_minute: int = Field(default=60, ge=1)
    comments_per_hour: int = Field(default=30, ge=1)
    submissions_per_hour: int = Field(default=20, ge=1)

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):  # from the environment: "papers.example, localhost"
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _check_hosts(cls, hosts: list[str]) -> list[str]:
        for host in hosts:
            if "*" in host[1:] or (host.startswith("*") and host != "*" and host[1:2] != "."):
                raise ValueError(f"allowed host {host!r}: a wildcard is '*' or '*.example.org'")
        return [host.lower().strip("[]") for host in hosts]

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, url: str | None) -> str | None:
        if not url:
            return None
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"public_url {url!r}: give an absolute http(s) URL")
        if parts.query or parts.fragment:
            raise ValueError(f"public_url {url!r}: no query or fragment")
        return url.strip().rstrip("/")

    @property
    def trusted_hosts(self) -> list[str]:
        """Host names requests may carry: `allowed_hosts` and the public URL's host."""
        hosts = list(self.allowed_hosts)
        if self.public_url:
            hosts.append(urlsplit(self.public_url).hostname or "")
        return list(dict.fromkeys(hosts))

    @model_validator(mode="after")
    def _default_models_dir(self) -> Settings:
        if self.models_dir is None:
            self.models_dir = self.data_dir / "models"
        return self

    @property
    def smtp_configured(self) -> bool:
        return bool(self.smtp_host)

    @property
    def link_base(self) -> str | None:
        """What links in mail start with: the public URL; on loopback without one, the
        server's own address; else None (mail with links cannot be sent)."""
        if self.public_url:
            return self.public_url
        if self.host in LOOPBACK_HOSTS:
            host = f"[{self.host}]" if ":" in self.host else self.host
            return f"http://{host}:{self.port}"
        return None

    @property
    def mail_delivery(self) -> str | None:
        """How mailed links (sign-in, digest confirmation) reach people: "mail", "console"
        (no SMTP host, a server on loopback: printed for the one person using it) or None
        (they cannot: no mail, or no address to build links on)."""
        if self.link_base is None:
            return None
        if self.smtp_configured:
            return "mail"
        return "console" if self.host in LOOPBACK_HOSTS else None

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

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
        given = getattr(init_settings, "init_kwargs", {}).get("data_dir")
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_file(given))
        return (init_settings, env_settings, toml)
