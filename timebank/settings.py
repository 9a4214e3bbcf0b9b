"""Deployment settings from TIMEBANK_* environment variables (pydantic-settings)."""

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from ledger.context import Role
from ledger.rules import Rules
from timebank.tokens import MAX_TOKEN_DAYS


@dataclass(frozen=True)
class Store:
    """Where events and read models live: one SQLite file or one PostgreSQL database."""

    url: URL

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def sqlite_path(self) -> str:
        return str(Path(self.url.database or "timebank.db"))

    @property
    def sqlalchemy_url(self) -> str:
        if self.is_sqlite:
            return f"sqlite:///{self.sqlite_path}"
        return self.url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)

    @property
    def libpq_conninfo(self) -> str:
        return self.url.set(drivername="postgresql").render_as_string(hide_password=False)


class TokenExpiryDays(BaseModel):
    """How long a new API token of each role lasts unless `--expires-in-days` says otherwise:
    the more a role may do, the sooner its token has to be renewed."""

    admin: int = Field(30, ge=1, le=MAX_TOKEN_DAYS)
    coordinator: int = Field(180, ge=1, le=MAX_TOKEN_DAYS)
    auditor: int = Field(180, ge=1, le=MAX_TOKEN_DAYS)
    desk: int = Field(365, ge=1, le=MAX_TOKEN_DAYS)
    volunteer: int = Field(365, ge=1, le=MAX_TOKEN_DAYS)

    def of(self, role: Role) -> int:
        days: int = getattr(self, role.value)
        return days


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TIMEBANK_", env_nested_delimiter="__")

    database_url: str = "sqlite:///./timebank.db"
    host: str = "127.0.0.1"
    port: int = 8000
    id_pepper: SecretStr | None = Field(
        None,
        description="key of the hash that identifies the claim of an ID document; none: "
        "from id_pepper_file, else (SQLite only) one generated into <database>.pepper",
    )
    id_pepper_file: Path | None = Field(
        None, description="a file holding the id pepper (instead of id_pepper)"
    )
    master_key_file: Path | None = Field(
        None,
        description="a file holding the master key that wraps the volunteers' data keys (32 "
        "characters or more); none: (SQLite only) one generated into <database>.masterkey",
    )
    signing_key_file: Path | None = Field(
        None,
        description="a file holding the Ed25519 key that signs the log's checkpoints (`timebank "
        "keys create PATH`); none: (SQLite only) one generated into <database>.signing-key",
    )
    log_origin: str = Field(
        "timebank.example/log",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x2A\x2C-\x7E]+$",  # a signed note's key name: no space, no "+"
        description="the first line of every checkpoint, naming this deployment's log, and the "
        "name its key signs as",
    )
    public_base_url: str | None = Field(
        None,
        max_length=500,
        pattern=r"^https?://[\x21-\x7E]+$",
        description="the address the public reaches this service at (e.g. "
        "https://volunteers.example-town.cn), which a certificate's check link and QR code "
        "name; none: the address of the request that asks for the certificate",
    )
    checkpoint_seconds: float = Field(
        1.0, ge=0, description="at most one new checkpoint is signed within this time"
    )
    pool_size: int = Field(8, ge=1)
    store_timeout_seconds: int = Field(
        2,
        ge=1,
        description="how long a request waits for a database connection before it is refused "
        "with 503 (PostgreSQL)",
    )
    read_wait_seconds: float = Field(2.0, ge=0)
    projection_batch_size: int = Field(5000, ge=1)
    aggregate_cache_size: int = Field(10_000, ge=1)
    expiry_sweep_seconds: float = Field(30.0, gt=0)
    max_body_bytes: int = Field(
        256 * 1024, ge=1024, description="the largest request body accepted (413 beyond)"
    )
    header_timeout_seconds: float = Field(
        10.0, gt=0, description="how long a request's line and headers may take to arrive"
    )
    body_timeout_seconds: float = Field(
        20.0, gt=0, description="how long a request body may pause between two of its parts"
    )
    keep_alive_seconds: int = Field(
        5, ge=1, description="how long an idle connection is kept open between requests"
    )
    log_level: str = "info"
    workers: int = Field(
        0,
        ge=0,
        description="HTTP worker processes of `serve` (PostgreSQL); 0 serves HTTP, the "
        "projections and the sweeper from one process",
    )
    metrics_token: SecretStr | None = Field(
        None,
        min_length=16,
        description="bearer token (16 characters or more) that /metrics on the API port asks "
        "for; none: it answers 404 there",
    )
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="port of a listener that serves /metrics without a token; none: no listener",
    )
    metrics_dir: str | None = Field(
        None,
        description="directory the processes of `serve --workers N` share their metrics in, "
        "emptied at start; none: a fresh temporary one",
    )
    token_expiry_days: TokenExpiryDays = TokenExpiryDays()
    idempotency_expiry_hours: float = Field(
        24.0,
        gt=0,
        description="how long the response to an Idempotency-Key is kept for its retries; the "
        "sweeper removes older ones, and a retry after that is a new request",
    )
    response_key: SecretStr | None = Field(
        None,
        min_length=16,
        description="key (16 characters or more) that encrypts the responses stored for "
        "Idempotency-Keys; none: one derived from id_pepper",
    )
    guess_limit: int = Field(
        5,
        ge=1,
        description="wrong check-in codes, redemption codes or PINs one caller, or anyone at "
        "one target, may try within the guess window before being refused with 429",
    )
    guess_window_seconds: int = Field(
        15 * 60, ge=1, description="the window of the guess limit, and how long a lockout lasts"
    )
    rules: Rules = Rules()

    @model_validator(mode="after")
    def _one_pepper(self) -> "Settings":
        if self.id_pepper is not None and self.id_pepper_file is not None:
            raise ValueError("set TIMEBANK_ID_PEPPER or TIMEBANK_ID_PEPPER_FILE, not both")
        return self

    @model_validator(mode="after")
    def _one_process_on_sqlite(self) -> "Settings":
        if self.workers and self.store.is_sqlite:
            raise ValueError("TIMEBANK_WORKERS needs PostgreSQL: SQLite is served by one process")
        return self

    @cached_property
    def store(self) -> Store:
        try:
            url = make_url(self.database_url)
        except ArgumentError as e:
            raise ValueError(f"TIMEBANK_DATABASE_URL is not a URL: {e}") from e
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError("TIMEBANK_DATABASE_URL must be sqlite:///PATH or postgresql://...")
        return Store(url)
