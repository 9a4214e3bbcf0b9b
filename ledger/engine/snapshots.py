"""Snapshots taken off the writer's path."""

import threading
from collections.abc import Sequence
from queue import SimpleQueue
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

from ledger.engine.aggregates import is_contended

log = structlog.get_logger(__name__)


class Snapshots:
    """Takes the snapshots committed batches call for (the application's
    `snapshotting_intervals`) in a thread of its own, so that the writer does not wait for
    them: from the committed state in memory, or from the store for a contended aggregate,
    whose state in memory may already be further on. Snapshots are written after their
    events in any case; a failed one is logged, and the next interval takes another."""

    def __init__(self, app: Application[UUID]) -> None:
        self._app = app
        self._intervals = app.snapshotting_intervals or {}
        self._queue: SimpleQueue[list[tuple[Aggregate, int]] | None] = SimpleQueue()
        self._thread: threading.Thread | None = None

    def take(self, batch: Sequence[Any]) -> None:
        if self._app.snapshots is None or not self._intervals:
            return
        due = [
            (aggregate, version)
            for submission in batch
            for aggregate, version in self._due(submission)
        ]
        if not due:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="snapshots", daemon=True)
            self._thread.start()
        self._queue.put(due)

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)

    def _due(self, submission: Any) -> list[tuple[Aggregate, int]]:
        by_id = {a.id: a for a in submission.aggregates}
        due: dict[UUID, tuple[Aggregate, int]] = {}
        for event in submission.events:
            aggregate = by_id[event.originator_id]
            interval = self._intervals.get(type(aggregate))
            if interval and event.originator_version % interval == 0:
                due[aggregate.id] = (aggregate, event.originator_version)
        return list(due.values())

    def _run(self) -> None:
        while (due := self._queue.get()) is not None:
            for aggregate, version in due:
                try:
                    self._snapshot(aggregate, version)
                except Exception:
                    log.exception("snapshot failed", aggregate_id=str(aggregate.id))

    def _snapshot(self, aggregate: Aggregate, version: int) -> None:
        app = self._app
        if is_contended(type(aggregate)):
            app.take_snapshot(aggregate.id, version=version)
            return
        snapshot_class = getattr(type(aggregate), "Snapshot", type(app).snapshot_class)
        assert app.snapshots is not None and snapshot_class is not None
        app.snapshots.put([snapshot_class.take(aggregate)])  # its committed state: immutable
