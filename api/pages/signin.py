"""Signing in and out, and the language switch. A desk, kiosk or coordinator types their
token once and is given a session cookie; the token never travels in a URL."""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.pages import web
from api.pages.i18n import LANGUAGE_COOKIE, LANGUAGES
from api.problems import STORE_ERRORS
from ledger.context import Role
from timebank.page_sessions import PageSession

router = APIRouter(include_in_schema=False)
MAX_TOKEN = 200
YEAR_SECONDS = 365 * 24 * 3600
HOME = {
    Role.DESK: "/app/desk",
    Role.VOLUNTEER: "/app/me",
    Role.COORDINATOR: "/app/coord",
    Role.AUDITOR: "/app/audit",
}  # each role's page
MAX_LINK_CODE = 64


@router.get("/app")
async def home(request: Request) -> Response:
    session = await web.current_session(request)
    if session is None:
        return web.to_sign_in()
    return RedirectResponse(HOME.get(session.actor.role, "/app/signed-in"), 303)


@router.get("/app/sign-in")
async def sign_in_form(request: Request) -> Response:
    return web.sign_in_page(request)


@router.post("/app/sign-in")
async def sign_in(request: Request) -> Response:
    form = await web.form_of(request)
    if not web.csrf_ok(request.cookies.get(web.SIGN_IN_COOKIE), form):
        return web.refused(request, "csrf", 403)
    token = form.get("token", "").strip()
    session = None
    if 0 < len(token) <= MAX_TOKEN:
        try:
            session = await run_in_threadpool(web.sessions(request).open, token)
        except STORE_ERRORS as e:
            raise web.Unavailable() from e
    if session is None:
        return web.sign_in_page(request, 401, error="wrong-token")
    return _signed_in(request, session)


def _signed_in(request: Request, session: PageSession) -> Response:
    response = RedirectResponse(HOME.get(session.actor.role, "/app/signed-in"), 303)
    age = int(web.sessions(request).hours * 3600)
    web.set_cookie(request, response, web.SESSION_COOKIE, session.id, age)
    response.delete_cookie(web.SIGN_IN_COOKIE, path="/")
    return response


@router.get("/app/link/{code}")
async def link_form(request: Request, code: str) -> Response:
    """A volunteer's one-time link: a page that asks them to confirm, so that a link opened
    by a preview or a scanner is not used up. (The request log shows the route's template,
    never the code.)"""
    return web.sign_in_page(request, template="link.html", code=code[:MAX_LINK_CODE])


@router.post("/app/link")
async def link_sign_in(request: Request) -> Response:
    form = await web.form_of(request)
    if not web.csrf_ok(request.cookies.get(web.SIGN_IN_COOKIE), form):
        return web.refused(request, "csrf", 403)
    code = form.get("code", "")
    session = None
    if 0 < len(code) <= MAX_LINK_CODE:
        try:
            session = await run_in_threadpool(web.sessions(request).open_link, code)
        except STORE_ERRORS as e:
            raise web.Unavailable() from e
    if session is None:
        return web.refused(request, "link", 401)
    return _signed_in(request, session)


@router.get("/app/signed-in")
async def signed_in(request: Request) -> Response:
    """For a role whose pages are not built yet: who is signed in, and sign-out."""
    session = await web.current_session(request)
    if session is None:
        return web.to_sign_in()
    return web.render(request, "signed_in.html", session=session)


@router.post("/app/sign-out")
async def sign_out(request: Request) -> Response:
    form = await web.form_of(request)
    session = await web.current_session(request)
    if session is None:
        return web.refused(request, "session", 401)
    if not web.csrf_ok(session.csrf, form):
        return web.refused(request, "csrf", 403, session)
    await run_in_threadpool(web.sessions(request).revoke, session.id)
    response = web.to_sign_in()
    response.delete_cookie(web.SESSION_COOKIE, path="/")
    return response


@router.get("/app/language/{language}")
async def choose_language(request: Request, language: str, back: str = "/app") -> Response:
    """Keeps the reader's language in a cookie (a preference, not an action: no CSRF) and
    goes back to the page they were on, if it is one of these pages."""
    if not (back.startswith("/app") and "//" not in back and "\\" not in back):
        back = "/app"
    response = RedirectResponse(back, 303)
    if language in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE,
            language,
            max_age=YEAR_SECONDS,
            samesite="lax",
            path="/",
            secure=web.secure(request),
        )
    return response
