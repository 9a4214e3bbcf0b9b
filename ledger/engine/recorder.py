"""The event store as the engine needs it, beyond the event library's own recorder: a batch
of the group writer appended with its staleness check and the responses to its idempotency
keys in one transaction, and a stored response looked up. The store adapters
(timebank/eventstore.py) implement it on SQLite and PostgreSQL."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from eventsourcing.persistence import StoredEvent


@dataclass(frozen=True)
class PendingResponse:
    principal: str
    key: str
    fingerprint: str
    body: Mapping[str, Any]


@dataclass(frozen=True)
class StoredResponse:
    fingerprint: str
    body: dict[str, Any]  # as the command answered, without its position
    position: int | None  # of the command's last event


@dataclass(frozen=True)
class Response:
    """The response to store with a command's events (under its idempotency key)."""

    value: Any
    last_event: int  # index, in the batch's events, of the command's last event


class StaleReads(Exception):
    """Another writer moved aggregates that these commands of the batch decided on."""

    def __init__(self, submissions: list[Any]) -> None:
        super().__init__(f"{len(submissions)} commands decided on moved aggregates")
        self.submissions = submissions


UNKNOWN_OUTCOME = (
    "the database stopped answering while this was being recorded, and whether it was is not "
    "known; retry with the same Idempotency-Key, which answers with the first outcome if any"
)


class StoreUnavailable(Exception):
    """The store did not answer while a batch was written, and whether it committed is not
    known: the commands are not run again (they might run twice); their callers may retry
    with the same Idempotency-Key, which answers with the first outcome if there was one."""


class BatchCheck(Protocol):
    """What the writer hands the store with a batch (group_commit.ForeignEvents): the store
    writes the batch only if every aggregate in `reads` is still at the version read, reads
    the events other writers committed after `after` (at most `limit` + 1) and calls back
    with them (position, aggregate id, version; oldest first) and the last position before
    the batch's own, which answers the commands those events made stale."""

    after: int
    limit: int
    reads: Mapping[UUID, int]
    batch: Sequence[Any]

    def __call__(self, events: Sequence[tuple[int, UUID, int]], last: int) -> list[Any]: ...


@runtime_checkable
class LedgerRecorder(Protocol):
    def insert_events(
        self,
        stored_events: Sequence[StoredEvent],
        *,
        check: BatchCheck | None = None,
        responses: Sequence[Response] = (),
    ) -> Sequence[int] | None:
        """Appends the events; with `check`, only if none of the batch's reads moved (else
        raises StaleReads), storing `responses` with them; returns their positions."""
        ...

    def stored_response(self, principal: str, key: str) -> StoredResponse | None: ...

    def max_notification_id(self) -> int | None: ...
