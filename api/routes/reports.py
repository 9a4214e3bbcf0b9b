"""Service records (档案), rankings, organisation reports (JSON and CSV) and the awards in
public notice, served from the records view. Definitions: projections/records.py (attribution)
and projections/reports.py (periods, rankings, report metrics)."""

import csv
import io
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Header, Query, Response

from api.deps import ContextDep, RuntimeDep, wait_for_position
from api.pagination import Cursor, Limit, decode_cursor, paginate
from api.problems import ProblemError
from api.schemas import (
    CategoryMinutesOut,
    NoticeOut,
    NoticesOut,
    OrganisationReportOut,
    PartyComplianceOut,
    PartyMemberOut,
    RecordCorrectionOut,
    RecordEvaluationOut,
    RecordServiceOut,
    RecordTotalsOut,
    RecordTrainingOut,
    ServiceRecordOut,
    TeamRankingOut,
    TeamStandingOut,
    VolunteerRankingOut,
    VolunteerStandingOut,
)
from ledger.audit import Context, Role
from ledger.awards import AwardKind, AwardStatus
from ledger.errors import Forbidden
from ledger.organisations import Organisation, OrgKind
from ledger.permissions import coordinates, is_self
from ledger.volunteers import Volunteer
from projections.records import NAME as RECORDS
from projections.reports import (
    RECORD_LIST_LIMIT,
    AwardEntry,
    OrganisationReport,
    ServiceRecord,
    TeamStanding,
    awards,
    organisation_report,
    parse_period,
    service_record,
    team_ranking,
    volunteer_ranking,
)
from timebank.runtime import Runtime

router = APIRouter(tags=["service records, rankings and organisation reports"])
CSV = "text/csv; charset=utf-8"
MinPosition = Annotated[
    int | None, Query(ge=0, description="wait until this log position is reflected")
]
PeriodQuery = Annotated[
    str,
    Query(
        max_length=300,
        description="2026 (a year), 2026-03 (a month) or campaign:<name>, by local service date",
    ),
]


class RankingSort(StrEnum):
    TOTAL = "total"
    PER_CAPITA = "per_capita"


def _invalid_cursor() -> ProblemError:
    return ProblemError(422, "invalid-cursor", "the cursor is not one this API gave out")


def _cursor(cursor: str | None, *types: type) -> list[Any] | None:
    key = decode_cursor(cursor)
    if key is not None and (
        len(key) != len(types) or any(type(k) is not t for k, t in zip(key, types, strict=True))
    ):
        raise _invalid_cursor()
    return key


def _read(rt: Runtime, min_position: int | None) -> int:
    wait_for_position(rt, RECORDS, min_position)
    return rt.runner.position(RECORDS)


# Service record ------------------------------------------------------------------------------


def require_record_reader(rt: Runtime, ctx: Context, volunteer: Volunteer) -> None:
    """The volunteer, coordinators of the home organisation or above, auditors and admins."""
    actor = ctx.actor
    if (
        is_self(actor, volunteer.id)
        or actor.role is Role.AUDITOR
        or coordinates(rt.service.reader(ctx), actor, volunteer.home_org_id)
    ):
        return
    raise Forbidden("outside-scope", "this service record belongs to someone else")


def _notice(entry: AwardEntry) -> NoticeOut:
    return NoticeOut(
        id=entry.id,
        volunteer_id=entry.volunteer_id,
        volunteer_number=entry.volunteer_number,
        org_id=entry.org_id,
        kind=AwardKind(entry.kind),
        level=entry.level,
        title=entry.title,
        reason=entry.reason,
        status=AwardStatus(entry.status),
        objections=entry.objections,
        announced_at=entry.announced_at,
        notice_ends_at=entry.notice_ends_at,
        decided_at=entry.decided_at,
    )


def _empty_record(rt: Runtime, volunteer: Volunteer) -> ServiceRecord:
    """A volunteer the view has not reached yet has nothing on record."""
    created = volunteer.created_on.astimezone(ZoneInfo(rt.settings.rules.timezone))
    return ServiceRecord(
        volunteer.id,
        volunteer.number,
        volunteer.home_org_id,
        created.date(),
        0,
        0,
        [],
        [],
        [],
        [],
        [],
    )


@router.get("/v1/volunteers/{volunteer_id}/record", response_model=ServiceRecordOut)
def get_service_record(
    volunteer_id: UUID, rt: RuntimeDep, ctx: ContextDep, min_position: MinPosition = None
) -> ServiceRecordOut:
    """The service record (档案): services with their corrections, trainings, evaluations,
    stars and commendations, certificates. Each list holds the newest `list_limit` entries."""
    volunteer = rt.service.load(Volunteer, volunteer_id, "volunteer")
    require_record_reader(rt, ctx, volunteer)
    position = _read(rt, min_position)
    record = service_record(rt.db, volunteer.id) or _empty_record(rt, volunteer)
    confirmed = [
        a.level or 0
        for a in record.awards
        if a.kind == AwardKind.STAR and a.status == AwardStatus.CONFIRMED
    ]
    return ServiceRecordOut(
        volunteer_id=record.volunteer_id,
        volunteer_number=record.volunteer_number,
        home_org_id=record.home_org_id,
        registered_on=record.registered_on,
        totals=RecordTotalsOut(
            service_minutes=record.service_minutes,
            training_minutes=record.training_minutes,
            stars=rt.settings.rules.stars(record.service_minutes),
            confirmed_stars=max(confirmed, default=0),
        ),
        services=[RecordServiceOut(**vars(s)) for s in record.services],
        corrections=[RecordCorrectionOut(**vars(c)) for c in record.corrections],
        trainings=[RecordTrainingOut(**vars(t)) for t in record.trainings],
        evaluations=[RecordEvaluationOut(**vars(e)) for e in record.evaluations],
        awards=[_notice(a) for a in record.awards],
        certificates=[],
        list_limit=RECORD_LIST_LIMIT,
        position=position,
    )


