"""The console's volunteers (/app/coord/volunteers): the members of the organisation and
those below it, a volunteer found by number, a new volunteer registered (with a one-time
sign-in link shown as a QR code), and one volunteer as the coordinator may see them: their
details, their account, a move to another organisation, their family links. Every action is
the API's own command; every read the API's own query, with its own permission check."""

import re
from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

import segno
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.pages import coord, web
from api.pages.messages import N_, RELATIONS, coord_problem_message
from ledger import bounds
from ledger.commands.base import Command
from ledger.commands.members import (
    AnswerFamilyLink,
    LinkFamily,
    RegisterVolunteer,
    TransferMembership,
)
from ledger.commands.sign_in import AllowSignInLink
from ledger.identity import DocumentType
from ledger.organisations import OrgKind
from ledger.volunteers import Relation
from projections.pagination import Page
from timebank.page_sessions import PageSession

router = APIRouter(include_in_schema=False)
BASE = "/app/coord/volunteers"
PAGE_SIZE = 20
MAX_NUMBER = 40
MAX_CURSOR = 200
MAX_SKILLS_TEXT = 1000
MAX_DATE = 10  # YYYY-MM-DD
SKILL_SEPARATORS = re.compile(r"[,，、;；\n]")
DOCUMENT_TYPES = {
    "resident_id": N_("Resident ID card"),
    "passport": N_("Passport"),
    "other": N_("Other ID document"),
}


def _choices(request: Request, session: PageSession, org_id: UUID | None) -> list[Any]:
    """The organisations a volunteer may belong to in the subtree (not a venue)."""
    if org_id is None:
        return []
    return [o for o in coord.subtree(request, session, org_id) if o.kind != OrgKind.VENUE.value]


def _members(
    request: Request, session: PageSession, org_id: UUID, cursor: str | None
) -> dict[str, Any]:
    q = web.runtime(request).queries
    ctx = web.context(request, session)
    found = q.records.members(ctx, org_id, Page(PAGE_SIZE, cursor), None)
    organisations = coord.subtree(request, session, org_id)
    names = {o.id: o.name for o in organisations}
    rows = [
        {
            "id": m.id,
            "number": m.number,
            "name": str(q.aggregates.volunteer(ctx, m.id).personal_data["name"]),
            "home": names.get(m.home_org_id, ""),
            "registered_on": m.registered_on,
            "service_minutes": m.service_minutes,
        }
        for m in found.items
    ]
    homes = [o for o in organisations if o.kind != OrgKind.VENUE.value]
    return {"members": rows, "next_cursor": found.next_cursor, "homes": homes}


async def _list(
    request: Request,
    session: PageSession,
    org_id: UUID | None,
    status: int = 200,
    cursor: str | None = None,
    **values: Any,
) -> Response:
    if org_id is None:
        values["error"], status = coord_problem_message("organisation-not-found"), 404
    else:
        try:
            values |= await run_in_threadpool(_members, request, session, org_id, cursor)
        except web.FAILURES as e:
            values["error"] = values.get("error") or coord.failure_message(e)
            status = max(status, web.failure_status(e))
            values.pop("form", None)
    return coord.render(
        request,
        "coord_volunteers.html",
        session,
        org_id,
        status,
        document_types=DOCUMENT_TYPES,
        cursor=cursor,
        **values,
    )


@router.get(BASE)
async def volunteers(request: Request) -> Response:
    session = await coord.coordinator(request)
    if isinstance(session, Response):
        return session
    org_id = coord.organisation_of(request, session)
    number = request.query_params.get("number", "").strip()
    cursor = request.query_params.get("cursor") or None
    if cursor is not None and len(cursor) > MAX_CURSOR:
        cursor = None
    if not number:
        return await _list(request, session, org_id, cursor=cursor)
    if len(number) > MAX_NUMBER:
        error = web.failure_message_for("volunteer-not-found")
        return await _list(request, session, org_id, 404, number=number, error=error)
    q = web.runtime(request).queries
    try:
        found = await run_in_threadpool(
            q.aggregates.volunteer_by_number, web.context(request, session), number
        )
    except web.FAILURES as e:
        status = web.failure_status(e)
        return await _list(
            request, session, org_id, status, number=number, error=coord.failure_message(e)
        )
    return RedirectResponse(f"{BASE}/{found.volunteer.id}{coord.org_query(org_id)}", 303)


