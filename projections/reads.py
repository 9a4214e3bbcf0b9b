"""What the queries of every view share: the read models' database, the aggregates they check
read permissions on, the runner whose positions they report and wait for (read-your-writes),
and the rules."""

from dataclasses import dataclass
from typing import Protocol, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.commands.base import UnitOfWork
from ledger.context import Context
from ledger.rules import Rules
from projections.db import Database
from projections.runner import ProjectionRunner

A = TypeVar("A", bound=Aggregate)


class Lagging(Exception):
    """A view has not applied the position a read asked for within the wait allowed."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Aggregates(Protocol):
    """The aggregates as a query sees them: loaded for reading, and a unit of work that the
    read permissions consult (ledger/engine/service.py: LedgerService)."""

    def load(self, cls: type[A], aggregate_id: UUID, what: str) -> A: ...

    def reader(self, ctx: Context) -> UnitOfWork: ...


@dataclass(frozen=True)
class Views:
    db: Database
    aggregates: Aggregates
    runner: ProjectionRunner
    rules: Rules
    wait_seconds: float  # how long a read waits for the position it asked for

    def wait(self, projection: str, min_position: int | None) -> None:
        """Read-your-writes: waits (bounded) until the view has applied min_position."""
        if min_position is None:
            return
        if not self.runner.wait_for(projection, min_position, self.wait_seconds):
            raise Lagging(
                f"the {projection} view has not reached position {min_position} yet; retry"
            )

    def position(self, projection: str) -> int:
        return self.runner.position(projection)
