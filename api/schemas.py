"""Request and response bodies of the v1 contract."""

from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar
from uuid import UUID

from pydantic import (
    AfterValidator,
    AliasChoices,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    WithJsonSchema,
)

from ledger import bounds
from ledger.accounts import TransferKind
from ledger.activities import Category
from ledger.awards import AwardKind, AwardStatus, Review
from ledger.backfills import BackfillStatus
from ledger.context import Role
from ledger.disputes import DisputeStatus, Resolution, SourceKind
from ledger.errors import DomainError
from ledger.identity import DocumentType
from ledger.organisations import OrgKind
from ledger.rewards import RedemptionStatus
from ledger.signups import Decision, SignupStatus
from ledger.text import PRINTABLE_PATTERN
from ledger.trainings import Evaluator
from ledger.volunteers import Relation
from projections.reports import RankingSort


def _integral(value: object) -> object:
    """JSON Schema's integer: a number without a fraction, so 2.0 is 2 (never true or "2")."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Integral = BeforeValidator(_integral)  # after the constraints: they then keep their names


def within(bound: bounds.Whole, description: str | None = None) -> Any:
    """The constraints of an integer field within `bound`, as the domain checks it."""
    return Field(ge=bound.low, le=bound.high, description=description)


def length(bound: bounds.Text, description: str | None = None) -> Any:
    """The constraints of a text field within `bound`: at most its length, no control
    characters but tab and line breaks (a blank required text is refused by the domain)."""
    return Field(
        min_length=min(bound.low, 1),
        max_length=bound.high,
        pattern=PRINTABLE_PATTERN,
        description=description,
    )


def _within_calendar(value: datetime) -> datetime:
    try:
        return bounds.MOMENT.check(value)
    except DomainError as e:
        raise ValueError(e.detail) from e


# A time as its offset writes it, in the years the domain accepts; the pattern declares the
# range to clients (and to JSON Schema, whose date-time format has no bounds).
Moment = Annotated[
    AwareDatetime,
    AfterValidator(_within_calendar),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": bounds.MOMENT.pattern,
            "description": bounds.MOMENT.description,
        }
    ),
]


def _born(value: date) -> date:
    if value < bounds.EARLIEST_BIRTH:
        raise ValueError(f"must be {bounds.EARLIEST_BIRTH.isoformat()} or later")
    return value


BirthDate = Annotated[
    date,
    AfterValidator(_born),
    WithJsonSchema({"type": "string", "format": "date", "pattern": bounds.BIRTH_DATE_PATTERN}),
]
Minutes = Annotated[StrictInt, within(bounds.SERVICE_MINUTES, "whole minutes of service"), Integral]
Text = Annotated[str, length(bounds.REASON)]
Name = Annotated[str, length(bounds.NAME)]
Reason = Annotated[str, length(bounds.REASON), Field(min_length=1)]
Code = Annotated[str, length(bounds.CODE)]


class Body(BaseModel):
    """A request body: unknown fields are refused; numbers and flags are not coerced."""

    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    """A response body. Every field is always sent (null where it has no value), so the
    OpenAPI document lists every field as required, those that may be null as nullable."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


class View(Out):
    """A response read from an object's attributes: `View.model_validate(obj)`."""

    model_config = ConfigDict(from_attributes=True)


# The kinds of posting a statement shows (ledger/accounts.py names them where it posts).
PostingKind = Literal["service", "reversal", "gift", "donation", "exchange", "redemption"]
ViewPosition = Annotated[int, Field(description="the log position this view reflects")]
NextCursor = Annotated[
    str | None, Field(description="pass it as `cursor` for the next page; null on the last")
]


class Positioned(Out):
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
    population: (
        Annotated[
            StrictInt,
            within(bounds.POPULATION, "people living there (for the registration ratio)"),
            Integral,
        ]
        | None
    ) = None


class OrganisationOut(Out):
    id: UUID
    name: str
    kind: OrgKind
    parent_id: UUID | None
    path: list[UUID] = Field(description="ancestors from the root down to this organisation")
    population: int | None


# Volunteers


class IdDocument(Body):
    type: DocumentType
    number: Annotated[str, length(bounds.ID_NUMBER)]


class VolunteerIn(Body):
    name: Name
    id_document: IdDocument
    phone: Annotated[str, length(bounds.PHONE)]
    birth_date: BirthDate
    party_member: StrictBool = False
    skills: list[Annotated[str, length(bounds.SKILL)]] = Field(
        default_factory=list, max_length=bounds.SKILLS
    )
    home_org_id: UUID


