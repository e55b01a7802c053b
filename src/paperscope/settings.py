"""The one typed settings object, read from the environment and an optional TOML file.

Precedence, highest first: keyword arguments, ``PAPERSCOPE_*`` environment variables,
the TOML file named by ``PAPERSCOPE_CONFIG`` (or ``paperscope.toml`` in the data
directory), then the defaults below.

Settings are grouped by concern, one class a group, each field with its default and its
help; ``Settings`` is all of them together (``settings.smtp_host``), and ``SETTINGS`` the
table of every one as (group, name, default, help), as Datasette's ``SETTINGS``. The README
documents each (tests/test_settings.py checks that, and that each is read somewhere).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
DIGEST_MAX_PAPERS = 10  # a new subscriber's papers an email, until they choose


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("paperscope", appauthor=False))


def _config_file(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """PAPERSCOPE_CONFIG, else paperscope.toml in the data directory the settings will
    have: the one given as an argument first, as for every other setting."""
    explicit = os.environ.get("PAPERSCOPE_CONFIG")
    if explicit:
        return Path(explicit)
    data_dir = data_dir or os.environ.get("PAPERSCOPE_DATA_DIR")
    return (Path(data_dir).expanduser() if data_dir else _default_data_dir()) / "paperscope.toml"


class _Group(BaseModel):
    """A group of settings: each field's help is the docstring under it."""

    model_config = ConfigDict(use_attribute_docstrings=True)


class StorageSettings(_Group):
    """Where paperscope keeps its state."""

    data_dir: Path = Field(default_factory=_default_data_dir)
    """where the database, indexes and caches live (default: the per-user data dir)"""
    database_url: str | None = Field(None)
    """SQLite (default: a file in the data dir), or PostgreSQL with pgvector
    (postgresql+psycopg://user:password@host/db)"""

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()


class IngestSettings(_Group):
    """Papers in: arXiv's endpoints (tests point them at 127.0.0.1) and how to ask them."""

    arxiv_oai_url: str = Field("https://oaipmh.arxiv.org/oai")
    """arXiv's OAI-PMH endpoint"""
    arxiv_api_url: str = Field("https://export.arxiv.org/api/query")
    """the arXiv API's endpoint"""
    # arXiv asks for one request every 3 seconds from harvesters.
    arxiv_request_delay_s: float = Field(3.0, ge=0)
    """pause between requests to arXiv"""
    arxiv_max_retries: int = Field(5, ge=0)
    """tries again after a 429, a 5xx or a broken connection"""
    arxiv_max_retry_after_s: float = Field(600.0, ge=0)
    """longest wait between tries (a longer Retry-After is cut to it)"""
    http_timeout_s: float = Field(60.0, gt=0)
    """wait for an answer from arXiv"""
    user_agent: str = Field("paperscope/0.1 (+https://github.com/paperscope/paperscope)")
    """how requests to arXiv introduce themselves"""
    ingest_batch_size: int = Field(2000, ge=1)
    """papers per transaction"""
    ingest_token: SecretStr | None = Field(None, min_length=16)
    """bearer token for PUT /api/papers/{id} (pushing papers); unset: off"""
    # More (a first bulk load) is left to `paperscope index`, which says so.
    embed_on_ingest_max: int = Field(5_000, ge=0)
    """ingest embeds new papers itself only up to this many"""
    progress_log_every_s: float = Field(10.0, gt=0, le=3600)
    """how often paperscope index reports progress when not on a terminal"""


