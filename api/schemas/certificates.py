"""Bodies of the certificate routes: the request to issue one, its content as issued (the
object its digest covers), the public check and the proof bundle."""

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, ConfigDict, Field, WithJsonSchema

from api.schemas.common import Body, Out, Positioned, length
from ledger import bounds
from ledger.activities import Category
from ledger.certificates import FORMAT


def _within_years(value: date) -> date:
    if not bounds.MOMENT.first_year <= value.year <= bounds.MOMENT.last_year:
        raise ValueError(
            f"must be in the years {bounds.MOMENT.first_year} to {bounds.MOMENT.last_year}"
        )
    return value


Day = Annotated[
    date,
    AfterValidator(_within_years),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date",
            "pattern": bounds.MOMENT.pattern,
            "description": f"a local date in the years {bounds.MOMENT.first_year} to "
            f"{bounds.MOMENT.last_year}",
        }
    ),
]
Status = Annotated[
    Literal["valid", "superseded"],
    Field(description="valid, or superseded once a correction changed a service it lists"),
]
Purpose = Annotated[str, length(bounds.PURPOSE, "what the certificate is for (升学, 求职, ...)")]


class CertificateIn(Body):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    volunteer_id: UUID
    org_id: UUID = Field(description="the recording organisation: it issues the certificate")
    period_from: Day = Field(alias="from", description="the first service date it covers")
    period_to: Day = Field(
        alias="to",
        description=f"the last service date it covers: at most {bounds.CERTIFICATE_YEARS} "
        "years after `from`",
    )
    purpose: Purpose | None = None


class CertificateIssuedOut(Positioned):
    id: UUID
    number: str = Field(description="TB-XXXX-XXXX-XXXX-C: the public check takes it")
    digest: str = Field(description="SHA-256 of the content's canonical JSON, in hex")
    total_minutes: int
    services: int = Field(
        description=f"how many services it lists (at most {bounds.CERTIFICATE_SERVICES})"
    )
    issued_on: date


class HolderOut(Out):
    name: str
    id_number_masked: str
    volunteer_number: str
    account_id: str


class IssuerOut(Out):
    org_id: str
    name: str


class PeriodOut(Out):
    model_config = ConfigDict(populate_by_name=True)

    period_from: str = Field(alias="from")
    period_to: str = Field(alias="to")


class ServiceLineOut(Out):
    source_id: str = Field(description="the signup or back-fill credited")
    date: str = Field(description="the local service date")
    activity: str = Field(description="the activity's title, or a back-fill's category")
    category: Category
    minutes: int = Field(description="verified minutes, after corrections")
    backfill: bool = Field(description="entered afterwards (补录)")


class ContentOut(Out):
    """The certificate's content as issued: its digest is SHA-256 over
    json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":")) in
    UTF-8. Once the volunteer is erased, name, masked ID number and purpose read `已注销`."""

    format: str = Field(description=FORMAT)
    certificate_id: str
    number: str
    volunteer: HolderOut
    issuer: IssuerOut
    period: PeriodOut
    purpose: str | None
    services: list[ServiceLineOut] = Field(description="by date, then source_id")
    total_minutes: int
    issued_on: str


class CertificateOut(Out):
    id: UUID
    number: str
    volunteer_id: UUID
    org_id: UUID
    status: Status
    digest: str
    content: ContentOut
    event_position: int = Field(description="the log position of the event that issued it")
    position: int = Field(description="the log position this view reflects")


class CheckedServiceOut(Out):
    date: str
    category: Category
    minutes: int


class CertificateCheckOut(Out):
    number: str
    status: Status
    issuer: IssuerOut
    issued_on: str
    period: PeriodOut
    volunteer_name: str = Field(description="masked: the first character only")
    services: list[CheckedServiceOut]
    total_minutes: int
    digest: str


class ProofEventOut(Out):
    position: int
    leaf_index: int
    leaf: str = Field(description="base64 of the leaf bytes (docs/log-format.md)")
    inclusion_proof: list[str] = Field(description="base64 hashes, to the bundle's checkpoint")


class ConsistencyOut(Out):
    first: int
    second: int
    proof: list[str]


class BundleOut(Out):
    format: str = Field(description="timebank-certificate-bundle/1")
    content: ContentOut
    checkpoint: str = Field(description="the signed note, as GET /v1/log/checkpoint serves it")
    verifier_key: str = Field(description="informational: check against the published key")
    certificate_event: ProofEventOut
    evidence: list[ProofEventOut] = Field(
        description="every credit and correction of a listed service before the certificate, "
        "in log order"
    )
    consistency: list[ConsistencyOut]
