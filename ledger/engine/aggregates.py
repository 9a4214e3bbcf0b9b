"""The aggregates commands decide on, kept in memory between commands, and the one place that
decides in memory whether a version a command decided on has moved on.

The service's commands load through `Aggregates`, which keeps the states they decide on in
memory between commands instead of reading the store each time. Committed states are cached
and each command gets its own copy; the group writer keeps the cache current with what it
commits and with what other writers committed (their events come back with each batch), and
refuses a command that decided on a version that has moved on.

An aggregate that many commands touch at once (`contended = True`: an activity in a signup
rush, a popular reward) is neither cached nor copied. Commands take turns on one in-memory
state of it, its head, under a striped lock, each building on the changes of the one before
while those are still being committed. The writer answers no command before the ones it
built on are committed, and fails it if one of them failed; a failure breaks the head, and
the next command reloads it from the store once the commands built on it are answered."""

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Repository
from eventsourcing.domain import Aggregate

from ledger.errors import NotFound

A = TypeVar("A", bound=Aggregate)
CACHED_STATES = 10_000
KNOWN_VERSIONS = 50_000  # aggregates whose last committed version the writer remembers
HEADS = 1_000


def fetch(repository: Repository[Any], cls: type[A], aggregate_id: UUID) -> A | None:
    """The aggregate with that id if it exists and is a `cls`."""
    aggregate = load(repository, aggregate_id)
    return aggregate if isinstance(aggregate, cls) else None


def load(repository: Repository[Any], aggregate_id: UUID) -> Aggregate | None:
    try:
        aggregate: Aggregate = repository.get(aggregate_id)
    except AggregateNotFoundError:
        return None
    return aggregate


def require(aggregate: A | None, cls: type[A], aggregate_id: UUID, what: str | None = None) -> A:
    if aggregate is None:
        noun = what or cls.__name__.lower()
        raise NotFound(f"{noun}-not-found", f"no {noun} with id {aggregate_id}")
    return aggregate


def is_contended(cls: type[Any]) -> bool:
    return bool(getattr(cls, "contended", False))


_ATOMS: frozenset[type[Any]] = frozenset(
    {str, int, float, bool, type(None), bytes, UUID, datetime, date, timedelta, Decimal}
)


def _copy(value: Any) -> Any:
    kind = type(value)
    if kind in _ATOMS or isinstance(value, Enum):
        return value
    if kind is list:
        return [v if type(v) in _ATOMS else _copy(v) for v in value]
    if kind is dict:
        return {k: v if type(v) in _ATOMS else _copy(v) for k, v in value.items()}
    return deepcopy(value)


def copy_aggregate(aggregate: A) -> A:
    """A copy to change without touching the original: immutable values are shared."""
    clone: A = object.__new__(type(aggregate))
    state = {k: v if type(v) in _ATOMS else _copy(v) for k, v in vars(aggregate).items()}
    state["_pending_events"] = []
    vars(clone).update(state)
    return clone


class Pending(Protocol):
    """A command handed to the writer: `done` is set once it is answered."""

    @property
    def done(self) -> threading.Event: ...

    @property
    def error(self) -> BaseException | None: ...


@dataclass(eq=False)
class Head:
    """The latest in-memory state of a contended aggregate, and the last command that built
    it if that one is not answered yet."""

    aggregate: Aggregate
    after: Pending | None = None
    broken: bool = False

    def usable(self) -> bool:
        return not self.broken and (self.after is None or self.after.error is None)

    def pending(self) -> Pending | None:
        after = self.after
        return None if after is None or after.done.is_set() else after


