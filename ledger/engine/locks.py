"""Striped in-process locks for the aggregates many commands touch at once."""

import threading
from uuid import UUID


class Busy(Exception):
    """A contended aggregate stayed locked too long: the attempt is retried."""


class StripedLocks:
    """In-process locks for aggregates that many commands touch at once (an activity under
    a signup rush, a popular reward), so that they take turns here instead of conflicting
    in the store. Optimistic concurrency still guards writers in other processes."""

    def __init__(self, stripes: int = 256, timeout: float = 5.0) -> None:
        self._locks = [threading.Lock() for _ in range(stripes)]
        self._timeout = timeout

    def for_id(self, aggregate_id: UUID) -> threading.Lock:
        return self._locks[aggregate_id.int % len(self._locks)]

    def acquire(self, lock: threading.Lock, aggregate_id: UUID) -> None:
        if not lock.acquire(timeout=self._timeout):
            raise Busy(str(aggregate_id))
