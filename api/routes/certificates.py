"""Certificates of service (志愿服务证明): issued by a coordinator of the organisation that
recorded the service, read by the volunteer, the issuer and auditors, checked by anyone by
number (masked), and proven against the log by a bundle a verifier checks offline."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from api.deps import CommanderDep, ContextDep, MinPosition, QueriesDep, RuntimeDep
from api.openapi import location
from api.problems import ProblemError
from api.schemas.certificates import (
    BundleOut,
    CertificateCheckOut,
    CertificateIn,
    CertificateIssuedOut,
    CertificateOut,
)
from ledger.certificates import NUMBER_LENGTH, NUMBER_PATTERN
from ledger.commands.certificates import IssueCertificate
from ledger.context import Context
from ledger.privacy import public_name
from projections.certificates.queries import CertificateView
from timebank import certificate_pdf
from timebank.bundles import CheckpointPending, certificate_bundle
from timebank.runtime import Queries, Runtime

router = APIRouter(tags=["certificates"])
MAX_POSITION = 2**63 - 1
RETRY_SECONDS = "1"

NumberQuery = Annotated[
    str,
    Query(
        min_length=1,
        max_length=NUMBER_LENGTH,
        pattern=NUMBER_PATTERN,
        description="the certificate number, e.g. TB-7KQ2-M9XD-3HTW-C (any case, dashes "
        "optional); one with a wrong check character is refused, never another's",
    ),
]


@router.post(
    "/v1/certificates",
    status_code=201,
    response_model=CertificateIssuedOut,
    summary="Issue a certificate of service",
    responses=location("the certificate"),
)
async def issue_certificate(
    body: CertificateIn, run: CommanderDep, q: QueriesDep
) -> dict[str, object]:
    """Issues a certificate of the service `org_id` itself recorded for the volunteer with a
    service date in [`from`, `to`]: each verified signup and approved back-fill with its
    minutes after corrections (back-fills marked), the total, the volunteer's name, masked ID
    number and volunteer number, the issuer, a number with a check character and the issue
    date. Issuing is an event that records the content's digest. 422 `no-services` when
    there is none; 422 `too-many-services` beyond 1000 (ask for a shorter period); 409
    `volunteer-erased`.

    Who: a coordinator of `org_id` or above; an admin."""
    sources = await run_in_threadpool(
        q.records.credited_sources,
        body.volunteer_id,
        body.org_id,
        body.period_from,
        body.period_to,
    )
    command = IssueCertificate(
        body.volunteer_id,
        body.org_id,
        body.period_from,
        body.period_to,
        body.purpose,
        tuple(sources),
    )
    return await run.create(command, lambda made: f"/v1/certificates/{made['id']}")


# Declared before /v1/certificates/{certificate_id}, which would take these paths.


@router.get(
    "/v1/certificates/check",
    response_model=CertificateCheckOut,
    summary="Check a certificate by its number",
)
def check_certificate(
    number: NumberQuery, q: QueriesDep, min_position: MinPosition = None
) -> CertificateCheckOut:
    """Whether a certificate with this number was issued, its status (`valid`, or
    `superseded` once a correction changed a service it lists), the issuer, the period, the
    services (date, category, minutes), the total, the digest, and the volunteer's name
    masked. 404 `certificate-not-found`; 422 for a number whose check character is wrong.

    Who: anyone; it takes no token."""
    found = q.certificates.check(number, min_position)
    content = found.content
    return CertificateCheckOut.model_validate(
        {
            "number": found.number,
            "status": found.status,
            "issuer": content["issuer"],
            "issued_on": content["issued_on"],
            "period": content["period"],
            "volunteer_name": public_name(content["volunteer"]["name"]),
            "services": [
                {"date": s["date"], "category": s["category"], "minutes": s["minutes"]}
                for s in content["services"]
            ],
            "total_minutes": content["total_minutes"],
            "digest": found.digest,
        }
    )


def check_url(base: str, number: str) -> str:
    """Where the PDF's QR code leads: the check page (the PDF adds `#sha256=<digest>`)."""
    return f"{base.rstrip('/')}/app/check?number={number}"


