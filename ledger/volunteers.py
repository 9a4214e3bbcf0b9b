"""Volunteers: real-name registration, volunteer numbers, family links, membership."""

import re
from datetime import date
from enum import StrEnum
from typing import Any
from uuid import UUID

from ledger import bounds
from ledger.base import LedgerAggregate
from ledger.context import Context
from ledger.errors import Conflict, Invalid


class Relation(StrEnum):
    SPOUSE = "spouse"
    PARENT = "parent"
    CHILD = "child"
    GRANDPARENT = "grandparent"
    GRANDCHILD = "grandchild"
    SIBLING = "sibling"


INVERSE_RELATION = {
    Relation.SPOUSE: Relation.SPOUSE,
    Relation.PARENT: Relation.CHILD,
    Relation.CHILD: Relation.PARENT,
    Relation.GRANDPARENT: Relation.GRANDCHILD,
    Relation.GRANDCHILD: Relation.GRANDPARENT,
    Relation.SIBLING: Relation.SIBLING,
}


def check_pin(pin: str) -> str:
    """A PIN as the volunteer chose it: exactly bounds.PIN_DIGITS digits."""
    if not isinstance(pin, str) or re.fullmatch(bounds.PIN_PATTERN, pin) is None:
        raise Invalid("invalid-pin", f"a PIN is exactly {bounds.PIN_DIGITS} digits")
    return pin


