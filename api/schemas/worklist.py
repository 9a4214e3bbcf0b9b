"""An organisation subtree's work lists: its organisations, activities, signups, back-fills
and disputes."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field

from api.schemas.common import NextCursor, Out, View

ActivityStatus = Literal["published", "completed"]
SignupStatus = Literal[
    "accepted", "waitlisted", "cancelled", "checked_in", "checked_out", "verified", "rejected"
]
BackfillStatus = Literal["submitted", "approved", "rejected"]
DisputeStatus = Literal["open", "corrected", "dismissed"]
POSITION = Field(description="the log position the worklist view had read")


class OrgEntryOut(View):
    id: UUID
    name: str
    kind: str
    parent_id: UUID | None
    depth: int = Field(description="below the organisation asked for (0: itself)")


class ActivityEntryOut(View):
    id: UUID
    org_id: UUID
    title: str
    category: str
    campaign: str | None
    starts_at: datetime
    ends_at: datetime
    capacity: int
    accepted: int = Field(description="seats taken now")
    waitlisted: int
    status: ActivityStatus
    beneficiaries: int | None = Field(description="people served (人次), once completed")


class SignupEntryOut(View):
    id: UUID
    activity_id: UUID
    activity_title: str
    org_id: UUID = Field(description="the activity's organiser")
    volunteer_id: UUID
    volunteer_number: str
    status: SignupStatus
    checked_in_at: datetime | None
    checked_out_at: datetime | None
    minutes: int | None = Field(
        description="measured at check-out, then as verified, then as corrected"
    )


class BackfillEntryOut(View):
    id: UUID
    org_id: UUID
    volunteer_id: UUID
    volunteer_number: str
    category: str
    started_at: datetime
    ended_at: datetime
    minutes: int
    status: BackfillStatus
    submitted_by: str = Field(description="who submitted it: someone else must approve it")
    submitted_at: datetime


class DisputeEntryOut(View):
    id: UUID
    org_id: UUID = Field(description="the organisation that recorded the disputed service")
    volunteer_id: UUID
    volunteer_number: str
    source_id: UUID
    source_kind: Literal["signup", "backfill"]
    previous_minutes: int
    status: DisputeStatus
    opened_at: datetime


class SubtreeOut(Out):
    items: list[OrgEntryOut]
    next_cursor: NextCursor
    position: int = POSITION


class ActivityListOut(Out):
    items: list[ActivityEntryOut]
    next_cursor: NextCursor
    position: int = POSITION


class SignupListOut(Out):
    items: list[SignupEntryOut]
    next_cursor: NextCursor
    position: int = POSITION


class BackfillListOut(Out):
    items: list[BackfillEntryOut]
    next_cursor: NextCursor
    position: int = POSITION


class DisputeListOut(Out):
    items: list[DisputeEntryOut]
    next_cursor: NextCursor
    position: int = POSITION
