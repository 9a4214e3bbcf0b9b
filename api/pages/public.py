"""Pages anyone may open without signing in: the certificate check a certificate's QR code
leads to, and the awards in public notice (公示) with the way to object. Each reads with
the API's own query and objects with the API's own command (objecting needs a sign-in, as
the API needs a token)."""

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.pages import web
from api.pages.messages import CATEGORIES, N_
from ledger.awards import AwardStatus
from ledger.certificates import NUMBER_LENGTH
from ledger.commands.recognition import FileObjection
from ledger.context import SYSTEM, Context
from ledger.errors import DomainError, Invalid, NotFound
from ledger.privacy import public_name
from projections.pagination import Page
from timebank.page_sessions import PageSession

router = APIRouter(include_in_schema=False)
MAX_TYPED = 2 * NUMBER_LENGTH  # room for spaces; the query refuses anything longer
MAX_REASON = 500
NOTICES_SHOWN = 50
IN_NOTICE = (AwardStatus.IN_NOTICE.value, AwardStatus.OBJECTED.value)

PUBLIC_PROBLEMS = {
    "invalid-certificate-number": N_(
        "That is not a certificate number: a letter is wrong or missing. Please type it again."
    ),
    "certificate-not-found": N_("No certificate has that number."),
    "award-not-found": N_("No notice has that number."),
    "notice-closed": N_("This notice has ended; objections are closed."),
    "objection-already-filed": N_("You have already objected to this notice."),
    "reason-required": N_("Please say why you object."),
}


def _failure(error: Exception) -> str:
    if isinstance(error, DomainError) and error.code in PUBLIC_PROBLEMS:
        return PUBLIC_PROBLEMS[error.code]
    return web.failure_message(error)


def _status(error: Exception) -> int:
    if isinstance(error, NotFound):
        return 404
    return 400 if isinstance(error, Invalid) else 409


# The certificate check ---------------------------------------------------------------------


def _checked(request: Request, number: str) -> dict[str, Any]:
    """What GET /v1/certificates/check answers, for people."""
    found = web.runtime(request).queries.certificates.check(number, None)
    content = found.content
    return {
        "certificate": {
            "number": found.number,
            "status": found.status,
            "issuer": content["issuer"]["name"],
            "issued_on": content["issued_on"],
            "period": content["period"],
            "volunteer_name": public_name(content["volunteer"]["name"]),
            "services": content["services"],
            "total_minutes": content["total_minutes"],
            "digest": found.digest,
        }
    }


@router.get("/app/check")
async def check(request: Request) -> Response:
    session = await web.current_session(request)
    typed = request.query_params.get("number", "").strip()
    if not typed:
        return web.render(request, "check.html", session=session, typed="")
    if len(typed) > MAX_TYPED:
        error = PUBLIC_PROBLEMS["invalid-certificate-number"]
        return web.render(request, "check.html", 400, session, typed="", error=error)
    try:
        found = await run_in_threadpool(_checked, request, typed)
    except web.FAILURES as e:
        return web.render(
            request, "check.html", _status(e), session, typed=typed, error=_failure(e)
        )
    # Switching language keeps the certificate on the page (the digest after '#' stays
    # behind: the browser never sends it).
    back_to = f"/app/check?number={found['certificate']['number']}"
    return web.render(
        request,
        "check.html",
        session=session,
        typed=typed,
        categories=CATEGORIES,
        back_to=back_to,
        **found,
    )


# Notices and objections --------------------------------------------------------------------


def _notices(request: Request, session: PageSession | None) -> dict[str, Any]:
    """The awards in notice whose notice still runs, as GET /v1/awards?status=in_notice."""
    rt = web.runtime(request)
    # Awards are public notices, read alike by every role; a passer-by reads as the system
    # would, which the query uses for nothing but the time.
    actor = SYSTEM if session is None else session.actor
    ctx = Context(actor, request.state.request_id, datetime.now(UTC))
    # An award someone objected to is still in notice: others may object too.
    found = [
        award
        for status in IN_NOTICE
        for award in rt.queries.records.awards(
            ctx, None, status, Page(NOTICES_SHOWN, None), None
        ).items
        if award.notice_ends_at and award.notice_ends_at > ctx.now
    ]
    found.sort(key=lambda award: award.position, reverse=True)
    return {"notices": found[:NOTICES_SHOWN]}


async def _notices_page(
    request: Request, session: PageSession | None, status: int = 200, **values: Any
) -> Response:
    try:
        found = await run_in_threadpool(_notices, request, session)
    except web.FAILURES as e:
        return web.render(
            request, "notices.html", max(status, 503), session, notices=[], error=_failure(e)
        )
    return web.render(request, "notices.html", status, session, **found, **values)


@router.get("/app/notices")
async def notices(request: Request) -> Response:
    return await _notices_page(request, await web.current_session(request))


@router.post("/app/notices/object")
async def object_to(request: Request) -> Response:
    session = await web.current_session(request)
    if session is None:
        return web.refused(request, "session", 401)
    form = await web.posted(request, session)
    if isinstance(form, Response):
        return form
    award_id = web.uuid_of(form.get("award", ""))
    reason = form.get("reason", "").strip()
    if award_id is None:
        return await _notices_page(request, session, 404, error=PUBLIC_PROBLEMS["award-not-found"])
    if not 0 < len(reason) <= MAX_REASON:
        return await _notices_page(request, session, 400, error=PUBLIC_PROBLEMS["reason-required"])
    try:
        await web.execute(request, session, FileObjection(award_id, reason), form)
    except web.FAILURES as e:
        return await _notices_page(request, session, _status(e), error=_failure(e))
    return await _notices_page(request, session, objected=award_id)