class Volunteer(LedgerAggregate):
    class_version = 2  # v2: family_requests

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["family_requests"] = {}

    has_pin = False  # a class default for snapshots taken before PINs

    class Registered(LedgerAggregate.Created):
        number: str
        name: str
        id_type: str
        id_number: str
        phone: str
        birth_date: str
        party_member: bool
        skills: list[str]
        home_org_id: UUID

    class FamilyLinked(LedgerAggregate.Event):
        """A confirmed link (every link recorded before requests existed was one)."""

        relative_id: UUID
        relation: str

        def apply(self, volunteer: "Volunteer") -> None:
            volunteer.family[str(self.relative_id)] = self.relation
            volunteer.family_requests.pop(str(self.relative_id), None)

    class FamilyLinkRequested(LedgerAggregate.Event):
        """Asks the relative to confirm a link; recorded on the requester only, so nothing
        lands on the relative's record without their consent."""

        relative_id: UUID
        relation: str

        def apply(self, volunteer: "Volunteer") -> None:
            volunteer.family_requests[str(self.relative_id)] = self.relation

    class FamilyLinkDeclined(LedgerAggregate.Event):
        relative_id: UUID

        def apply(self, volunteer: "Volunteer") -> None:
            volunteer.family_requests.pop(str(self.relative_id), None)

    class MembershipTransferred(LedgerAggregate.Event):
        from_org_id: UUID
        to_org_id: UUID
        reason: str

        def apply(self, volunteer: "Volunteer") -> None:
            volunteer.home_org_id = self.to_org_id
            volunteer.past_org_ids.append(str(self.from_org_id))

    class PinSet(LedgerAggregate.Event):
        """A PIN was set (by the volunteer, or a coordinator for them); the PIN itself is
        kept outside the log, as a slow salted hash."""

        def apply(self, volunteer: "Volunteer") -> None:
            volunteer.has_pin = True

    def __init__(
        self,
        number: str,
        name: str,
        id_type: str,
        id_number: str,
        phone: str,
        birth_date: str,
        party_member: bool,
        skills: list[str],
        home_org_id: UUID,
    ) -> None:
        self.number = number
        self.name = name
        self.id_type = id_type
        self.id_number = id_number
        self.phone = phone
        self.birth_date = birth_date
        self.party_member = party_member
        self.skills = list(skills)
        self.home_org_id = home_org_id
        self.past_org_ids: list[str] = []
        self.family: dict[str, str] = {}  # confirmed links: relative id -> relation
        self.family_requests: dict[str, str] = {}  # asked, not yet answered: the same

    @classmethod
    def register(cls, ctx: Context, volunteer_id: UUID, **fields: Any) -> "Volunteer":
        name = bounds.NAME.check(fields["name"]).strip()
        bounds.ID_NUMBER.check(fields["id_number"])
        bounds.PHONE.check(fields["phone"])
        bounds.SKILL.check_all(fields["skills"], bounds.SKILLS)
        birth = date.fromisoformat(str(fields["birth_date"]))
        if not bounds.EARLIEST_BIRTH <= birth <= ctx.now.date():
            raise Invalid(
                "invalid-birth-date",
                f"the birth date must be from {bounds.EARLIEST_BIRTH.isoformat()} to today",
            )
        fields = {**fields, "name": name, "birth_date": birth.isoformat()}
        volunteer: Volunteer = cls.new(ctx, cls.Registered, id=volunteer_id, **fields)
        return volunteer

    def relation_to(self, other_id: UUID) -> Relation | None:
        relation = self.family.get(str(other_id))
        return Relation(relation) if relation else None

    def request_link(
        self, ctx: Context, relative: "Volunteer", relation: Relation, consented: bool
    ) -> bool:
        """Links to `relative` (`relation`: what the relative is to this volunteer) at once
        when the relative's side has `consented` (the caller may answer for them), else asks
        them; True when linked. Asking again as the same relation changes nothing; asking as
        another relation replaces the request."""
        if relative.id == self.id:
            raise Invalid("invalid-family-link", "a volunteer cannot be linked to themself")
        existing = self.relation_to(relative.id)
        if existing is not None:
            if existing == relation:
                return True
            raise Conflict(
                "family-link-exists", f"already linked to that volunteer as {existing.value}"
            )
        # The relative asked for the same link the other way round: both sides have consented.
        crossed = relative.family_requests.get(str(self.id)) == INVERSE_RELATION[relation].value
        if consented or crossed:
            self._link(ctx, relative, relation)
            return True
        if self.family_requests.get(str(relative.id)) != relation.value:
            self.emit(
                ctx, self.FamilyLinkRequested, relative_id=relative.id, relation=relation.value
            )
        return False

    def answer_link(self, ctx: Context, relative: "Volunteer", confirmed: bool) -> Relation:
        """The relative's answer to this volunteer's request: linked, or the request
        dropped. Answers the relation asked for."""
        asked = self.family_requests.get(str(relative.id))
        if asked is None:
            raise Conflict(
                "no-family-request", "that volunteer has not asked to be linked to this one"
            )
        if confirmed:
            self._link(ctx, relative, Relation(asked))
        else:
            self.emit(ctx, self.FamilyLinkDeclined, relative_id=relative.id)
        return Relation(asked)

    def _link(self, ctx: Context, relative: "Volunteer", relation: Relation) -> None:
        self.emit(ctx, self.FamilyLinked, relative_id=relative.id, relation=relation.value)
        relative.emit(
            ctx,
            relative.FamilyLinked,
            relative_id=self.id,
            relation=INVERSE_RELATION[relation].value,
        )

    def set_pin(self, ctx: Context, pin: str) -> None:
        check_pin(pin)
        self.emit(ctx, self.PinSet)

    def transfer_membership(self, ctx: Context, to_org_id: UUID, reason: str) -> None:
        if to_org_id == self.home_org_id:
            raise Conflict("already-member", "the volunteer already belongs to that organisation")
        if not bounds.REASON.check(reason).strip():
            raise Invalid("reason-required", "a membership transfer needs a reason")
        self.emit(
            ctx,
            self.MembershipTransferred,
            from_org_id=self.home_org_id,
            to_org_id=to_org_id,
            reason=reason.strip(),
        )


class VolunteerNumber(LedgerAggregate):
    """Claims a volunteer number: a second claim of the same number is a version conflict."""

    class Claimed(LedgerAggregate.Created):
        volunteer_id: UUID

    def __init__(self, volunteer_id: UUID) -> None:
        self.volunteer_id = volunteer_id


class DocumentClaim(LedgerAggregate):
    """Claims an ID document for one volunteer: a second claim of the same document is a
    version conflict. Its id is a keyed hash of the document (`document_claim_id`), so no
    answer, read model or log shows it."""

    class Claimed(LedgerAggregate.Created):
        volunteer_id: UUID

    def __init__(self, volunteer_id: UUID) -> None:
        self.volunteer_id = volunteer_id
