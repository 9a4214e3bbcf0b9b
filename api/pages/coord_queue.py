"""The console's verification queue (/app/coord/queue): the subtree's checked-out signups,
oldest first, approved many at once (each its own verify command, with its own idempotency
key: the same form sent again approves nothing more), or adjusted or rejected one by one."""

import asyncio
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.pages import coord, web
from api.pages.messages import coord_problem_message
from ledger import bounds
from ledger.commands.attendance import VerifySignup
from ledger.signups import Decision
from projections.pagination import Page
from timebank.page_sessions import PageSession

router = APIRouter(include_in_schema=False)
TEMPLATE = "coord_queue.html"
QUEUE_SHOWN = 50
# The approval form: each row shown twice at most (chosen, and listed for "all shown"),
# with the CSRF token, its key and the button.
MAX_APPROVAL_FIELDS = 2 * QUEUE_SHOWN + 5
MAX_CURSOR = 200
MAX_REASON = 500
MAX_MINUTES = bounds.SERVICE_MINUTES.high


def _read(request: Request, session: PageSession, cursor: str | None, position: int | None) -> Any:
    def read(org_id: UUID) -> dict[str, Any]:
        q = web.runtime(request).queries
        ctx = web.context(request, session)
        listed = q.worklist.signups(ctx, org_id, "checked_out", Page(QUEUE_SHOWN, cursor), position)
        names = {}
        for entry in listed.entries:
            if entry.volunteer_id not in names:
                volunteer = q.aggregates.volunteer(ctx, entry.volunteer_id)
                names[entry.volunteer_id] = str(volunteer.personal_data["name"])
        return {"queue": listed.entries, "names": names, "next_cursor": listed.next_cursor}

    return read


async def _page(
    request: Request,
    session: PageSession,
    status: int = 200,
    position: int | None = None,
    **values: Any,
) -> Response:
    cursor = request.query_params.get("after") or None
    if cursor is not None and len(cursor) > MAX_CURSOR:
        cursor = "-"  # refused in words as a cursor this site never gave
    read = _read(request, session, cursor, position)
    return await coord.section(request, session, TEMPLATE, read, status, cursor=cursor, **values)


@router.get("/app/coord/queue")
async def queue(request: Request) -> Response:
    session = await coord.coordinator(request)
    if isinstance(session, Response):
        return session
    return await _page(request, session)


def _label(request: Request, session: PageSession, sid: UUID) -> str:
    """Who a refused approval was about, as the row showed them (the id when unreadable)."""
    q = web.runtime(request).queries
    ctx = web.context(request, session)
    try:
        signup = q.aggregates.signup(ctx, sid)
        return q.aggregates.volunteer(ctx, signup.volunteer_id).volunteer.number
    except web.FAILURES:
        return str(sid)


@router.post("/app/coord/queue/approve")
async def approve(request: Request) -> Response:
    """Approves the chosen rows, or every row shown ("all" pressed): one verify command a
    row, run together, each keyed by the form's key and the signup's id."""
    session = await coord.coordinator(request)
    if isinstance(session, Response):
        return session
    lists = await web.form_lists(request, MAX_APPROVAL_FIELDS)
    form = web.firsts(lists)
    if not web.csrf_ok(session.csrf, form):
        return web.refused(request, "csrf", 403, session)
    wanted = lists.get("shown", []) if form.get("all") else lists.get("chosen", [])
    ids = list(dict.fromkeys(i for i in map(web.uuid_of, wanted) if i is not None))
    ids = ids[:QUEUE_SHOWN]  # no more at once than a page shows
    if not ids:
        return await _page(request, session, 422, error=coord_problem_message("nothing-chosen"))
    once = form.get(web.IDEMPOTENCY_FIELD, "")[:60]

    async def one(sid: UUID) -> tuple[UUID, dict[str, Any] | None, dict[str, Any], int]:
        # A form of its own per row: its key and its fingerprint are this row's alone.
        row = {web.IDEMPOTENCY_FIELD: f"{once}:{sid}" if once else "", "signup": str(sid)}
        command = VerifySignup(sid, Decision.APPROVE)
        return sid, *(await coord.attempt(request, session, command, row))

    outcomes = await asyncio.gather(*(one(sid) for sid in ids))
    done = [d for _, d, _, _ in outcomes if d is not None]
    # Approved before (this form sent again, or another approval): nothing more credited.
    again = [d for d in done if d[coord.REPLAYED] or d.get("position") is None]
    fresh = [d for d in done if d not in again]
    failed, status = [], 200
    for sid, answer, values, refused in outcomes:
        if answer is None:
            label = await run_in_threadpool(_label, request, session, sid)
            failed.append({"who": label, "error": values["error"]})
            status = refused if not done else status
    summary = {
        "approved": len(fresh),
        "again": len(again),
        "minutes": sum(int(d.get("credited_minutes") or 0) for d in fresh),
        "failed": failed,
    }
    position = max((d["position"] for d in fresh), default=None)
    return await _page(request, session, status, position=position, summary=summary)


async def _decide(request: Request, decision: Decision) -> Response:
    session = await coord.coordinator(request)
    if isinstance(session, Response):
        return session
    form = await web.posted(request, session)
    if isinstance(form, Response):
        return form
    sid = web.uuid_of(form.get("signup", ""))
    reason = form.get("reason", "").strip()
    minutes = None
    if decision is Decision.ADJUST:
        minutes = web.whole_of(form.get("minutes", ""), 0, MAX_MINUTES)
        if minutes is None:
            error = coord_problem_message("invalid-minutes")
            return await _page(request, session, 422, error=error)
    if sid is None:
        return await _page(request, session, 404, error=coord_problem_message("signup-not-found"))
    if not 0 < len(reason) <= MAX_REASON:
        return await _page(request, session, 422, error=coord_problem_message("reason-required"))
    command = VerifySignup(sid, decision, minutes, reason)
    done, values, status = await coord.attempt(request, session, command, form)
    if done is None:
        return await _page(request, session, status, **values)
    decided = {"decision": decision.value, "minutes": done.get("minutes")}
    return await _page(request, session, position=done.get("position"), decided=decided)


@router.post("/app/coord/queue/adjust")
async def adjust(request: Request) -> Response:
    return await _decide(request, Decision.ADJUST)


@router.post("/app/coord/queue/reject")
async def reject(request: Request) -> Response:
    return await _decide(request, Decision.REJECT)


@router.get("/app/coord/queue/{action}")
async def after_action(request: Request, action: str) -> Response:
    return coord.back_to(request, "/app/coord/queue")
