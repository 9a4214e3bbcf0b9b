"""Units of work: what one attempt of a command (or a query) loads, keeps and changes.

`UnitOfWork` loads from the store (for queries: nothing it does is saved); `CommandUnit`, the
unit of one attempt of a command run by the service, loads through `Aggregates` and notes
what its decision rests on (the versions it read, the unanswered commands it builds on)."""

import threading
from collections.abc import Collection
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import Repository
from eventsourcing.domain import Aggregate

from ledger.commands.base import Secrets
from ledger.context import Context
from ledger.engine.aggregates import Aggregates, Head, Pending, is_contended, load, require
from ledger.engine.locks import StripedLocks
from ledger.engine.secrets import CallerSecrets, NoSecrets, SecretGuard
from ledger.rules import Rules
from ledger.volunteers import Volunteer

A = TypeVar("A", bound=Aggregate)


class UnitOfWork:
    def __init__(
        self,
        repository: Repository[Any],
        ctx: Context,
        rules: Rules,
        locks: StripedLocks,
        pepper: bytes = b"",
        guard: SecretGuard | None = None,
    ) -> None:
        self.ctx = ctx
        self.rules = rules
        self.pepper = pepper  # the key of the hash that identifies the claim of an ID document
        self.secrets: Secrets = CallerSecrets(guard or NoSecrets(), ctx.actor)
        self._repository = repository
        self._locks = locks
        self._held: list[threading.Lock] = []
        self._seen: dict[UUID, Aggregate | None] = {}

    def find(self, cls: type[A], aggregate_id: UUID) -> A | None:
        if aggregate_id not in self._seen:
            contended = is_contended(cls)
            if contended:
                lock = self._locks.for_id(aggregate_id)
                if lock not in self._held:
                    self._locks.acquire(lock, aggregate_id)
                    self._held.append(lock)
            self._seen[aggregate_id] = self._load(aggregate_id, contended)
        seen = self._seen[aggregate_id]
        return seen if isinstance(seen, cls) else None

    def _load(self, aggregate_id: UUID, contended: bool) -> Aggregate | None:
        return load(self._repository, aggregate_id)

    def get(self, cls: type[A], aggregate_id: UUID, what: str | None = None) -> A:
        return require(self.find(cls, aggregate_id), cls, aggregate_id, what)

    def add(self, aggregate: A) -> A:
        self._seen[aggregate.id] = aggregate
        return aggregate

    def changed(self) -> list[Aggregate]:
        return [a for a in self._seen.values() if a is not None and a.pending_events]

    def close(self) -> None:
        while self._held:
            self._held.pop().release()


class CommandUnit(UnitOfWork):
    """The unit of work of one attempt of a command run by the service: it loads through
    `Aggregates` and notes what its decision rests on. `fresh` loads everything from the
    store (for an outcome that may rest on a version another writer has moved)."""

    def __init__(
        self,
        aggregates: Aggregates,
        ctx: Context,
        rules: Rules,
        locks: StripedLocks,
        pepper: bytes,
        fresh: bool = False,
        guard: SecretGuard | None = None,
    ) -> None:
        super().__init__(aggregates.repository, ctx, rules, locks, pepper, guard)
        self._aggregates = aggregates
        self._fresh = fresh
        self.started_at = aggregates.head
        self.reads: dict[UUID, int] = {}  # the version of each aggregate decided on (0: absent)
        self.after: set[Pending] = set()  # unanswered commands whose changes it builds on
        self.remembered = False  # whether anything came from memory rather than the store
        self._heads: list[Head] = []

    def _load(self, aggregate_id: UUID, contended: bool) -> Aggregate | None:
        aggregates, started_at, fresh = self._aggregates, self.started_at, self._fresh
        if contended:
            head, remembered = aggregates.take_head(aggregate_id, started_at, fresh)
            aggregate = None if head is None else head.aggregate
            if head is not None:
                self._heads.append(head)
                pending = head.pending()
                if pending is not None:
                    self.after.add(pending)
        else:
            aggregate, remembered = aggregates.copy(aggregate_id, started_at, fresh)
        self.remembered = self.remembered or remembered
        self.reads[aggregate_id] = 0 if aggregate is None else aggregate.version
        return aggregate

    def get(self, cls: type[A], aggregate_id: UUID, what: str | None = None) -> A:
        """As for any unit, and the one place that refuses to act on an erased volunteer:
        every command that records a fact about a volunteer gets them (`find` still sees
        them, for the commands that only look: a registration's checks, the erasure)."""
        aggregate = super().get(cls, aggregate_id, what)
        if isinstance(aggregate, Volunteer):
            aggregate.require_not_erased()
        return aggregate

    def add(self, aggregate: A) -> A:
        self.reads.setdefault(aggregate.id, 0)
        return super().add(aggregate)

    def hand_over(self, submission: Pending, changed: Collection[Aggregate]) -> None:
        """The heads this attempt changed are now built by `submission` (before it is
        handed to the writer)."""
        for head in self._heads:
            if any(head.aggregate is aggregate for aggregate in changed):
                head.after = submission

    def close(self) -> None:
        for head in self._heads:
            if head.aggregate.pending_events:  # changed by an attempt that gave up
                head.broken = True
        super().close()