def _registration(form: dict[str, str]) -> RegisterVolunteer:
    """The command the form asks for, or Refusal for a field the page can tell is wrong
    (the command checks each value's bounds again)."""
    name, id_number = form.get("name", "").strip(), form.get("id_number", "").strip()
    phone, born = form.get("phone", "").strip(), form.get("birth_date", "").strip()
    skills_text = form.get("skills", "")
    home = web.uuid_of(form.get("home", ""))
    if home is None:
        raise coord.Refusal(N_("Please choose the organisation the volunteer belongs to."))
    if not name or len(name) > bounds.NAME.high:
        raise coord.Refusal(N_("Please write the volunteer's name (at most 200 characters)."))
    if form.get("id_type", "") not in DOCUMENT_TYPES:
        raise coord.Refusal(N_("Please choose the kind of ID document."))
    if not id_number or len(id_number) > bounds.ID_NUMBER.high:
        raise coord.Refusal(N_("Please write the ID document's number (at most 64 characters)."))
    if not bounds.PHONE.low <= len(phone) <= bounds.PHONE.high:
        raise coord.Refusal(N_("Please write a phone number (3 to 32 characters)."))
    try:
        birth_date = date.fromisoformat(born) if len(born) <= MAX_DATE else None
    except ValueError:
        birth_date = None
    if birth_date is None:
        raise coord.Refusal(N_("Please give the birth date as year, month and day."))
    skills = [s.strip() for s in SKILL_SEPARATORS.split(skills_text) if s.strip()]
    if (
        len(skills_text) > MAX_SKILLS_TEXT
        or len(skills) > bounds.SKILLS
        or any(len(s) > bounds.SKILL.high for s in skills)
    ):
        raise coord.Refusal(N_("Please list fewer skills, each in a few words."))
    return RegisterVolunteer(
        name=name,
        id_type=DocumentType(form["id_type"]),
        id_number=id_number,
        phone=phone,
        birth_date=birth_date.isoformat(),
        party_member=form.get("party_member") == "yes",
        skills=tuple(skills),
        home_org_id=home,
    )


async def _posted(request: Request) -> tuple[PageSession, dict[str, str]] | Response:
    session = await coord.coordinator(request)
    if isinstance(session, Response):
        return session
    form = await web.posted(request, session)
    if isinstance(form, Response):
        return form
    return session, form


@router.post(f"{BASE}/register")
async def register(request: Request) -> Response:
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    session, form = posted
    org_id = coord.organisation_of(request, session)
    kept = {k: v for k, v in form.items() if k not in (web.CSRF_FIELD, web.IDEMPOTENCY_FIELD)}
    try:
        command = _registration(form)
    except coord.Refusal as e:
        return await _list(request, session, org_id, 400, form=kept, error=e.message)
    try:
        made = await web.execute(request, session, command, form)
    except web.FAILURES as e:
        status = web.failure_status(e)
        return await _list(
            request, session, org_id, status, form=kept, error=coord.failure_message(e)
        )
    return coord.render(
        request,
        "coord_registered.html",
        session,
        org_id,
        volunteer_id=made["id"],
        number=made["volunteer_number"],
        name=command.name,
    )


