"""Bodies of the reports routes: service records, rankings, organisation reports and awards
in notice (projections/records/)."""

from datetime import date
from typing import Generic, Literal, TypeVar
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    Field,
)

from api.schemas.common import NextCursor, Out, View, ViewPosition
from ledger.activities import Category
from ledger.awards import AwardKind, AwardStatus
from ledger.disputes import SourceKind
from ledger.organisations import OrgKind
from ledger.trainings import Evaluator
from projections.records.rankings import RankingSort


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


class RecordCertificateOut(View):
    id: UUID
    number: str
    org_id: UUID = Field(description="the issuing organisation")
    period_from: str
    period_to: str
    total_minutes: int
    status: Literal["valid", "superseded"] = Field(
        description="valid, or superseded by a later correction"
    )
    issued_on: str


class ServiceRecordOut(View):
    volunteer_id: UUID
    volunteer_number: str
    erased: bool = Field(
        description="true once the volunteer's personal data has been erased: their free "
        "text (back-fill descriptions, dispute reasons, evaluation comments) reads `已注销`"
    )
    home_org_id: UUID
    registered_on: date
    totals: RecordTotalsOut
    services: list[RecordServiceOut] = Field(description="newest service date first")
    corrections: list[RecordCorrectionOut] = Field(description="newest first")
    trainings: list[RecordTrainingOut] = Field(description="newest first")
    evaluations: list[RecordEvaluationOut] = Field(description="newest first")
    awards: list[NoticeOut] = Field(description="stars and commendations, newest first")
    certificates: list[RecordCertificateOut] = Field(
        description="certificates issued, newest first (at most `limit`)"
    )
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
