"""What every page shares: the templates in the caller's language, the session from its
cookie, the form and its CSRF token, the commands run as the API runs them, and the pages
that refuse (in the page's language, never a stack or JSON)."""

import hashlib
import hmac
import secrets
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from api.pages.i18n import LANGUAGE_COOKIE, TRANSLATIONS, language_of
from api.pages.messages import REFUSALS, problem_message
from api.problems import STATUS, STORE_ERRORS
from ledger.commands.base import Command
from ledger.context import Context, Role
from ledger.engine.service import IdempotencyKey, Outcome
from ledger.errors import DomainError
from projections.reads import Lagging
from timebank.page_sessions import PageSession, PageSessions
from timebank.runtime import Runtime

SESSION_COOKIE = "tb_session"
SIGN_IN_COOKIE = "tb_sign_in"  # the sign-in form's CSRF token, before there is a session
CSRF_FIELD = "csrf"
MAX_ID_CHARS = 64  # an id typed or posted: a UUID, with room for stray spaces
IDEMPOTENCY_FIELD = "once"  # a key per form shown: a form sent twice acts once
MAX_FORM_FIELDS = 20
TEMPLATES = Path(__file__).parent / "templates"

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
)


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def sessions(request: Request) -> PageSessions:
    store: PageSessions = request.app.state.page_sessions
    return store


def language(request: Request) -> str:
    return language_of(request.cookies.get(LANGUAGE_COOKIE))


def gettext(request: Request) -> Callable[[str], str]:
    return TRANSLATIONS[language(request)].gettext


