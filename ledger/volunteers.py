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

ERASED = "已注销"  # what a volunteer's erased personal text reads as, everywhere


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

    # Class defaults for snapshots taken before PINs and erasure existed.
    has_pin = False
    erased = False
    data_key_destroyed = False

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

    class Erased(LedgerAggregate.Event):
        """The volunteer's personal data was erased on request (PIPL). From here on they read
        as erased: their own family links and requests are dropped with it (who their
        relatives are is personal data, and nothing may be given or linked to them any
        more); hours, credits and postings stay as they were."""

        reason: str

        def apply(self, volunteer: "Volunteer") -> None:
            volunteer.erased = True
            volunteer.name = volunteer.id_number = volunteer.phone = ERASED
            volunteer.birth_date = None
            volunteer.family = {}
            volunteer.family_requests = {}

    class DataKeyDestroyed(LedgerAggregate.Event):
        """The key the volunteer's personal fields were sealed under is gone: the log itself
        no longer holds them readable."""

        def apply(self, volunteer: "Volunteer") -> None:
            volunteer.data_key_destroyed = True

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
        self.birth_date: str | None = birth_date
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

    def require_not_erased(self) -> None:
        """A volunteer erased is acted on no more: no command records a new fact about
        them (the unit of work of commands asks this of every volunteer it gets)."""
        if self.erased:
            raise Conflict(
                "volunteer-erased", f"volunteer {self.id} has been erased; nothing more is recorded"
            )

    def erase(self, ctx: Context, reason: str) -> bool:
        """Erases the volunteer's personal data; False when they were erased already."""
        if self.erased:
            return False
        if not bounds.REASON.check(reason).strip():
            raise Invalid("reason-required", "an erasure needs a reason")
        self.emit(ctx, self.Erased, reason=reason.strip())
        return True

    def record_key_destroyed(self, ctx: Context) -> bool:
        """Records that the data key is gone; False when that was recorded already."""
        if self.data_key_destroyed:
            return False
        if not self.erased:
            raise Conflict("volunteer-not-erased", "only an erased volunteer's key is destroyed")
        self.emit(ctx, self.DataKeyDestroyed)
        return True

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
    version conflict, and one while the claim is held a duplicate. Its id is a keyed hash of
    the document (`document_claim_id`), so no answer, read model or log shows it. It names
    no volunteer (claims recorded before version 2 did, and still do in the stored log): an
    erasure releases it, and the same document may then be claimed again by a new
    registration."""

    class Claimed(LedgerAggregate.Created):
        class_version = 2  # v2: no volunteer_id

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.pop("volunteer_id", None)

    class Released(LedgerAggregate.Event):
        """The volunteer who held the document was erased."""

        def apply(self, claim: "DocumentClaim") -> None:
            claim.held = False

    class ClaimedAgain(LedgerAggregate.Event):
        """A new registration of a document whose claim had been released."""

        def apply(self, claim: "DocumentClaim") -> None:
            claim.held = True

    def __init__(self) -> None:
        self.held = True

    def release(self, ctx: Context) -> None:
        if self.held:
            self.emit(ctx, self.Released)

    def claim_again(self, ctx: Context) -> None:
        if self.held:
            raise Conflict(
                "duplicate-volunteer", "a volunteer with this ID document is already registered"
            )
        self.emit(ctx, self.ClaimedAgain)
