"""Follows the event log and applies it to the read models in batches: the view updates and
the new tracking position commit in one transaction, so each event applies exactly once.

Each projection commits its batches in its own transactions, so one that fails (and is
retried) holds back no other. Two runners on one store are safe: each batch locks the
projection's position row, re-reads it and applies only the events past it, so only one
process applies a given projection at a time and a runner killed mid-batch leaves nothing
behind but a rolled-back transaction.

A rebuild is blue/green: the projection is replayed from the start of the log into shadow
tables while the live tables keep serving (and following); when the shadow has caught up, one
transaction that holds the live position applies the last events, swaps the tables and moves
the position, so readers see either the old view or the finished new one."""

import functools
import re
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import structlog
from eventsourcing.application import Application
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Notification

from projections.db import Cursor, Database

log = structlog.get_logger(__name__)

SHADOW_SUFFIX = "__next"
TABLE_NAME = re.compile(r"\btb_\w+")


def topic(event_class: type) -> str:
    """How the event store names an event class."""
    return f"{event_class.__module__}:{event_class.__qualname__}"


class Projection(Protocol):
    """A read model. One that can write a whole batch in fewer statements also has
    `apply_batch(cur, [(event, position), ...])`, which the runner then calls instead."""

    name: str
    topics: frozenset[str]
    tables: tuple[str, ...]  # every table it writes or reads, all named tb_...

    def apply(self, cur: Cursor, event: DomainEventProtocol[Any], position: int) -> None: ...


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


class _Decoder:
    """Turns each notification of a batch into its domain event at most once."""

    def __init__(self, app: Application[Any]) -> None:
        self._app = app
        self._events: dict[int, DomainEventProtocol[Any]] = {}

    def __call__(self, notification: Notification) -> DomainEventProtocol[Any]:
        event = self._events.get(notification.id)
        if event is None:
            event = self._events[notification.id] = self._app.mapper.to_domain_event(notification)
        return event


def _apply(
    cur: ProjectionCursor,
    projection: Projection,
    notifications: Sequence[Notification],
    after: int,
    decode: _Decoder,
) -> None:
    batch = [
        (decode(n), n.id) for n in notifications if n.id > after and n.topic in projection.topics
    ]
    apply_batch = getattr(projection, "apply_batch", None)
    if apply_batch is not None:
        apply_batch(cur, batch)
        return
    for event, position in batch:
        projection.apply(cur, event, position)


