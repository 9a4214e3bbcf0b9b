"""The redemption desk: find a volunteer by number, see their credits, reserve a reward
chosen from the venue's list with its stock (with the volunteer's PIN), hand a reservation
out by its code, cancel one, print a receipt. Every action is the API's own command; every
read the API's own query."""

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.pages import web
from api.pages.messages import STATES
from ledger.commands.exchange import CancelRedemption, FulfilRedemption, Redeem
from ledger.context import Role
from projections.pagination import Page
from timebank.page_sessions import PageSession

router = APIRouter(include_in_schema=False)
MAX_NUMBER = 40
MAX_CODE = 40
MAX_QUANTITY = 99
PENDING_SHOWN = 20
REWARDS_SHOWN = 100  # a venue's whole list, in the order its rewards were listed


def _volunteer(
    request: Request, session: PageSession, number: str, min_position: int | None
) -> dict[str, Any]:
    """The volunteer's name (masked as the desk's role requires) and credits."""
    q = web.runtime(request).queries
    ctx = web.context(request, session)
    found = q.aggregates.volunteer_by_number(ctx, number)
    account = q.balances.account(ctx, found.volunteer.id, min_position)
    return {
        "id": found.volunteer.id,
        "number": found.volunteer.number,
        "name": str(found.personal_data["name"]),
        "available_minutes": account.row.available_minutes,
        "reserved_minutes": account.row.reserved_minutes,
        "stars": account.stars,
    }


def _pending(
    request: Request, session: PageSession, min_position: int | None
) -> list[dict[str, Any]]:
    """The desk's venue's reservations awaiting hand-out, with what each is for."""
    venue_id = session.actor.scope_id
    if venue_id is None:  # an admin: no venue of their own
        return []
    q = web.runtime(request).queries
    ctx = web.context(request, session)
    shown = []
    for pending in q.balances.pending(ctx, venue_id, PENDING_SHOWN, min_position):
        redemption = q.aggregates.redemption(ctx, pending.id).redemption
        shown.append(
            {
                "id": pending.id,
                "expires_at": pending.expires_at,
                "volunteer_number": q.aggregates.volunteer(
                    ctx, pending.volunteer_id
                ).volunteer.number,
                "reward": q.aggregates.reward(redemption.reward_id).name,
                "quantity": redemption.quantity,
            }
        )
    return shown


def _rewards(
    request: Request, session: PageSession, min_position: int | None
) -> list[dict[str, Any]]:
    """The desk's venue's rewards with the stock left (an admin has no venue: none)."""
    venue_id = session.actor.scope_id
    if venue_id is None:
        return []
    q = web.runtime(request).queries
    found = q.rewards.at_venue(
        web.context(request, session), venue_id, Page(REWARDS_SHOWN, None), min_position
    )
    return [
        {
            "id": r.id,
            "name": r.name,
            "cost_minutes": r.cost_minutes,
            "stock": r.stock,
            "per_volunteer_limit": r.per_volunteer_limit,
        }
        for r in found.items
    ]


async def _page(
    request: Request,
    session: PageSession,
    number: str = "",
    status: int = 200,
    min_position: int | None = None,
    **values: Any,
) -> Response:
    volunteer = None
    rewards: list[dict[str, Any]] = []
    error = values.pop("error", None)
    if number:
        if len(number) > MAX_NUMBER:
            error = error or web.failure_message_for("volunteer-not-found")
        else:
            try:
                volunteer = await run_in_threadpool(
                    _volunteer, request, session, number, min_position
                )
                rewards = await run_in_threadpool(_rewards, request, session, min_position)
            except web.FAILURES as e:
                error = error or web.failure_message(e)
                status = max(status, 404 if getattr(e, "code", "").endswith("not-found") else 409)
    try:
        pending = await run_in_threadpool(_pending, request, session, min_position)
    except web.FAILURES as e:
        pending, error = [], error or web.failure_message(e)
    return web.render(
        request,
        "desk.html",
        status,
        session,
        number=number,
        volunteer=volunteer,
        error=error,
        pending=pending,
        rewards=rewards,
        **values,
    )


