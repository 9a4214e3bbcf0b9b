"""The console's activities (/app/coord/activities): the subtree's activities, published or
completed; publishing one (its check-in code shown once, then on its kiosk); completing one
with the number of people served."""

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.pages import coord, web
from api.pages.messages import ACTIVITY_STATES, CATEGORIES, coord_problem_message
from ledger import bounds
from ledger.activities import Category
from ledger.commands.attendance import PublishActivity
from ledger.commands.recognition import CompleteActivity
from projections.pagination import Page
from timebank.page_sessions import PageSession

router = APIRouter(include_in_schema=False)
TEMPLATE = "coord_activities.html"
SHOWN = 20
MAX_CURSOR = 200
MAX_CAPACITY = 100_000  # a page's bound, within the domain's
MAX_BENEFICIARIES = bounds.BENEFICIARIES.high


def _read(
    request: Request, session: PageSession, status: str, cursor: str | None, position: int | None
) -> Any:
    def read(org_id: UUID) -> dict[str, Any]:
        q = web.runtime(request).queries
        ctx = web.context(request, session)
        listed = q.worklist.activities(ctx, org_id, status, Page(SHOWN, cursor), position)
        orgs = coord.subtree(request, session, org_id)
        return {
            "activities": listed.entries,
            "next_cursor": listed.next_cursor,
            "orgs": orgs,
            "org_names": {o.id: o.name for o in orgs},
            "now": ctx.now,
        }

    return read


def _listing(request: Request) -> tuple[str, str | None]:
    status = request.query_params.get("status", "published")
    cursor = request.query_params.get("after") or None
    if cursor is not None and len(cursor) > MAX_CURSOR:
        cursor = "-"  # refused in words as a cursor this site never gave
    return status if status in ACTIVITY_STATES else "published", cursor


async def _page(
    request: Request,
    session: PageSession,
    status: int = 200,
    position: int | None = None,
    **values: Any,
) -> Response:
    listing, cursor = _listing(request)
    return await coord.section(
        request,
        session,
        TEMPLATE,
        _read(request, session, listing, cursor, position),
        status,
        listing=listing,
        cursor=cursor,
        states=ACTIVITY_STATES,
        categories=CATEGORIES,
        **values,
    )


@router.get("/app/coord/activities")
async def activities(request: Request) -> Response:
    session = await coord.coordinator(request)
    if isinstance(session, Response):
        return session
    return await _page(request, session)


def _publication(request: Request, form: dict[str, str]) -> PublishActivity | str:
    """The command the publish form asks for, or the problem code of what is wrong in it."""
    org_id = web.uuid_of(form.get("org_id", ""))
    title = form.get("title", "").strip()
    location = form.get("location", "").strip()
    campaign = form.get("campaign", "").strip() or None
    starts_at = web.moment_of(request, form.get("starts_at", ""))
    ends_at = web.moment_of(request, form.get("ends_at", ""))
    capacity = web.whole_of(form.get("capacity", ""), 1, MAX_CAPACITY)
    category = form.get("category", "")
    if org_id is None:
        return "organisation-not-found"
    if category not in CATEGORIES:
        return "category-required"
    if not 0 < len(title) <= bounds.TITLE.high or len(location) > bounds.LOCATION.high:
        return "invalid-input"
    if campaign is not None and len(campaign) > bounds.CAMPAIGN.high:
        return "invalid-input"
    if starts_at is None or ends_at is None or capacity is None:
        return "invalid-input"
    return PublishActivity(
        org_id, title, Category(category), location, starts_at, ends_at, capacity, campaign
    )


@router.post("/app/coord/activities/publish")
async def publish(request: Request) -> Response:
    session = await coord.coordinator(request)
    if isinstance(session, Response):
        return session
    form = await web.posted(request, session)
    if isinstance(form, Response):
        return form
    command = _publication(request, form)
    if isinstance(command, str):
        error = coord_problem_message(command)
        return await _page(request, session, 422, error=error, typed=form)
    done, values, status = await coord.attempt(request, session, command, form)
    if done is None:
        return await _page(request, session, status, typed=form, **values)
    published = {"id": done["id"], "code": done["check_in_code"], "title": command.title}
    return await _page(request, session, position=done.get("position"), published=published)


@router.post("/app/coord/activities/complete")
async def complete(request: Request) -> Response:
    session = await coord.coordinator(request)
    if isinstance(session, Response):
        return session
    form = await web.posted(request, session)
    if isinstance(form, Response):
        return form
    activity_id = web.uuid_of(form.get("activity", ""))
    served = web.whole_of(form.get("beneficiaries", ""), 0, MAX_BENEFICIARIES)
    if activity_id is None:
        error = coord_problem_message("activity-not-found")
        return await _page(request, session, 404, error=error)
    if served is None:
        return await _page(request, session, 422, error=coord_problem_message("invalid-input"))
    command = CompleteActivity(activity_id, served)
    done, values, status = await coord.attempt(request, session, command, form)
    if done is None:
        return await _page(request, session, status, **values)
    return await _page(request, session, position=done.get("position"), completed=served)


@router.get("/app/coord/activities/{action}")
async def after_action(request: Request, action: str) -> Response:
    return coord.back_to(request, "/app/coord/activities")
