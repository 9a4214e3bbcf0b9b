"""Bodies of the activities and signups routes."""

from typing import Annotated
from uuid import UUID

from pydantic import (
    AwareDatetime,
    Field,
    StrictInt,
)

from api.schemas.common import (
    Body,
    Code,
    CreatedOut,
    Integral,
    Minutes,
    Moment,
    Name,
    Out,
    Positioned,
    Text,
    length,
    within,
)
from ledger import bounds
from ledger.activities import Category
from ledger.signups import Decision, SignupStatus


class ActivityIn(Body):
    org_id: UUID
    title: Name
    category: Category
    location: Annotated[str, length(bounds.LOCATION)] = ""
    starts_at: Moment
    ends_at: Moment
    capacity: Annotated[StrictInt, within(bounds.CAPACITY), Integral]
    campaign: Annotated[str, length(bounds.CAMPAIGN)] | None = None


class ActivityCreatedOut(CreatedOut):
    check_in_code: str


class ActivityOut(Out):
    id: UUID
    org_id: UUID
    title: str
    category: Category
    location: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    capacity: int
    campaign: str | None
    accepted: int
    waitlisted: int
    check_in_code: str | None = Field(None, description="shown to coordinators of the organiser")
    completed: bool = False
    beneficiaries: int | None = Field(None, description="people served (人次), once completed")


class SignupIn(Body):
    volunteer_id: UUID


class SignupOut(Positioned):
    id: UUID
    status: SignupStatus = Field(description="accepted or waitlisted; cancelled once cancelled")


class AttendanceIn(Body):
    at: Moment | None = Field(
        None,
        description="defaults to now; a volunteer's own time is the server's (`at` may "
        "differ from it by the rule self_time_tolerance_minutes at most), only a coordinator "
        "records another moment",
    )
    code: Code | None = Field(
        None, description="the activity's check-in code (required when checking in yourself)"
    )


class CheckInOut(Positioned):
    id: UUID
    status: SignupStatus = Field(description="the signup's state: checked_in")
    at: AwareDatetime = Field(description="when the volunteer checked in")
    time_given_by_coordinator: bool = Field(
        description="the time was given by a coordinator (or admin), not the server's clock"
    )


class CheckOutOut(Positioned):
    id: UUID
    status: SignupStatus = Field(description="the signup's state: checked_out")
    at: AwareDatetime = Field(description="when the volunteer checked out")
    minutes: int = Field(description="service minutes measured at check-out")
    time_given_by_coordinator: bool = Field(
        description="the time was given by a coordinator (or admin), not the server's clock"
    )


class VerifyIn(Body):
    decision: Decision
    minutes: Minutes | None = Field(None, description="required for adjust")
    reason: Text | None = Field(None, description="required for adjust and reject")


class VerificationOut(Positioned):
    id: UUID
    status: SignupStatus = Field(description="the signup's state: verified or rejected")
    decision: Decision
    minutes: int = Field(description="the verified service minutes")
    credited_minutes: int = Field(
        description="credits posted by this request (0 on a retry or above the balance cap)"
    )


class SignupDetailOut(Out):
    id: UUID
    activity_id: UUID
    volunteer_id: UUID
    org_id: UUID
    status: SignupStatus
    checked_in_at: AwareDatetime | None
    checked_out_at: AwareDatetime | None
    measured_minutes: int | None
    check_out_missed: bool = Field(
        description="nobody checked out: closed at the end of the activity's window by the "
        "system, for the coordinator to verify"
    )
    check_in_time_given_by_coordinator: bool | None = Field(
        None,
        description="the check-in time was given by a coordinator, not the server's clock "
        "(null: not checked in, or recorded before this was noted)",
    )
    check_out_time_given_by_coordinator: bool | None = Field(
        None, description="the same of the check-out time"
    )
    decision: Decision | None
    verified_minutes: int | None
