"""The references the ledger figures are printed beside, run on the bench's own database
at the same concurrency: the library's one-transaction-per-command pattern, pgbench-style
single-row durable inserts and 100-row insert batches."""

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from bench.database import BenchStore
from bench.load import LoadResult, run_for
from timebank.runtime import eventsourcing_env
from timebank.settings import Settings

TABLE = "bench_reference_rows"
BATCH = 100
PAYLOAD = '{"kind": "reference", "note": "' + "x" * 240 + '"}'  # about one stored event


class Tally(Aggregate):
    def __init__(self) -> None:
        self.count = 0

    @event("Counted")
    def add(self) -> None:
        self.count += 1


class LibraryReference(Application[UUID]):
    """A plain eventsourcing application: its own name, so its own tables on PostgreSQL."""

    name = "BenchReference"


@dataclass(frozen=True)
class Rate:
    per_second: float  # rows or events committed per second
    result: LoadResult


def library_one_transaction_per_command(
    store: BenchStore, settings: Settings, clients: int, seconds: float
) -> Rate:
    """Each client saves one new event of its own aggregate per transaction."""
    env = dict(eventsourcing_env(settings))
    env.pop("APPLICATION_RECORDER_TOPIC", None)
    env.pop("TRANSCODER_TOPIC", None)
    if store.is_sqlite:
        env["SQLITE_DBNAME"] = store.reference_sqlite_path
    else:
        env["POSTGRES_POOL_SIZE"] = str(clients)
        env["POSTGRES_MAX_OVERFLOW"] = "0"
    app = LibraryReference(env=env)
    try:

        def client() -> Tally:
            tally = Tally()
            app.save(tally)
            return tally

        def save_one(tally: Tally) -> None:
            tally.add()
            app.save(tally)

        result = run_for(seconds, clients, save_one, client, kind="save")
    finally:
        app.close()
    return Rate(result.rate, result)


class _Inserter:
    """One client's connection: autocommit, so each statement is its own transaction."""

    def __init__(self, store: BenchStore) -> None:
        self.sqlite: sqlite3.Connection | None = None
        self.pg: psycopg.Connection[Any] | None = None
        if store.is_sqlite:
            self.sqlite = sqlite3.connect(
                store.name, timeout=30, isolation_level=None, check_same_thread=False
            )
        else:
            self.pg = psycopg.connect(store.libpq_conninfo, autocommit=True)

    def insert(self, rows: int) -> None:
        sql = f"INSERT INTO {TABLE} (payload) VALUES "
        if self.sqlite is not None:
            if rows == 1:
                self.sqlite.execute(sql + "(?)", (PAYLOAD,))
                return
            self.sqlite.execute("BEGIN IMMEDIATE")
            self.sqlite.executemany(sql + "(?)", [(PAYLOAD,)] * rows)
            self.sqlite.execute("COMMIT")
            return
        assert self.pg is not None
        if rows == 1:
            self.pg.execute(sql + "(%s)", (PAYLOAD,))
            return
        with self.pg.transaction(), self.pg.cursor() as cur:
            cur.executemany(sql + "(%s)", [(PAYLOAD,)] * rows)

    def close(self) -> None:
        if self.sqlite is not None:
            self.sqlite.close()
        if self.pg is not None:
            self.pg.close()


def _create_table(store: BenchStore) -> None:
    if store.is_sqlite:
        with sqlite3.connect(store.name, timeout=30) as conn:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} "
                "(id INTEGER PRIMARY KEY AUTOINCREMENT, payload TEXT NOT NULL)"
            )
        return
    with psycopg.connect(store.libpq_conninfo, autocommit=True) as conn:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (id bigserial PRIMARY KEY, payload text NOT NULL)"
        )


def durable_inserts(store: BenchStore, clients: int, seconds: float, rows: int) -> Rate:
    """Clients inserting `rows` rows per transaction (1: pgbench-style single-row inserts)."""
    _create_table(store)

    def client() -> _Inserter:
        return _Inserter(store)

    insert: Callable[[_Inserter], None] = lambda inserter: inserter.insert(rows)  # noqa: E731
    result = run_for(seconds, clients, insert, client, close=_Inserter.close, kind="insert")
    return Rate(result.rate * rows, result)
