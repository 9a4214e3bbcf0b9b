"""A small database handle for read models: SQLite (one file) or PostgreSQL (a pool).

SQL is written once with %s placeholders; for SQLite they become ?. Each backend can also
clone a table's structure into a shadow table and later put the shadow in its place (the
blue/green rebuild of a read model), insert many rows at once (COPY on PostgreSQL), select
the rows whose key is in a list, and run one statement over many rows (sent as one JSON
array): each in one statement whatever the number of rows."""

import json
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
import psycopg
from psycopg_pool import ConnectionPool


def utc_text(moment: datetime) -> str:
    """A moment as UTC ISO text with a fixed width, so that text order is time order."""
    if moment.tzinfo is UTC and moment.microsecond:  # orjson's form, four times as fast
        return orjson.dumps(moment)[1:-1].decode()
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class _SQLiteCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._cursor.execute(sql.replace("%s", "?"), tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any:
        return self._cursor.executemany(sql.replace("%s", "?"), [tuple(r) for r in rows])

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount


def insert_rows(
    cur: Cursor, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Inserts `rows` into `table`: by COPY on PostgreSQL, by one prepared INSERT on SQLite."""
    if not rows:
        return
    names = ", ".join(columns)
    if isinstance(cur, psycopg.Cursor):
        with cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    values = ", ".join(["%s"] * len(columns))
    cur.executemany(f"INSERT INTO {table} ({names}) VALUES ({values})", rows)


def select_in(
    cur: Cursor, table: str, columns: Sequence[str], key: str, values: Sequence[str]
) -> list[Any]:
    """The rows of `table` whose text column `key` is one of `values`."""
    if not values:
        return []
    select = f"SELECT {', '.join(columns)} FROM {table} WHERE {key}"
    if isinstance(cur, psycopg.Cursor):
        cur.execute(f"{select} = ANY(%s::text[])", (list(values),))
    else:
        cur.execute(f"{select} IN (SELECT value FROM json_each(%s))", (json.dumps(list(values)),))
    return cur.fetchall()


ROWS = "{rows}"
SWAP_LOCK_TIMEOUT_MS = 200
# How long a pool keeps trying, with growing pauses, to replace a connection it lost. The
# library's default (5 minutes, pauses doubling from 1 s) would leave a pool waiting out a
# long pause after the database is back; given up sooner, the next request connects at once.
RECONNECT_SECONDS = 1.0


def _rows_table(cur: Cursor, columns: Sequence[tuple[str, str]]) -> str:
    """A subquery `v` with the given (name, SQL type) columns over a JSON array of rows."""
    if isinstance(cur, psycopg.Cursor):
        values = [
            f"r->>{i}" if kind == "text" else f"(r->>{i})::{kind}"
            for i, (_, kind) in enumerate(columns)
        ]
        source = "json_array_elements(%s::json) r"
    else:
        values = [f"json_extract(r.value, '$[{i}]')" for i in range(len(columns))]
        source = "json_each(%s) r"
    named = ", ".join(
        f"{value} AS {name}" for value, (name, _) in zip(values, columns, strict=True)
    )
    return f"(SELECT {named} FROM {source}) AS v"


def execute_rows(
    cur: Cursor,
    sql: str,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence[Any]],
) -> None:
    """Runs `sql` once for all `rows`: it reads them from {rows}, a table `v` with the given
    (name, SQL type) columns. Values are text, integers, booleans or None."""
    if rows:
        cur.execute(sql.replace(ROWS, _rows_table(cur, columns)), (json.dumps(rows),))


class TablesBusy(Exception):
    """The tables could not all be locked in time: readers held them; try again."""


class Database:
    """transaction() writes atomically; read() reads a consistent snapshot."""

    is_sqlite: bool

    def transaction(self, durable: bool = True) -> Any:
        """`durable=False`: the commit may return before it is on disk. A crash may then
        lose it, and anything committed after it in this store, never part of it alone."""
        raise NotImplementedError

    def read(self) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def create_shadows(self, cur: Cursor, tables: Sequence[str], suffix: str) -> None:
        """Creates for each table its shadow, named with `suffix`, empty, with the table's
        columns, keys and indexes; index and constraint names get the suffix too."""
        raise NotImplementedError

    def replace_with_shadows(self, cur: Cursor, tables: Sequence[str], suffix: str) -> None:
        """Drops each table and renames its shadow (made by create_shadows) to take its
        place, restoring the original index and constraint names."""
        raise NotImplementedError

    def lock_exclusively(self, cur: Cursor, tables: Sequence[str]) -> None:
        """Locks the tables against readers and writers until the transaction ends, all
        before changing any, or raises TablesBusy."""

    def check_connections(self) -> None:
        """Replaces the connections kept for later that no longer work (after the server
        restarted)."""

    def ping(self) -> bool:
        try:
            with self.read() as cur:
                cur.execute("SELECT 1")
                return bool(cur.fetchone())
        except Exception:
            return False


def _index_on(definition: str, pattern: str, index: str, table: str) -> str:
    """The CREATE INDEX statement `definition`, renamed to `index` and pointed at `table`."""
    match = re.match(pattern, definition, re.I)
    assert match, definition
    return f'CREATE {match[1] or ""}INDEX "{index}" ON "{table}" ' + definition[match.end() :]


class SQLiteDatabase(Database):
    is_sqlite = True

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA temp_store=MEMORY")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self, durable: bool = True) -> Iterator[Cursor]:
        conn = self._connection()
        if not durable:
            conn.execute("PRAGMA synchronous=NORMAL")  # in WAL mode: no sync at commit
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SQLiteCursor(conn.cursor())
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            if not durable:
                conn.execute("PRAGMA synchronous=FULL")

    @contextmanager
    def read(self) -> Iterator[Cursor]:
        conn = self._connection()
        if conn.in_transaction:
            # The thread's connection is inside its own transaction (a data key looked up
            # while an event is decoded in a rebuild's swap): the read is part of it.
            yield _SQLiteCursor(conn.cursor())
            return
        conn.execute("BEGIN")
        try:
            yield _SQLiteCursor(conn.cursor())
        finally:
            conn.execute("COMMIT")

    def _schema(self, cur: Cursor, table: str) -> list[tuple[str, str, str]]:
        cur.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = %s AND sql IS NOT NULL "
            "ORDER BY type DESC",  # the table before its indexes
            (table,),
        )
        return [(str(t), str(n), str(sql)) for t, n, sql in cur.fetchall()]

    def create_shadows(self, cur: Cursor, tables: Sequence[str], suffix: str) -> None:
        for table in tables:
            shadow = table + suffix
            for kind, name, sql in self._schema(cur, table):
                if kind == "table":
                    sql = re.sub(
                        r'^CREATE TABLE\s+"?\w+"?', f'CREATE TABLE "{shadow}"', sql, flags=re.I
                    )
                else:
                    sql = _index_on(
                        sql,
                        r'CREATE (UNIQUE )?INDEX\s+"?\w+"?\s+ON\s+"?\w+"?\s*',
                        name + suffix,
                        shadow,
                    )
                cur.execute(sql)

    def replace_with_shadows(self, cur: Cursor, tables: Sequence[str], suffix: str) -> None:
        for table in tables:
            shadow = table + suffix
            indexes = [(n, sql) for kind, n, sql in self._schema(cur, table) if kind == "index"]
            cur.execute(f'DROP TABLE "{table}"')
            cur.execute(f'ALTER TABLE "{shadow}" RENAME TO "{table}"')
            for name, sql in indexes:  # SQLite cannot rename an index: build it under its name
                cur.execute(f'DROP INDEX IF EXISTS "{name}{suffix}"')
                cur.execute(sql)


class PostgresDatabase(Database):
    is_sqlite = False

    def __init__(self, conninfo: str, max_size: int, timeout_seconds: float = 30.0) -> None:
        """`timeout_seconds`: how long a connection is waited for (from the pool or a new one)
        before the call fails."""
        self.pool = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=max_size,
            open=True,
            timeout=timeout_seconds,
            reconnect_timeout=RECONNECT_SECONDS,
            kwargs={"autocommit": False, "connect_timeout": max(int(timeout_seconds), 1)},
        )

    @contextmanager
    def transaction(self, durable: bool = True) -> Iterator[Cursor]:
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            if not durable:
                cur.execute("SET LOCAL synchronous_commit = off")
            yield cur

    @contextmanager
    def read(self) -> Iterator[Cursor]:
        with self.pool.connection() as conn, conn.cursor() as cur:
            yield cur

    def close(self) -> None:
        self.pool.close()

    def check_connections(self) -> None:
        self.pool.check()

    def _constraints(self, cur: Cursor, tables: Sequence[str]) -> list[tuple[str, str, str]]:
        """(table, name, definition) of the tables' keys and checks."""
        cur.execute(
            "SELECT t.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k "
            "JOIN pg_class t ON t.oid = k.conrelid "
            "WHERE t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(%s) "
            "AND k.contype IN ('p', 'u', 'c', 'x') ORDER BY t.relname, k.conname",
            (list(tables),),
        )
        return [(str(t), str(name), str(definition)) for t, name, definition in cur.fetchall()]

    def _indexes(self, cur: Cursor, tables: Sequence[str]) -> list[tuple[str, str, str]]:
        """(table, name, definition) of the tables' indexes that do not back a constraint."""
        cur.execute(
            "SELECT t.relname, c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid "
            "WHERE t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(%s) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
            "ORDER BY t.relname, c.relname",
            (list(tables),),
        )
        return [(str(t), str(name), str(definition)) for t, name, definition in cur.fetchall()]

    def create_shadows(self, cur: Cursor, tables: Sequence[str], suffix: str) -> None:
        ddl = [
            f'CREATE TABLE "{table}{suffix}" (LIKE "{table}" '
            "INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING GENERATED)"
            for table in tables
        ]
        for table, name, definition in self._constraints(cur, tables):
            ddl.append(
                f'ALTER TABLE "{table}{suffix}" ADD CONSTRAINT "{name}{suffix}" {definition}'
            )
        for table, name, definition in self._indexes(cur, tables):
            pattern = r"CREATE (UNIQUE )?INDEX \S+ ON (ONLY )?\S+ "
            ddl.append(_index_on(definition, pattern, name + suffix, table + suffix))
        cur.execute("; ".join(ddl))

    def lock_exclusively(self, cur: Cursor, tables: Sequence[str]) -> None:
        """One statement, in one fixed order, waiting briefly: a reader holding one table
        while it waits for another (a join) then waits for the swap instead of deadlocking
        with it, and the swap gives up well before PostgreSQL's deadlock check (1 s) would
        fail the reader; the caller tries again."""
        names = ", ".join(f'"{t}"' for t in sorted(tables))
        cur.execute(f"SET LOCAL lock_timeout = '{SWAP_LOCK_TIMEOUT_MS}ms'")
        try:
            cur.execute(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE")
        except psycopg.errors.LockNotAvailable as e:
            raise TablesBusy(str(e)) from e
        cur.execute("SET LOCAL lock_timeout = 0")

    def replace_with_shadows(self, cur: Cursor, tables: Sequence[str], suffix: str) -> None:
        constraints = self._constraints(cur, tables)
        indexes = self._indexes(cur, tables)
        ddl = [f'DROP TABLE "{table}"' for table in tables]
        ddl += [f'ALTER TABLE "{table}{suffix}" RENAME TO "{table}"' for table in tables]
        ddl += [
            f'ALTER TABLE "{table}" RENAME CONSTRAINT "{name}{suffix}" TO "{name}"'
            for table, name, _ in constraints
        ]
        ddl += [f'ALTER INDEX "{name}{suffix}" RENAME TO "{name}"' for _, name, _ in indexes]
        cur.execute("; ".join(ddl))
