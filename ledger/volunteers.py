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
        relative_id: UUID
        relation: str

        def apply(self, volunteer: "Volunteer") -> None:
            volunteer.family[str(self.relative_id)] = self.relation

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
        self.family: dict[str, str] = {}

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

    def link(self, ctx: Context, relative: "Volunteer", relation: Relation) -> None:
        if relative.id == self.id:
            raise Invalid("invalid-family-link", "a volunteer cannot be linked to themself")
        existing = self.relation_to(relative.id)
        if existing is not None:
            if existing == relation:
                return
            raise Conflict(
                "family-link-exists", f"already linked to that volunteer as {existing.value}"
            )
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
