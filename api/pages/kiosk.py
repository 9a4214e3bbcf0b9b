"""The check-in kiosk at an activity's door (a coordinator's tablet): the activity, its
check-in code as a QR and as text, check-in and check-out by volunteer number (typed or
scanned from a card), signing up on the spot while seats remain, and who is in now. Every
action is the API's own command; every read the API's own query."""

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import segno
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.pages import web
from api.pages.messages import REFUSALS
from ledger.commands.attendance import CheckIn, CheckOut, SignUp
from ledger.commands.base import Command
from ledger.context import Role
from ledger.errors import DomainError, Forbidden
from ledger.identity import signup_id
from ledger.signups import SignupStatus
from timebank.page_sessions import PageSession

router = APIRouter(include_in_schema=False)
MAX_NUMBER = 40
POLL_SECONDS = 3
NOT_SIGNED_UP = (SignupStatus.CANCELLED,)


def _message(error: Exception) -> str:
    """As every page says it, but a kiosk is no desk: an activity of another organisation
    is said so."""
    if isinstance(error, DomainError) and error.code in ("outside-scope", "forbidden"):
        return REFUSALS["kiosk-other-org"]
    return web.failure_message(error)


def _qr_svg(code: str, title: str) -> str:
    """The check-in code as an inline SVG (no script, no image request)."""
    qr = segno.make(code, error="m", micro=False)  # phones read no micro QR
    return str(qr.svg_inline(scale=10, border=2, title=title, svgclass="qr", omitsize=True))


def _activity(request: Request, session: PageSession, activity_id: UUID) -> dict[str, Any]:
    """The activity as the kiosk shows it, with who is in; refuses (outside-scope) anyone
    who does not coordinate the organising organisation."""
    q = web.runtime(request).queries
    ctx = web.context(request, session)
    found = q.aggregates.activity(ctx, activity_id)
    if not found.organiser:
        raise Forbidden("outside-scope", "not a coordinator of the organising organisation")
    activity = found.activity
    present, left = [], 0
    for sid, _ in activity.accepted:
        signup = q.aggregates.signup(ctx, UUID(sid))
        if signup.status is SignupStatus.CHECKED_IN:
            volunteer = q.aggregates.volunteer(ctx, signup.volunteer_id)
            present.append(
                {
                    "number": volunteer.volunteer.number,
                    "name": str(volunteer.personal_data["name"]),
                    "since": signup.checked_in_at,
                }
            )
        elif signup.checked_out_at is not None:
            left += 1
    present.sort(key=lambda p: p["since"] or datetime.min.replace(tzinfo=UTC))
    return {
        "id": activity.id,
        "title": activity.title,
        "location": activity.location,
        "starts_at": activity.starts_at,
        "ends_at": activity.ends_at,
        "capacity": activity.capacity,
        "signed_up": len(activity.accepted),
        "waitlisted": len(activity.waitlist),
        "has_room": len(activity.accepted) < activity.capacity,
        "code": activity.check_in_code,
        "present": present,
        "left": left,
    }


def _find(
    request: Request, session: PageSession, activity_id: UUID, number: str
) -> tuple[dict[str, Any], UUID | None]:
    """The volunteer of that number, and their signup for this activity (None when they are
    not signed up)."""
    q = web.runtime(request).queries
    ctx = web.context(request, session)
    found = q.aggregates.volunteer_by_number(ctx, number)
    volunteer = {
        "id": found.volunteer.id,
        "number": found.volunteer.number,
        "name": str(found.personal_data["name"]),
    }
    sid = signup_id(activity_id, found.volunteer.id)
    try:
        signup = q.aggregates.signup(ctx, sid)
    except DomainError as e:
        if e.code != "signup-not-found":
            raise
        return volunteer, None
    return volunteer, None if signup.status in NOT_SIGNED_UP else sid


async def _kiosk_session(request: Request) -> PageSession | Response:
    return await web.session_for(request, (Role.COORDINATOR, Role.ADMIN), "kiosk-only")


async def _page(
    request: Request,
    session: PageSession,
    activity_id: UUID,
    status: int = 200,
    **values: Any,
) -> Response:
    try:
        activity = await run_in_threadpool(_activity, request, session, activity_id)
    except web.FAILURES as e:
        code = getattr(e, "code", "")
        status = 404 if code.endswith("not-found") else 403 if code == "outside-scope" else 409
        return web.render(request, "kiosk_start.html", status, session, error=_message(e))
    title = web.gettext(request)("Check-in code")
    return web.render(
        request,
        "kiosk.html",
        status,
        session,
        activity=activity,
        qr=_qr_svg(activity["code"], title),
        poll_seconds=POLL_SECONDS,
        **values,
    )