async def _desk_session(request: Request) -> PageSession | Response:
    return await web.session_for(request, (Role.DESK, Role.ADMIN), "desk-only")


async def _posted(request: Request) -> tuple[PageSession, dict[str, str]] | Response:
    session = await _desk_session(request)
    if isinstance(session, Response):
        return session
    form = await web.posted(request, session)
    if isinstance(form, Response):
        return form
    return session, form


@router.get("/app/desk")
async def desk(request: Request) -> Response:
    session = await _desk_session(request)
    if isinstance(session, Response):
        return session
    return await _page(request, session, request.query_params.get("number", "").strip())


@router.get("/app/desk/{action}")
async def after_action(request: Request, action: str) -> Response:
    """An action's address opened again (reloaded, bookmarked): the desk."""
    return RedirectResponse("/app/desk", 303)


@router.post("/app/desk/reserve")
async def reserve(request: Request) -> Response:
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    session, form = posted
    number = form.get("number", "").strip()
    volunteer_id, reward_id = (
        web.uuid_of(form.get("volunteer", "")),
        web.uuid_of(form.get("reward", "")),
    )
    quantity = form.get("quantity", "1").strip()
    pin = form.get("pin", "").strip()
    if (
        volunteer_id is None
        or reward_id is None
        or not quantity.isdigit()
        or not 1 <= int(quantity) <= MAX_QUANTITY
        or len(pin) > MAX_CODE
    ):
        error = web.failure_message_for("invalid-input")
        return await _page(request, session, number, 400, error=error)
    command = Redeem(volunteer_id, reward_id, int(quantity), pin or None)
    try:
        made = await web.execute(request, session, command, form)
    except web.FAILURES as e:
        return await _page(request, session, number, 409, error=web.failure_message(e))
    return await _page(request, session, number, 200, made.get("position"), reserved=made)


@router.post("/app/desk/hand-out")
async def hand_out(request: Request) -> Response:
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    session, form = posted
    number = form.get("number", "").strip()
    redemption_id = web.uuid_of(form.get("redemption", ""))
    code = form.get("code", "").strip()
    if redemption_id is None or not 0 < len(code) <= MAX_CODE:
        error = web.failure_message_for("invalid-input")
        return await _page(request, session, number, 400, error=error)
    try:
        done = await web.execute(request, session, FulfilRedemption(redemption_id, code), form)
    except web.FAILURES as e:
        return await _page(request, session, number, 409, error=web.failure_message(e))
    return await _page(request, session, number, 200, done.get("position"), handed_out=done)


@router.post("/app/desk/cancel")
async def cancel(request: Request) -> Response:
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    session, form = posted
    number = form.get("number", "").strip()
    redemption_id = web.uuid_of(form.get("redemption", ""))
    if redemption_id is None:
        error = web.failure_message_for("invalid-input")
        return await _page(request, session, number, 400, error=error)
    command = CancelRedemption(redemption_id, "cancelled at the desk")
    try:
        done = await web.execute(request, session, command, form)
    except web.FAILURES as e:
        return await _page(request, session, number, 409, error=web.failure_message(e))
    return await _page(request, session, number, 200, done.get("position"), cancelled=done)


@router.get("/app/desk/receipts/{redemption}")
async def receipt(request: Request, redemption: str) -> Response:
    """A printable receipt of a redemption (the code is never on it)."""
    session = await _desk_session(request)
    if isinstance(session, Response):
        return session
    redemption_id = web.uuid_of(redemption)
    if redemption_id is None:
        return web.refused(request, "not-found", 404, session)
    q = web.runtime(request).queries

    def read() -> dict[str, Any]:
        found = q.aggregates.redemption(web.context(request, session), redemption_id)
        reward = q.aggregates.reward(found.redemption.reward_id)
        venue = q.aggregates.organisation(found.redemption.venue_id)
        return {
            "redemption": found.redemption,
            "reward": reward,
            "venue": venue.name,
            "printed_at": datetime.now(UTC),
        }

    try:
        values = await run_in_threadpool(read)
    except web.FAILURES as e:
        return await _page(request, session, "", 404, error=web.failure_message(e))
    return web.render(request, "receipt.html", 200, session, states=STATES, **values)
