"""The console's rankings and reports (/app/coord/rankings, /app/coord/reports): the records
view's team and volunteer rankings and its organisation report for a period, each as a table
and a chart; the report also as the API's CSV and as a page to print."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.pages import charts, coord, web
from api.pages.messages import CATEGORIES, N_, coord_problem_message
from api.routes.reports import csv_response
from ledger.errors import DomainError
from ledger.organisations import OrgKind
from projections.pagination import Page
from projections.periods import PERIOD_LENGTH
from projections.records.queries import ReportView
from projections.records.rankings import RankingSort
from timebank.page_sessions import PageSession

router = APIRouter(include_in_schema=False)
RANKED = 50  # of each ranking a page
MAX_CURSOR = 500  # as the API's bound on a cursor
# Where each ranking's page starts: the cursor the previous page gave.
TEAMS_AFTER, VOLUNTEERS_AFTER = "teams_after", "volunteers_after"
# A period's form as these pages ask for it (a certificate's period is another matter).
INVALID_PERIOD = N_(
    "That is not a period: write a year (2026), a month (2026-03) or campaign: and the "
    "campaign's name."
)
SORTS = {
    RankingSort.TOTAL.value: N_("Most hours in all"),
    RankingSort.PER_CAPITA.value: N_("Most hours per member"),
}
HOURS = N_("Hours")


def _failure(error: Exception) -> str:
    if isinstance(error, DomainError) and error.code == "invalid-period":
        return INVALID_PERIOD
    return coord.failure_message(error)


def _shortcuts(request: Request, session: PageSession) -> list[tuple[str, str]]:
    """The periods most asked for, as (period, msgid): this month, this year, last year."""
    today = web.runtime(request).settings.rules.local_date(web.context(request, session).now)
    return [
        (f"{today:%Y-%m}", N_("This month")),
        (str(today.year), N_("This year")),
        (str(today.year - 1), N_("Last year")),
    ]


def _period(request: Request, shortcuts: list[tuple[str, str]]) -> str:
    """The period asked for (the query checks its form and length), else this year."""
    return request.query_params.get("period", "").strip() or shortcuts[1][0]


def _report(request: Request, session: PageSession, org_id: UUID, period: str) -> ReportView:
    """The organisation report, whose read admits only a coordinator of the organisation or
    above: every page here reads it first, the rankings too (which any role may read through
    the API, but the console shows only the coordinator's own subtree)."""
    ctx = web.context(request, session)
    return web.runtime(request).queries.records.organisation_report(ctx, org_id, period, None)


async def _page(
    request: Request,
    template: str,
    read: Callable[[Request, PageSession, UUID, str], dict[str, Any]],
    **extra: Any,
) -> Response:
    """A console page of figures for a period: the coordinator's session, the organisation,
    the period; a refusal in words with the API's status."""
    session = await coord.coordinator(request)
    if isinstance(session, Response):
        return session
    org_id = coord.organisation_of(request, session)
    shortcuts = _shortcuts(request, session)
    # Cut to one more than the longest: still refused, and no longer shown back than that.
    period = _period(request, shortcuts)[: PERIOD_LENGTH + 1]
    values: dict[str, Any] = {
        "period": period,
        "max_period": PERIOD_LENGTH,
        "shortcuts": shortcuts,
        **extra,
    }
    status = 200
    if org_id is None:
        values["error"], status = coord_problem_message("organisation-not-found"), 404
    else:
        try:
            values.update(await run_in_threadpool(read, request, session, org_id, period))
        except web.FAILURES as e:
            values["error"], status = _failure(e), web.failure_status(e)
    return coord.render(request, template, session, org_id, status, **values)


# Rankings -----------------------------------------------------------------------------------


def _sort(request: Request) -> RankingSort:
    chosen = request.query_params.get("sort", "")
    return RankingSort(chosen) if chosen in SORTS else RankingSort.TOTAL


def _page_of(request: Request, name: str) -> Page:
    """A ranking's page: the first, or after the cursor a "next" link carried (which the query
    checks, refusing anything it did not give out)."""
    cursor = request.query_params.get(name, "")[: MAX_CURSOR + 1]
    return Page(RANKED, cursor or None)


def _rankings(
    request: Request, session: PageSession, org_id: UUID, period: str, sort: RankingSort
) -> dict[str, Any]:
    report = _report(request, session, org_id, period).report
    ctx = web.context(request, session)
    records = web.runtime(request).queries.records
    team_page, volunteer_page = (
        _page_of(request, name) for name in (TEAMS_AFTER, VOLUNTEERS_AFTER)
    )
    teams = records.team_ranking(ctx, org_id, period, OrgKind.TEAM, sort, team_page, None)
    volunteers = records.volunteer_ranking(ctx, org_id, period, volunteer_page, None)
    _ = web.gettext(request)
    per_capita = sort == RankingSort.PER_CAPITA
    team_bars = [
        (t.name, (t.per_capita_minutes or 0) if per_capita else t.total_minutes)
        for t in teams.items
    ]
    volunteer_bars = [(v.volunteer_number or "—", v.minutes) for v in volunteers.items]
    team_title = _("Hours per member, by team") if per_capita else _("Service hours by team")
    return {
        "report": report,
        "teams": teams.items,
        "teams_next": teams.next_cursor,
        "teams_paged": team_page.cursor is not None,
        "volunteers": volunteers.items,
        "volunteers_next": volunteers.next_cursor,
        "volunteers_paged": volunteer_page.cursor is not None,
        "team_chart": charts.bar_chart(team_title, _(HOURS), team_bars),
        "volunteer_chart": charts.bar_chart(
            _("Service hours by volunteer"), _(HOURS), volunteer_bars
        ),
    }


@router.get("/app/coord/rankings")
async def rankings(request: Request) -> Response:
    sort = _sort(request)

    def read(request: Request, session: PageSession, org_id: UUID, period: str) -> Any:
        return _rankings(request, session, org_id, period, sort)

    return await _page(
        request, "coord_rankings.html", read, sort=sort.value, sorts=SORTS, ranked=RANKED
    )


# The organisation report ----------------------------------------------------------------------


def category_name(category: str) -> str:
    """A category as people say it (untranslated msgid); one the pages do not know, as is."""
    return CATEGORIES.get(category, category)


def _report_values(
    request: Request, session: PageSession, org_id: UUID, period: str
) -> dict[str, Any]:
    report = _report(request, session, org_id, period).report
    _ = web.gettext(request)
    bars = [
        (_(category_name(c.category)), c.minutes)
        for c in sorted(report.service_minutes_by_category, key=lambda c: -c.minutes)
    ]
    chart = charts.bar_chart(_("Service hours by category"), _(HOURS), bars)
    return {"report": report, "category_chart": chart, "category_name": category_name}


@router.get("/app/coord/reports")
async def reports(request: Request) -> Response:
    return await _page(request, "coord_reports.html", _report_values)


@router.get("/app/coord/reports/print")
async def printable(request: Request) -> Response:
    return await _page(request, "coord_report_print.html", _report_values, now=datetime.now(UTC))


@router.get("/app/coord/reports/{org_id}.csv")
async def report_csv(request: Request, org_id: str) -> Response:
    """The API's CSV of the report (GET /v1/reports/organisations/{id}.csv), byte for byte."""
    session = await coord.coordinator(request)
    if isinstance(session, Response):
        return session
    oid = web.uuid_of(org_id)
    if oid is None:
        return web.refused(request, "not-found", 404, session)
    period = _period(request, _shortcuts(request, session))[: PERIOD_LENGTH + 1]
    try:
        found = await run_in_threadpool(_report, request, session, oid, period)
    except web.FAILURES as e:
        status = web.failure_status(e)
        return web.render(request, "refused.html", status, session, message=_failure(e))
    return csv_response(found.report, found.position)