class VolunteerCreatedOut(CreatedOut):
    volunteer_number: str


class FamilyLinkOut(Out):
    relative_id: UUID
    relation: Relation


class VolunteerOut(Out):
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


class ReasonIn(Body):
    reason: Text = ""


class AttendanceIn(Body):
    at: Moment | None = Field(None, description="defaults to now")
    code: Code | None = Field(
        None, description="the activity's check-in code (required when checking in yourself)"
    )


class CheckInOut(Positioned):
    id: UUID
    status: SignupStatus = Field(description="the signup's state: checked_in")
    at: AwareDatetime = Field(description="when the volunteer checked in")


class CheckOutOut(Positioned):
    id: UUID
    status: SignupStatus = Field(description="the signup's state: checked_out")
    at: AwareDatetime = Field(description="when the volunteer checked out")
    minutes: int = Field(description="service minutes measured at check-out")


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
    decision: Decision | None
    verified_minutes: int | None


# Accounts and transfers


class AccountOut(Out):
    volunteer_id: UUID
    available_minutes: int
    reserved_minutes: int
    balance_minutes: int = Field(description="posted balance: available plus reserved")
    earned_minutes: int
    spent_minutes: int
    service_minutes: int
    stars: int
    position: ViewPosition


class TransferIn(Body):
    from_volunteer_id: UUID
    to_volunteer_id: UUID | None = None
    to_org_id: UUID | None = None
    minutes: Annotated[StrictInt, within(bounds.TRANSFER_MINUTES), Integral]
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
    cost_minutes: Annotated[StrictInt, within(bounds.COST_MINUTES), Integral]
    stock: Annotated[StrictInt, within(bounds.STOCK), Integral]
    per_volunteer_limit: (
        Annotated[
            StrictInt,
            within(bounds.PER_VOLUNTEER_LIMIT, "how many one volunteer may take"),
            Integral,
        ]
        | None
    ) = None


class RewardOut(Out):
    id: UUID
    venue_id: UUID
    name: str
    cost_minutes: int
    stock: int
    per_volunteer_limit: int | None


class RedemptionIn(Body):
    volunteer_id: UUID
    reward_id: UUID
    quantity: Annotated[StrictInt, within(bounds.QUANTITY), Integral] = 1


class ReservationOut(Positioned):
    id: UUID
    status: RedemptionStatus = Field(description="the redemption's state: reserved")
    code: str = Field(description="the redemption code the desk asks for to hand the reward out")
    expires_at: AwareDatetime = Field(description="the reservation is released if not fulfilled")
    minutes: int = Field(description="the credits held: cost times quantity")


class FulfilmentOut(Positioned):
    id: UUID
    status: RedemptionStatus = Field(description="the redemption's state: fulfilled")
    minutes: int = Field(description="the credits posted to the venue")


class RedemptionStateOut(Positioned):
    id: UUID
    status: RedemptionStatus = Field(description="the redemption's state: cancelled")


class FulfilIn(Body):
    code: Code


class RedemptionDetailOut(Out):
    id: UUID
    volunteer_id: UUID
    reward_id: UUID
    venue_id: UUID
    quantity: int
    minutes: int
    status: RedemptionStatus
    expires_at: AwareDatetime
    code: str | None = Field(
        None, description="shown to the volunteer, the venue's desk and admins; null to others"
    )


# Operations


class Health(Out):
    status: Literal["ok"]


class StoreCheck(Out):
    available: bool
    error: str | None = Field(description="why not, when it does not answer")
    log_head: int | None = Field(description="the last log position the store reported")


class FailureOut(View):
    position: int = Field(description="the last event it applied; the next one fails")
    error: str
    failed_since: AwareDatetime
    attempts: int


class ProjectionCheck(Out):
    position: int
    lag: int | None = Field(description="events behind the log head (never negative)")
    failure: FailureOut | None = Field(description="set while it cannot apply the next event")


class Readiness(Out):
    status: Literal["ready", "unavailable"]
    problems: list[str] = Field(description="why it is unavailable, in words")
    store: StoreCheck
    projections: dict[str, ProjectionCheck]


# Recognition: activity completion, trainings, evaluations, commendations and stars


class CompletionIn(Body):
    beneficiaries: Annotated[
        StrictInt, within(bounds.BENEFICIARIES, "people served (人次)"), Integral
    ]


class CompletionOut(Positioned):
    id: UUID
    status: Literal["completed"]
    beneficiaries: int


class TrainingIn(Body):
    org_id: UUID
    title: Name
    held_at: Moment
    minutes: Annotated[StrictInt, within(bounds.TRAINING_MINUTES), Integral]
    volunteer_ids: list[UUID] = Field(min_length=1, max_length=bounds.PARTICIPANTS)


