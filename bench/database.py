"""The database a bench run owns: a fresh PostgreSQL database or a fresh SQLite file."""

import contextlib
import os
import secrets
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from sqlalchemy.engine import URL, make_url

DEFAULT_SERVER = "postgresql://root@127.0.0.1:5432/test"
PREFIX = "timebank_bench_"


class BenchError(Exception):
    """The bench cannot run as asked (a message for the user, not a crash)."""


@dataclass(frozen=True)
class BenchStore:
    url: str  # the TIMEBANK_DATABASE_URL of the bench database
    is_sqlite: bool
    name: str  # the database name, or the SQLite file
    server_conninfo: str = ""  # PostgreSQL: where the database was created
    # The id pepper of the run's processes: a fresh database, a fresh key.
    pepper: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    # PostgreSQL: a master key file and a checkpoint signing key file of the run's own;
    # SQLite makes both beside its file.
    master_key_file: str | None = None
    signing_key_file: str | None = None

    @property
    def shown(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    @property
    def reference_sqlite_path(self) -> str:
        """SQLite keeps every application's events in one table name, so the library
        reference writes to a file of its own beside the bench database."""
        return self.name + ".reference"

    @property
    def libpq_conninfo(self) -> str:
        url = make_url(self.url).set(drivername="postgresql")
        return url.render_as_string(hide_password=False)


def _sqlite_file(where: str) -> Path:
    path = Path(where)
    if path.is_dir():
        return path / f"{PREFIX}{secrets.token_hex(4)}.db"
    if path.exists():
        raise BenchError(f"{path} exists; give a new file (or a directory) for the bench")
    return path


def _conninfo(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def create_store(where: str = DEFAULT_SERVER) -> BenchStore:
    """A new, empty database: `where` is a PostgreSQL URL (the server to create it on),
    or sqlite:///PATH or a plain path (a new file, or a directory to create it in)."""
    if "://" not in where:
        where = f"sqlite:///{where}"
    url = make_url(where)
    backend = url.get_backend_name()
    if backend == "sqlite":
        path = _sqlite_file(url.database or ".")
        path.parent.mkdir(parents=True, exist_ok=True)
        return BenchStore(f"sqlite:///{path}", True, str(path))
    if backend != "postgresql":
        raise BenchError("--database-url must be postgresql://... or sqlite:///PATH")
    name = f"{PREFIX}{secrets.token_hex(4)}"
    server = _conninfo(url)
    try:
        with psycopg.connect(server, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as e:
        shown = url.render_as_string(hide_password=True)
        raise BenchError(f"cannot create a database on {shown}: {e}") from None
    bench_url = url.set(drivername="postgresql", database=name)
    fd, key_file = tempfile.mkstemp(prefix=f"{name}-", suffix=".masterkey")  # mode 0600
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(32))
    fd, signing_file = tempfile.mkstemp(prefix=f"{name}-", suffix=".signing-key")  # mode 0600
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(32))  # 32 random bytes: an Ed25519 seed
    shown = bench_url.render_as_string(hide_password=False)
    return BenchStore(
        shown, False, name, server, master_key_file=key_file, signing_key_file=signing_file
    )


def create_sibling(store: BenchStore) -> BenchStore:
    """Another new, empty database of the same kind: on the same server, or in the same
    directory."""
    if store.is_sqlite:
        return create_store(str(Path(store.name).parent))
    return create_store(store.server_conninfo)


def drop_store(store: BenchStore) -> None:
    if store.is_sqlite:
        for path in (store.name, store.reference_sqlite_path):
            for suffix in ("", "-wal", "-shm", "-journal", ".lock", ".masterkey", ".signing-key"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path + suffix)
        return
    with psycopg.connect(store.server_conninfo, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{store.name}" WITH (FORCE)')
    for key_file in (store.master_key_file, store.signing_key_file):
        if key_file:
            with contextlib.suppress(FileNotFoundError):
                os.remove(key_file)


def server_version(store: BenchStore) -> str:
    if store.is_sqlite:
        return f"SQLite {sqlite3.sqlite_version}"
    with psycopg.connect(store.libpq_conninfo, connect_timeout=10) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {row[0] if row else '?'}"


def settle(store: BenchStore) -> None:
    """After a bulk load, what an operator does before serving: VACUUM (ANALYZE), so the
    visibility map and statistics are current and autovacuum does not do it during the
    measurements that follow."""
    if store.is_sqlite:
        with sqlite3.connect(store.name) as conn:
            conn.execute("ANALYZE")
        return
    with psycopg.connect(store.libpq_conninfo, autocommit=True, connect_timeout=10) as conn:
        conn.execute("VACUUM (ANALYZE)")
