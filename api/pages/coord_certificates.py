"""The console's certificates (/app/coord/certificates): issue a certificate of service for
a volunteer (by number) for a period, list the volunteer's certificates, and download one as
the PDF the API gives (`GET /v1/certificates/{id}.pdf`, the same function). Every action is
the API's own command; every read the API's own query, with its own permission check."""

from datetime import date
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.pages import coord, web
from api.pages.messages import N_
from api.routes.certificates import certificate_pdf_of, pdf_response
from ledger import bounds
from ledger.commands.certificates import IssueCertificate
from timebank import certificate_pdf
from timebank.page_sessions import PageSession

router = APIRouter(include_in_schema=False)
BASE = "/app/coord/certificates"
SHOWN = 50  # a volunteer's newest certificates listed
MAX_NUMBER = 40
MAX_DATE = 10  # YYYY-MM-DD


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if len(text) <= MAX_DATE else None
    except ValueError:
        return None


def _read(
    request: Request,
    session: PageSession,
    org_id: UUID | None,
    number: str,
    min_position: int | None,
) -> dict[str, Any]:
    """The organisations that may issue (the subtree) and, for a number, the volunteer and
    the certificates the coordinator may read (the query refuses a coordinator elsewhere)."""
    values: dict[str, Any] = {"issuers": coord.subtree(request, session, org_id) if org_id else []}
    if number:
        q = web.runtime(request).queries
        ctx = web.context(request, session)
        found = q.aggregates.volunteer_by_number(ctx, number)
        values["certificates"] = q.certificates.of_volunteer(
            ctx, found.volunteer.id, SHOWN, min_position
        )
        values["volunteer"] = {
            "number": found.volunteer.number,
            "name": str(found.personal_data["name"]),
        }
    return values


async def _page(
    request: Request,
    session: PageSession,
    number: str = "",
    status: int = 200,
    min_position: int | None = None,
    **values: Any,
) -> Response:
    org_id = coord.organisation_of(request, session)
    if len(number) > MAX_NUMBER:
        values["error"] = values.get("error") or web.failure_message_for("volunteer-not-found")
        status, number = max(status, 404), ""
    try:
        values |= await run_in_threadpool(_read, request, session, org_id, number, min_position)
    except web.FAILURES as e:
        values["error"] = values.get("error") or coord.failure_message(e)
        status = max(status, web.failure_status(e))
        values.pop("issued", None)
    return coord.render(
        request,
        "coord_certificates.html",
        session,
        org_id,
        status,
        number=number,
        **values,
    )


@router.get(BASE)
async def certificates(request: Request) -> Response:
    session = await coord.coordinator(request)
    if isinstance(session, Response):
        return session
    return await _page(request, session, request.query_params.get("number", "").strip())


def _issue(request: Request, session: PageSession, form: dict[str, str]) -> IssueCertificate:
    """The command the form asks for, with the services the records view credits (as the
    API's route reads them), or Refusal for what the page can tell is wrong."""
    number = form.get("number", "").strip()
    issuer = web.uuid_of(form.get("issuer", ""))
    first, last = _date(form.get("from", "")), _date(form.get("to", ""))
    purpose = form.get("purpose", "").strip()
    if not number or len(number) > MAX_NUMBER:
        raise coord.Refusal(N_("Please write the volunteer's number."))
    if issuer is None:
        raise coord.Refusal(N_("Please choose the organisation that recorded the service."))
    if first is None or last is None or first > last:
        raise coord.Refusal(
            N_("Please give the period as two dates, the first not after the last.")
        )
    if len(purpose) > bounds.PURPOSE.high:
        raise coord.Refusal(N_("Please say what it is for in at most 200 characters."))
    q = web.runtime(request).queries
    found = q.aggregates.volunteer_by_number(web.context(request, session), number)
    sources = q.records.credited_sources(found.volunteer.id, issuer, first, last)
    return IssueCertificate(
        found.volunteer.id, issuer, first, last, purpose or None, tuple(sources)
    )


@router.post(f"{BASE}/issue")
async def issue(request: Request) -> Response:
    session = await coord.coordinator(request)
    if isinstance(session, Response):
        return session
    form = await web.posted(request, session)
    if isinstance(form, Response):
        return form
    number = form.get("number", "").strip()[: MAX_NUMBER + 1]
    kept = {k: v for k, v in form.items() if k not in (web.CSRF_FIELD, web.IDEMPOTENCY_FIELD)}
    try:
        command = await run_in_threadpool(_issue, request, session, form)
        made = await web.execute(request, session, command, form)
    except coord.Refusal as e:
        return await _page(request, session, number, 400, form=kept, error=e.message)
    except web.FAILURES as e:
        status = web.failure_status(e)
        return await _page(
            request, session, number, status, form=kept, error=coord.failure_message(e)
        )
    return await _page(request, session, number, 200, made.get("position"), issued=made)


@router.get(BASE + "/{certificate}.pdf")
async def certificate_pdf_page(request: Request, certificate: str) -> Response:
    """The PDF as the API gives it, read as the session's coordinator may."""
    session = await coord.coordinator(request)
    if isinstance(session, Response):
        return session
    certificate_id = web.uuid_of(certificate)
    if certificate_id is None:
        return web.refused(request, "not-found", 404, session)
    rt = web.runtime(request)
    ctx = web.context(request, session)
    try:
        number, pdf = await run_in_threadpool(
            certificate_pdf_of, request, rt.queries, rt, ctx, certificate_id, None
        )
    except certificate_pdf.FontMissing:
        message = N_("The certificate cannot be made into a PDF on this server now.")
        return web.render(request, "refused.html", 503, session, message=message)
    except web.FAILURES as e:
        status = web.failure_status(e)
        return web.render(
            request, "refused.html", status, session, message=coord.failure_message(e)
        )
    return pdf_response(number, pdf)
