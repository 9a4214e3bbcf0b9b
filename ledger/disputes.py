"""Disputes: a volunteer contests a credited record (a verified signup or an approved
back-fill); a coordinator dismisses it or corrects the record. A correction is recorded as
new events (a reversal and a re-credit), never as an edit."""

from enum import StrEnum
from typing import Protocol
from uuid import UUID

from ledger import bounds
from ledger.base import LedgerAggregate
from ledger.context import Context
from ledger.errors import Conflict, Invalid
from ledger.identity import derived_id


class DisputeStatus(StrEnum):
    OPEN = "open"
    CORRECTED = "corrected"
    DISMISSED = "dismissed"


class Resolution(StrEnum):
    CORRECT = "correct"
    DISMISS = "dismiss"


class SourceKind(StrEnum):
    SIGNUP = "signup"
    BACKFILL = "backfill"


class CreditedRecord(Protocol):
    """What a dispute needs of the record it contests (Signup, Backfill)."""

    @property
    def id(self) -> UUID: ...
    @property
    def volunteer_id(self) -> UUID: ...
    @property
    def org_id(self) -> UUID: ...
    @property
    def is_credited(self) -> bool: ...
    @property
    def service_minutes(self) -> int: ...
    @property
    def credits(self) -> int: ...

    def correct(
        self, ctx: Context, dispute_id: UUID, minutes: int, credits: int, reason: str
    ) -> None: ...


def dispute_id(source_id: UUID, sequence: int) -> UUID:
    """The n-th dispute of a record (from 1): derived, so that two concurrent disputes of
    one record collide in the store and only one of them is opened."""
    return derived_id(source_id, f"dispute:{sequence}")


class Dispute(LedgerAggregate):
    class Opened(LedgerAggregate.Created):
        volunteer_id: UUID
        source_id: UUID
        source_kind: str
        org_id: UUID
        previous_minutes: int
        reason: str

    class Resolved(LedgerAggregate.Event):
        decision: str  # DisputeStatus.CORRECTED or DisputeStatus.DISMISSED
        minutes: int | None  # the corrected minutes; None when dismissed
        reason: str

        def apply(self, dispute: "Dispute") -> None:
            dispute.status = DisputeStatus(self.decision)
            dispute.corrected_minutes = self.minutes
            dispute.resolution_reason = self.reason
            dispute.resolved_by = self.actor

    def __init__(
        self,
        actor: str,
        volunteer_id: UUID,
        source_id: UUID,
        source_kind: str,
        org_id: UUID,
        previous_minutes: int,
        reason: str,
    ) -> None:
        self.opened_by = actor
        self.volunteer_id = volunteer_id
        self.source_id = source_id
        self.source_kind = SourceKind(source_kind)
        self.org_id = org_id
        self.previous_minutes = previous_minutes
        self.reason = reason
        self.status = DisputeStatus.OPEN
        self.corrected_minutes: int | None = None
        self.resolution_reason: str | None = None
        self.resolved_by: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status == DisputeStatus.OPEN

    @staticmethod
    def require_disputable(record: CreditedRecord, reason: str) -> None:
        if not bounds.REASON.check(reason).strip():
            raise Invalid("reason-required", "a dispute needs a reason")
        if not record.is_credited:
            raise Conflict(
                "not-credited", "only a verified signup or an approved back-fill can be disputed"
            )

    @classmethod
    def open(
        cls,
        ctx: Context,
        new_id: UUID,
        record: CreditedRecord,
        kind: SourceKind,
        reason: str,
    ) -> "Dispute":
        cls.require_disputable(record, reason)
        dispute: Dispute = cls.new(
            ctx,
            cls.Opened,
            id=new_id,
            volunteer_id=record.volunteer_id,
            source_id=record.id,
            source_kind=kind.value,
            org_id=record.org_id,
            previous_minutes=record.service_minutes,
            reason=reason.strip(),
        )
        return dispute

    def check_resolution(
        self, decision: Resolution, minutes: int | None, reason: str, current: int
    ) -> str:
        """Validates a resolution against the record's current minutes; returns the reason."""
        if not self.is_open:
            raise Conflict("dispute-resolved", f"the dispute was already {self.status}")
        if not bounds.REASON.check(reason).strip():
            raise Invalid("reason-required", "a resolution needs a reason")
        if decision == Resolution.CORRECT:
            if minutes is None:
                raise Invalid("invalid-minutes", "a correction needs the corrected minutes")
            bounds.SERVICE_MINUTES.check(minutes)
            if minutes == current:
                raise Invalid(
                    "unchanged-minutes",
                    f"the record already has {current} minutes; dismiss the dispute instead",
                )
        elif minutes is not None:
            raise Invalid("invalid-minutes", "a dismissal changes no minutes; leave them out")
        return reason.strip()

    def resolve(self, ctx: Context, decision: Resolution, minutes: int | None, reason: str) -> None:
        status = (
            DisputeStatus.CORRECTED if decision == Resolution.CORRECT else DisputeStatus.DISMISSED
        )
        self.emit(
            ctx,
            self.Resolved,
            decision=status.value,
            minutes=minutes if decision == Resolution.CORRECT else None,
            reason=reason,
        )
