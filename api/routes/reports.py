"""Service records (档案), rankings, organisation reports (JSON and CSV) and the awards in
public notice, served from the records view. Definitions: projections/records/ (attribution in
projection.py, periods, rankings and report metrics beside it)."""

import csv
import io
from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from api.deps import ContextDep, MinPosition, QueriesDep
from api.pagination import PageDep
from api.schemas.reports import (
    NoticeOut,
    NoticesOut,
    OrganisationReportOut,
    RecordCorrectionOut,
    RecordEvaluationOut,
    RecordPageOut,
    RecordServiceOut,
    RecordTotalsOut,
    RecordTrainingOut,
    ServiceRecordOut,
    TeamRankingOut,
    TeamStandingOut,
    VolunteerRankingOut,
    VolunteerStandingOut,
)
from ledger.awards import AwardStatus
from ledger.organisations import OrgKind
from projections.periods import PERIOD_LENGTH, PERIOD_PATTERN
from projections.records.rankings import RankingSort
from projections.records.report import OrganisationReport, report_rows

router = APIRouter()
RECORD_READERS = """Who: the volunteer themself; a coordinator of the home organisation or
above; an auditor; an admin."""
REPORT_READERS = """Who: a coordinator of the organisation or above; an auditor; an admin."""
PeriodQuery = Annotated[
    str,
    Query(
        max_length=PERIOD_LENGTH,
        pattern=PERIOD_PATTERN,
        description="2026 (a year), 2026-03 (a month) or campaign:<name>, by local service date",
    ),
]
RecordLimit = Annotated[
    int, Query(ge=1, le=1000, description="each list of the record holds the newest this many")
]


# Service record ------------------------------------------------------------------------------


@router.get(
    "/v1/volunteers/{volunteer_id}/record",
    response_model=ServiceRecordOut,
    tags=["records"],
    summary="Get a volunteer's service record",
    description=f"""The service record (档案): services with their corrections, trainings,
evaluations, stars and commendations, certificates. Each list holds its newest `limit`
entries; `next_cursors` says where each continues at /v1/volunteers/{{id}}/record/<list>.

{RECORD_READERS}""",
)
def get_service_record(
    volunteer_id: UUID,
    q: QueriesDep,
    ctx: ContextDep,
    limit: RecordLimit = 100,
    min_position: MinPosition = None,
) -> ServiceRecordOut:
    found = q.records.service_record(ctx, volunteer_id, limit, min_position)
    record = found.record
    totals = RecordTotalsOut(
        service_minutes=record.service_minutes,
        training_minutes=record.training_minutes,
        stars=found.stars,
        confirmed_stars=found.confirmed_stars,
    )
    return ServiceRecordOut.model_validate(
        {
            **vars(record),
            "totals": totals,
            "certificates": q.certificates.of_volunteer(ctx, volunteer_id, limit),
            "list_limit": limit,
            "next_cursors": found.next_cursors,
            "position": found.position,
            "erased": found.erased,
        }
    )


def _record_list_route(name: str, model: type[BaseModel]) -> Callable[..., Any]:
    def get_record_list(
        volunteer_id: UUID,
        q: QueriesDep,
        ctx: ContextDep,
        page: PageDep,
        min_position: MinPosition = None,
    ) -> Any:
        found = q.records.record_list(ctx, name, volunteer_id, page, min_position)
        return RecordPageOut[model](  # type: ignore[valid-type]
            volunteer_id=volunteer_id,
            items=[model.model_validate(e) for e in found.items],
            next_cursor=found.next_cursor,
            position=found.position,
        )

    return get_record_list


RECORD_LIST_MODELS: dict[str, type[BaseModel]] = {
    "services": RecordServiceOut,
    "corrections": RecordCorrectionOut,
    "trainings": RecordTrainingOut,
    "evaluations": RecordEvaluationOut,
    "awards": NoticeOut,
}
for _name, _model in RECORD_LIST_MODELS.items():
    router.add_api_route(
        f"/v1/volunteers/{{volunteer_id}}/record/{_name}",
        _record_list_route(_name, _model),
        response_model=RecordPageOut[_model],  # type: ignore[valid-type]
        name=f"get_service_record_{_name}",
        tags=["records"],
        summary=f"Page through a service record's {_name}",
        description=f"The {_name} of a volunteer's service record, newest first, a page at a "
        f"time.\n\n{RECORD_READERS}",
    )


# Awards in public notice ----------------------------------------------------------------------


@router.get(
    "/v1/awards", response_model=NoticesOut, tags=["awards"], summary="List stars and commendations"
)
def list_awards(
    q: QueriesDep,
    ctx: ContextDep,
    page: PageDep,
    org_id: Annotated[
        UUID | None, Query(description="awards of this organisation's subtree; all if absent")
    ] = None,
    status: Annotated[AwardStatus | None, Query(description="only awards in this state")] = None,
    min_position: MinPosition = None,
) -> NoticesOut:
    """Stars and commendations, newest first, of an organisation's subtree or of all, in
    any state or in one (`in_notice`: the public notices open to objections).

    Who: any role (awards are public notices)."""
    found = q.records.awards(ctx, org_id, status, page, min_position)
    return NoticesOut(
        items=[NoticeOut.model_validate(a) for a in found.items],
        next_cursor=found.next_cursor,
        position=found.position,
    )