@router.get(
    "/v1/certificates/{certificate_id}.pdf",
    response_class=Response,
    summary="Get a certificate as a PDF",
    responses={200: {"content": {"application/pdf": {"schema": {"type": "string"}}}}},
)
def get_certificate_pdf(
    certificate_id: UUID,
    request: Request,
    q: QueriesDep,
    rt: RuntimeDep,
    ctx: ContextDep,
    min_position: MinPosition = None,
) -> Response:
    """The certificate as an A4 PDF, with a QR code of its check link and digest (503
    `pdf-unavailable` on a host without the Chinese font it embeds).

    Who: the volunteer themself; a coordinator of the issuing organisation or above; an
    auditor; an admin."""
    try:
        number, pdf = certificate_pdf_of(request, q, rt, ctx, certificate_id, min_position)
    except certificate_pdf.FontMissing as e:
        raise ProblemError(503, "pdf-unavailable", str(e)) from None
    return pdf_response(number, pdf)


def certificate_pdf_of(
    request: Request,
    q: Queries,
    rt: Runtime,
    ctx: Context,
    certificate_id: UUID,
    min_position: int | None,
) -> tuple[str, bytes]:
    """The certificate's number and PDF, read as `ctx` may (the API's and the console's
    one way to a certificate's PDF); FontMissing without the font it embeds."""
    found = q.certificates.get(ctx, certificate_id, min_position)
    base = rt.settings.public_base_url or str(request.base_url)
    pdf = certificate_pdf.render_certificate_pdf(
        found.content, found.digest, check_url(base, found.number)
    )
    return found.number, pdf


def pdf_response(number: str, pdf: bytes) -> Response:
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{number}.pdf"'},
    )


@router.get(
    "/v1/certificates/{certificate_id}/bundle",
    response_model=BundleOut,
    summary="Get a certificate's proof bundle",
)
def get_certificate_bundle(
    certificate_id: UUID,
    q: QueriesDep,
    rt: RuntimeDep,
    ctx: ContextDep,
    consistent_with: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_POSITION,
            description="a tree size whose checkpoint the verifier keeps: adds a consistency "
            "proof between it and the bundle's checkpoint",
        ),
    ] = None,
    min_position: MinPosition = None,
) -> dict[str, Any]:
    """The content, the certificate's event and every service credit and correction its
    minutes rest on, each as leaf bytes with an inclusion proof to one signed checkpoint,
    and the log's key: what `timebank verify` checks offline. 503 `checkpoint-pending` (with
    Retry-After) when no checkpoint covers the events yet and none could be signed in time.

    Who: the volunteer themself; a coordinator of the issuing organisation or above; an
    auditor; an admin."""
    found = q.certificates.get(ctx, certificate_id, min_position)
    evidence = q.certificates.evidence(found)
    try:
        return certificate_bundle(
            rt.log_tree,
            found.content,
            evidence.certificate,
            evidence.services,
            rt.settings.read_wait_seconds,
            consistent_with,
        )
    except CheckpointPending as e:
        raise ProblemError(
            503, "checkpoint-pending", str(e), {"Retry-After": RETRY_SECONDS}
        ) from None


@router.get(
    "/v1/certificates/{certificate_id}",
    response_model=CertificateOut,
    summary="Get a certificate",
)
def get_certificate(
    certificate_id: UUID, q: QueriesDep, ctx: ContextDep, min_position: MinPosition = None
) -> CertificateOut:
    """The certificate: its content as issued (which its digest covers), its status (`valid`,
    or `superseded` once a correction changed a service it lists) and the position of the
    event that issued it.

    Who: the volunteer themself; a coordinator of the issuing organisation or above; an
    auditor; an admin."""
    return certificate_out(q.certificates.get(ctx, certificate_id, min_position))


def certificate_out(found: CertificateView) -> CertificateOut:
    return CertificateOut.model_validate(
        {
            "id": found.id,
            "number": found.number,
            "volunteer_id": found.volunteer_id,
            "org_id": found.org_id,
            "status": found.status,
            "digest": found.digest,
            "content": found.content,
            "event_position": found.position,
            "position": found.view_position,
        }
    )