class SearchSettings(_Group):
    """Finding papers. Fusion defaults were chosen on SciFact train (README, "Search quality")."""

    # Unset: filled in from data_dir by Settings.
    models_dir: Path | None = Field(None)
    """where paperscope models install puts the embedding model (default: models/ in the data
    dir)"""
    embedding_model: str = Field("minilm")
    """minilm, potion, or a folder with model.onnx + tokenizer.json (or a model2vec model)"""
    # Part of the stored vectors' model name: changing it re-embeds every paper at the next
    # `paperscope index` (dense search covers only papers embedded with it until then).
    embedding_weights: Literal["float32", "int8"] = Field("float32")
    """minilm's weights: float32 (the same vectors on every machine; needed to embed on a GPU)
    or int8 (quantised, 1.4-1.9x the papers/s on CPU, SciFact nDCG@10 within 0.005)"""
    vector_index: Literal["auto", "exact", "hnsw"] = Field("auto")
    """exact, hnsw, or auto (HNSW from 20k papers)"""
    # Stored vectors are always float32 (the same on every machine); "fast" queries run in
    # bfloat16 where the CPU has it, and such a host then orders some results unlike others.
    query_precision: Literal["exact", "fast"] = Field("exact")
    """exact (float32) or fast (OpenVINO bfloat16) query vectors"""
    # Queries only: the stored vectors stay as embedding_weights made them, so this can change
    # at any time without re-embedding. On SciFact, int8 queries against float32 papers:
    # nDCG@10 dense 0.6482 / hybrid 0.7143 against 0.6484 / 0.7133.
    query_weights: Literal["float32", "int8"] | None = Field(None)
    """minilm's weights for queries (default: embedding_weights'); int8 embeds a query about
    twice as fast on a CPU, against papers embedded in float32"""
    # `paperscope serve` with several workers gives each its share, so they do not fight.
    encoder_threads: int | None = Field(None, ge=1, le=256)
    """threads the embedding model may use (all cores)"""
    # On two busy cores a process per core embedded 0.9x to 1.8x the papers/s of one process
    # with two threads, depending on the load: an option, measured with bench/encoder.py.
    embed_processes: int = Field(1, ge=1, le=256)
    """processes that embed papers in bulk (paperscope index), one thread each; 1: this
    process, with encoder_threads threads"""
    fusion: Literal["convex", "rrf"] = Field("convex")
    """how hybrid search fuses: convex or rrf"""
    fusion_alpha: float = Field(0.45, ge=0, le=1)
    """the semantic side's weight in convex fusion"""
    rrf_k: float = Field(60.0, gt=0)
    """reciprocal rank fusion's k"""
    fusion_candidates: int = Field(100, ge=10, le=1000)
    """results each side offers to fusion"""
    # Gibberish has nearest neighbours too. On SciFact the best cosine of 1,108 of its 1,109
    # queries is above 0.3, that of 90% of 420 random letter strings below.
    min_similarity: float = Field(0.3, ge=-1, le=1)
    """a query sharing no word with any paper finds only papers this close"""
    similar_method: Literal["plain", "csls"] = Field("csls")
    """similar papers by plain cosine or hubness-reduced (csls)"""
    similar_candidates: int = Field(100, ge=10, le=1000)
    """nearest papers re-ranked for similar papers"""
    # A new node copies the newest snapshot instead of indexing every paper (50 minutes at
    # 2.7M), then indexes only what changed since.
    lexical_snapshot_dir: Path | None = Field(None)
    """a folder every node can read (shared storage): indexers publish the keyword index there,
    a server without one starts from it; unset: off"""
    lexical_snapshot_every_s: float = Field(3600.0, ge=0)
    """an indexer publishes a new keyword index snapshot at most this often"""


class WebSettings(_Group):
    """`paperscope serve`: where, for whom, and within which limits."""

    host: str = Field("127.0.0.1")
    """the address serve listens on"""
    port: int = Field(8000, ge=0, le=65535)
    """the port serve listens on"""
    workers: int = Field(1, ge=1, le=64)
    """server processes"""
    # Never a request's Host header: unset, links use the request's own address, which must
    # then be one of `allowed_hosts`.
    public_url: str | None = Field(None)
    """the address readers use (https://papers.example); every absolute link is built on it; with
    https, answers carry HSTS"""
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(LOOPBACK_HOSTS)
    )
    """host names a request's Host may carry (*.example.org for subdomains); the public URL's is
    always allowed; any other gets 400"""
    forwarded_allow_ips: str = Field("127.0.0.1")
    """proxies whose X-Forwarded-For/-Proto are believed (addresses or networks, comma-separated)"""
    access_log: bool = Field(True)
    """one JSON line per request on stdout"""
    max_request_body_bytes: int = Field(1_000_000, ge=1_000, le=100_000_000)
    """larger bodies get 413"""
    # 16 KiB: a query of the longest allowed (1,000 characters) fits even percent-encoded.
    max_url_chars: int = Field(16_384, ge=256, le=65_536)
    """longer addresses get 414"""
    page_cache_s: float = Field(60.0, ge=0, le=3600)
    """rendered pages and API answers are kept this long (0: off)"""
    max_concurrent_requests: int = Field(2, ge=0, le=1000)
    """requests a process works on at once; the rest wait in order (0: no limit)"""
    subscriptions_enabled: bool = Field(True)
    """the "trending papers in your inbox" box on every page"""

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


class MailSettings(_Group):
    """One SMTP server for sign-in links and digests. No host: no mail; a server bound to
    loopback then prints sign-in links on its console instead (one person, at once)."""

    smtp_host: str | None = Field(None)
    """the mail server; unset: no mail"""
    smtp_port: int = Field(587, ge=1, le=65535)
    """its port"""
    smtp_security: Literal["none", "starttls", "tls"] = Field("starttls")
    """starttls, tls or none"""
    smtp_user: str | None = Field(None)
    """user name to log in with"""
    smtp_password: SecretStr | None = Field(None)
    """password to log in with"""
    smtp_timeout_s: float = Field(30.0, gt=0)
    """wait for the mail server"""
    mail_from: str = Field("paperscope <paperscope@localhost>")
    """who mail comes from"""
    dkim_private_key: Path | None = Field(None)
    """a PEM private key file: DKIM-sign all mail"""
    dkim_selector: str | None = Field(None)
    """the DKIM key's selector"""
    dkim_domain: str | None = Field(None)
    """the DKIM signing domain (default: the From's)"""