@router.post(BASE + "/{volunteer}/sign-in-link")
async def sign_in_link(request: Request, volunteer: str) -> Response:
    """A one-time link that signs the volunteer in, as `POST /v1/volunteers/{id}/sign-in-links`
    gives it: the command checks the coordinator may, then the link is issued."""
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    session, form = posted
    org_id = coord.organisation_of(request, session)
    volunteer_id = web.uuid_of(volunteer)
    if volunteer_id is None:
        return web.refused(request, "not-found", 404, session)
    rt = web.runtime(request)
    try:
        await web.execute(request, session, AllowSignInLink(volunteer_id), form)
        code, expires_at = await run_in_threadpool(web.sessions(request).issue_link, volunteer_id)
        found = await run_in_threadpool(
            rt.queries.aggregates.volunteer, web.context(request, session), volunteer_id
        )
    except web.FAILURES as e:
        return await _detail(request, session, volunteer_id, error=coord.failure_message(e))
    base = rt.settings.public_base_url or str(request.base_url)
    url = f"{base.rstrip('/')}/app/link/{code}"
    qr = segno.make(url, error="m", micro=False)
    return coord.render(
        request,
        "coord_sign_in_link.html",
        session,
        org_id,
        volunteer_id=volunteer_id,
        number=found.volunteer.number,
        url=url,
        expires_at=expires_at,
        qr=qr.svg_inline(scale=8, border=4, omitsize=True),
    )


def _read_volunteer(
    request: Request, session: PageSession, volunteer_id: UUID, min_position: int | None
) -> dict[str, Any]:
    """The volunteer as the coordinator may see them. The account's read comes first: it
    refuses anyone but coordinators of the home organisation or above (and auditors,
    desks, admins), so a coordinator elsewhere sees nothing of them."""
    q = web.runtime(request).queries
    ctx = web.context(request, session)
    account = q.balances.account(ctx, volunteer_id, min_position)
    found = q.aggregates.volunteer(ctx, volunteer_id)
    pii = found.personal_data

    def relatives(links: dict[str, str] | None) -> list[dict[str, Any]]:
        shown = []
        for relative_id, relation in (links or {}).items():
            relative = q.aggregates.volunteer(ctx, UUID(relative_id))
            shown.append(
                {
                    "id": relative.volunteer.id,
                    "number": relative.volunteer.number,
                    "name": str(relative.personal_data["name"]),
                    "relation": relation,
                }
            )
        return shown

    org_id = coord.organisation_of(request, session) or found.volunteer.home_org_id
    targets = [o for o in _choices(request, session, org_id) if o.id != found.volunteer.home_org_id]
    return {
        "volunteer": found.volunteer,
        "pii": pii,
        "masked": found.masked,
        "home": q.aggregates.organisation(found.volunteer.home_org_id).name,
        "account": account.row,
        "stars": account.stars,
        "family": relatives(pii["family"]),
        "requests": relatives(pii["family_requests"]),
        "targets": targets,
    }


async def _detail(
    request: Request,
    session: PageSession,
    volunteer_id: UUID,
    status: int = 200,
    min_position: int | None = None,
    **values: Any,
) -> Response:
    org_id = coord.organisation_of(request, session)
    try:
        values |= await run_in_threadpool(
            _read_volunteer, request, session, volunteer_id, min_position
        )
    except web.FAILURES as e:
        values["error"] = values.get("error") or coord.failure_message(e)
        status = max(status, web.failure_status(e))
        values.pop("done", None)
    if values.get("error") and status < 400:
        status = 409
    return coord.render(
        request,
        "coord_volunteer.html",
        session,
        org_id,
        status,
        document_types=DOCUMENT_TYPES,
        relations=RELATIONS,
        **values,
    )


@router.get(BASE + "/{volunteer}")
async def volunteer_page(request: Request, volunteer: str) -> Response:
    session = await coord.coordinator(request)
    if isinstance(session, Response):
        return session
    volunteer_id = web.uuid_of(volunteer)
    if volunteer_id is None:
        return web.refused(request, "not-found", 404, session)
    return await _detail(request, session, volunteer_id)


