"""The console's corrections: back-fills (/app/coord/backfills: submitted by one
coordinator, approved or rejected by another; never offered to its submitter, whom the
command refuses anyway) and disputes (/app/coord/disputes: resolved by a correction or
dismissed, each with a reason)."""

from collections.abc import Callable
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.pages import coord, web
from api.pages.messages import BACKFILL_STATES, CATEGORIES, coord_problem_message
from ledger import bounds
from ledger.activities import Category
from ledger.commands.base import Command
from ledger.commands.corrections import (
    ApproveBackfill,
    RejectBackfill,
    ResolveDispute,
    SubmitBackfill,
)
from ledger.disputes import Resolution
from projections.pagination import Page
from projections.worklist.queries import BackfillEntry
from timebank.page_sessions import PageSession

router = APIRouter(include_in_schema=False)
SHOWN = 50
SCAN_PAGE = 100  # the view's largest page
SCANNED = 1000  # the back-fills read at most to find those of (or not of) this coordinator
MAX_NUMBER = 40
MAX_REASON = 500
MAX_DESCRIPTION = 2000
MAX_EVIDENCE_CHARS = 4000
MAX_MINUTES = bounds.SERVICE_MINUTES.high
SOURCE_CHARS = 80  # of a back-fill's description, naming a disputed one


def _name(request: Request, session: PageSession, volunteer_id: UUID) -> str:
    q = web.runtime(request).queries
    found = q.aggregates.volunteer(web.context(request, session), volunteer_id)
    return str(found.personal_data["name"])


# Back-fills ------------------------------------------------------------------------------