class TrainingCreatedOut(CreatedOut):
    participants: int


class TrainingOut(View):
    id: UUID
    org_id: UUID
    title: str
    held_at: AwareDatetime
    minutes: int = Field(description="training time; never service time")
    volunteer_ids: list[UUID]


class EvaluationIn(Body):
    signup_id: UUID
    score: Annotated[StrictInt, within(bounds.SCORE), Integral]
    by: Evaluator = Field(description="the organiser, or the served person (recorded for them)")
    comment: Text = ""


class EvaluationOut(Positioned):
    id: UUID
    signup_id: UUID
    volunteer_id: UUID
    score: int
    by: Evaluator


class EvaluationDetailOut(View):
    id: UUID
    signup_id: UUID
    volunteer_id: UUID
    activity_id: UUID
    org_id: UUID
    score: int
    by: Evaluator
    comment: str


class CommendationIn(Body):
    volunteer_id: UUID
    org_id: UUID
    title: Name
    reason: Reason


class AwardStateOut(Positioned):
    id: UUID
    status: AwardStatus
    notice_ends_at: AwareDatetime


class ObjectionIn(Body):
    award_id: UUID
    reason: Reason


class ObjectionOut(Positioned):
    id: UUID = Field(description="the objection")
    award_id: UUID
    status: AwardStatus


class ReviewIn(Body):
    decision: Review = Field(description="confirm dismisses the objections; withdraw upholds one")
    reason: Reason


class AwardOut(Out):
    id: UUID
    volunteer_id: UUID
    org_id: UUID
    kind: AwardKind
    level: int | None = Field(description="the star level; null for a commendation")
    title: str
    reason: str
    status: AwardStatus
    notice_ends_at: AwareDatetime
    in_notice: bool = Field(description="true while objections may be filed")
    objections: int = Field(description="objections filed")
    open_objections: int = Field(description="objections awaiting review")


# Back-fills and disputes


class BackfillIn(Body):
    volunteer_id: UUID
    org_id: UUID = Field(description="the organisation that records and credits the service")
    category: Category | None = Field(
        None, description="required without an activity; with one, the activity's category"
    )
    started_at: Moment
    ended_at: Moment
    description: Text = Field("", description="what was done (required)")
    evidence: list[Annotated[str, length(bounds.EVIDENCE_ITEM)]] = Field(
        default_factory=list,
        max_length=bounds.EVIDENCE,
        description="references to photos, sign-in sheets",
    )
    activity_id: UUID | None = None


class BackfillStateOut(Positioned):
    id: UUID
    status: BackfillStatus
    minutes: int = Field(description="the back-filled service minutes")
    credited_minutes: int = Field(
        0, description="credits posted by this request (0 on a retry or above the balance cap)"
    )


class EmptyIn(Body):
    pass


class BackfillOut(View):
    id: UUID
    volunteer_id: UUID
    org_id: UUID
    activity_id: UUID | None
    category: Category
    campaign: str | None
    started_at: AwareDatetime
    ended_at: AwareDatetime
    minutes: int = Field(description="the interval as submitted")
    description: str
    evidence: list[str]
    status: BackfillStatus
    submitted_by: str
    approved_by: str | None
    rejected_by: str | None
    rejection_reason: str | None
    service_minutes: int = Field(description="credited service time (after corrections)")
    credits: int = Field(description="credits posted for it (after corrections)")
    corrections: int


class DisputeIn(Body):
    record_id: UUID = Field(description="a verified signup or an approved back-fill")
    reason: Text = ""


class ResolveIn(Body):
    decision: Resolution
    minutes: Minutes | None = Field(None, description="the corrected minutes (0-1440) to correct")
    reason: Text = ""


class DisputeStateOut(Positioned):
    id: UUID
    status: DisputeStatus
    previous_minutes: int
    corrected_minutes: int | None = None
    reversed_credits: int = Field(0, description="credits taken back by the correction")
    recredited_credits: int = Field(0, description="credits posted again by the correction")


class DisputeOut(View):
    id: UUID
    record_id: UUID = Field(validation_alias=AliasChoices("record_id", "source_id"))
    record_kind: SourceKind = Field(
        validation_alias=AliasChoices("record_kind", "source_kind"),
    )
    volunteer_id: UUID
    org_id: UUID
    status: DisputeStatus
    previous_minutes: int
    corrected_minutes: int | None
    reason: str
    resolution_reason: str | None
    opened_by: str
    resolved_by: str | None