def render(
    request: Request,
    template: str,
    status: int = 200,
    session: PageSession | None = None,
    **values: Any,
) -> HTMLResponse:
    translations = TRANSLATIONS[language(request)]
    zone = ZoneInfo(runtime(request).settings.rules.timezone)
    html = env.get_template(template).render(
        local=lambda moment: _local(moment, zone),
        lang=language(request),
        gettext=translations.gettext,
        _=translations.gettext,
        ngettext=translations.ngettext,
        session=session,
        csrf=session.csrf if session else None,
        once=secrets.token_urlsafe(16),
        path=request.url.path,
        **values,
    )
    response = HTMLResponse(html, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _local(moment: datetime | str, zone: ZoneInfo) -> str:
    """A moment as the deployment's clocks show it (its rules' time zone), to the minute."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def refused(
    request: Request, reason: str, status: int, session: PageSession | None = None
) -> HTMLResponse:
    """A page that says, in plain words, why a request was refused."""
    return render(request, "refused.html", status, session, message=REFUSALS[reason])


def secure(request: Request) -> bool:
    """Behind TLS, as the request arrived or as a trusted proxy says (uvicorn's proxy
    headers set the scheme)."""
    return request.url.scheme == "https"


def set_cookie(request: Request, response: Response, name: str, value: str, age: int) -> None:
    response.set_cookie(
        name, value, max_age=age, httponly=True, samesite="lax", secure=secure(request), path="/"
    )


class Unavailable(Exception):
    """The store did not answer: a page says so (api/pages/__init__.py)."""


async def current_session(request: Request) -> PageSession | None:
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id or len(session_id) > 100:
        return None
    try:
        return await run_in_threadpool(sessions(request).resolve, session_id)
    except STORE_ERRORS as e:
        raise Unavailable() from e


async def form_of(request: Request) -> dict[str, str]:
    """The urlencoded form (the guard has bounded its size); the first of a repeated field.
    Anything unreadable reads as an empty form, which every page refuses in words."""
    return firsts(await form_lists(request, MAX_FORM_FIELDS))


async def form_lists(request: Request, max_fields: int) -> dict[str, list[str]]:
    """The urlencoded form with every value of a repeated field (a list of checkboxes), at
    most `max_fields` fields; anything unreadable (or more fields) reads as an empty form."""
    try:
        fields = parse_qsl(
            (await request.body()).decode(), keep_blank_values=True, max_num_fields=max_fields
        )
    except ValueError:
        return {}
    found: dict[str, list[str]] = {}
    for name, value in fields:
        found.setdefault(name, []).append(value)
    return found


def firsts(form: dict[str, list[str]]) -> dict[str, str]:
    """The first value of each field, as `form_of` reads a form."""
    return {name: values[0] for name, values in form.items()}


def csrf_ok(expected: str | None, form: dict[str, str]) -> bool:
    given = form.get(CSRF_FIELD, "")
    return bool(expected) and hmac.compare_digest(given.encode(), (expected or "").encode())


def sign_in_page(
    request: Request, status: int = 200, template: str = "signin.html", **values: Any
) -> Response:
    """A page with a form that signs in (the token's, a link's): its CSRF token is a cookie
    of its own, as there is no session yet."""
    token = request.cookies.get(SIGN_IN_COOKIE)
    if not token or len(token) > 100:
        token = secrets.token_urlsafe(24)
    response = render(request, template, status, sign_in_csrf=token, **values)
    set_cookie(request, response, SIGN_IN_COOKIE, token, 3600)
    return response


def uuid_of(text: str) -> UUID | None:
    """An id typed or posted into a page, or None for anything that is not one."""
    try:
        return UUID(text.strip()) if len(text) <= MAX_ID_CHARS else None
    except ValueError:
        return None


MAX_MOMENT_CHARS = 40  # "2026-03-05T08:30:00+08:00" with room for stray spaces


def moment_of(request: Request, text: str) -> datetime | None:
    """A time typed into a page (a datetime-local field: no offset, the deployment's clocks),
    or None for anything that is not one."""
    if len(text) > MAX_MOMENT_CHARS:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(runtime(request).settings.rules.timezone))
    return moment


def whole_of(text: str, low: int, high: int) -> int | None:
    """A whole number typed into a page, from `low` to `high`, or None."""
    text = text.strip()
    if not (0 < len(text) <= len(str(high)) and text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if low <= value <= high else None


def context(request: Request, session: PageSession) -> Context:
    """The context a page's command or query runs in: the session's actor, now."""
    return Context(session.actor, request.state.request_id, datetime.now(UTC))


def to_sign_in() -> RedirectResponse:
    return RedirectResponse("/app/sign-in", 303)


async def session_for(
    request: Request, roles: Collection[Role], refusal: str
) -> PageSession | Response:
    """The session of a page for `roles`: without one, to the sign-in page (a form posted
    after the session ended is refused in words); of another role, refused with `refusal`."""
    session = await current_session(request)
    if session is None:
        if request.method == "POST":
            return refused(request, "session", 401)
        return to_sign_in()
    if session.actor.role not in roles:
        return refused(request, refusal, 403, session)
    return session


async def posted(request: Request, session: PageSession) -> dict[str, str] | Response:
    """The form posted in `session`, once its CSRF token holds."""
    form = await form_of(request)
    if not csrf_ok(session.csrf, form):
        return refused(request, "csrf", 403, session)
    return form


async def execute(
    request: Request, session: PageSession, command: Command, form: dict[str, str]
) -> dict[str, Any]:
    """Runs the command as the API does (the same service, permissions and problems), with
    the form's own idempotency key: a form sent twice acts once."""
    return (await execute_outcome(request, session, command, form)).body


async def execute_outcome(
    request: Request, session: PageSession, command: Command, form: dict[str, str]
) -> Outcome:
    """As `execute`, with whether the answer was the one given to the same form before."""
    rt = runtime(request)
    ctx = context(request, session)
    key = form.get(IDEMPOTENCY_FIELD, "")
    idempotency = None
    if 0 < len(key) <= 100:
        fields = "&".join(f"{k}={v}" for k, v in sorted(form.items()) if k != CSRF_FIELD)
        fingerprint = hmac.new(
            rt.service.pepper, f"{request.url.path}\n{fields}".encode(), hashlib.sha256
        ).hexdigest()
        idempotency = IdempotencyKey(session.actor.name, "page:" + key, fingerprint)
    outcome: Outcome = await run_in_threadpool(rt.service.execute, ctx, command, idempotency)
    return outcome


def failure_message(error: Exception) -> str:
    """The plain words for what went wrong (untranslated msgid)."""
    if isinstance(error, DomainError):
        return problem_message(error.code)
    if isinstance(error, Lagging):
        return problem_message("lagging")
    return problem_message("store-unavailable")


FAILURES = (DomainError, Lagging, *STORE_ERRORS)


def failure_status(error: Exception) -> int:
    """The status a page answers a failure with: the one the API's problem would have."""
    return STATUS[error.kind] if isinstance(error, DomainError) else 503


def failure_message_for(code: str) -> str:
    return problem_message(code)
