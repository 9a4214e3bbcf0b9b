"""Request and response bodies of the v1 contract."""

from datetime import UTC, date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
)

from ledger.activities import Category
from ledger.commands import TransferKind
from ledger.identity import DocumentType
from ledger.organisations import OrgKind
from ledger.signups import Decision
from ledger.volunteers import Relation

Minutes = Annotated[StrictInt, Field(ge=0, le=10**9, description="a whole number of minutes")]
Text = Annotated[str, Field(max_length=2000)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class Body(BaseModel):
    """A request body: unknown fields are refused; numbers and flags are not coerced."""

    model_config = ConfigDict(extra="forbid")


def _within_calendar(value: datetime) -> datetime:
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"must be between {EARLIEST.year} and {LATEST.year - 1}")
    return value


EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
Moment = Annotated[AwareDatetime, AfterValidator(_within_calendar)]


class Positioned(BaseModel):
    position: int | None = Field(
        None,
        description="log position of the command's last event; pass it as min_position to "
        "read your own write",
    )


class CreatedOut(Positioned):
    id: UUID


# Organisations


class OrganisationIn(Body):
    name: Name
    kind: OrgKind
    parent_id: UUID | None = None
    population: Annotated[StrictInt, Field(ge=0)] | None = None


class OrganisationOut(BaseModel):
    id: UUID
    name: str
    kind: OrgKind
    parent_id: UUID | None
    path: list[UUID] = Field(description="ancestors from the root down to this organisation")
    population: int | None


# Volunteers


class IdDocument(Body):
    type: DocumentType
    number: Annotated[str, Field(min_length=1, max_length=64)]


class VolunteerIn(Body):
    name: Name
    id_document: IdDocument
    phone: Annotated[str, Field(min_length=3, max_length=32)]
    birth_date: date
    party_member: StrictBool = False
    skills: list[Annotated[str, Field(max_length=100)]] = Field(default_factory=list, max_length=50)
    home_org_id: UUID


class VolunteerCreatedOut(CreatedOut):
    volunteer_number: str


class FamilyLinkOut(BaseModel):
    relative_id: UUID
    relation: Relation


class VolunteerOut(BaseModel):
    id: UUID
    volunteer_number: str
    name: str
    id_document: IdDocument
    phone: str
    birth_date: date | None
    party_member: bool
    skills: list[str]
    home_org_id: UUID
    family: list[FamilyLinkOut]
    pii_masked: bool = Field(description="true when personal data is shown masked for this caller")


class MembershipTransferIn(Body):
    to_org_id: UUID
    reason: Text


class MembershipOut(Positioned):
    id: UUID
    home_org_id: UUID


class FamilyLinkIn(Body):
    relative_id: UUID
    relation: Relation


# Activities and signups


class ActivityIn(Body):
    org_id: UUID
    title: Name
    category: Category
    location: Annotated[str, Field(max_length=500)] = ""
    starts_at: Moment
    ends_at: Moment
    capacity: Annotated[StrictInt, Field(ge=1, le=1_000_000)]
    campaign: Annotated[str, Field(max_length=200)] | None = None


class ActivityCreatedOut(CreatedOut):
    check_in_code: str


class ActivityOut(BaseModel):
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


class SignupIn(Body):
    volunteer_id: UUID


class SignupOut(Positioned):
    id: UUID
    status: str


class ReasonIn(Body):
    reason: Text = ""


class AttendanceIn(Body):
    at: Moment | None = Field(None, description="defaults to now")
    code: Annotated[str, Field(max_length=20)] | None = Field(
        None, description="the activity's check-in code (required when checking in yourself)"
    )


class AttendanceOut(Positioned):
    id: UUID
    status: str
    at: AwareDatetime
    minutes: int | None = Field(None, description="service minutes measured at check-out")


class VerifyIn(Body):
    decision: Decision
    minutes: Minutes | None = Field(None, description="required for adjust")
    reason: Text | None = Field(None, description="required for adjust and reject")


class VerificationOut(Positioned):
    id: UUID
    status: str
    decision: Decision
    minutes: int = Field(description="the verified service minutes")
    credited_minutes: int = Field(
        description="credits posted by this request (0 on a retry or above the balance cap)"
    )


class SignupDetailOut(BaseModel):
    id: UUID
    activity_id: UUID
    volunteer_id: UUID
    org_id: UUID
    status: str
    checked_in_at: AwareDatetime | None
    checked_out_at: AwareDatetime | None
    measured_minutes: int | None
    decision: Decision | None
    verified_minutes: int | None


# Accounts and transfers


class AccountOut(BaseModel):
    volunteer_id: UUID
    available_minutes: int
    reserved_minutes: int
    balance_minutes: int = Field(description="posted balance: available plus reserved")
    earned_minutes: int
    spent_minutes: int
    service_minutes: int
    stars: int
    position: int = Field(description="the log position this view reflects")


class TransferIn(Body):
    from_volunteer_id: UUID
    to_volunteer_id: UUID | None = None
    to_org_id: UUID | None = None
    minutes: Annotated[StrictInt, Field(gt=0, le=10**9)]
    kind: TransferKind
    memo: Text = ""


class TransferOut(Positioned):
    id: str
    debit_account: str
    credit_account: str
    minutes: int
    kind: TransferKind


# Rewards and redemptions


class RewardIn(Body):
    venue_id: UUID
    name: Name
    cost_minutes: Annotated[StrictInt, Field(gt=0, le=10**9)]
    stock: Annotated[StrictInt, Field(ge=0, le=10**9)]
    per_volunteer_limit: Annotated[StrictInt, Field(gt=0)] | None = None


class RewardOut(BaseModel):
    id: UUID
    venue_id: UUID
    name: str
    cost_minutes: int
    stock: int
    per_volunteer_limit: int | None


class RedemptionIn(Body):
    volunteer_id: UUID
    reward_id: UUID
    quantity: Annotated[StrictInt, Field(gt=0, le=1000)] = 1


class RedemptionOut(Positioned):
    id: UUID
    status: str
    code: str | None = None
    expires_at: AwareDatetime | None = None
    minutes: int | None = None


class FulfilIn(Body):
    code: Annotated[str, Field(min_length=1, max_length=20)]


class RedemptionDetailOut(BaseModel):
    id: UUID
    volunteer_id: UUID
    reward_id: UUID
    venue_id: UUID
    quantity: int
    minutes: int
    status: str
    expires_at: AwareDatetime
    code: str | None = Field(None, description="shown to the volunteer and the venue's desk")


# Operations


class Readiness(BaseModel):
    status: str = Field(description="ready or unavailable")
    checks: dict[str, object] = Field(
        description="read_models and event_store answer; lag per projection in events"
    )
