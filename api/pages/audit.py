"""The auditor's desk: a volunteer's, activity's or redemption's audit trail (personal data
masked as the API masks it for an auditor), a certificate checked by number or by its
uploaded bundle, and the log's latest signed checkpoint checked against one the auditor
kept. Every read is the API's own query; every check the offline verifier's own."""

import email.parser
import email.policy
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.pages import web
from api.pages.messages import BUNDLE_PROBLEMS, CHECKPOINT_OUTCOMES, EVENTS
from ledger.context import Role
from ledger.privacy import public_name
from projections.pagination import Page
from timebank import verifier
from timebank.page_sessions import PageSession

router = APIRouter(include_in_schema=False)
MAX_LOOKUP = 64
MAX_CERTIFICATE_NUMBER = 40
MAX_BUNDLE_BYTES = 2 * 1024 * 1024
BUNDLE_PATH = "/app/audit/bundle"
# What the guard lets through to that path: the file, its form's fields and multipart headers.
MAX_UPLOAD_BYTES = MAX_BUNDLE_BYTES + 16 * 1024
MAX_CHECKPOINT_CHARS = 2000
TRAIL_SHOWN = 200
KINDS = ("volunteer", "activity", "redemption")


async def _auditor(request: Request) -> PageSession | Response:
    return await web.session_for(request, (Role.AUDITOR, Role.ADMIN), "audit-only")


def _trail(request: Request, session: PageSession, kind: str, key: str) -> dict[str, Any]:
    """The subject's trail as GET /v1/<kind>s/{id}/audit-trail gives it to this caller."""
    q = web.runtime(request).queries
    ctx = web.context(request, session)
    page = Page(TRAIL_SHOWN, None)
    subject_id = web.uuid_of(key)
    if kind == "volunteer":
        if subject_id is None:
            subject_id = q.aggregates.volunteer_by_number(ctx, key).volunteer.id
        found = q.audit.volunteer(ctx, subject_id, page, None)
    elif subject_id is None:
        raise LookupError(f"{kind}-not-found")
    elif kind == "activity":
        found = q.audit.activity(ctx, subject_id, page, None)
    else:
        found = q.audit.redemption(ctx, subject_id, page, None)
    return {"id": found.subject_id, "entries": found.entries, "more": bool(found.next_cursor)}


async def _page(
    request: Request, session: PageSession, status: int = 200, **values: Any
) -> Response:
    rt = web.runtime(request)
    latest = await run_in_threadpool(rt.log_tree.latest_checkpoint)
    return web.render(
        request,
        "audit.html",
        status,
        session,
        latest=latest,
        kinds=KINDS,
        bundle_problems=BUNDLE_PROBLEMS,
        outcomes=CHECKPOINT_OUTCOMES,
        events=EVENTS,
        kind=values.pop("kind", "volunteer"),
        **values,
    )


@router.get("/app/audit")
async def audit(request: Request) -> Response:
    session = await _auditor(request)
    if isinstance(session, Response):
        return session
    params = request.query_params
    kind, key = params.get("kind", "volunteer"), params.get("key", "").strip()
    number = params.get("certificate", "").strip()
    if kind not in KINDS:
        kind = "volunteer"
    values: dict[str, Any] = {"kind": kind, "key": key[:MAX_LOOKUP], "number": number[:40]}
    status = 200
    if key:
        try:
            if len(key) > MAX_LOOKUP:
                raise LookupError(f"{kind}-not-found")
            values["trail"] = await run_in_threadpool(_trail, request, session, kind, key)
        except LookupError as e:
            values["error"], status = web.failure_message_for(str(e)), 404
        except web.FAILURES as e:
            values["error"] = web.failure_message(e)
            status = 404 if getattr(e, "code", "").endswith("not-found") else 409
    if number:
        try:
            if len(number) > MAX_CERTIFICATE_NUMBER:
                raise LookupError("certificate-not-found")
            values["certificate"] = await run_in_threadpool(_certificate, request, number)
        except LookupError as e:
            values["error"], status = web.failure_message_for(str(e)), 404
        except web.FAILURES as e:
            values["error"] = web.failure_message(e)
            status = 404 if getattr(e, "code", "").endswith("not-found") else 422
    return await _page(request, session, status, **values)