@router.get("/app/kiosk")
async def start(request: Request) -> Response:
    """A coordinator's landing: open the kiosk of an activity by its number."""
    session = await _kiosk_session(request)
    if isinstance(session, Response):
        return session
    typed = request.query_params.get("activity", "")
    if typed:
        activity_id = web.uuid_of(typed)
        if activity_id is None:
            error = web.failure_message_for("activity-not-found")
            return web.render(request, "kiosk_start.html", 404, session, error=error)
        return RedirectResponse(f"/app/kiosk/{activity_id}", 303)
    return web.render(request, "kiosk_start.html", 200, session)


@router.get("/app/kiosk/{activity}")
async def kiosk(request: Request, activity: str) -> Response:
    session = await _kiosk_session(request)
    if isinstance(session, Response):
        return session
    activity_id = web.uuid_of(activity)
    if activity_id is None:
        return web.refused(request, "not-found", 404, session)
    return await _page(request, session, activity_id)


@router.get("/app/kiosk/{activity}/present")
async def present(request: Request, activity: str) -> Response:
    """Who is in now: the part of the kiosk that htmx asks for again every few seconds."""
    session = await web.current_session(request)
    activity_id = web.uuid_of(activity)
    if session is None or session.actor.role not in (Role.COORDINATOR, Role.ADMIN):
        return web.render(request, "kiosk_present.html", 401, present_error=REFUSALS["session"])
    if activity_id is None:
        return web.render(request, "kiosk_present.html", 404, present_error=REFUSALS["not-found"])
    try:
        found = await run_in_threadpool(_activity, request, session, activity_id)
    except web.FAILURES as e:
        error = _message(e)  # asked for again: the store may be back
        return web.render(
            request,
            "kiosk_present.html",
            409,
            present_error=error,
            activity_id=activity_id,
            poll_seconds=POLL_SECONDS,
        )
    return web.render(request, "kiosk_present.html", 200, activity=found, poll_seconds=POLL_SECONDS)


@router.get("/app/kiosk/{activity}/{action}")
async def after_action(request: Request, activity: str, action: str) -> Response:
    """An action's address opened again (reloaded, bookmarked): the kiosk."""
    activity_id = web.uuid_of(activity)
    return RedirectResponse(f"/app/kiosk/{activity_id}" if activity_id else "/app/kiosk", 303)


@router.post("/app/kiosk/{activity}/{action}")
async def attend(request: Request, activity: str, action: str) -> Response:
    """Checks the volunteer of the typed number in or out, or signs them up and checks
    them in (offered when they are not signed up and a seat is free)."""
    session = await _kiosk_session(request)
    if isinstance(session, Response):
        return session
    activity_id = web.uuid_of(activity)
    if activity_id is None or action not in ("check-in", "check-out", "sign-up"):
        return web.refused(request, "not-found", 404, session)
    form = await web.posted(request, session)
    if isinstance(form, Response):
        return form
    number = form.get("number", "").strip()
    if not 0 < len(number) <= MAX_NUMBER:
        error = web.failure_message_for("volunteer-not-found")
        return await _page(request, session, activity_id, 400, error=error, number=number)
    try:
        volunteer, sid = await run_in_threadpool(_find, request, session, activity_id, number)
    except web.FAILURES as e:
        status = 404 if getattr(e, "code", "").endswith("not-found") else 409
        error = _message(e)
        return await _page(request, session, activity_id, status, error=error, number=number)
    if sid is None and action != "sign-up":
        return await _page(
            request, session, activity_id, 409, not_signed_up=volunteer, number=number
        )
    try:
        if action == "sign-up":
            made = await web.execute(request, session, SignUp(activity_id, volunteer["id"]), form)
            if made.get("status") != SignupStatus.ACCEPTED.value:
                return await _page(
                    request, session, activity_id, 409, waitlisted=volunteer, number=number
                )
            sid = UUID(str(made["id"]))
            # A key of its own: the same form's key would answer the signup again.
            if form.get(web.IDEMPOTENCY_FIELD):
                form = {**form, web.IDEMPOTENCY_FIELD: form[web.IDEMPOTENCY_FIELD] + "-in"}
        assert sid is not None
        command: Command = CheckOut(sid) if action == "check-out" else CheckIn(sid)
        done = await web.execute(request, session, command, form)
    except web.FAILURES as e:
        error = _message(e)
        return await _page(
            request, session, activity_id, 409, error=error, who=volunteer, number=number
        )
    outcome = "checked_out" if action == "check-out" else "checked_in"
    return await _page(
        request,
        session,
        activity_id,
        200,
        done={outcome: volunteer, "minutes": done.get("minutes")},
    )
