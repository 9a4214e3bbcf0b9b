"""A volunteer's signup for one activity: seat, check-in, check-out and verification."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from ledger import bounds
from ledger.base import LedgerAggregate
from ledger.context import Context
from ledger.errors import Conflict, Invalid
from ledger.rules import Rules
from ledger.timesheets import service_minutes


class SignupStatus(StrEnum):
    ACCEPTED = "accepted"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"
    CHECKED_IN = "checked_in"
    CHECKED_OUT = "checked_out"
    VERIFIED = "verified"
    REJECTED = "rejected"


class Decision(StrEnum):
    APPROVE = "approve"
    ADJUST = "adjust"
    REJECT = "reject"


CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Verdict:
    """A validated verification decision, not yet recorded."""

    decision: Decision
    minutes: int
    reason: str | None

    @property
    def credits_service(self) -> bool:
        return self.decision != Decision.REJECT


class Signup(LedgerAggregate):
    check_out_missed = False  # closed by the system; a class default for earlier snapshots
    check_in_time_given: bool | None = None  # class defaults for earlier snapshots
    check_out_time_given: bool | None = None

    class Requested(LedgerAggregate.Created):
        activity_id: UUID
        volunteer_id: UUID
        org_id: UUID
        status: str
        starts_at: datetime
        ends_at: datetime

    class Renewed(LedgerAggregate.Event):
        status: str

        def apply(self, signup: "Signup") -> None:
            signup.status = SignupStatus(self.status)

    class Promoted(LedgerAggregate.Event):
        def apply(self, signup: "Signup") -> None:
            signup.status = SignupStatus.ACCEPTED

    class Cancelled(LedgerAggregate.Event):
        reason: str

        def apply(self, signup: "Signup") -> None:
            signup.status = SignupStatus.CANCELLED

    class CheckedIn(LedgerAggregate.Event):
        class_version = 3  # v2: closes_at; v3: time_given
        at: datetime
        closes_at: datetime | None  # when it is closed if never checked out (None before v2)
        # `at` was given by a coordinator rather than taken from the server's clock (None:
        # recorded before this was noted)
        time_given: bool | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["closes_at"] = None

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["time_given"] = None

        def apply(self, signup: "Signup") -> None:
            signup.status = SignupStatus.CHECKED_IN
            signup.checked_in_at = self.at
            signup.check_in_time_given = self.time_given

    class CheckedOut(LedgerAggregate.Event):
        class_version = 2  # v2: time_given
        at: datetime
        minutes: int
        time_given: bool | None  # as for CheckedIn (False when the system closed it)

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["time_given"] = None

        def apply(self, signup: "Signup") -> None:
            signup.status = SignupStatus.CHECKED_OUT
            signup.checked_out_at = self.at
            signup.measured_minutes = self.minutes
            signup.check_out_time_given = self.time_given

    class CheckOutMissed(CheckedOut):
        """Never checked out: closed at the end of the widened window, for the coordinator
        to verify like any other (and to see that nobody checked out)."""

        def apply(self, signup: "Signup") -> None:
            super().apply(signup)
            signup.check_out_missed = True

    class Verified(LedgerAggregate.Event):
        class_version = 2
        decision: str
        minutes: int
        reason: str | None
        credits: int  # the credits actually posted: fewer than `minutes` above the balance cap

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            # Before credits were recorded here; without a balance cap they equal the minutes.
            state["credits"] = 0 if state["decision"] == Decision.REJECT else state["minutes"]

        def apply(self, signup: "Signup") -> None:
            signup.decision = Decision(self.decision)
            signup.verified_minutes = self.minutes
            signup.credits = self.credits
            signup.status = (
                SignupStatus.REJECTED if self.decision == Decision.REJECT else SignupStatus.VERIFIED
            )

    class Corrected(LedgerAggregate.Event):
        """A dispute resolved by a correction: the verified minutes and credits from now on."""

        dispute_id: UUID
        minutes: int
        credits: int
        reason: str

        def apply(self, signup: "Signup") -> None:
            signup.verified_minutes = self.minutes
            signup.credits = self.credits
            signup.corrections += 1

    def __init__(
        self,
        activity_id: UUID,
        volunteer_id: UUID,
        org_id: UUID,
        status: str,
        starts_at: datetime,
        ends_at: datetime,
    ) -> None:
        self.activity_id = activity_id
        self.volunteer_id = volunteer_id
        self.org_id = org_id
        self.status = SignupStatus(status)
        self.starts_at = starts_at
        self.ends_at = ends_at
        self.checked_in_at: datetime | None = None
        self.checked_out_at: datetime | None = None
        self.measured_minutes: int | None = None
        self.decision: Decision | None = None
        self.verified_minutes: int | None = None  # verified service minutes (after corrections)
        self.credits = 0  # credits posted for this signup (after corrections)
        self.corrections = 0

    @property
    def is_active(self) -> bool:
        return self.status is not SignupStatus.CANCELLED

    def renew(self, ctx: Context, status: str) -> None:
        if self.status is not SignupStatus.CANCELLED:
            raise Conflict("already-signed-up", "the volunteer is already signed up")
        self.emit(ctx, self.Renewed, status=status)

    def promote(self, ctx: Context) -> None:
        self.emit(ctx, self.Promoted)

    def cancel(self, ctx: Context, reason: str) -> None:
        bounds.REASON.check(reason)
        if self.status not in (SignupStatus.ACCEPTED, SignupStatus.WAITLISTED):
            raise Conflict(
                "cannot-cancel", f"a signup that is {self.status.value} can no longer be cancelled"
            )
        self.emit(ctx, self.Cancelled, reason=reason)

    def check_in(self, ctx: Context, rules: Rules, at: datetime, time_given: bool) -> None:
        if self.status is not SignupStatus.ACCEPTED:
            raise Conflict(
                "cannot-check-in", f"a signup that is {self.status.value} cannot check in"
            )
        bounds.MOMENT.check(at)
        if at > ctx.now + CLOCK_SKEW:
            raise Invalid("time-in-future", "check-in time is in the future")
        if at > self.closes_at(rules):
            raise Conflict("activity-over", "the activity has already ended")
        self.emit(
            ctx, self.CheckedIn, at=at, closes_at=self.closes_at(rules), time_given=time_given
        )

    def check_out(self, ctx: Context, rules: Rules, at: datetime, time_given: bool) -> int:
        if self.status is not SignupStatus.CHECKED_IN or self.checked_in_at is None:
            raise Conflict(
                "cannot-check-out", f"a signup that is {self.status.value} cannot check out"
            )
        bounds.MOMENT.check(at)
        if at > ctx.now + CLOCK_SKEW:
            raise Invalid("time-in-future", "check-out time is in the future")
        if at <= self.checked_in_at:
            raise Invalid("invalid-check-out", "check-out must be after check-in")
        minutes = service_minutes(self.checked_in_at, at, self.starts_at, self.ends_at, rules)
        self.emit(ctx, self.CheckedOut, at=at, minutes=minutes, time_given=time_given)
        return minutes

    def closes_at(self, rules: Rules) -> datetime:
        """The end of the scheduled window widened by the grace period: the last moment of
        service that counts, and when a check-in nobody closed is closed."""
        return self.ends_at + timedelta(minutes=rules.grace_minutes)

    def close_unattended(self, ctx: Context, rules: Rules) -> int:
        """Closes a check-in left open past the window, at the window's end; returns the
        service minutes measured."""
        if self.status is not SignupStatus.CHECKED_IN or self.checked_in_at is None:
            raise Conflict("not-checked-in", f"a signup that is {self.status.value} is not open")
        at = self.closes_at(rules)
        if ctx.now < at:
            raise Conflict("window-open", "the activity's window has not closed yet")
        minutes = service_minutes(self.checked_in_at, at, self.starts_at, self.ends_at, rules)
        self.emit(ctx, self.CheckOutMissed, at=at, minutes=minutes, time_given=False)
        return minutes

    def decide(self, decision: Decision, minutes: int | None, reason: str | None) -> Verdict | None:
        """Validates a verification; None when it repeats the decision already recorded
        (a retry, which must credit nothing more)."""
        reason = bounds.REASON.check(reason).strip() or None if reason else None
        if decision == Decision.APPROVE:
            minutes = self.measured_minutes
        elif decision == Decision.ADJUST:
            if minutes is None:
                raise Invalid("invalid-minutes", "adjust needs the verified minutes")
            bounds.SERVICE_MINUTES.check(minutes)
            if not reason:
                raise Invalid("reason-required", "an adjustment needs a reason")
        else:
            if not reason:
                raise Invalid("reason-required", "a rejection needs a reason")
            minutes = 0
        if self.status in (SignupStatus.VERIFIED, SignupStatus.REJECTED):
            if self.decision == decision and self.verified_minutes == minutes:
                return None
            raise Conflict(
                "already-verified",
                f"the signup was already verified ({self.decision}); raise a dispute to correct it",
            )
        if self.status != SignupStatus.CHECKED_OUT:
            raise Conflict(
                "not-checked-out", f"a signup that is {self.status.value} cannot be verified"
            )
        assert minutes is not None
        return Verdict(decision, minutes, reason)

    def verify(self, ctx: Context, verdict: Verdict, credits: int) -> None:
        """Records a decision from `decide`, with the credits the account posted for it."""
        self.emit(
            ctx,
            self.Verified,
            decision=verdict.decision.value,
            minutes=verdict.minutes,
            reason=verdict.reason,
            credits=credits,
        )

    # A credited record, as disputes see it.

    @property
    def is_credited(self) -> bool:
        return self.status == SignupStatus.VERIFIED

    @property
    def service_minutes(self) -> int:
        return self.verified_minutes or 0

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
