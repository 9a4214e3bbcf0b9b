"""Activities and their attendance: publication, signups, check-in and check-out (and the
closing of a check-in nobody closed), and the verification that credits the service."""

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from ledger import bounds
from ledger.activities import Activity, Category
from ledger.commands.base import Command, UnitOfWork
from ledger.commands.crediting import credit_service, volunteer_timesheet
from ledger.commands.permissions import (
    is_self,
    require_coordinator_of,
    require_role,
    require_self_or_coordinator,
)
from ledger.context import Role
from ledger.errors import Invalid, Kind, WrongSecret
from ledger.identity import (
    signup_id,
    timesheet_id,
)
from ledger.organisations import Organisation
from ledger.signups import Decision, Signup
from ledger.timesheets import Timesheet
from ledger.volunteers import Volunteer


@dataclass(frozen=True)
class ActivityPublished:
    id: UUID
    check_in_code: str


@dataclass(frozen=True)
class PublishActivity(Command):
    org_id: UUID
    title: str
    category: Category
    location: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    campaign: str | None = None

    def handle(self, uow: UnitOfWork) -> ActivityPublished:
        require_role(uow.ctx.actor, Role.COORDINATOR)
        org = uow.get(Organisation, self.org_id, "organisation")
        require_coordinator_of(uow, uow.ctx.actor, org.id)
        activity = Activity.publish(
            uow.ctx,
            org.id,
            self.title,
            self.category,
            self.location,
            self.starts_at,
            self.ends_at,
            self.capacity,
            self.campaign,
        )
        uow.add(activity)
        return ActivityPublished(activity.id, activity.check_in_code)


@dataclass(frozen=True)
class SignupState:
    id: UUID
    status: str


@dataclass(frozen=True)
class SignUp(Command):
    activity_id: UUID
    volunteer_id: UUID

    def handle(self, uow: UnitOfWork) -> SignupState:
        # Loaded before the activity, whose lock the signups of a rush queue for.
        uow.find(Volunteer, self.volunteer_id)
        uow.find(Signup, signup_id(self.activity_id, self.volunteer_id))
        activity = uow.get(Activity, self.activity_id, "activity")
        volunteer = uow.get(Volunteer, self.volunteer_id, "volunteer")
        require_self_or_coordinator(uow, uow.ctx.actor, volunteer.id, activity.org_id)
        sid = signup_id(activity.id, volunteer.id)
        status = activity.take_seat(uow.ctx, sid, volunteer.id)
        signup = uow.find(Signup, sid)
        if signup is None:
            uow.add(
                Signup.new(
                    uow.ctx,
                    Signup.Requested,
                    id=sid,
                    activity_id=activity.id,
                    volunteer_id=volunteer.id,
                    org_id=activity.org_id,
                    status=status.value,
                    starts_at=activity.starts_at,
                    ends_at=activity.ends_at,
                )
            )
        else:
            signup.renew(uow.ctx, status.value)
        return SignupState(sid, status.value)


def _load_signup(uow: UnitOfWork, sid: UUID) -> Signup:
    return uow.get(Signup, sid, "signup")


@dataclass(frozen=True)
class CancelSignup(Command):
    signup_id: UUID
    reason: str = ""

    def handle(self, uow: UnitOfWork) -> SignupState:
        signup = _load_signup(uow, self.signup_id)
        require_self_or_coordinator(uow, uow.ctx.actor, signup.volunteer_id, signup.org_id)
        activity = uow.get(Activity, signup.activity_id, "activity")
        signup.cancel(uow.ctx, self.reason.strip() or "cancelled")
        promoted = activity.release_seat(uow.ctx, signup.id)
        if promoted is not None:
            _load_signup(uow, promoted).promote(uow.ctx)
        return SignupState(signup.id, signup.status.value)


CHECK_IN_CODE = "check-in-code"  # the target kind of a wrong check-in code, as counted


