from uuid import UUID

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from api.deps import CommanderDep
from api.schemas.sign_in_links import SignInLinkIn, SignInLinkOut
from ledger.commands.sign_in import AllowSignInLink
from timebank.page_sessions import PageSessions

router = APIRouter(tags=["volunteers"])


@router.post(
    "/v1/volunteers/{volunteer_id}/sign-in-links",
    response_model=SignInLinkOut,
    summary="Give a volunteer a one-time sign-in link",
    responses={429: {"description": "Too many requests"}},
)
async def create_sign_in_link(
    volunteer_id: UUID, body: SignInLinkIn, request: Request, run: CommanderDep
) -> SignInLinkOut:
    """A link that signs the volunteer in to their pages once, within minutes: its page asks
    them to confirm with a button, which uses the code up. Only the code's hash is kept; the
    link is no resource of the API (200, no Location). The body is `{}` but for a desk.

    Who: a coordinator of the volunteer's home organisation or above; an admin; a desk only
    with the volunteer's `pin` (403 `pin-required` without, 403 `wrong-pin`)."""
    await run.run(AllowSignInLink(volunteer_id, body.pin))
    sessions: PageSessions = request.app.state.page_sessions
    code, expires_at = await run_in_threadpool(sessions.issue_link, volunteer_id)
    return SignInLinkOut(url=f"/app/link/{code}", code=code, expires_at=expires_at)
