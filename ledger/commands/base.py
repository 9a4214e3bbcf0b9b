"""What every command is and needs: its fields are its input, `handle` does the work through
a unit of work, which is all it knows of storage (the engine provides one)."""

from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.context import Context
from ledger.rules import Rules

A = TypeVar("A", bound=Aggregate)


class Secrets(Protocol):
    """What a command may ask of the secrets kept outside the log: whether a caller may try a
    code or PIN at a target now, and whether a PIN is the volunteer's."""

    def check(self, target_kind: str, target_id: str) -> None:
        """Raises TooManyAttempts when the caller, or anyone at the target, has failed too
        often lately."""
        ...

    def pin_matches(self, volunteer_id: UUID, pin: str) -> bool:
        """Whether `pin` is the volunteer's PIN (False when none is set)."""
        ...


class UnitOfWork(Protocol):
    """The aggregates one attempt of a command loads, keeps and changes; what it changed is
    saved by the engine, all of it or none."""

    ctx: Context
    rules: Rules
    pepper: bytes  # the key of the hash that identifies the claim of an ID document
    secrets: Secrets  # PINs and the count of failed codes, kept outside the log

    def find(self, cls: type[A], aggregate_id: UUID) -> A | None:
        """The aggregate if it exists and is a `cls`."""
        ...

    def get(self, cls: type[A], aggregate_id: UUID, what: str | None = None) -> A:
        """The aggregate, or a NotFound refusal named `what`. In a command, a volunteer who
        has been erased is a Conflict `volunteer-erased`: a command that records a fact
        about a volunteer gets them, and so is refused (`find` is for looking only)."""
        ...

    def add(self, aggregate: A) -> A:
        """A new aggregate, to be saved with the others."""
        ...


class Command:
    """A command object: its fields are the input, `handle` does the work."""

    def handle(self, uow: UnitOfWork) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class Created:
    id: UUID