def _sifted(
    request: Request,
    session: PageSession,
    org_id: UUID,
    status: str | None,
    keep: Callable[[BackfillEntry], bool],
    position: int | None,
) -> list[BackfillEntry]:
    """The subtree's back-fills (oldest first) that `keep` keeps, read a page at a time and
    at most SCANNED of them: the view lists by organisation, not by submitter."""
    q = web.runtime(request).queries
    ctx = web.context(request, session)
    kept: list[BackfillEntry] = []
    cursor = None
    for _ in range(SCANNED // SCAN_PAGE):
        listed = q.worklist.backfills(ctx, org_id, status, Page(SCAN_PAGE, cursor), position)
        kept.extend(e for e in listed.entries if keep(e))
        cursor = listed.next_cursor
        if cursor is None:
            break
    return kept


def _backfills(request: Request, session: PageSession, position: int | None) -> Any:
    def read(org_id: UUID) -> dict[str, Any]:
        q = web.runtime(request).queries
        ctx = web.context(request, session)
        me = session.actor.name
        # Never offered to its submitter: a second coordinator approves.
        others = _sifted(
            request, session, org_id, "submitted", lambda e: e.submitted_by != me, position
        )
        awaiting = []
        for entry in others[:SHOWN]:
            backfill = q.aggregates.backfill(ctx, entry.id)
            awaiting.append(
                {
                    "entry": entry,
                    "name": _name(request, session, entry.volunteer_id),
                    "description": backfill.description,
                    "evidence": backfill.evidence,
                }
            )
        mine = _sifted(request, session, org_id, None, lambda e: e.submitted_by == me, position)
        return {
            "awaiting": awaiting,
            "more_awaiting": len(others) > SHOWN,
            "mine": mine[::-1][:SHOWN],  # the latest first
            "orgs": coord.subtree(request, session, org_id),
        }

    return read


async def _backfills_page(
    request: Request,
    session: PageSession,
    status: int = 200,
    position: int | None = None,
    **values: Any,
) -> Response:
    return await coord.section(
        request,
        session,
        "coord_backfills.html",
        _backfills(request, session, position),
        status,
        categories=CATEGORIES,
        states=BACKFILL_STATES,
        **values,
    )


@router.get("/app/coord/backfills")
async def backfills(request: Request) -> Response:
    session = await coord.coordinator(request)
    if isinstance(session, Response):
        return session
    return await _backfills_page(request, session)


def _evidence(text: str) -> tuple[str, ...] | None:
    lines = tuple(line.strip() for line in text.splitlines() if line.strip())
    if len(text) > MAX_EVIDENCE_CHARS or len(lines) > bounds.EVIDENCE:
        return None
    if any(len(line) > bounds.EVIDENCE_ITEM.high for line in lines):
        return None
    return lines


def _submission(request: Request, session: PageSession, form: dict[str, str]) -> Command | str:
    """The command the back-fill form asks for, or the problem code of what is wrong in it."""
    number = form.get("number", "").strip()
    org_id = web.uuid_of(form.get("org_id", ""))
    category = form.get("category", "")
    started_at = web.moment_of(request, form.get("started_at", ""))
    ended_at = web.moment_of(request, form.get("ended_at", ""))
    description = form.get("description", "").strip()
    evidence = _evidence(form.get("evidence", ""))
    if not 0 < len(number) <= MAX_NUMBER:
        return "volunteer-not-found"
    if org_id is None:
        return "organisation-not-found"
    if category not in CATEGORIES:
        return "category-required"
    if started_at is None or ended_at is None:
        return "invalid-interval"
    if not 0 < len(description) <= MAX_DESCRIPTION:
        return "description-required"
    if evidence is None:
        return "invalid-input"
    q = web.runtime(request).queries
    volunteer = q.aggregates.volunteer_by_number(web.context(request, session), number)
    return SubmitBackfill(
        volunteer.volunteer.id,
        org_id,
        started_at,
        ended_at,
        description,
        Category(category),
        evidence,
    )


@router.post("/app/coord/backfills/submit")
async def submit(request: Request) -> Response:
    session = await coord.coordinator(request)
    if isinstance(session, Response):
        return session
    form = await web.posted(request, session)
    if isinstance(form, Response):
        return form
    try:
        command = await run_in_threadpool(_submission, request, session, form)
    except web.FAILURES as e:
        error, status = coord.failure_message(e), web.failure_status(e)
        return await _backfills_page(request, session, status, error=error, typed=form)
    if isinstance(command, str):
        error = coord_problem_message(command)
        return await _backfills_page(request, session, 422, error=error, typed=form)
    done, values, status = await coord.attempt(request, session, command, form)
    if done is None:
        return await _backfills_page(request, session, status, typed=form, **values)
    return await _backfills_page(
        request, session, position=done.get("position"), submitted=done.get("minutes")
    )


async def _decide_backfill(request: Request, approve: bool) -> Response:
    session = await coord.coordinator(request)
    if isinstance(session, Response):
        return session
    form = await web.posted(request, session)
    if isinstance(form, Response):
        return form
    backfill_id = web.uuid_of(form.get("backfill", ""))
    reason = form.get("reason", "").strip()
    if backfill_id is None:
        error = coord_problem_message("backfill-not-found")
        return await _backfills_page(request, session, 404, error=error)
    command: Command = ApproveBackfill(backfill_id)
    if not approve:
        if not 0 < len(reason) <= MAX_REASON:
            error = coord_problem_message("reason-required")
            return await _backfills_page(request, session, 422, error=error)
        command = RejectBackfill(backfill_id, reason)
    done, values, status = await coord.attempt(request, session, command, form)
    if done is None:
        return await _backfills_page(request, session, status, **values)
    decided = {"approved": approve, "minutes": done.get("minutes")}
    return await _backfills_page(request, session, position=done.get("position"), decided=decided)


@router.post("/app/coord/backfills/approve")
async def approve(request: Request) -> Response:
    return await _decide_backfill(request, True)


@router.post("/app/coord/backfills/reject")
async def reject(request: Request) -> Response:
    return await _decide_backfill(request, False)


@router.get("/app/coord/backfills/{action}")
async def after_backfill(request: Request, action: str) -> Response:
    return coord.back_to(request, "/app/coord/backfills")


# Disputes --------------------------------------------------------------------------------


def _source(request: Request, session: PageSession, kind: str, source_id: UUID) -> str:
    """What the disputed service was: its activity's title, or the back-fill's dates."""
    q = web.runtime(request).queries
    ctx = web.context(request, session)
    if kind == "signup":
        signup = q.aggregates.signup(ctx, source_id)
        return q.aggregates.activity(ctx, signup.activity_id).activity.title
    return q.aggregates.backfill(ctx, source_id).description[:SOURCE_CHARS]


def _disputes(request: Request, session: PageSession, position: int | None) -> Any:
    def read(org_id: UUID) -> dict[str, Any]:
        q = web.runtime(request).queries
        ctx = web.context(request, session)
        listed = q.worklist.disputes(ctx, org_id, "open", Page(SHOWN, None), position)
        shown = []
        for entry in listed.entries:
            dispute = q.aggregates.dispute(ctx, entry.id)
            shown.append(
                {
                    "entry": entry,
                    "name": _name(request, session, entry.volunteer_id),
                    "reason": dispute.reason,
                    "source": _source(request, session, entry.source_kind, entry.source_id),
                }
            )
        return {"disputes": shown}

    return read


async def _disputes_page(
    request: Request,
    session: PageSession,
    status: int = 200,
    position: int | None = None,
    **values: Any,
) -> Response:
    read = _disputes(request, session, position)
    return await coord.section(request, session, "coord_disputes.html", read, status, **values)


@router.get("/app/coord/disputes")
async def disputes(request: Request) -> Response:
    session = await coord.coordinator(request)
    if isinstance(session, Response):
        return session
    return await _disputes_page(request, session)


@router.post("/app/coord/disputes/resolve")
async def resolve(request: Request) -> Response:
    session = await coord.coordinator(request)
    if isinstance(session, Response):
        return session
    form = await web.posted(request, session)
    if isinstance(form, Response):
        return form
    dispute_id = web.uuid_of(form.get("dispute", ""))
    decision = form.get("decision", "")
    reason = form.get("reason", "").strip()
    minutes = None
    if dispute_id is None:
        error = coord_problem_message("dispute-not-found")
        return await _disputes_page(request, session, 404, error=error)
    if decision not in (Resolution.CORRECT, Resolution.DISMISS):
        return await _disputes_page(
            request, session, 422, error=coord_problem_message("invalid-input")
        )
    if decision == Resolution.CORRECT:
        minutes = web.whole_of(form.get("minutes", ""), 0, MAX_MINUTES)
        if minutes is None:
            error = coord_problem_message("invalid-minutes")
            return await _disputes_page(request, session, 422, error=error)
    if not 0 < len(reason) <= MAX_REASON:
        error = coord_problem_message("reason-required")
        return await _disputes_page(request, session, 422, error=error)
    command = ResolveDispute(dispute_id, Resolution(decision), reason, minutes)
    done, values, status = await coord.attempt(request, session, command, form)
    if done is None:
        return await _disputes_page(request, session, status, **values)
    resolved = {"decision": decision, "minutes": minutes}
    return await _disputes_page(request, session, position=done.get("position"), resolved=resolved)


@router.get("/app/coord/disputes/{action}")
async def after_dispute(request: Request, action: str) -> Response:
    return coord.back_to(request, "/app/coord/disputes")
