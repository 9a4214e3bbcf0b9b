"""Back-fill (补录): service done without check-in, entered afterwards by one coordinator
and credited only once a second coordinator approves it (maker-checker)."""

from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from ledger import bounds
from ledger.base import LedgerAggregate
from ledger.context import Context
from ledger.errors import Conflict, Forbidden, Invalid
from ledger.rules import Rules

MAX_BACKFILL = timedelta(hours=24)
CLOCK_SKEW = timedelta(minutes=5)


class BackfillStatus(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"


def backfill_minutes(started_at: datetime, ended_at: datetime, rules: Rules) -> int:
    """The interval in whole minutes, rounded down to the granularity."""
    minutes = int((ended_at - started_at).total_seconds() // 60)
    return minutes - minutes % rules.granularity_minutes


def check_interval(ctx: Context, rules: Rules, started_at: datetime, ended_at: datetime) -> int:
    """Validates a back-filled interval against the window; returns its service minutes."""
    bounds.MOMENT.check(started_at)
    bounds.MOMENT.check(ended_at)
    if started_at < ctx.now - timedelta(days=rules.backfill_window_days):
        raise Invalid(
            "outside-backfill-window",
            f"service can be back-filled up to {rules.backfill_window_days} days after it began",
        )
    if ended_at <= started_at:
        raise Invalid("invalid-interval", "the service must end after it started")
    if ended_at > ctx.now + CLOCK_SKEW:
        raise Invalid("time-in-future", "the service cannot end in the future")
    if ended_at - started_at > MAX_BACKFILL:
        raise Invalid("invalid-interval", "one back-fill covers at most 24 hours of service")
    minutes = backfill_minutes(started_at, ended_at, rules)
    if minutes <= 0:
        raise Invalid(
            "invalid-interval",
            f"the interval is shorter than the granularity of {rules.granularity_minutes} minutes",
        )
    return minutes


class Backfill(LedgerAggregate):
    class Submitted(LedgerAggregate.Created):
        volunteer_id: UUID
        org_id: UUID
        activity_id: UUID | None
        category: str
        campaign: str | None
        started_at: datetime
        ended_at: datetime
        minutes: int
        description: str
        evidence: list[str]

    class Approved(LedgerAggregate.Event):
        """Approved by the event's actor, a coordinator other than the submitter."""

        minutes: int
        credits: int  # the credits actually posted: fewer than `minutes` above the balance cap

        def apply(self, backfill: "Backfill") -> None:
            backfill.status = BackfillStatus.APPROVED
            backfill.approved_by = self.actor
            backfill.service_minutes = self.minutes
            backfill.credits = self.credits

    class Rejected(LedgerAggregate.Event):
        reason: str

        def apply(self, backfill: "Backfill") -> None:
            backfill.status = BackfillStatus.REJECTED
            backfill.rejected_by = self.actor
            backfill.rejection_reason = self.reason

    class Corrected(LedgerAggregate.Event):
        """A dispute resolved by a correction: the service minutes and credits from now on."""

        dispute_id: UUID
        minutes: int
        credits: int
        reason: str

        def apply(self, backfill: "Backfill") -> None:
            backfill.service_minutes = self.minutes
            backfill.credits = self.credits
            backfill.corrections += 1

    def __init__(
        self,
        actor: str,
        volunteer_id: UUID,
        org_id: UUID,
        activity_id: UUID | None,
        category: str,
        campaign: str | None,
        started_at: datetime,
        ended_at: datetime,
        minutes: int,
        description: str,
        evidence: list[str],
    ) -> None:
        self.submitted_by = actor
        self.volunteer_id = volunteer_id
        self.org_id = org_id
        self.activity_id = activity_id
        self.category = category
        self.campaign = campaign
        self.started_at = started_at
        self.ended_at = ended_at
        self.minutes = minutes  # the interval, as submitted
        self.description = description
        self.evidence = list(evidence)
        self.status = BackfillStatus.SUBMITTED
        self.approved_by: str | None = None
        self.rejected_by: str | None = None
        self.rejection_reason: str | None = None
        self.service_minutes = 0  # credited service minutes once approved (after corrections)
        self.credits = 0
        self.corrections = 0

    def require_approver(self, ctx: Context) -> None:
        if ctx.actor.name == self.submitted_by:
            raise Forbidden(
                "same-approver", "a back-fill must be approved by someone other than its submitter"
            )

    def require_submitted(self, action: str) -> None:
        if self.status != BackfillStatus.SUBMITTED:
            raise Conflict(
                "already-decided", f"a back-fill that is {self.status} cannot be {action}"
            )

    @property
    def is_approved(self) -> bool:
        return self.status == BackfillStatus.APPROVED

    def approve(self, ctx: Context, credits: int) -> None:
        self.require_approver(ctx)
        self.require_submitted("approved")
        self.emit(ctx, self.Approved, minutes=self.minutes, credits=credits)

    def reject(self, ctx: Context, reason: str) -> None:
        if not bounds.REASON.check(reason).strip():
            raise Invalid("reason-required", "a rejection needs a reason")
        self.require_submitted("rejected")
        self.emit(ctx, self.Rejected, reason=reason.strip())

    # A credited record, as disputes see it.

    @property
    def is_credited(self) -> bool:
        return self.is_approved

    def correct(
        self, ctx: Context, dispute_id: UUID, minutes: int, credits: int, reason: str
    ) -> None:
        self.emit(
            ctx,
            self.Corrected,
            dispute_id=dispute_id,
            minutes=minutes,
            credits=credits,
            reason=reason,
        )
