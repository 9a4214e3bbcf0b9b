"""What a read model is (the Projection protocol) and the cursor it writes with, which keeps
it to its own tables and points them at the shadow tables during a rebuild."""

import functools
import re
from collections.abc import Sequence
from typing import Any, Protocol

from eventsourcing.domain import DomainEventProtocol

from projections.db import Cursor, execute_rows, insert_rows, select_in

Batch = Sequence[tuple[DomainEventProtocol[Any], int]]  # events with their log positions
TABLE_NAME = re.compile(r"\btb_\w+")


def topic(event_class: type) -> str:
    """How the event store names an event class."""
    return f"{event_class.__module__}:{event_class.__qualname__}"


class Projection(Protocol):
    """A read model. One that can write a whole batch in fewer statements also has
    `apply_batch(cur, [(event, position), ...])`, which the runner then calls instead; it
    must leave the tables as applying the events one by one would."""

    name: str
    topics: frozenset[str]
    tables: tuple[str, ...]  # every table it writes or reads, all named tb_...

    def apply(
        self, cur: "ProjectionCursor", event: DomainEventProtocol[Any], position: int
    ) -> None: ...


class ProjectionCursor:
    """The cursor a projection writes with: it may touch only the projection's own tables,
    and during a rebuild those names are pointed at the shadow tables."""

    def __init__(self, cur: Cursor, projection: Projection, suffix: str = "") -> None:
        self._cur = cur
        self._name = projection.name
        self._tables = projection.tables
        self._suffix = suffix

    def _rewrite(self, sql: str) -> str:
        return _rewrite(sql, self._name, self._tables, self._suffix)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._cur.execute(self._rewrite(sql), params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any:
        return self._cur.executemany(self._rewrite(sql), rows)

    def fetchone(self) -> Any:
        return self._cur.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cur.fetchall()

    def execute_rows(
        self, sql: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Runs `sql` once over many rows, which it reads from {rows}: a table `v` with the
        given (name, SQL type) columns."""
        execute_rows(self._cur, self._rewrite(sql), columns, rows)

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Inserts many rows into one of the projection's tables."""
        insert_rows(self._cur, self._table(table), columns, rows)

    def select_in(
        self, table: str, columns: Sequence[str], key: str, values: Sequence[str]
    ) -> list[Any]:
        """The rows of one of the projection's tables whose `key` is one of `values`."""
        return select_in(self._cur, self._table(table), columns, key, values)

    def _table(self, table: str) -> str:
        if table not in self._tables:
            raise RuntimeError(
                f"projection {self._name} used {table}, not one of its tables {self._tables}"
            )
        return table + self._suffix


@functools.lru_cache(maxsize=4096)
def _rewrite(sql: str, projection: str, tables: tuple[str, ...], suffix: str) -> str:
    """`sql` with the projection's tables renamed by `suffix`; refused if it names others.
    Cached: projections run the same statements batch after batch."""

    def rename(match: re.Match[str]) -> str:
        if match[0] not in tables:
            raise RuntimeError(
                f"projection {projection} used {match[0]}, not one of its tables {tables}"
            )
        return match[0] + suffix

    return TABLE_NAME.sub(rename, sql)