# Statements and audit trails


class StatementEntryOut(View):
    position: int = Field(description="log position of the event that made the posting")
    posting_id: str
    kind: PostingKind
    amount_minutes: int = Field(
        description="signed: negative when the account is debited",
        validation_alias=AliasChoices("amount_minutes", "amount"),
    )
    balance_minutes: int = Field(
        description="the account's running balance after this entry",
        validation_alias=AliasChoices("balance_minutes", "balance"),
    )
    counterparty: str = Field(description="the other account of the posting")
    memo: str
    reference: str | None = Field(
        None, description="what it is for: the signup, back-fill or redemption"
    )
    occurred_at: AwareDatetime = Field(description="business time")
    recorded_at: AwareDatetime = Field(description="record time (`from`, `to`, `as_of` use it)")


class StatementOut(Out):
    volunteer_id: UUID
    as_of: AwareDatetime | None = None
    balance_as_of: int | None = Field(
        None, description="the posted balance at `as_of`: 0 before the first entry"
    )
    opening_balance: int = Field(description="the balance before the first entry of this page")
    closing_balance: int = Field(description="the balance after the last entry of this page")
    entries: list[StatementEntryOut]
    next_cursor: NextCursor
    position: ViewPosition


class AuditEntryOut(View):
    position: int = Field(description="the event's log position")
    event_type: str = Field(description="e.g. Signup.CheckedIn")
    aggregate_id: UUID
    aggregate_version: int
    actor: str = Field(description="the principal who did it")
    role: Role = Field(description="the role it acted in; system for the service's own sweeps")
    request_id: str
    occurred_at: AwareDatetime = Field(description="business time")
    recorded_at: AwareDatetime = Field(description="record time")
    reason: str | None
    details: dict[str, object] = Field(
        description="the event's other fields, without personal data or secret codes"
    )


class AuditTrailOut(Out):
    subject_kind: Literal["volunteer", "activity", "redemption"]
    subject_id: UUID
    entries: list[AuditEntryOut]
    next_cursor: NextCursor
    position: ViewPosition


# Service records, rankings, organisation reports and awards in notice (projections/records.py)


class RecordTotalsOut(Out):
    service_minutes: int = Field(description="permanent verified service time, after corrections")
    training_minutes: int = Field(description="training time; never service time")
    stars: int = Field(description="the star level the service time reaches under the rules")
    confirmed_stars: int = Field(description="the highest star level confirmed after its notice")


class RecordServiceOut(View):
    source_id: UUID = Field(description="the signup or back-fill credited")
    source_kind: SourceKind
    activity_id: UUID | None
    title: str = Field(description="the activity's title, or a back-fill's description")
    org_id: UUID = Field(description="the organisation that recorded the service")
    org_name: str | None
    category: Category
    campaign: str | None
    service_date: date = Field(description="local date of the service")
    minutes: int = Field(description="service minutes now, after corrections")
    credits: int = Field(description="credits posted for it now (fewer above the balance cap)")
    original_minutes: int | None = Field(description="the minutes first credited")
    corrections: int
    credited_at: AwareDatetime | None


class RecordCorrectionOut(View):
    dispute_id: UUID
    source_id: UUID
    source_kind: SourceKind
    previous_minutes: int
    corrected_minutes: int
    reason: str = Field(description="why the coordinator corrected it")
    requested_reason: str = Field(description="why the volunteer disputed it")
    requested_at: AwareDatetime | None
    corrected_at: AwareDatetime | None


class RecordTrainingOut(View):
    training_id: UUID
    org_id: UUID
    org_name: str | None
    title: str
    held_at: AwareDatetime | None
    minutes: int


class RecordEvaluationOut(View):
    evaluation_id: UUID
    signup_id: UUID
    activity_id: UUID
    activity_title: str | None
    org_id: UUID
    score: int
    by: Evaluator
    comment: str
    given_at: AwareDatetime | None


class NoticeOut(View):
    id: UUID
    volunteer_id: UUID
    volunteer_number: str | None
    org_id: UUID
    kind: AwardKind
    level: int | None = Field(description="the star level; null for a commendation")
    title: str
    reason: str
    status: AwardStatus
    objections: int = Field(description="objections filed")
    announced_at: AwareDatetime | None
    notice_ends_at: AwareDatetime | None
    decided_at: AwareDatetime | None = Field(description="when last reviewed or confirmed")


class RecordCursorsOut(Out):
    """Per list: the cursor of its next page at /v1/volunteers/{id}/record/<list>, null when
    the record already holds all of it."""

    services: str | None
    corrections: str | None
    trainings: str | None
    evaluations: str | None
    awards: str | None