# Rankings ---------------------------------------------------------------------------------------


@router.get(
    "/v1/rankings/teams", response_model=TeamRankingOut, tags=["rankings"], summary="Rank teams"
)
def rank_teams(
    q: QueriesDep,
    ctx: ContextDep,
    org_id: Annotated[UUID, Query(description="rank the organisations of this subtree")],
    period: PeriodQuery,
    page: PageDep,
    kind: Annotated[OrgKind, Query(description="which organisations to rank")] = OrgKind.TEAM,
    sort: Annotated[RankingSort, Query(description="order by total or per-capita")] = (
        RankingSort.TOTAL
    ),
    min_position: MinPosition = None,
) -> TeamRankingOut:
    """Organisations of `kind` in the subtree by their members' service time in the period,
    with member counts and per-capita minutes.

    Who: any role."""
    found = q.records.team_ranking(ctx, org_id, period, kind, sort, page, min_position)
    return TeamRankingOut(
        org_id=org_id,
        period=found.period,
        kind=kind,
        sort=sort.value,
        items=[TeamStandingOut.model_validate(t) for t in found.items],
        next_cursor=found.next_cursor,
        position=found.position,
    )


@router.get(
    "/v1/rankings/volunteers",
    response_model=VolunteerRankingOut,
    tags=["rankings"],
    summary="Rank volunteers",
)
def rank_volunteers(
    q: QueriesDep,
    ctx: ContextDep,
    org_id: Annotated[UUID, Query(description="service attributed to this subtree")],
    period: PeriodQuery,
    page: PageDep,
    min_position: MinPosition = None,
) -> VolunteerRankingOut:
    """Volunteers by service time attributed to the subtree in the period, most first
    (volunteer ids and numbers only: no personal data).

    Who: any role."""
    found = q.records.volunteer_ranking(ctx, org_id, period, page, min_position)
    return VolunteerRankingOut(
        org_id=org_id,
        period=found.period,
        items=[VolunteerStandingOut.model_validate(v) for v in found.items],
        next_cursor=found.next_cursor,
        position=found.position,
    )


# Organisation report ------------------------------------------------------------------------


# Spreadsheet programs read a CSV without a byte-order mark in the system's legacy code page,
# which garbles Chinese names; with it they read UTF-8.
BOM = "\ufeff"


class CSVResponse(Response):
    media_type = "text/csv"  # sent as "text/csv; charset=utf-8"


def csv_response(report: OrganisationReport, position: int) -> Response:
    """One `section,key,value` row per metric (projections.records.report.report_rows) after the
    position the report reflects; an unknown value is an empty cell. UTF-8 with a byte-order
    mark. The API's route and the console's page both answer with it."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(("section", "key", "value"))
    rows = [("report", "position", position), *report_rows(report)]
    writer.writerows((s, k, "" if v is None else str(v)) for s, k, v in rows)
    return CSVResponse(
        BOM + out.getvalue(),
        headers={"Content-Disposition": f'attachment; filename="report-{report.org_id}.csv"'},
    )


# The .csv path comes first: the JSON route's {org_id} would otherwise match "<id>.csv".
@router.get(
    "/v1/reports/organisations/{org_id}.csv",
    response_class=CSVResponse,
    tags=["reports"],
    summary="Get an organisation report as CSV",
    description=f"""The organisation report of `getOrganisationReport` as CSV (UTF-8 with a
byte-order mark, so that spreadsheet programs show Chinese): a header `section,key,value`,
then one row per figure (the first: the records view's `position`), per category of service
time and per party member below the yearly minimum; an unknown value is an empty cell.

{REPORT_READERS}""",
    responses={
        200: {
            "description": "the report as CSV",
            "headers": {
                "Content-Disposition": {
                    "description": 'attachment; filename="report-<org_id>.csv"',
                    "schema": {"type": "string"},
                }
            },
        }
    },
)
def get_organisation_report_csv(
    org_id: UUID,
    q: QueriesDep,
    ctx: ContextDep,
    period: PeriodQuery,
    min_position: MinPosition = None,
) -> Response:
    found = q.records.organisation_report(ctx, org_id, period, min_position)
    return csv_response(found.report, found.position)


@router.get(
    "/v1/reports/organisations/{org_id}",
    response_model=OrganisationReportOut,
    tags=["reports"],
    summary="Get an organisation report",
    description=f"""The organisation report over its whole subtree for a period: registered
and active volunteers, the registration ratio, activities held and people served, service
time by category, trainings, party-member compliance. As CSV at
`/v1/reports/organisations/{{org_id}}.csv`.

{REPORT_READERS}""",
)
def get_organisation_report(
    org_id: UUID,
    q: QueriesDep,
    ctx: ContextDep,
    period: PeriodQuery,
    min_position: MinPosition = None,
) -> OrganisationReportOut:
    found = q.records.organisation_report(ctx, org_id, period, min_position)
    return OrganisationReportOut.model_validate({**vars(found.report), "position": found.position})