class Aggregates:
    """The aggregates commands decide on; see the module's docstring."""

    def __init__(
        self, repository: Repository[Any], head: int, cached_states: int = CACHED_STATES
    ) -> None:
        self.repository = repository  # reads the store itself, without a cache
        self._cached_states = cached_states
        self._lock = threading.Lock()
        self._cache: OrderedDict[UUID, Aggregate] = OrderedDict()  # never changed in place
        self._known: OrderedDict[UUID, tuple[int, int]] = OrderedDict()  # -> version, position
        self._heads: OrderedDict[UUID, Head] = OrderedDict()
        self.head = head  # every event up to this log position is reflected in what is kept
        # A command begun before this position may rest on a version no longer remembered.
        self._forgotten = head

    # For commands ------------------------------------------------------------------------

    def copy(
        self, aggregate_id: UUID, started_at: int, fresh: bool
    ) -> tuple[Aggregate | None, bool]:
        """A copy of the aggregate, and whether it came from memory rather than the store."""
        if not fresh:
            with self._lock:
                cached = self._cache.get(aggregate_id)
                if cached is not None:
                    self._cache.move_to_end(aggregate_id)
            if cached is not None:
                return copy_aggregate(cached), True
        aggregate = load(self.repository, aggregate_id)
        if aggregate is not None and not is_contended(type(aggregate)):
            self._keep(aggregate_id, copy_aggregate(aggregate), started_at)
        return aggregate, False

    def take_head(
        self, aggregate_id: UUID, started_at: int, fresh: bool
    ) -> tuple[Head | None, bool]:
        """The head of a contended aggregate (the caller holds its striped lock), and whether
        it was already in memory."""
        with self._lock:
            head = self._heads.get(aggregate_id)
            if head is not None:
                self._heads.move_to_end(aggregate_id)
        if head is not None:
            if head.usable() and not fresh:
                return head, True
            if head.after is not None:
                head.after.done.wait()  # the commands built on it are answered: reload
            with self._lock:
                if self._heads.get(aggregate_id) is head:
                    del self._heads[aggregate_id]
        aggregate = load(self.repository, aggregate_id)
        if aggregate is None:
            return None, False
        head = Head(aggregate)
        if is_contended(type(aggregate)):
            with self._lock:
                if started_at >= self._forgotten and self._current(aggregate_id, aggregate.version):
                    self._heads[aggregate_id] = head
                    self._trim_heads()
        return head, False

    def _keep(self, aggregate_id: UUID, aggregate: Aggregate, started_at: int) -> None:
        with self._lock:
            if started_at < self._forgotten or not self._current(aggregate_id, aggregate.version):
                return
            cached = self._cache.get(aggregate_id)
            if cached is None or cached.version < aggregate.version:
                self._cache[aggregate_id] = aggregate
            self._cache.move_to_end(aggregate_id)
            while len(self._cache) > self._cached_states:
                self._cache.popitem(last=False)

    def current(self, reads: Mapping[UUID, int], started_at: int, log_head: int) -> bool:
        """Whether versions read since `started_at` are still the latest, given the log's
        last position: false when another writer may have moved one of them."""
        with self._lock:
            if log_head != self.head or started_at < self._forgotten:
                return False
            return all(self._current(aggregate_id, v) for aggregate_id, v in reads.items())

    # For the writer ----------------------------------------------------------------------

    def is_stale(
        self, reads: Mapping[UUID, int], started_at: int, batch: Mapping[UUID, int]
    ) -> bool:
        """Whether a command decided on a version that has moved on, or that is not the one
        the commands admitted before it in the batch (`batch`: their last versions) left."""
        with self._lock:
            if started_at < self._forgotten:
                return True
            for aggregate_id, version in reads.items():
                if aggregate_id in batch:
                    if version != batch[aggregate_id]:
                        return True
                elif not self._current(aggregate_id, version):
                    return True
        return False

    def moved_on(
        self,
        events: Sequence[tuple[int, UUID, int]],
        last: int,
        reads: Sequence[Mapping[UUID, int]],
        limit: int,
    ) -> list[bool]:
        """Takes in the events other writers committed (position, aggregate id, version;
        at most `limit` + 1, up to the position `last`); for each command's reads, whether
        one of them has moved on. More than `limit` are too many to follow: everything kept
        is forgotten and every command is sent back."""
        if len(events) > limit:
            self.forget(last)
            return [True] * len(reads)
        if not events:
            return [False] * len(reads)
        moved = self.observe(events)
        return [any(v < moved.get(a, v) for a, v in read.items()) for read in reads]

    def observe(self, events: Iterable[tuple[int, UUID, int]]) -> dict[UUID, int]:
        """Takes in other writers' events (position, aggregate id, version) since `head`;
        returns the last version of each aggregate they moved."""
        moved: dict[UUID, int] = {}
        with self._lock:
            for position, aggregate_id, version in events:
                moved[aggregate_id] = max(version, moved.get(aggregate_id, 0))
                self._remember(aggregate_id, version, position)
                cached = self._cache.get(aggregate_id)
                if cached is not None and cached.version < version:
                    del self._cache[aggregate_id]
                head = self._heads.get(aggregate_id)
                if head is not None:
                    head.broken = True
                self.head = max(self.head, position)
        return moved

    def committed(
        self, aggregates: Iterable[Aggregate], events: Iterable[tuple[int, UUID, int]]
    ) -> None:
        """Takes in a committed batch: its changed aggregates, which nothing changes any
        more unless they are contended, and its events."""
        with self._lock:
            for position, aggregate_id, version in events:
                self._remember(aggregate_id, version, position)
                self.head = max(self.head, position)
            for aggregate in aggregates:
                if not is_contended(type(aggregate)):
                    self._cache[aggregate.id] = aggregate
                    self._cache.move_to_end(aggregate.id)
            while len(self._cache) > self._cached_states:
                self._cache.popitem(last=False)

    def discard(self, aggregate_ids: Iterable[UUID], refused: bool = False) -> None:
        """Aggregates of a command that will not be written: heads built on it are broken;
        cached states are dropped if the store `refused` it (they may be stale)."""
        with self._lock:
            for aggregate_id in aggregate_ids:
                if refused:
                    self._cache.pop(aggregate_id, None)
                head = self._heads.get(aggregate_id)
                if head is not None:
                    head.broken = True

    def forget(self, position: int) -> None:
        """Too much was written elsewhere to follow: drops everything kept; commands begun
        before `position` are refused."""
        with self._lock:
            self._cache.clear()
            self._known.clear()
            for head in self._heads.values():
                head.broken = True
            self.head = max(self.head, position)
            self._forgotten = self.head

    # Inside the lock ---------------------------------------------------------------------

    def _current(self, aggregate_id: UUID, version: int) -> bool:
        known = self._known.get(aggregate_id)
        return known is None or known[0] <= version

    def _remember(self, aggregate_id: UUID, version: int, position: int) -> None:
        known = self._known.get(aggregate_id)
        self._known[aggregate_id] = (max(version, known[0] if known else 0), position)
        self._known.move_to_end(aggregate_id)
        while len(self._known) > KNOWN_VERSIONS:
            dropped, (_, at) = self._known.popitem(last=False)
            self._forgotten = max(self._forgotten, at)
            self._cache.pop(dropped, None)
            head = self._heads.get(dropped)
            if head is not None:
                head.broken = True

    def _trim_heads(self) -> None:
        if len(self._heads) <= HEADS:
            return
        for aggregate_id in list(self._heads)[: len(self._heads) - HEADS]:
            if self._heads[aggregate_id].pending() is None:
                del self._heads[aggregate_id]
