"""A volunteer's own pages (signed in by a link): credits and stars, the statement, the
service record, activities (sign up, cancel, check in and out by the activity's code),
gifts of hours to family, disputes, redemptions with their codes, and the volunteer card.
Short pages with big buttons for elders; every read is the API's own query and every
action the API's own command, in the volunteer's own scope."""

from datetime import timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import segno
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.pages import web
from api.pages.messages import (
    ATTENDANCE_DONE,
    ENTRY_KINDS,
    RELATIONS,
    SIGNUP_STATES,
    STATES,
    my_problem_message,
)
from ledger.accounts import TransferKind
from ledger.commands.attendance import CancelSignup, CheckIn, CheckOut, SignUp
from ledger.commands.base import Command
from ledger.commands.corrections import OpenDispute
from ledger.commands.exchange import Transfer
from ledger.context import Role
from ledger.errors import DomainError, NotFound
from ledger.identity import signup_id
from projections.pagination import Page
from timebank.page_sessions import PageSession

router = APIRouter(include_in_schema=False)
STATEMENT_PAGE = 10
RECORD_SHOWN = 20
REDEMPTIONS_SHOWN = 20
ACTIVITIES_SHOWN = 10
MAX_CODE = 40
MAX_CURSOR = 200
MAX_GIFT_MINUTES = 100_000
MAX_REASON = 500


def _me(session: PageSession) -> UUID:
    volunteer_id = session.actor.scope_id
    assert volunteer_id is not None  # a volunteer's session is scoped to them
    return volunteer_id


async def _my_session(request: Request) -> PageSession | Response:
    session = await web.session_for(request, (Role.VOLUNTEER,), "volunteer-only")
    if not isinstance(session, Response) and session.actor.scope_id is None:
        return web.refused(request, "volunteer-only", 403, session)
    return session


async def _posted(request: Request) -> tuple[PageSession, dict[str, str]] | Response:
    session = await _my_session(request)
    if isinstance(session, Response):
        return session
    form = await web.posted(request, session)
    if isinstance(form, Response):
        return form
    return session, form


def _failure(error: Exception) -> str:
    """The plain words for what went wrong, as said to the volunteer (untranslated)."""
    if isinstance(error, DomainError):
        return my_problem_message(error.code)
    return web.failure_message(error)


def _status(error: Exception) -> int:
    return 404 if isinstance(error, NotFound) else 409


async def _read(
    request: Request,
    session: PageSession,
    template: str,
    read: Any,
    status: int = 200,
    **values: Any,
) -> Response:
    """Renders `template` with what `read` (run off the event loop) finds, or says in plain
    words why it could not be read."""
    try:
        found = await run_in_threadpool(read)
    except web.FAILURES as e:
        error = values.pop("error", None) or _failure(e)
        return web.render(request, template, max(status, _status(e)), session, error=error)
    return web.render(request, template, status, session, **found, **values)


# Overview --------------------------------------------------------------------------------


