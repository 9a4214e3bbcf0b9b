"""A volunteer's own page (signed in by a link): their credits and stars, for now."""

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.pages import web
from ledger.context import Context, Role

router = APIRouter(include_in_schema=False)


@router.get("/app/me")
async def me(request: Request) -> Response:
    session = await web.current_session(request)
    if session is None:
        return web.to_sign_in()
    volunteer_id = session.actor.scope_id
    if session.actor.role is not Role.VOLUNTEER or volunteer_id is None:
        return web.refused(request, "volunteer-only", 403, session)
    q = web.runtime(request).queries
    ctx = Context(session.actor, request.state.request_id, datetime.now(UTC))

    def read() -> dict[str, Any]:
        found = q.aggregates.volunteer(ctx, volunteer_id)
        account = q.balances.account(ctx, volunteer_id, None)
        return {
            "name": str(found.personal_data["name"]),
            "number": found.volunteer.number,
            "available_minutes": account.row.available_minutes,
            "reserved_minutes": account.row.reserved_minutes,
            "stars": account.stars,
        }

    try:
        values = await run_in_threadpool(read)
    except web.FAILURES as e:
        return web.render(request, "me.html", 409, session, error=web.failure_message(e))
    return web.render(request, "me.html", 200, session, me=values)