class DigestSettings(_Group):
    """`paperscope digest send`: what goes in a digest, how rows are claimed and retried."""

    digest_max_papers: int = Field(DIGEST_MAX_PAPERS, ge=1, le=100)
    """papers an email for a new subscriber, until they choose"""
    digest_lease_s: float = Field(120.0, gt=0)
    """how long a sender holds the messages it claimed"""
    digest_batch: int = Field(100, ge=1, le=10_000)
    """subscribers claimed and composed at once"""
    digest_retry_s: float = Field(300.0, ge=0)
    """first wait after a temporary failure; doubles each try"""
    digest_max_attempts: int = Field(6, ge=1)
    """tries before a message is given up"""
    # -- the ledger: papers come back only when they change (recommend/returns.py)
    return_after_comments: int = Field(5, ge=1, le=10_000)
    """new comments that bring a saved paper back to its reader's digest and For you page"""


class AccountSettings(_Group):
    """Members: sign in with a one-time link (no passwords)."""

    sign_in_link_minutes: int = Field(15, ge=1, le=24 * 60)
    """how long a sign-in link works"""
    session_days: int = Field(30, ge=1, le=365)
    """how long a session lasts"""
    # Others get the same answer, and no mail.
    open_signup: bool = Field(True)
    """the first sign-in makes the account; false: only addresses an operator added"""
    # Unset: a key made once and kept in the database (every server shares it).
    secret_key: SecretStr | None = Field(None, min_length=16)
    """signs CSRF tokens (default: made once, kept in the database; set to rotate)"""
    # Held in the database so that they hold across app servers.
    sign_in_requests_per_hour: int = Field(5, ge=1)
    """sign-in links an address may ask for an hour"""
    sign_in_requests_per_hour_per_client: int = Field(30, ge=1)
    """sign-in links a client may ask for an hour"""


class CommunitySettings(_Group):
    """Submissions, votes, comments and trending, with Hugging Face's defaults."""

    submission_max_age_days: int = Field(7, ge=1, le=3650)
    """how old a submitted paper may be"""
    submissions_per_day: int = Field(5, ge=1, le=1000)
    """papers a member may submit a day"""
    submissions_per_hour: int = Field(20, ge=1)
    """submission requests a member may make an hour"""
    # A paper paperscope lacks is fetched from arXiv off the request path.
    submission_fetch_timeout_s: float = Field(10.0, gt=0, le=120)
    """each try to fetch a submitted paper from arXiv waits this long"""
    submission_fetch_give_up_s: float = Field(1800.0, gt=0)
    """a paper arXiv has not answered for this long fails, with a reason shown"""
    comment_max_chars: int = Field(10_000, ge=100, le=100_000)
    """longest comment"""
    votes_per_minute: int = Field(60, ge=1)
    """upvotes a member may cast a minute"""
    comments_per_hour: int = Field(30, ge=1)
    """comments a member may post an hour"""
    # score = (upvotes + 1) / (hours since published + 2) ** gravity
    trending_window_days: int = Field(7, ge=1, le=90)
    """trending ranks the papers of this many last days"""
    trending_gravity: float = Field(1.5, ge=0, le=5)
    """trending's exponent: how fast age weighs"""
    # -- a member's library imported into a collection (BibTeX, RIS, CSL-JSON) --
    library_import_max_bytes: int = Field(5_000_000, ge=1_000, le=100_000_000)
    """largest library file an import takes; a larger upload is refused (413) while it is read"""
    library_import_max_entries: int = Field(2_000, ge=1, le=100_000)
    """most references one import takes (each is matched by id, DOI or title)"""


GROUPS: dict[str, type[BaseModel]] = {
    "Storage": StorageSettings,
    "Getting papers in": IngestSettings,
    "Search": SearchSettings,
    "Web server": WebSettings,
    "Mail": MailSettings,
    "Digests": DigestSettings,
    "Accounts": AccountSettings,
    "Community": CommunitySettings,
}


class Settings(
    BaseSettings,
    StorageSettings,
    IngestSettings,
    SearchSettings,
    WebSettings,
    MailSettings,
    DigestSettings,
    AccountSettings,
    CommunitySettings,
):
    model_config = SettingsConfigDict(env_prefix="PAPERSCOPE_", extra="ignore")

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


@dataclass(frozen=True)
class Setting:
    group: str
    name: str
    default: Any  # None: unset, or computed (the help says from what)
    help: str

    @property
    def env(self) -> str:
        return "PAPERSCOPE_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = tuple(
    Setting(
        group,
        name,
        None if field.default_factory else field.default,
        " ".join((field.description or "").split()),
    )
    for group, model in GROUPS.items()
    for name, field in model.model_fields.items()
)