def _overview(request: Request, session: PageSession) -> dict[str, Any]:
    q = web.runtime(request).queries
    rules = web.runtime(request).settings.rules
    ctx = web.context(request, session)
    found = q.aggregates.volunteer(ctx, _me(session))
    account = q.balances.account(ctx, _me(session), None)
    service_minutes = account.row.service_minutes
    thresholds = rules.star_thresholds_hours
    next_hours = thresholds[account.stars] if account.stars < len(thresholds) else None
    return {
        "me": {
            "name": str(found.personal_data["name"]),
            "number": found.volunteer.number,
            "available_minutes": account.row.available_minutes,
            "reserved_minutes": account.row.reserved_minutes,
            "service_minutes": service_minutes,
            "stars": account.stars,
            "next_star": None
            if next_hours is None
            else {
                "level": account.stars + 1,
                "hours": next_hours,
                "to_go_minutes": max(0, next_hours * 60 - service_minutes),
                "percent": min(100, service_minutes * 100 // (next_hours * 60)),
            },
        }
    }


@router.get("/app/me")
async def me(request: Request) -> Response:
    session = await _my_session(request)
    if isinstance(session, Response):
        return session
    return await _read(request, session, "me.html", lambda: _overview(request, session))


# Statement -------------------------------------------------------------------------------


@router.get("/app/me/statement")
async def statement(request: Request) -> Response:
    session = await _my_session(request)
    if isinstance(session, Response):
        return session
    cursor = request.query_params.get("after") or None
    if cursor is not None and len(cursor) > MAX_CURSOR:
        cursor = "-"  # refused as a cursor this site never gave
    q = web.runtime(request).queries

    def read() -> dict[str, Any]:
        entries, more = q.balances.latest(
            web.context(request, session), _me(session), Page(STATEMENT_PAGE, cursor), None
        )
        return {
            "entries": entries,
            "more": more,
            "first_page": cursor is None,
            "kinds": ENTRY_KINDS,
        }

    return await _read(request, session, "me_statement.html", read)


# Service record --------------------------------------------------------------------------


@router.get("/app/me/record")
async def record(request: Request) -> Response:
    session = await _my_session(request)
    if isinstance(session, Response):
        return session
    q = web.runtime(request).queries

    def read() -> dict[str, Any]:
        ctx = web.context(request, session)
        found = q.records.service_record(ctx, _me(session), RECORD_SHOWN, None)
        return {
            "record": found.record,
            "stars": found.stars,
            "certificates": q.certificates.of_volunteer(ctx, _me(session), RECORD_SHOWN),
        }

    return await _read(request, session, "me_record.html", read)


# Disputes --------------------------------------------------------------------------------


@router.get("/app/me/dispute")
async def dispute_form(request: Request) -> Response:
    session = await _my_session(request)
    if isinstance(session, Response):
        return session
    record_id = web.uuid_of(request.query_params.get("record", ""))
    if record_id is None:
        return web.refused(request, "not-found", 404, session)
    return await _read(
        request, session, "me_dispute.html", lambda: _service(request, session, record_id)
    )


def _service(request: Request, session: PageSession, record_id: UUID) -> dict[str, Any]:
    """One of the volunteer's services, as their record shows it."""
    q = web.runtime(request).queries
    found = q.records.service_record(web.context(request, session), _me(session), 500, None)
    for service in found.record.services:
        if service.source_id == record_id:
            return {"service": service}
    raise NotFound("record-not-found", "no such service in the volunteer's record")


@router.post("/app/me/dispute")
async def open_dispute(request: Request) -> Response:
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    session, form = posted
    record_id = web.uuid_of(form.get("record", ""))
    reason = form.get("reason", "").strip()
    if record_id is None:
        return web.refused(request, "not-found", 404, session)
    read = lambda: _service(request, session, record_id)  # noqa: E731
    if not 0 < len(reason) <= MAX_REASON:
        error = my_problem_message("reason-required")
        return await _read(request, session, "me_dispute.html", read, 400, error=error)
    try:
        await web.execute(request, session, OpenDispute(record_id, reason), form)
    except web.FAILURES as e:
        error = _failure(e)
        return await _read(request, session, "me_dispute.html", read, _status(e), error=error)
    return await _read(request, session, "me_dispute.html", read, opened=True)


# Activities ------------------------------------------------------------------------------


def _activity(request: Request, session: PageSession, activity_id: UUID) -> dict[str, Any]:
    """The activity and the volunteer's own signup for it, if any."""
    q = web.runtime(request).queries
    ctx = web.context(request, session)
    activity = q.aggregates.activity(ctx, activity_id).activity
    try:
        signup = q.aggregates.signup(ctx, signup_id(activity.id, _me(session)))
    except NotFound:
        signup = None
    seats_left = max(0, activity.capacity - len(activity.accepted))
    return {
        "activity": activity,
        "signup": signup,
        "seats_left": seats_left,
        "signup_states": SIGNUP_STATES,
        "done_words": ATTENDANCE_DONE,
    }


def _ahead(request: Request, session: PageSession) -> dict[str, Any]:
    """The volunteer's signups for activities to come, and the activities open to sign up."""
    rt = web.runtime(request)
    ctx = web.context(request, session)
    today = ctx.now.astimezone(ZoneInfo(rt.settings.rules.timezone)).date()
    # From yesterday: an activity that began before midnight may still be running (those
    # over are left out below).
    since = today - timedelta(days=1)
    ahead, mine = rt.queries.records.activities_ahead(ctx, _me(session), since, ACTIVITIES_SHOWN)
    listed: dict[str, list[dict[str, Any]]] = {"mine": [], "open": []}
    for activity_id in dict.fromkeys([*mine, *ahead]):
        found = _activity(request, session, activity_id)
        activity, signup = found["activity"], found["signup"]
        if activity.ends_at <= ctx.now and signup is None:
            continue  # over, and nothing of the volunteer's in it
        listed["mine" if activity_id in mine else "open"].append(found)
    return {"listed": listed, "signup_states": SIGNUP_STATES}


@router.get("/app/me/activities")
async def activities(request: Request) -> Response:
    session = await _my_session(request)
    if isinstance(session, Response):
        return session
    text = request.query_params.get("activity", "").strip()
    if not text:
        return await _read(request, session, "me_activities.html", lambda: _ahead(request, session))
    activity_id = web.uuid_of(text)
    if activity_id is None:
        error = my_problem_message("activity-not-found")
        return web.render(request, "me_activities.html", 404, session, error=error, asked=text)
    return await _read(
        request,
        session,
        "me_activities.html",
        lambda: _activity(request, session, activity_id),
        asked=text,
    )


ATTENDANCE = {"sign-up", "cancel", "check-in", "check-out"}


@router.post("/app/me/activities/{action}")
async def attend(request: Request, action: str) -> Response:
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    session, form = posted
    activity_id = web.uuid_of(form.get("activity", ""))
    if action not in ATTENDANCE or activity_id is None:
        return web.refused(request, "not-found", 404, session)
    code = form.get("code", "").strip()[:MAX_CODE] or None
    sid = signup_id(activity_id, _me(session))
    command: Command
    if action == "sign-up":
        command = SignUp(activity_id, _me(session))
    elif action == "cancel":
        command = CancelSignup(sid, "cancelled by the volunteer")
    elif action == "check-in":
        command = CheckIn(sid, None, code)
    else:
        command = CheckOut(sid, None, code)
    read = lambda: _activity(request, session, activity_id)  # noqa: E731
    asked = str(activity_id)
    try:
        await web.execute(request, session, command, form)
    except web.FAILURES as e:
        error = _failure(e)
        return await _read(
            request, session, "me_activities.html", read, _status(e), error=error, asked=asked
        )
    return await _read(request, session, "me_activities.html", read, done=action, asked=asked)


@router.get("/app/me/activities/{action}")
async def after_action(request: Request, action: str) -> Response:
    """An action's address opened again (reloaded, bookmarked): the activities page."""
    return RedirectResponse("/app/me/activities", 303)


# Gifts to family -------------------------------------------------------------------------


def _family(
    request: Request, session: PageSession, min_position: int | None = None
) -> dict[str, Any]:
    q = web.runtime(request).queries
    ctx = web.context(request, session)
    mine = q.aggregates.volunteer(ctx, _me(session))
    account = q.balances.account(ctx, _me(session), min_position)
    links: dict[str, str] = mine.personal_data["family"] or {}
    family = []
    for relative_id, relation in links.items():
        relative = q.aggregates.volunteer(ctx, UUID(relative_id))
        family.append(
            {
                "id": relative_id,
                "number": relative.volunteer.number,
                "relation": RELATIONS.get(relation, relation),
            }
        )
    return {"family": family, "available_minutes": account.row.available_minutes}


@router.get("/app/me/gift")
async def gift_form(request: Request) -> Response:
    session = await _my_session(request)
    if isinstance(session, Response):
        return session
    return await _read(request, session, "me_gift.html", lambda: _family(request, session))


@router.post("/app/me/gift")
async def gift(request: Request) -> Response:
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    session, form = posted
    read = lambda: _family(request, session)  # noqa: E731
    to = web.uuid_of(form.get("to", ""))
    hours, minutes = form.get("hours", "").strip() or "0", form.get("minutes", "").strip() or "0"
    if to is None or not (hours.isdigit() and minutes.isdigit()) or len(hours + minutes) > 8:
        error = my_problem_message("invalid-input")
        return await _read(request, session, "me_gift.html", read, 400, error=error)
    total = int(hours) * 60 + int(minutes)
    if not 0 < total <= MAX_GIFT_MINUTES:
        error = my_problem_message("invalid-amount")
        return await _read(request, session, "me_gift.html", read, 400, error=error)
    command = Transfer(_me(session), total, TransferKind.GIFT, to_volunteer_id=to)
    try:
        made = await web.execute(request, session, command, form)
    except web.FAILURES as e:
        error = _failure(e)
        return await _read(request, session, "me_gift.html", read, _status(e), error=error)
    position = made.get("position")
    after = lambda: _family(request, session, position)  # noqa: E731
    return await _read(request, session, "me_gift.html", after, given=total)


# Redemptions -----------------------------------------------------------------------------


@router.get("/app/me/redemptions")
async def redemptions(request: Request) -> Response:
    session = await _my_session(request)
    if isinstance(session, Response):
        return session
    q = web.runtime(request).queries

    def read() -> dict[str, Any]:
        ctx = web.context(request, session)
        shown = []
        for redemption_id in q.balances.redemptions(ctx, _me(session), REDEMPTIONS_SHOWN, None):
            found = q.aggregates.redemption(ctx, redemption_id)
            redemption = found.redemption
            shown.append(
                {
                    "redemption": redemption,
                    "reward": q.aggregates.reward(redemption.reward_id).name,
                    "venue": q.aggregates.organisation(redemption.venue_id).name,
                    "code": redemption.code if found.holder else None,
                }
            )
        return {"redemptions": shown, "states": STATES}

    return await _read(request, session, "me_redemptions.html", read)


# Volunteer card --------------------------------------------------------------------------


@router.get("/app/me/card")
async def card(request: Request) -> Response:
    session = await _my_session(request)
    if isinstance(session, Response):
        return session
    q = web.runtime(request).queries

    def read() -> dict[str, Any]:
        found = q.aggregates.volunteer(web.context(request, session), _me(session))
        number = found.volunteer.number
        # The number alone, as the desk's and the kiosk's scanners type it.
        qr = segno.make(number, error="m").svg_inline(scale=8, border=4, omitsize=True)
        return {"number": number, "qr": qr}

    return await _read(request, session, "me_card.html", read)
