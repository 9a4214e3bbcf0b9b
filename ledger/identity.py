"""Identity documents and volunteer numbers (the masking of personal data: privacy.py)."""

import hashlib
import hmac
import secrets
from enum import StrEnum
from functools import lru_cache
from uuid import NAMESPACE_URL, UUID, uuid5

from stdnum import damm
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from ledger import bounds
from ledger.errors import Invalid

NAMESPACE = uuid5(NAMESPACE_URL, "https://timebank.invalid/ids")
NUMBER_DIGITS = 10  # plus one Damm check digit
# The pepper earlier versions used when none was set: published, so it keys nothing now,
# but volunteers registered with it may be in any store (legacy_volunteer_ids).
PUBLISHED_PEPPER = b"timebank-change-me"
DERIVED_IDS_CACHED = 16_384  # ids of the aggregates a volunteer owns, asked for on each command


class DocumentType(StrEnum):
    RESIDENT_ID = "resident_id"
    PASSPORT = "passport"
    OTHER = "other"


def normalise_document(doc_type: DocumentType, number: str) -> str:
    cleaned = "".join(bounds.ID_NUMBER.check(number).split()).upper()
    if not cleaned:
        raise Invalid("invalid-id-document", "the ID document number is empty")
    if doc_type is DocumentType.RESIDENT_ID:
        try:
            return str(ric.validate(cleaned))
        except ValidationError as e:
            raise Invalid(
                "invalid-id-document",
                f"not a valid resident ID number (GB 11643): {e}",
            ) from None
    return cleaned


def _document_digest(doc_type: DocumentType, normalised_number: str, pepper: bytes) -> str:
    return hmac.new(
        pepper, f"{doc_type.value}:{normalised_number}".encode(), hashlib.sha256
    ).hexdigest()


def document_claim_id(doc_type: DocumentType, normalised_number: str, pepper: bytes) -> UUID:
    """The id of the claim that one volunteer holds a document: a keyed hash of it, so that
    a second registration of the document meets the claim. Anyone with the pepper and the
    store can test a guessed document against it, so it is never shown to anyone."""
    return uuid5(NAMESPACE, "id-document:" + _document_digest(doc_type, normalised_number, pepper))


def legacy_volunteer_ids(
    doc_type: DocumentType, normalised_number: str, pepper: bytes
) -> tuple[UUID, ...]:
    """The ids a volunteer registered before ids were random may have: the keyed hash of
    their document, with this pepper or the published one (a store that ran with it and was
    then given a pepper of its own). Those volunteers keep their ids (the log is immutable),
    and a registration looks for them so that their document cannot register again."""
    return tuple(
        uuid5(NAMESPACE, "volunteer:" + _document_digest(doc_type, normalised_number, key))
        for key in dict.fromkeys((pepper, PUBLISHED_PEPPER))
    )


def new_volunteer_number() -> str:
    body = str(secrets.randbelow(9 * 10 ** (NUMBER_DIGITS - 1)) + 10 ** (NUMBER_DIGITS - 1))
    return body + damm.calc_check_digit(body)


def normalise_volunteer_number(number: str) -> str:
    cleaned = "".join(ch for ch in number if ch.isdigit())
    if len(cleaned) != NUMBER_DIGITS + 1 or not damm.is_valid(cleaned):
        raise Invalid("invalid-volunteer-number", f"{number!r} is not a valid volunteer number")
    return cleaned


def number_claim_id(number: str) -> UUID:
    return uuid5(NAMESPACE, "volunteer-number:" + number)


@lru_cache(maxsize=DERIVED_IDS_CACHED)
def derived_id(owner: UUID, what: str) -> UUID:
    return uuid5(NAMESPACE, f"{what}:{owner}")


# The ids of the aggregates a volunteer owns, derived from theirs.


def account_id(volunteer_id: UUID) -> UUID:
    return derived_id(volunteer_id, "account")


def timesheet_id(volunteer_id: UUID) -> UUID:
    return derived_id(volunteer_id, "timesheet")


def signup_id(activity_id: UUID, volunteer_id: UUID) -> UUID:
    return derived_id(volunteer_id, f"signup:{activity_id}")