@router.get(BASE + "/{volunteer}/{action:path}")
async def after_action(request: Request, volunteer: str, action: str) -> Response:
    """An action's address opened again (reloaded, bookmarked): the volunteer's page."""
    volunteer_id = web.uuid_of(volunteer)
    if volunteer_id is None:
        return web.refused(request, "not-found", 404, await web.current_session(request))
    org_id = web.uuid_of(request.query_params.get(coord.ORG_PARAM, ""))
    return RedirectResponse(f"{BASE}/{volunteer_id}{coord.org_query(org_id)}", 303)


Build = Callable[[Request, PageSession, dict[str, str], UUID], tuple[Command, str]]


async def _act(request: Request, volunteer: str, build: Build) -> Response:
    """Runs the command the form asks for about the volunteer, then shows them again (with
    the view as of the command's position): `build` gives the command and what the page
    says once done, or raises Refusal."""
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    session, form = posted
    volunteer_id = web.uuid_of(volunteer)
    if volunteer_id is None:
        return web.refused(request, "not-found", 404, session)
    try:
        command, done = await run_in_threadpool(build, request, session, form, volunteer_id)
    except coord.Refusal as e:
        return await _detail(request, session, volunteer_id, 400, error=e.message)
    except web.FAILURES as e:
        status = web.failure_status(e)
        return await _detail(request, session, volunteer_id, status, error=coord.failure_message(e))
    try:
        made = await web.execute(request, session, command, form)
    except web.FAILURES as e:
        status = web.failure_status(e)
        return await _detail(request, session, volunteer_id, status, error=coord.failure_message(e))
    if made.get("status") == "pending":
        done = N_("Asked. The family member (or a coordinator of theirs) needs to confirm it.")
    return await _detail(request, session, volunteer_id, 200, made.get("position"), done=done)


def _transfer(
    request: Request, session: PageSession, form: dict[str, str], volunteer_id: UUID
) -> tuple[Command, str]:
    to_org = web.uuid_of(form.get("to", ""))
    reason = form.get("reason", "").strip()
    if to_org is None:
        raise coord.Refusal(N_("Please choose the organisation they move to."))
    if not reason or len(reason) > bounds.REASON.high:
        raise coord.Refusal(N_("Please write why they move (at most 2000 characters)."))
    return TransferMembership(volunteer_id, to_org, reason), N_("Moved.")


def _link(
    request: Request, session: PageSession, form: dict[str, str], volunteer_id: UUID
) -> tuple[Command, str]:
    number = form.get("relative_number", "").strip()
    relation = form.get("relation", "")
    if relation not in RELATIONS:
        raise coord.Refusal(N_("Please choose what the family member is to this volunteer."))
    if not number or len(number) > MAX_NUMBER:
        raise coord.Refusal(N_("Please write the family member's volunteer number."))
    q = web.runtime(request).queries
    relative = q.aggregates.volunteer_by_number(web.context(request, session), number)
    command = LinkFamily(volunteer_id, relative.volunteer.id, Relation(relation))
    return command, N_("Family member linked.")


def _answer(
    request: Request, session: PageSession, form: dict[str, str], volunteer_id: UUID
) -> tuple[Command, str]:
    """The answer, for the relative, to a link this volunteer asked for."""
    relative = web.uuid_of(form.get("relative", ""))
    answer = form.get("answer", "")
    if relative is None or answer not in ("confirm", "decline"):
        raise coord.Refusal(web.failure_message_for("invalid-input"))
    confirm = answer == "confirm"
    done = N_("Family member linked.") if confirm else N_("The request is declined.")
    return AnswerFamilyLink(relative, volunteer_id, confirm), done


@router.post(BASE + "/{volunteer}/transfer")
async def transfer(request: Request, volunteer: str) -> Response:
    return await _act(request, volunteer, _transfer)


@router.post(BASE + "/{volunteer}/family")
async def link_family(request: Request, volunteer: str) -> Response:
    return await _act(request, volunteer, _link)


@router.post(BASE + "/{volunteer}/family/answer")
async def answer_family(request: Request, volunteer: str) -> Response:
    return await _act(request, volunteer, _answer)