def _attendance_time(
    uow: UnitOfWork, signup: Signup, code: str | None, at: datetime | None
) -> tuple[datetime, bool]:
    """Who may record attendance, and at what time: the volunteer with the activity's
    check-in code, at the server's time (`at` may differ from it by the tolerance at most);
    or a coordinator on their behalf, at any time they give (then marked as given)."""
    actor = uow.ctx.actor
    now = uow.ctx.now
    uow.get(Volunteer, signup.volunteer_id, "volunteer")  # attendance is a fact about them
    if is_self(actor, signup.volunteer_id):
        activity = uow.get(Activity, signup.activity_id, "activity")
        target = str(signup.id)
        typed = bounds.CODE.check(code).strip().encode() if code is not None else None
        uow.secrets.check(CHECK_IN_CODE, target)
        if typed is None or not secrets.compare_digest(typed, activity.check_in_code.encode()):
            raise WrongSecret(
                Kind.FORBIDDEN,
                "wrong-check-in-code",
                "the check-in code is missing or wrong",
                CHECK_IN_CODE,
                target,
            )
        tolerance = timedelta(minutes=uow.rules.self_time_tolerance_minutes)
        if at is not None and abs(at - now) > tolerance:
            raise Invalid(
                "time-not-now",
                "a volunteer's own check-in and check-out are recorded at the server's time; "
                f"`at` may differ from it by {uow.rules.self_time_tolerance_minutes} minutes "
                "at most (a coordinator records another time)",
            )
        return now, False
    require_self_or_coordinator(uow, actor, signup.volunteer_id, signup.org_id)
    return at or now, at is not None


@dataclass(frozen=True)
class Attendance:
    id: UUID
    status: str
    at: datetime
    minutes: int | None = None
    time_given_by_coordinator: bool = False


@dataclass(frozen=True)
class CheckIn(Command):
    signup_id: UUID
    at: datetime | None = None
    code: str | None = field(default=None, repr=False)

    def handle(self, uow: UnitOfWork) -> Attendance:
        signup = _load_signup(uow, self.signup_id)
        at, given = _attendance_time(uow, signup, self.code, self.at)
        signup.check_in(uow.ctx, uow.rules, at, given)
        volunteer_timesheet(uow, signup.volunteer_id).check_in(uow.ctx, uow.rules, signup.id, at)
        return Attendance(signup.id, signup.status.value, at, None, given)


@dataclass(frozen=True)
class CheckOut(Command):
    signup_id: UUID
    at: datetime | None = None
    code: str | None = field(default=None, repr=False)

    def handle(self, uow: UnitOfWork) -> Attendance:
        signup = _load_signup(uow, self.signup_id)
        at, given = _attendance_time(uow, signup, self.code, self.at)
        minutes = signup.check_out(uow.ctx, uow.rules, at, given)
        uow.get(Timesheet, timesheet_id(signup.volunteer_id)).check_out(uow.ctx, signup.id, at)
        return Attendance(signup.id, signup.status.value, at, minutes, given)


@dataclass(frozen=True)
class CloseUnattendedCheckIn(Command):
    """The sweeper's: a check-in still open when the activity's widened window has closed is
    closed at the window's end and flagged (nobody checked out) for the coordinator, who
    verifies it like any other; until then it would keep the volunteer from checking in."""

    signup_id: UUID

    def handle(self, uow: UnitOfWork) -> Attendance:
        signup = _load_signup(uow, self.signup_id)
        require_role(uow.ctx.actor, Role.SYSTEM)
        minutes = signup.close_unattended(uow.ctx, uow.rules)
        at = signup.closes_at(uow.rules)
        uow.get(Timesheet, timesheet_id(signup.volunteer_id)).check_out(uow.ctx, signup.id, at)
        return Attendance(signup.id, signup.status.value, at, minutes)


@dataclass(frozen=True)
class Verification:
    id: UUID
    status: str
    decision: str
    minutes: int
    credited_minutes: int


@dataclass(frozen=True)
class VerifySignup(Command):
    signup_id: UUID
    decision: Decision
    minutes: int | None = None
    reason: str | None = None

    def handle(self, uow: UnitOfWork) -> Verification:
        signup = _load_signup(uow, self.signup_id)
        require_role(uow.ctx.actor, Role.COORDINATOR)
        require_coordinator_of(uow, uow.ctx.actor, signup.org_id)
        verdict = signup.decide(self.decision, self.minutes, self.reason)
        credited = 0
        if verdict is not None:
            if verdict.credits_service:
                credited = credit_service(
                    uow, signup.volunteer_id, signup.id, signup.org_id, verdict.minutes
                )
            signup.verify(uow.ctx, verdict, credited)
        assert signup.decision is not None and signup.verified_minutes is not None
        return Verification(
            signup.id,
            signup.status.value,
            signup.decision.value,
            signup.verified_minutes,
            credited,
        )
