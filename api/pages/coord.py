"""The coordinator's console (/app/coord): the organisation a page is about, the console's
home and its sections. Each section is a module of its own (coord_<section>.py); this one
decides who may open the console and for which organisation."""

from collections.abc import Callable
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.pages import web
from api.pages.messages import N_, coord_problem_message
from ledger.commands.base import Command
from ledger.context import Role
from ledger.errors import DomainError
from projections.pagination import Page
from projections.worklist.queries import OrgEntry
from timebank.page_sessions import PageSession

router = APIRouter(include_in_schema=False)
ORG_PARAM = "org"
ORGS_SHOWN = 100  # the organisations a form offers: the subtree's first hundred
REPLAYED = "replayed"  # in an action's answer: the one given to the same form before
# The console's sections, in the order the navigation shows them: (path, msgid).
SECTIONS = (
    ("/app/coord/activities", N_("Activities")),
    ("/app/coord/queue", N_("Hours to verify")),
    ("/app/coord/backfills", N_("Back-fills")),
    ("/app/coord/disputes", N_("Disputes")),
    ("/app/coord/recognition", N_("Trainings and recognition")),
    ("/app/coord/volunteers", N_("Volunteers")),
    ("/app/coord/certificates", N_("Certificates")),
    ("/app/coord/rankings", N_("Rankings")),
    ("/app/coord/reports", N_("Reports")),
)


async def coordinator(request: Request) -> PageSession | Response:
    """The session of a console page: a coordinator's (or an admin's)."""
    return await web.session_for(request, (Role.COORDINATOR, Role.ADMIN), "coord-only")


def organisation_of(request: Request, session: PageSession) -> UUID | None:
    """The organisation a console page is about: `?org=` (one of the coordinator's subtree,
    which every query and command checks), else the coordinator's own. An admin has none of
    their own and names one."""
    chosen = web.uuid_of(request.query_params.get(ORG_PARAM, ""))
    return chosen if chosen is not None else session.actor.scope_id


class Refusal(Exception):
    """A form a console page refuses before any command: its plain words (a msgid)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def org_query(org_id: UUID | None) -> str:
    """The query that keeps a console page's links and forms on its organisation."""
    return f"?{ORG_PARAM}={org_id}" if org_id else ""


def render(
    request: Request,
    template: str,
    session: PageSession,
    org_id: UUID | None,
    status: int = 200,
    **values: Any,
) -> Response:
    """A console page: its template (extending coord_base.html) with the navigation kept
    on the same organisation (`org_q`, the query that keeps a page's own links on it; and
    switching language keeps it too)."""
    values.setdefault("back_to", request.url.path + org_query(org_id))
    return web.render(
        request,
        template,
        status,
        session,
        org_id=org_id,
        org_q=org_query(org_id),
        sections=SECTIONS,
        **values,
    )


def failure_message(error: Exception) -> str:
    """The plain words for what went wrong, as a coordinator reads them (untranslated)."""
    if isinstance(error, DomainError):
        return coord_problem_message(error.code)
    return web.failure_message(error)


async def section(
    request: Request,
    session: PageSession,
    template: str,
    read: Callable[[UUID], dict[str, Any]],
    status: int = 200,
    **values: Any,
) -> Response:
    """A console page about the organisation asked for: what `read` finds for it (run off
    the event loop, through queries that refuse an organisation outside the coordinator's
    subtree), or the plain words why not. `values` (an action's outcome) are shown either
    way; an action's own error goes before the read's."""
    org_id = organisation_of(request, session)
    if org_id is None:
        error = values.pop("error", None) or coord_problem_message("organisation-not-found")
        return render(request, template, session, None, max(status, 404), error=error, **values)
    try:
        found = await run_in_threadpool(read, org_id)
    except web.FAILURES as e:
        error = values.pop("error", None) or failure_message(e)
        status = max(status, web.failure_status(e))
        return render(request, template, session, org_id, status, error=error, **values)
    return render(request, template, session, org_id, status, **found, **values)


def subtree(request: Request, session: PageSession, org_id: UUID) -> list[OrgEntry]:
    """The organisation and those below it (depth first), as a form offers them: the
    worklist's read, which refuses an organisation outside the coordinator's subtree."""
    q = web.runtime(request).queries
    ctx = web.context(request, session)
    return q.worklist.subtree(ctx, org_id, Page(ORGS_SHOWN, None), None).entries


def back_to(request: Request, path: str) -> RedirectResponse:
    """An action's address opened again (reloaded, bookmarked): its page, on the same
    organisation."""
    org = web.uuid_of(request.query_params.get(ORG_PARAM, ""))
    return RedirectResponse(path + org_query(org), 303)


async def attempt(
    request: Request, session: PageSession, command: Command, form: dict[str, str]
) -> tuple[dict[str, Any] | None, dict[str, Any], int]:
    """Runs a console action: its answer, or None with the error to show and its status."""
    try:
        outcome = await web.execute_outcome(request, session, command, form)
    except web.FAILURES as e:
        return None, {"error": failure_message(e)}, web.failure_status(e)
    return {**outcome.body, REPLAYED: outcome.replayed}, {}, 200


def _home(request: Request, session: PageSession, org_id: UUID) -> dict[str, Any]:
    """This year's headline figures: the organisation report's own read, which refuses a
    coordinator outside the organisation's subtree."""
    ctx = web.context(request, session)
    year = str(web.runtime(request).settings.rules.local_date(ctx.now).year)
    report = web.runtime(request).queries.records.organisation_report(ctx, org_id, year, None)
    return {"report": report.report, "year": year}


def _roots(request: Request, session: PageSession) -> list[OrgEntry]:
    ctx = web.context(request, session)
    q = web.runtime(request).queries
    return q.worklist.roots(ctx, Page(ORGS_SHOWN, None), None).entries


@router.get("/app/coord")
async def home(request: Request) -> Response:
    session = await coordinator(request)
    if isinstance(session, Response):
        return session
    org_id = organisation_of(request, session)
    values: dict[str, Any] = {}
    status = 200
    if org_id is None:  # an admin: the top of the tree to choose from
        try:
            values["roots"] = await run_in_threadpool(_roots, request, session)
        except web.FAILURES as e:
            values["error"], status = failure_message(e), web.failure_status(e)
    else:
        try:
            values.update(await run_in_threadpool(_home, request, session, org_id))
        except web.FAILURES as e:
            values["error"], status = failure_message(e), web.failure_status(e)
    return render(request, "coord.html", session, org_id, status, **values)
