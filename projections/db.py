"""A small database handle for read models: SQLite (one file) or PostgreSQL (a pool).

SQL is written once with %s placeholders; for SQLite they become ?. Each backend can also
clone a table's structure into a shadow table and later put the shadow in its place (the
blue/green rebuild of a read model)."""

import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol

from psycopg_pool import ConnectionPool


def utc_text(moment: datetime) -> str:
    """A moment as UTC ISO text with a fixed width, so that text order is time order."""
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


class Database:
    """transaction() writes atomically; read() reads a consistent snapshot."""

    is_sqlite: bool

    def transaction(self) -> Any:
        raise NotImplementedError

    def read(self) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def create_shadow(self, cur: Cursor, table: str, shadow: str) -> None:
        """Creates `shadow` empty, with the columns, keys and indexes of `table`; index and
        constraint names get the shadow's suffix."""
        raise NotImplementedError

    def replace_with_shadow(self, cur: Cursor, table: str, shadow: str) -> None:
        """Drops `table` and renames `shadow` (made by create_shadow) to take its place,
        restoring the original index and constraint names."""
        raise NotImplementedError

    def ping(self) -> bool:
        try:
            with self.read() as cur:
                cur.execute("SELECT 1")
                return bool(cur.fetchone())
        except Exception:
            return False


def _suffix(table: str, shadow: str) -> str:
    assert shadow.startswith(table)
    return shadow[len(table) :]


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
    def transaction(self) -> Iterator[Cursor]:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield _SQLiteCursor(conn.cursor())
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[Cursor]:
        conn = self._connection()
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

    def create_shadow(self, cur: Cursor, table: str, shadow: str) -> None:
        suffix = _suffix(table, shadow)
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

    def replace_with_shadow(self, cur: Cursor, table: str, shadow: str) -> None:
        suffix = _suffix(table, shadow)
        indexes = [(n, sql) for kind, n, sql in self._schema(cur, table) if kind == "index"]
        cur.execute(f'DROP TABLE "{table}"')
        cur.execute(f'ALTER TABLE "{shadow}" RENAME TO "{table}"')
        for name, sql in indexes:  # SQLite cannot rename an index: build it under its name
            cur.execute(f'DROP INDEX IF EXISTS "{name}{suffix}"')
            cur.execute(sql)


class PostgresDatabase(Database):
    is_sqlite = False

    def __init__(self, conninfo: str, max_size: int) -> None:
        self.pool = ConnectionPool(
            conninfo, min_size=1, max_size=max_size, open=True, kwargs={"autocommit": False}
        )

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            yield cur

    @contextmanager
    def read(self) -> Iterator[Cursor]:
        with self.pool.connection() as conn, conn.cursor() as cur:
            yield cur

    def close(self) -> None:
        self.pool.close()

    def _constraints(self, cur: Cursor, table: str) -> list[tuple[str, str]]:
        cur.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = to_regclass(%s) AND contype IN ('p', 'u', 'c', 'x') ORDER BY conname",
            (table,),
        )
        return [(str(name), str(definition)) for name, definition in cur.fetchall()]

    def _indexes(self, cur: Cursor, table: str) -> list[tuple[str, str]]:
        """Indexes that do not back a constraint."""
        cur.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i "
            "WHERE i.schemaname = current_schema() AND i.tablename = %s AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conindid = to_regclass(i.indexname)) "
            "ORDER BY i.indexname",
            (table,),
        )
        return [(str(name), str(definition)) for name, definition in cur.fetchall()]

    def create_shadow(self, cur: Cursor, table: str, shadow: str) -> None:
        suffix = _suffix(table, shadow)
        cur.execute(
            f'CREATE TABLE "{shadow}" (LIKE "{table}" '
            "INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING GENERATED)"
        )
        for name, definition in self._constraints(cur, table):
            cur.execute(f'ALTER TABLE "{shadow}" ADD CONSTRAINT "{name}{suffix}" {definition}')
        for name, definition in self._indexes(cur, table):
            pattern = r"CREATE (UNIQUE )?INDEX \S+ ON (ONLY )?\S+ "
            cur.execute(_index_on(definition, pattern, name + suffix, shadow))

    def replace_with_shadow(self, cur: Cursor, table: str, shadow: str) -> None:
        suffix = _suffix(table, shadow)
        constraints = [name for name, _ in self._constraints(cur, table)]
        indexes = [name for name, _ in self._indexes(cur, table)]
        cur.execute(f'DROP TABLE "{table}"')
        cur.execute(f'ALTER TABLE "{shadow}" RENAME TO "{table}"')
        for name in constraints:
            cur.execute(f'ALTER TABLE "{table}" RENAME CONSTRAINT "{name}{suffix}" TO "{name}"')
        for name in indexes:
            cur.execute(f'ALTER INDEX "{name}{suffix}" RENAME TO "{name}"')
