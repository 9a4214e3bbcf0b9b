"""Loads aggregates for one command attempt and collects what it changed."""

import threading
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Repository
from eventsourcing.domain import Aggregate

from ledger.audit import Context
from ledger.errors import NotFound
from ledger.rules import Rules

A = TypeVar("A", bound=Aggregate)


def fetch(repository: Repository[Any], cls: type[A], aggregate_id: UUID) -> A | None:
    """The aggregate with that id if it exists and is a `cls`."""
    try:
        aggregate: Aggregate = repository.get(aggregate_id)
    except AggregateNotFoundError:
        return None
    return aggregate if isinstance(aggregate, cls) else None


def require(aggregate: A | None, cls: type[A], aggregate_id: UUID, what: str | None = None) -> A:
    if aggregate is None:
        noun = what or cls.__name__.lower()
        raise NotFound(f"{noun}-not-found", f"no {noun} with id {aggregate_id}")
    return aggregate


class Busy(Exception):
    """A contended aggregate stayed locked too long: the attempt is retried."""


class StripedLocks:
    """In-process locks for aggregates that many commands touch at once (an activity under
    a signup rush, a popular reward), so that they queue here instead of conflicting in the
    store. Optimistic concurrency still guards writers in other processes."""

    def __init__(self, stripes: int = 256, timeout: float = 5.0) -> None:
        self._locks = [threading.Lock() for _ in range(stripes)]
        self._timeout = timeout

    def for_id(self, aggregate_id: UUID) -> threading.Lock:
        return self._locks[aggregate_id.int % len(self._locks)]

    def acquire(self, lock: threading.Lock, aggregate_id: UUID) -> None:
        if not lock.acquire(timeout=self._timeout):
            raise Busy(str(aggregate_id))


class UnitOfWork:
    def __init__(
        self,
        repository: Repository[Any],
        ctx: Context,
        rules: Rules,
        locks: StripedLocks,
        pepper: bytes = b"",
    ) -> None:
        self.ctx = ctx
        self.rules = rules
        self.pepper = pepper  # the key of the hash that makes volunteer ids from ID documents
        self._repository = repository
        self._locks = locks
        self._held: list[threading.Lock] = []
        self._seen: dict[UUID, Aggregate] = {}

    def find(self, cls: type[A], aggregate_id: UUID) -> A | None:
        if aggregate_id in self._seen:
            seen = self._seen[aggregate_id]
            return seen if isinstance(seen, cls) else None
        if getattr(cls, "contended", False):
            lock = self._locks.for_id(aggregate_id)
            if lock not in self._held:
                self._locks.acquire(lock, aggregate_id)
                self._held.append(lock)
        aggregate = fetch(self._repository, cls, aggregate_id)
        if aggregate is not None:
            self._seen[aggregate_id] = aggregate
        return aggregate

    def get(self, cls: type[A], aggregate_id: UUID, what: str | None = None) -> A:
        return require(self.find(cls, aggregate_id), cls, aggregate_id, what)

    def add(self, aggregate: A) -> A:
        self._seen[aggregate.id] = aggregate
        return aggregate

    def changed(self) -> list[Aggregate]:
        return [a for a in self._seen.values() if a.pending_events]

    def close(self) -> None:
        while self._held:
            self._held.pop().release()
