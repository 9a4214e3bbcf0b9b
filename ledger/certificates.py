"""Certificates of service (志愿服务证明): issued by the organisation that recorded the
service, for one volunteer and a period. The content a certificate shows is a JSON object
whose SHA-256 digest the issuing event records, so that anyone holding the content can check
it against the log (docs: the certificate contract in the README)."""

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID, uuid5

from stdnum.iso7064 import mod_37_36

from ledger import bounds
from ledger.base import LedgerAggregate
from ledger.context import Context
from ledger.errors import Invalid
from ledger.identity import NAMESPACE

FORMAT = "timebank-certificate/1"
PREFIX = "TB"
# Crockford's base32: no I, L, O or U, so that a number read aloud or retyped stays one.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
GROUPS, GROUP_LENGTH = 3, 4
BODY_LENGTH = GROUPS * GROUP_LENGTH  # 60 random bits: the public check answers by number
# Any of mod 37,36's characters may be the check character (it may be I, L, O or U).
CHECK_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
NUMBER_PATTERN = r"^[A-Za-z0-9 -]+$"
NUMBER_LENGTH = 40  # as typed: spaces and dashes anywhere


def new_number() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return _shown(body, mod_37_36.calc_check_digit(body))


def _shown(body: str, check: str) -> str:
    groups = [body[i : i + GROUP_LENGTH] for i in range(0, BODY_LENGTH, GROUP_LENGTH)]
    return "-".join([PREFIX, *groups, check])


def normalise_number(typed: str) -> str:
    """A certificate number as typed (any case, dashes and spaces anywhere or none) in its
    shown form; refused when it is not one, its check character included, so that a typo
    never finds another certificate."""
    cleaned = "".join(ch for ch in typed if ch not in "- ").upper()
    if cleaned.startswith(PREFIX):
        cleaned = cleaned[len(PREFIX) :]
    body, check = cleaned[:BODY_LENGTH], cleaned[BODY_LENGTH:]
    if (
        len(typed) > NUMBER_LENGTH
        or len(cleaned) != BODY_LENGTH + 1
        or any(ch not in ALPHABET for ch in body)
        or check not in CHECK_ALPHABET
        or not mod_37_36.is_valid(body + check)
    ):
        raise Invalid(
            "invalid-certificate-number",
            f"{typed[:NUMBER_LENGTH]!r} is not a certificate number (TB-XXXX-XXXX-XXXX-C)",
        )
    return _shown(body, check)


def certificate_id(number: str) -> UUID:
    """The id of the certificate with this (shown) number: a number drawn twice meets the
    certificate already issued under it."""
    return uuid5(NAMESPACE, "certificate:" + number)


@dataclass(frozen=True)
class ServiceLine:
    """One service a certificate lists, as its aggregates have it now."""

    source_id: UUID
    service_date: date
    activity: str  # the activity's title, or a back-fill's category when it has none
    category: str
    minutes: int  # verified service minutes, after corrections
    backfill: bool

    def shown(self) -> dict[str, Any]:
        return {
            "source_id": str(self.source_id),
            "date": self.service_date.isoformat(),
            "activity": self.activity,
            "category": self.category,
            "minutes": self.minutes,
            "backfill": self.backfill,
        }


@dataclass(frozen=True)
class Holder:
    """The volunteer as a certificate names them."""

    name: str
    id_number_masked: str
    volunteer_number: str
    account_id: UUID


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    def check(self) -> "Period":
        years = range(bounds.MOMENT.first_year, bounds.MOMENT.last_year + 1)
        if self.first.year not in years or self.last.year not in years:
            raise Invalid(
                "invalid-period",
                f"a period lies in the years {years.start} to {years.stop - 1}",
            )
        if self.first > self.last:
            raise Invalid("invalid-period", "the period must not end before it begins")
        if self.last >= _years_after(self.first, bounds.CERTIFICATE_YEARS):
            raise Invalid(
                "invalid-period", f"a certificate covers at most {bounds.CERTIFICATE_YEARS} years"
            )
        return self


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def certificate_content(
    cert_id: UUID,
    number: str,
    holder: Holder,
    org_id: UUID,
    org_name: str,
    period: Period,
    purpose: str | None,
    services: list[ServiceLine],
    issued_on: date,
) -> dict[str, Any]:
    """The content a certificate shows and its digest covers (the certificate contract):
    only text, whole numbers, booleans, null, lists and objects."""
    ordered = sorted(services, key=lambda s: (s.service_date, str(s.source_id)))
    return {
        "format": FORMAT,
        "certificate_id": str(cert_id),
        "number": number,
        "volunteer": {
            "name": holder.name,
            "id_number_masked": holder.id_number_masked,
            "volunteer_number": holder.volunteer_number,
            "account_id": str(holder.account_id),
        },
        "issuer": {"org_id": str(org_id), "name": org_name},
        "period": {"from": period.first.isoformat(), "to": period.last.isoformat()},
        "purpose": purpose,
        "services": [s.shown() for s in ordered],
        "total_minutes": sum(s.minutes for s in ordered),
        "issued_on": issued_on.isoformat(),
    }