def _certificate(request: Request, number: str) -> dict[str, Any]:
    """As GET /v1/certificates/check answers anyone: the volunteer's name masked."""
    found = web.runtime(request).queries.certificates.check(number, None)
    content = found.content
    return {
        "number": found.number,
        "status": found.status,
        "issuer": content["issuer"],
        "issued_on": content["issued_on"],
        "period": content["period"],
        "volunteer_name": public_name(content["volunteer"]["name"]),
        "services": content["services"],
        "total_minutes": content["total_minutes"],
        "digest": found.digest,
    }


def _uploaded(body: bytes, content_type: str) -> tuple[dict[str, str], bytes | None]:
    """The multipart form's text fields and its one file's bytes (the guard bounds the
    body); an unreadable form reads as empty."""
    if not content_type.startswith("multipart/form-data"):
        return {}, None
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, str] = {}
    upload: bytes | None = None
    if not message.is_multipart():
        return {}, None
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            continue
        if part.get_filename() is not None:
            upload = upload if upload is not None else payload
        else:
            fields.setdefault(name, payload.decode(errors="replace"))
    return fields, upload


@router.post(BUNDLE_PATH)
async def check_bundle(request: Request) -> Response:
    session = await _auditor(request)
    if isinstance(session, Response):
        return session
    fields, upload = _uploaded(await request.body(), request.headers.get("content-type", ""))
    if not web.csrf_ok(session.csrf, fields):
        return web.refused(request, "csrf", 403, session)
    if not upload:
        return await _page(request, session, 400, bundle_error="bundle-missing")
    if len(upload) > MAX_BUNDLE_BYTES:
        return await _page(request, session, 413, bundle_error="bundle-too-large")
    try:
        bundle = json.loads(upload)
    except ValueError:
        return await _page(request, session, 400, bundle_error="bundle-not-json")
    key = web.runtime(request).log_tree.key.verifier_key
    checks = await run_in_threadpool(verifier.verify_bundle, bundle, key)
    return await _page(request, session, 200, checks=checks)


def _consistency(request: Request, note: str) -> tuple[str, dict[str, Any]]:
    """What the checkpoint the auditor kept says of the log now: one of the outcomes in
    CHECKPOINT_OUTCOMES, and the figures it names."""
    tree = web.runtime(request).log_tree
    name, public_key = verifier.parse_verifier_key(tree.key.verifier_key)
    try:
        kept = verifier.verify_note(note.replace("\r\n", "\n"), name, public_key)
    except ValueError:
        return "forged", {}
    latest = tree.latest_checkpoint()
    figures = {"kept": kept.tree_size, "latest": latest.tree_size if latest else 0}
    if latest is None or kept.tree_size > latest.tree_size:
        return "shorter", figures
    if kept.tree_size == latest.tree_size:
        return ("same" if kept.root == latest.root else "different"), figures
    if kept.tree_size == 0:
        return "consistent", figures
    proof = tree.consistency(kept.tree_size, latest.tree_size)
    ok = verifier.verify_consistency(
        kept.tree_size, latest.tree_size, kept.root, latest.root, proof
    )
    return ("consistent" if ok else "different"), figures


@router.post("/app/audit/checkpoint")
async def check_checkpoint(request: Request) -> Response:
    session = await _auditor(request)
    if isinstance(session, Response):
        return session
    form = await web.posted(request, session)
    if isinstance(form, Response):
        return form
    note = form.get("checkpoint", "").strip() + "\n"
    outcome: str
    figures: dict[str, Any]
    if len(note) > MAX_CHECKPOINT_CHARS:
        outcome, figures = "forged", {}
    else:
        try:
            outcome, figures = await run_in_threadpool(_consistency, request, note)
        except web.FAILURES as e:
            return await _page(request, session, 409, error=web.failure_message(e))
    status = 200 if outcome in ("same", "consistent") else 422
    return await _page(
        request, session, status, outcome=outcome, figures=figures, kept_note=note.strip()
    )