class ServiceRecordOut(View):
    volunteer_id: UUID
    volunteer_number: str
    home_org_id: UUID
    registered_on: date
    totals: RecordTotalsOut
    services: list[RecordServiceOut] = Field(description="newest service date first")
    corrections: list[RecordCorrectionOut] = Field(description="newest first")
    trainings: list[RecordTrainingOut] = Field(description="newest first")
    evaluations: list[RecordEvaluationOut] = Field(description="newest first")
    awards: list[NoticeOut] = Field(description="stars and commendations, newest first")
    certificates: list[dict[str, object]] = Field(description="certificates issued (none yet)")
    list_limit: int = Field(description="each list holds at most this many, the newest")
    next_cursors: RecordCursorsOut = Field(
        description="where each list continues; null for a list given whole"
    )
    position: ViewPosition


EntryOut = TypeVar("EntryOut", bound=BaseModel)


class RecordPageOut(Out, Generic[EntryOut]):
    """A page of one list of a service record, in the record's order (newest first)."""

    volunteer_id: UUID
    items: list[EntryOut]
    next_cursor: NextCursor
    position: ViewPosition


class NoticesOut(Out):
    items: list[NoticeOut]
    next_cursor: NextCursor
    position: ViewPosition


class TeamStandingOut(View):
    org_id: UUID
    name: str
    kind: OrgKind
    total_minutes: int = Field(description="service minutes of its members in the period")
    members: int = Field(description="volunteers registered in its subtree now")
    per_capita_minutes: int | None = Field(description="total // members; null without members")
    rank: int = Field(description="by total minutes; equal totals share a rank")
    per_capita_rank: int | None = Field(description="by per-capita minutes; null without members")


class TeamRankingOut(Out):
    org_id: UUID
    period: str
    kind: OrgKind
    sort: RankingSort
    items: list[TeamStandingOut]
    next_cursor: NextCursor
    position: ViewPosition


class VolunteerStandingOut(View):
    rank: int = Field(description="equal minutes share a rank")
    volunteer_id: UUID
    volunteer_number: str | None
    minutes: int


class VolunteerRankingOut(Out):
    org_id: UUID
    period: str
    items: list[VolunteerStandingOut]
    next_cursor: NextCursor
    position: ViewPosition


class CategoryMinutesOut(View):
    category: Category
    minutes: int


class PartyMemberOut(View):
    volunteer_id: UUID
    volunteer_number: str
    minutes: int = Field(description="service minutes in the compliance year")


class PartyComplianceOut(View):
    year: str
    required_minutes: int
    registered: int = Field(description="party members registered in the subtree now")
    met: int
    not_met: int
    meeting: list[PartyMemberOut] = Field(
        description="who served at least the yearly minimum, by volunteer number"
    )
    not_meeting: list[PartyMemberOut] = Field(
        description="who served less than the yearly minimum, by volunteer number"
    )


class OrganisationReportOut(View):
    org_id: UUID
    name: str
    kind: OrgKind
    period: str
    registered_volunteers: int = Field(description="members of the subtree now")
    active_volunteers: int = Field(description="members with service time in the period")
    population: int | None
    registration_ratio: str | None = Field(
        description="registered / population, 4 decimals; null when the population is unknown"
    )
    activities_held: int = Field(description="completed activities organised in the subtree")
    beneficiaries: int = Field(description="people served (人次) by those activities")
    service_minutes_by_category: list[CategoryMinutesOut] = Field(
        description="service recorded by organisations of the subtree"
    )
    total_service_minutes: int = Field(description="the sum over the categories")
    member_service_minutes: int = Field(description="service of the subtree's members")
    trainings_held: int
    training_participants: int = Field(description="distinct volunteers trained")
    party_members: PartyComplianceOut | None = Field(
        description="compliance with the yearly minimum in the period's calendar year"
    )
    position: ViewPosition


# Problems (api/problems.py)


class ProblemPartOut(BaseModel):
    location: list[str] = Field(description="where: body, query or path, then the field")
    message: str


class ProblemOut(BaseModel):
    """An RFC 9457 problem (application/problem+json): how every request is refused."""

    type: str = Field(description="urn:timebank:problem:<code>")
    title: str
    status: int
    detail: str = Field(description="what is wrong, in a sentence")
    code: str = Field(description="stable, kebab-case")
    instance: str | None = Field(None, description="the request's path")
    errors: list[ProblemPartOut] | None = Field(
        None, description="with validation-failed: every part of the request that is invalid"
    )