# Awards in public notice ----------------------------------------------------------------------


@router.get("/v1/awards", response_model=NoticesOut)
def list_awards(
    rt: RuntimeDep,
    ctx: ContextDep,
    org_id: Annotated[
        UUID | None, Query(description="awards of this organisation's subtree; all if absent")
    ] = None,
    status: Annotated[AwardStatus | None, Query(description="only awards in this state")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
    min_position: MinPosition = None,
) -> NoticesOut:
    """Stars and commendations (public notices: any role may read them), newest first."""
    if org_id is not None:
        rt.service.load(Organisation, org_id, "organisation")
    key = _cursor(cursor, int)
    position = _read(rt, min_position)
    rows = awards(
        rt.db, org_id, status.value if status else None, key[0] if key else None, limit + 1
    )
    page, next_cursor = paginate(rows, limit, lambda a: (a.position,))
    return NoticesOut(items=[_notice(a) for a in page], next_cursor=next_cursor, position=position)


# Rankings ---------------------------------------------------------------------------------------


def _team_value(sort: RankingSort, team: TeamStanding) -> int:
    """The value ranked on; -1 (after every value) for per-capita without members."""
    value = team.total_minutes if sort is RankingSort.TOTAL else team.per_capita_minutes
    return -1 if value is None else value


@router.get("/v1/rankings/teams", response_model=TeamRankingOut)
def rank_teams(
    rt: RuntimeDep,
    ctx: ContextDep,
    org_id: Annotated[UUID, Query(description="rank the organisations of this subtree")],
    period: PeriodQuery,
    kind: Annotated[OrgKind, Query(description="which organisations to rank")] = OrgKind.TEAM,
    sort: Annotated[RankingSort, Query(description="order by total or per-capita")] = (
        RankingSort.TOTAL
    ),
    limit: Limit = 100,
    cursor: Cursor = None,
    min_position: MinPosition = None,
) -> TeamRankingOut:
    """Organisations of `kind` in the subtree by their members' service time in the period,
    with member counts and per-capita minutes (any role may read rankings)."""
    rt.service.load(Organisation, org_id, "organisation")
    parsed = parse_period(period)
    key = _cursor(cursor, int, str)
    position = _read(rt, min_position)
    teams = team_ranking(rt.db, org_id, parsed, kind.value)

    def order(team: TeamStanding) -> tuple[int, str]:
        return -_team_value(sort, team), str(team.org_id)

    ordered = sorted(teams, key=order)
    if key is not None:
        ordered = [t for t in ordered if order(t) > (-key[0], key[1])]
    page, next_cursor = paginate(ordered, limit, lambda t: (_team_value(sort, t), str(t.org_id)))
    return TeamRankingOut(
        org_id=org_id,
        period=parsed.key,
        kind=kind,
        sort=sort.value,
        items=[TeamStandingOut(**{**vars(t), "kind": OrgKind(t.kind)}) for t in page],
        next_cursor=next_cursor,
        position=position,
    )


@router.get("/v1/rankings/volunteers", response_model=VolunteerRankingOut)
def rank_volunteers(
    rt: RuntimeDep,
    ctx: ContextDep,
    org_id: Annotated[UUID, Query(description="service attributed to this subtree")],
    period: PeriodQuery,
    limit: Limit = 100,
    cursor: Cursor = None,
    min_position: MinPosition = None,
) -> VolunteerRankingOut:
    """Volunteers by service time attributed to the subtree in the period, most first
    (volunteer ids and numbers only: no personal data)."""
    rt.service.load(Organisation, org_id, "organisation")
    parsed = parse_period(period)
    key = _cursor(cursor, int, str)
    position = _read(rt, min_position)
    after = (int(key[0]), str(key[1])) if key else None
    rows = volunteer_ranking(rt.db, org_id, parsed, after, limit + 1)
    page, next_cursor = paginate(rows, limit, lambda v: (v.minutes, str(v.volunteer_id)))
    return VolunteerRankingOut(
        org_id=org_id,
        period=parsed.key,
        items=[VolunteerStandingOut(**vars(v)) for v in page],
        next_cursor=next_cursor,
        position=position,
    )


# Organisation report ------------------------------------------------------------------------


def require_report_reader(rt: Runtime, ctx: Context, org_id: UUID) -> None:
    """Coordinators of the organisation or above, auditors and admins."""
    actor = ctx.actor
    if actor.role is Role.AUDITOR or coordinates(rt.service.reader(ctx), actor, org_id):
        return
    raise Forbidden(
        "outside-scope",
        "an organisation report is for coordinators of that organisation or above, auditors "
        "and admins",
    )


def _report(
    rt: Runtime, ctx: Context, org_id: UUID, period: str, min_position: int | None
) -> OrganisationReportOut:
    rt.service.load(Organisation, org_id, "organisation")
    require_report_reader(rt, ctx, org_id)
    parsed = parse_period(period)
    position = _read(rt, min_position)
    report = organisation_report(
        rt.db, org_id, parsed, rt.settings.rules.party_member_yearly_minutes
    )
    if report is None:
        raise ProblemError(
            503,
            "projection-lagging",
            "the records view has not reached this organisation yet; retry",
            {"Retry-After": "1"},
        )
    return _report_out(report, position)


def _report_out(report: OrganisationReport, position: int) -> OrganisationReportOut:
    party = report.party_members
    return OrganisationReportOut(
        org_id=report.org_id,
        name=report.name,
        kind=OrgKind(report.kind),
        period=report.period,
        registered_volunteers=report.registered_volunteers,
        active_volunteers=report.active_volunteers,
        population=report.population,
        registration_ratio=report.registration_ratio,
        activities_held=report.activities_held,
        beneficiaries=report.beneficiaries,
        service_minutes_by_category=[
            CategoryMinutesOut(**vars(c)) for c in report.service_minutes_by_category
        ],
        total_service_minutes=report.total_service_minutes,
        member_service_minutes=report.member_service_minutes,
        trainings_held=report.trainings_held,
        training_participants=report.training_participants,
        party_members=None
        if party is None
        else PartyComplianceOut(
            year=party.year,
            required_minutes=party.required_minutes,
            registered=party.registered,
            met=party.met,
            not_met=party.not_met,
            not_meeting=[PartyMemberOut(**vars(m)) for m in party.not_meeting],
        ),
        position=position,
    )


def report_csv(report: OrganisationReportOut) -> str:
    """One `section,key,value` row per metric, category and party member not meeting the
    yearly minimum; an unknown value is an empty cell."""
    rows: list[tuple[str, str, object]] = [
        ("organisation", "id", report.org_id),
        ("organisation", "name", report.name),
        ("organisation", "kind", report.kind.value),
        ("report", "period", report.period),
        ("report", "position", report.position),
        ("volunteers", "registered", report.registered_volunteers),
        ("volunteers", "active", report.active_volunteers),
        ("volunteers", "population", report.population),
        ("volunteers", "registration_ratio", report.registration_ratio),
        ("activities", "held", report.activities_held),
        ("activities", "beneficiaries", report.beneficiaries),
        *(
            ("service_minutes_by_category", c.category, c.minutes)
            for c in report.service_minutes_by_category
        ),
        ("service_minutes", "total", report.total_service_minutes),
        ("service_minutes", "members", report.member_service_minutes),
        ("trainings", "held", report.trainings_held),
        ("trainings", "participants", report.training_participants),
    ]
    party = report.party_members
    if party is not None:
        rows += [
            ("party_members", "year", party.year),
            ("party_members", "required_minutes", party.required_minutes),
            ("party_members", "registered", party.registered),
            ("party_members", "met", party.met),
            ("party_members", "not_met", party.not_met),
            *(("party_member_not_met", m.volunteer_number, m.minutes) for m in party.not_meeting),
        ]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(("section", "key", "value"))
    writer.writerows((s, k, "" if v is None else str(v)) for s, k, v in rows)
    return out.getvalue()


def _csv_response(report: OrganisationReportOut) -> Response:
    return Response(
        report_csv(report),
        media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="report-{report.org_id}.csv"'},
    )


# The .csv path comes first: the JSON route's {org_id} would otherwise match "<id>.csv".
@router.get("/v1/reports/organisations/{org_id}.csv", include_in_schema=False)
def get_organisation_report_csv(
    org_id: UUID,
    rt: RuntimeDep,
    ctx: ContextDep,
    period: PeriodQuery,
    min_position: MinPosition = None,
) -> Response:
    return _csv_response(_report(rt, ctx, org_id, period, min_position))


@router.get(
    "/v1/reports/organisations/{org_id}",
    response_model=OrganisationReportOut,
    responses={
        200: {
            "content": {CSV.split(";")[0]: {"schema": {"type": "string"}}},
            "description": "the report; as CSV (`section,key,value` rows) with `Accept: "
            "text/csv` or at `/v1/reports/organisations/{org_id}.csv`",
        }
    },
)
def get_organisation_report(
    org_id: UUID,
    rt: RuntimeDep,
    ctx: ContextDep,
    period: PeriodQuery,
    min_position: MinPosition = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Any:
    """The organisation report over its whole subtree for a period (coordinators of the
    organisation or above, auditors, admins)."""
    report = _report(rt, ctx, org_id, period, min_position)
    if accept and "text/csv" in accept and "application/json" not in accept:
        return _csv_response(report)
    return report