class ProjectionRunner:
    def __init__(
        self,
        app: Application[Any],
        db: Database,
        projections: Sequence[Projection],
        batch_size: int = 1000,
    ) -> None:
        self.app = app
        self.db = db
        self.projections = list(projections)
        self.batch_size = batch_size
        self._wake = threading.Event()
        self._caught_up = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.positions: dict[str, int] = {}

    def projection(self, name: str) -> Projection:
        for projection in self.projections:
            if projection.name == name:
                return projection
        raise KeyError(name)

    # Positions ---------------------------------------------------------------------------

    def _lock_position(self, cur: Cursor, name: str) -> int:
        suffix = "" if self.db.is_sqlite else " FOR UPDATE"
        cur.execute("SELECT position FROM projection_positions WHERE name = %s" + suffix, (name,))
        row = cur.fetchone()
        if row is None:
            cur.execute(
                "INSERT INTO projection_positions (name, position) VALUES (%s, 0) "
                "ON CONFLICT (name) DO NOTHING",
                (name,),
            )
            return self._lock_position(cur, name)
        return int(row[0])

    def _set_position(self, cur: Cursor, name: str, position: int) -> None:
        cur.execute(
            "UPDATE projection_positions SET position = %s WHERE name = %s", (position, name)
        )

    def read_positions(self) -> dict[str, int]:
        with self.db.read() as cur:
            cur.execute("SELECT name, position FROM projection_positions")
            stored = {str(name): int(pos) for name, pos in cur.fetchall()}
        return {p.name: stored.get(p.name, 0) for p in self.projections}

    def head(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def _notifications(self, after: int, limit: int | None = None) -> list[Notification]:
        return list(
            self.app.recorder.select_notifications(start=after + 1, limit=limit or self.batch_size)
        )

    # Following ---------------------------------------------------------------------------

    def process_batch(self) -> int:
        """Applies the next batch of events to each projection; returns the most
        notifications any of them read. A projection that fails is reported (raised) after
        the others have had their batch."""
        batches: dict[int, list[Notification]] = {}  # by start position: usually just one
        decode = _Decoder(self.app)
        failure: Exception | None = None
        most = 0
        positions = self.read_positions()
        for projection in self.projections:
            start = positions[projection.name]
            if start not in batches:
                batches[start] = self._notifications(start)
            notifications = batches[start]
            if not notifications:
                continue
            try:
                self._apply_batch(projection, notifications, decode)
            except Exception as e:
                log.exception("projection batch failed", projection=projection.name, after=start)
                failure = failure or e
                continue
            most = max(most, len(notifications))
        if failure is not None:
            raise failure
        return most

    def _apply_batch(
        self, projection: Projection, notifications: Sequence[Notification], decode: _Decoder
    ) -> None:
        last = notifications[-1].id
        with self.db.transaction() as cur:
            position = self._lock_position(cur, projection.name)
            _apply(ProjectionCursor(cur, projection), projection, notifications, position, decode)
            if last > position:
                self._set_position(cur, projection.name, last)
        self._published({projection.name: max(last, position)})

    def _published(self, positions: dict[str, int]) -> None:
        """Makes committed positions visible to readers waiting in this process."""
        self.positions.update(positions)
        with self._caught_up:
            self._caught_up.notify_all()

    def catch_up(self) -> None:
        while self.process_batch():
            pass

    def poke(self, _position: int = 0) -> None:
        """Called after a commit in this process: follow at once instead of at the next poll."""
        self._wake.set()

    def start(self, poll_seconds: float = 0.2) -> None:
        self.positions = self.read_positions()
        self._thread = threading.Thread(
            target=self._follow, args=(poll_seconds,), name="projections", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _follow(self, poll_seconds: float) -> None:
        while not self._stop.is_set():
            try:
                if self.process_batch():
                    continue
            except Exception:
                time.sleep(1)  # logged with the projection's name; retried until it succeeds
            self._wake.wait(poll_seconds)
            self._wake.clear()

    def position(self, name: str) -> int:
        return self.positions.get(name, 0)

    def wait_for(self, name: str, position: int, timeout: float) -> bool:
        """Read-your-writes: waits until the projection has applied `position`."""
        deadline = time.monotonic() + timeout
        with self._caught_up:
            while self.position(name) < position:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    # Another process may be the one applying: look at the store once more.
                    self.positions.update(self.read_positions())
                    return self.position(name) >= position
                self._caught_up.wait(min(remaining, 0.1))
                if self._thread is None:
                    self.positions.update(self.read_positions())
        return True

    # Rebuilding ----------------------------------------------------------------------------

    def requested_rebuilds(self) -> list[str]:
        """Projections a migration asked to rebuild (their tables gained what only a replay
        can fill)."""
        with self.db.read() as cur:
            cur.execute("SELECT name FROM projection_rebuilds ORDER BY name")
            requested = {str(row[0]) for row in cur.fetchall()}
        return [p.name for p in self.projections if p.name in requested]

    def rebuild_requested(self) -> None:
        for name in self.requested_rebuilds():
            self.rebuild(name)

    def rebuild(self, name: str, progress: Callable[[int, int], None] | None = None) -> int:
        """Replays the whole log into new tables for one projection and swaps them in when
        caught up. Calls progress(position, head) after each batch; returns the position."""
        projection = self.projection(name)
        shadow = [table + SHADOW_SUFFIX for table in projection.tables]
        with self.db.transaction() as cur:
            for table, copy in zip(projection.tables, shadow, strict=True):
                cur.execute(f'DROP TABLE IF EXISTS "{copy}"')  # left by an interrupted rebuild
                self.db.create_shadow(cur, table, copy)
        position = 0
        while True:
            head = self.head()
            notifications = self._notifications(position)
            if len(notifications) < self.batch_size or notifications[-1].id >= head:
                break  # close enough to the head: finish while holding the live position
            with self.db.transaction() as cur:
                target = ProjectionCursor(cur, projection, SHADOW_SUFFIX)
                _apply(target, projection, notifications, position, _Decoder(self.app))
            position = notifications[-1].id
            if progress:
                progress(position, head)
        with self.db.transaction() as cur:
            live = self._lock_position(cur, name)
            target = ProjectionCursor(cur, projection, SHADOW_SUFFIX)
            decode = _Decoder(self.app)
            while notifications := self._notifications(position):
                _apply(target, projection, notifications, position, decode)
                position = notifications[-1].id
            assert position >= live, "the shadow must hold every event the live view holds"
            for table, copy in zip(projection.tables, shadow, strict=True):
                self.db.replace_with_shadow(cur, table, copy)
            self._set_position(cur, name, position)
            cur.execute("DELETE FROM projection_rebuilds WHERE name = %s", (name,))
        self._published({name: position})
        if progress:
            progress(position, position)
        return position
