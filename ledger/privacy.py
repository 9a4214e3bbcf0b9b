"""A volunteer's fields as each viewer may see them: the one table of who sees what, and the
masking it refers to. Which viewer a caller is (admin, a coordinator of the home
organisation, the volunteer themself, ...) is decided in commands/permissions.py."""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ledger.backfills import Backfill
from ledger.certificates import Certificate
from ledger.disputes import Dispute
from ledger.trainings import Evaluation
from ledger.volunteers import ERASED as ERASED  # what erased personal text reads as
from ledger.volunteers import Volunteer


@dataclass(frozen=True)
class Personal:
    """The personal fields of one kind of event (or of an aggregate's snapshot state), and
    whose they are: the field holding the volunteer's id (`originator_id` for the aggregate's
    own). The store seals each under that volunteer's data key; once the key is destroyed a
    field reads as its erased value."""

    subject: str
    erased: dict[str, Any]  # field -> what it reads as once erased


# The one table of what is sealed at rest. Free text a person may write their own or
# another's details into is sealed with the volunteer it is about: a back-fill's description
# and evidence, a dispute's reason, an evaluation's comment. Reasons given by coordinators
# for their decisions (rejections, corrections, transfers, objections) are the "why" of the
# audit trail and stay readable; they are about the decision, not the person.
_REGISTRATION = {"name": ERASED, "id_number": ERASED, "phone": ERASED, "birth_date": ERASED}
PERSONAL_EVENTS: dict[type, Personal] = {
    Volunteer.Registered: Personal("originator_id", _REGISTRATION),
    Backfill.Submitted: Personal("volunteer_id", {"description": ERASED, "evidence": []}),
    Dispute.Opened: Personal("volunteer_id", {"reason": ERASED}),
    Evaluation.Given: Personal("volunteer_id", {"comment": ERASED}),
    Certificate.Issued: Personal(
        "volunteer_id", {"volunteer_name": ERASED, "id_number_masked": ERASED, "purpose": ERASED}
    ),
}
# Snapshots: the aggregate's state, by aggregate class.
PERSONAL_STATES: dict[type, Personal] = {Volunteer: Personal("originator_id", _REGISTRATION)}


class Viewer(StrEnum):
    ADMIN = "admin"
    HOME_COORDINATOR = "home coordinator"  # of the home organisation or an ancestor of it
    SELF = "the volunteer"
    OTHER_COORDINATOR = "other coordinator"
    DESK = "desk"
    AUDITOR = "auditor"
    OTHER_VOLUNTEER = "other volunteer"  # and any other caller


class Shown(StrEnum):
    FULL = "full"
    MASKED = "masked"  # at most a quarter of the characters (mask)
    ABSENT = "-"  # null in the response


_F, _M, _A = Shown.FULL, Shown.MASKED, Shown.ABSENT
VIEWERS = tuple(Viewer)
# The fields of a volunteer, by viewer in the order of VIEWERS. The README's "Personal data by
# role" table is this one (tests/test_privacy.py compares them). As the SPEC has it, name,
# ID number and phone are in full only for admins and the home organisation's coordinators
# (the volunteer too sees them masked: a shared phone or a leaked volunteer token does not
# give them away); party membership (sensitive personal information under PIPL), birth
# date and family links also for the volunteer.
FIELDS: dict[str, tuple[Shown, ...]] = {
    "id, volunteer_number, skills, home_org_id": (_F, _F, _F, _F, _F, _F, _F),
    "name": (_F, _F, _M, _M, _M, _M, _M),
    "id_document.number": (_F, _F, _M, _M, _M, _M, _M),
    "phone": (_F, _F, _M, _M, _M, _M, _M),
    "birth_date": (_F, _F, _F, _A, _A, _A, _A),
    "party_member": (_F, _F, _F, _A, _A, _A, _A),
    "family": (_F, _F, _F, _A, _A, _A, _A),
    "family_requests": (_F, _F, _F, _A, _A, _A, _A),
}
SHOWN_KEPT_DENOMINATOR = 4  # a masked value keeps at most 1/4 of its characters, rounded down


def shown(field: str, viewer: Viewer) -> Shown:
    return FIELDS[field][VIEWERS.index(viewer)]


def mask(text: str) -> str:
    """Keeps at most a quarter of the characters (rounded down), split between the first and
    the last, and stars the rest: enough to tell two records apart, never to rebuild one
    (an 18-digit resident ID keeps 4, a 9-character passport 2, a 2-character name none)."""
    kept = len(text) // SHOWN_KEPT_DENOMINATOR
    head = (kept + 1) // 2
    tail = kept - head
    return text[:head] + "*" * (len(text) - kept) + (text[len(text) - tail :] if tail else "")


def _value(field: str, viewer: Viewer, value: Any) -> Any:
    how = shown(field, viewer)
    if how is Shown.ABSENT:
        return None
    if how is Shown.MASKED:
        return mask(value)
    return value


# The key of each personal field in `personal_data`, and its line in FIELDS.
_FIELD_OF = {
    "name": "name",
    "id_number": "id_document.number",
    "phone": "phone",
    "birth_date": "birth_date",
    "party_member": "party_member",
    "family": "family",
    "family_requests": "family_requests",
}


def personal_data(volunteer: Volunteer, viewer: Viewer) -> dict[str, Any]:
    """The personal fields as `viewer` sees them: the value, masked, or None. An erased
    volunteer's read as erased, unmasked (nothing is left to hide), for every viewer who may
    see them at all, whatever the store still holds."""
    values: dict[str, Any] = {
        "name": volunteer.name,
        "id_number": volunteer.id_number,
        "phone": volunteer.phone,
        "birth_date": volunteer.birth_date,
        "party_member": volunteer.party_member,
        "family": dict(volunteer.family),
        "family_requests": dict(volunteer.family_requests),
    }
    if volunteer.erased:
        erased = {"name": ERASED, "id_number": ERASED, "phone": ERASED, "birth_date": None}
        values |= erased | {"family": {}, "family_requests": {}}
        return {
            key: None if shown(_FIELD_OF[key], viewer) is Shown.ABSENT else value
            for key, value in values.items()
        }
    return {key: _value(_FIELD_OF[key], viewer, value) for key, value in values.items()}


def public_name(name: str) -> str:
    """A name as a public certificate check shows it: the first character (the family name,
    for most Chinese names) and a star for each other, as public notices do."""
    return name[:1] + "*" * (len(name) - 1)


def masked_for(viewer: Viewer) -> bool:
    """True when `viewer` sees any field masked or not at all."""
    return any(shown(field, viewer) is not Shown.FULL for field in FIELDS)