def content_digest(content: dict[str, Any]) -> str:
    """SHA-256 of the content's canonical JSON (sorted keys, no spaces, UTF-8), in hex."""
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class Certificate(LedgerAggregate):
    class Issued(LedgerAggregate.Created):
        """Carries the content whole, so that a read model rebuilds it from the log; the
        person's name, masked ID number and the purpose are sealed under their key and read
        as erased once they are (the digest keeps what was certified)."""

        volunteer_id: UUID
        org_id: UUID
        number: str
        period_from: str  # YYYY-MM-DD, as the content shows it
        period_to: str
        purpose: str | None  # personal
        source_ids: list[UUID]
        total_minutes: int
        digest: str  # content_digest of the content issued
        volunteer_name: str  # personal
        id_number_masked: str  # personal
        volunteer_number: str
        account_id: UUID
        issuer_name: str
        services: list[dict[str, Any]]  # as the content lists them
        issued_on: str  # YYYY-MM-DD

        def content(self) -> dict[str, Any]:
            """The content issued (once the volunteer is erased: with their data erased)."""
            return {
                "format": FORMAT,
                "certificate_id": str(self.originator_id),
                "number": self.number,
                "volunteer": {
                    "name": self.volunteer_name,
                    "id_number_masked": self.id_number_masked,
                    "volunteer_number": self.volunteer_number,
                    "account_id": str(self.account_id),
                },
                "issuer": {"org_id": str(self.org_id), "name": self.issuer_name},
                "period": {"from": self.period_from, "to": self.period_to},
                "purpose": self.purpose,
                "services": [dict(s) for s in self.services],
                "total_minutes": self.total_minutes,
                "issued_on": self.issued_on,
            }

    def __init__(  # the event's other fields are the content's, kept by the read model
        self,
        volunteer_id: UUID,
        org_id: UUID,
        number: str,
        period_from: str,
        period_to: str,
        purpose: str | None,
        source_ids: list[UUID],
        total_minutes: int,
        digest: str,
        volunteer_name: str,
        id_number_masked: str,
        volunteer_number: str,
        account_id: UUID,
        issuer_name: str,
        services: list[dict[str, Any]],
        issued_on: str,
    ) -> None:
        self.volunteer_id = volunteer_id
        self.org_id = org_id
        self.number = number
        self.period_from = period_from
        self.period_to = period_to
        self.source_ids = list(source_ids)
        self.total_minutes = total_minutes
        self.digest = digest

    @classmethod
    def issue(cls, ctx: Context, volunteer_id: UUID, content: dict[str, Any]) -> "Certificate":
        services = content["services"]
        if not services:
            raise Invalid("no-services", "the organisation recorded no service in that period")
        if len(services) > bounds.CERTIFICATE_SERVICES:
            raise Invalid(
                "too-many-services",
                f"a certificate lists at most {bounds.CERTIFICATE_SERVICES} services; "
                "ask for a shorter period",
            )
        holder = content["volunteer"]
        certificate: Certificate = cls.new(
            ctx,
            cls.Issued,
            id=UUID(content["certificate_id"]),
            volunteer_id=volunteer_id,
            org_id=UUID(content["issuer"]["org_id"]),
            number=content["number"],
            period_from=content["period"]["from"],
            period_to=content["period"]["to"],
            purpose=content["purpose"],
            source_ids=[UUID(s["source_id"]) for s in services],
            total_minutes=content["total_minutes"],
            digest=content_digest(content),
            volunteer_name=holder["name"],
            id_number_masked=holder["id_number_masked"],
            volunteer_number=holder["volunteer_number"],
            account_id=UUID(holder["account_id"]),
            issuer_name=content["issuer"]["name"],
            services=services,
            issued_on=content["issued_on"],
        )
        return certificate
