"""Follows the event log and applies it to the read models in batches: the view updates and
the new tracking position commit in one transaction, so each event applies exactly once.

Two runners on one store are safe: each batch re-reads its position under a lock and
applies only if nobody moved it meanwhile."""

import threading
import time
from collections.abc import Sequence
from typing import Any, Protocol

import structlog
from eventsourcing.application import Application
from eventsourcing.domain import DomainEventProtocol

from projections.db import Cursor, Database

log = structlog.get_logger(__name__)


class Projection(Protocol):
    name: str
    topics: frozenset[str]
    tables: tuple[str, ...]

    def apply(self, cur: Cursor, event: DomainEventProtocol[Any], position: int) -> None: ...


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

    # Positions ---------------------------------------------------------------------------

    def _lock_position(self, cur: Cursor, name: str) -> int:
        suffix = "" if self.db.is_sqlite else " FOR UPDATE"
        cur.execute("SELECT position FROM projection_positions WHERE name = %s" + suffix, (name,))
        row = cur.fetchone()
        if row is None:
            cur.execute("INSERT INTO projection_positions (name, position) VALUES (%s, 0)", (name,))
            return 0
        return int(row[0])

    def read_positions(self) -> dict[str, int]:
        with self.db.read() as cur:
            cur.execute("SELECT name, position FROM projection_positions")
            stored = {str(name): int(pos) for name, pos in cur.fetchall()}
        return {p.name: stored.get(p.name, 0) for p in self.projections}

    def head(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    # Processing ---------------------------------------------------------------------------

    def process_batch(self) -> int:
        """Applies the next batch of events; returns how many notifications it read."""
        start = min(self.read_positions().values(), default=0)
        notifications = self.app.recorder.select_notifications(
            start=start + 1, limit=self.batch_size
        )
        if not notifications:
            return 0
        last = notifications[-1].id
        applied: dict[str, int] = {}
        with self.db.transaction() as cur:
            for projection in self.projections:
                position = self._lock_position(cur, projection.name)
                for notification in notifications:
                    if notification.id <= position or notification.topic not in projection.topics:
                        continue
                    event = self.app.mapper.to_domain_event(notification)
                    projection.apply(cur, event, notification.id)
                if last > position:
                    cur.execute(
                        "UPDATE projection_positions SET position = %s WHERE name = %s",
                        (last, projection.name),
                    )
                applied[projection.name] = max(last, position)
        self.positions.update(applied)  # only once committed: readers may rely on it
        with self._caught_up:
            self._caught_up.notify_all()
        return len(notifications)

    def catch_up(self) -> None:
        while self.process_batch():
            pass

    # Following ------------------------------------------------------------------------------

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
                log.exception("projection batch failed; retrying")
                time.sleep(1)
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
