"""Members: organisations, volunteers' registration, family links and membership transfers."""

from dataclasses import dataclass, field
from uuid import UUID, uuid4

from ledger.accounts import Account
from ledger.commands.base import Command, Created, UnitOfWork
from ledger.commands.permissions import (
    coordinates,
    is_self,
    require_coordinator_of,
    require_role,
    require_self_or_coordinator,
)
from ledger.context import Role
from ledger.errors import Conflict, Forbidden, Invalid, NotFound
from ledger.identity import (
    DocumentType,
    account_id,
    document_claim_id,
    legacy_volunteer_ids,
    new_volunteer_number,
    normalise_document,
    number_claim_id,
)
from ledger.organisations import Organisation, OrgKind
from ledger.volunteers import (
    INVERSE_RELATION,
    DocumentClaim,
    Relation,
    Volunteer,
    VolunteerNumber,
)


@dataclass(frozen=True)
class RegisterOrganisation(Command):
    name: str
    kind: OrgKind
    parent_id: UUID | None = None
    population: int | None = None

    def handle(self, uow: UnitOfWork) -> Created:
        actor = uow.ctx.actor
        require_role(actor, Role.COORDINATOR)
        parent = None
        if self.parent_id is not None:
            parent = uow.get(Organisation, self.parent_id, "organisation")
            require_coordinator_of(uow, actor, parent.id)
        elif actor.role is not Role.ADMIN:
            raise Forbidden("outside-scope", "only an admin may register a top-level organisation")
        org = Organisation.register(uow.ctx, uuid4(), self.name, self.kind, parent, self.population)
        return Created(uow.add(org).id)


def _require_membership_org(org: Organisation) -> None:
    if org.kind is OrgKind.VENUE:
        raise Invalid("invalid-organisation", "volunteers cannot be members of a venue")


@dataclass(frozen=True)
class VolunteerRegistered:
    id: UUID
    volunteer_number: str


@dataclass(frozen=True)
class RegisterVolunteer(Command):
    name: str
    id_type: DocumentType
    id_number: str
    phone: str
    birth_date: str
    party_member: bool
    skills: tuple[str, ...]
    home_org_id: UUID

    def handle(self, uow: UnitOfWork) -> VolunteerRegistered:
        require_role(uow.ctx.actor, Role.COORDINATOR)
        home = uow.get(Organisation, self.home_org_id, "organisation")
        require_coordinator_of(uow, uow.ctx.actor, home.id)
        _require_membership_org(home)
        document = normalise_document(self.id_type, self.id_number)
        volunteer_id = uuid4()  # reveals nothing about the person
        # Looked at before the claims, so that the registration is the command's first
        # event, as the log and the trails have always shown it.
        uow.find(Volunteer, volunteer_id)
        claim_id = document_claim_id(self.id_type, document, uow.pepper)
        claim = uow.find(DocumentClaim, claim_id)
        legacy = [
            uow.find(Volunteer, legacy_id)
            for legacy_id in legacy_volunteer_ids(self.id_type, document, uow.pepper)
        ]
        # An erased volunteer's document is free again: it registers a new volunteer.
        if (claim is not None and claim.held) or any(
            found is not None and not found.erased for found in legacy
        ):
            raise Conflict(
                "duplicate-volunteer", "a volunteer with this ID document is already registered"
            )
        number = new_volunteer_number()
        while uow.find(VolunteerNumber, number_claim_id(number)) is not None:
            number = new_volunteer_number()
        volunteer = Volunteer.register(
            uow.ctx,
            volunteer_id,
            number=number,
            name=self.name,
            id_type=self.id_type.value,
            id_number=document,
            phone=self.phone.strip(),
            birth_date=self.birth_date,
            party_member=self.party_member,
            skills=[s.strip() for s in self.skills if s.strip()],
            home_org_id=home.id,
        )
        uow.add(volunteer)
        uow.add(
            VolunteerNumber.new(
                uow.ctx,
                VolunteerNumber.Claimed,
                id=number_claim_id(number),
                volunteer_id=volunteer_id,
            )
        )
        if claim is None:
            uow.add(DocumentClaim.new(uow.ctx, DocumentClaim.Claimed, id=claim_id))
        else:
            claim.claim_again(uow.ctx)
        uow.add(
            Account.new(
                uow.ctx, Account.Opened, id=account_id(volunteer_id), volunteer_id=volunteer_id
            )
        )
        return VolunteerRegistered(volunteer_id, number)


@dataclass(frozen=True)
class FamilyLinkState:
    id: UUID  # the relative's
    relation: Relation
    status: str  # "confirmed" or "pending" (or "declined" for an answer)


@dataclass(frozen=True)
class LinkFamily(Command):
    """Asks for a family link. It takes effect at once when the caller may answer for the
    relative (an admin, a coordinator of the relative's home organisation or above), or
    when the relative has asked for the same link; otherwise it waits for the relative's
    answer (AnswerFamilyLink)."""

    volunteer_id: UUID
    relative_id: UUID
    relation: Relation

    def handle(self, uow: UnitOfWork) -> FamilyLinkState:
        actor = uow.ctx.actor
        volunteer = uow.get(Volunteer, self.volunteer_id, "volunteer")
        require_self_or_coordinator(uow, actor, volunteer.id, volunteer.home_org_id)
        relative = uow.get(Volunteer, self.relative_id, "volunteer")
        consented = coordinates(uow, actor, relative.home_org_id)
        linked = volunteer.request_link(uow.ctx, relative, self.relation, consented)
        return FamilyLinkState(relative.id, self.relation, "confirmed" if linked else "pending")


@dataclass(frozen=True)
class AnswerFamilyLink(Command):
    """The relative's answer to a family link `requester_id` asked for: the relative
    themself, or a coordinator of their home organisation or above (or an admin)."""

    relative_id: UUID
    requester_id: UUID
    confirm: bool

    def handle(self, uow: UnitOfWork) -> FamilyLinkState:
        actor = uow.ctx.actor
        relative = uow.get(Volunteer, self.relative_id, "volunteer")
        if not is_self(actor, relative.id):
            if actor.role is Role.VOLUNTEER:
                raise Forbidden("not-yourself", "only the relative may answer for themself")
            require_coordinator_of(uow, actor, relative.home_org_id)
        requester = uow.get(Volunteer, self.requester_id, "volunteer")
        relation = requester.answer_link(uow.ctx, relative, self.confirm)
        status = "confirmed" if self.confirm else "declined"
        return FamilyLinkState(requester.id, INVERSE_RELATION[relation], status)


@dataclass(frozen=True)
class PinState:
    id: UUID
    pin_set: bool


@dataclass(frozen=True)
class SetPin(Command):
    """Sets a volunteer's PIN, the proof that they are present at a desk: by the volunteer,
    or by a coordinator of the home organisation or above (for a volunteer without a phone;
    the volunteer may change it). The log records that it was set and by whom; the caller
    stores the PIN's hash once this has been recorded (SecretStore.set_pin)."""

    volunteer_id: UUID
    pin: str = field(repr=False)

    def handle(self, uow: UnitOfWork) -> PinState:
        volunteer = uow.get(Volunteer, self.volunteer_id, "volunteer")
        require_self_or_coordinator(uow, uow.ctx.actor, volunteer.id, volunteer.home_org_id)
        volunteer.set_pin(uow.ctx, self.pin)
        return PinState(volunteer.id, True)


@dataclass(frozen=True)
class MembershipChanged:
    id: UUID
    home_org_id: UUID


@dataclass(frozen=True)
class TransferMembership(Command):
    volunteer_id: UUID
    to_org_id: UUID
    reason: str

    def handle(self, uow: UnitOfWork) -> MembershipChanged:
        volunteer = uow.get(Volunteer, self.volunteer_id, "volunteer")
        target = uow.get(Organisation, self.to_org_id, "organisation")
        _require_membership_org(target)
        require_coordinator_of(uow, uow.ctx.actor, volunteer.home_org_id, target.id)
        volunteer.transfer_membership(uow.ctx, target.id, self.reason)
        return MembershipChanged(volunteer.id, target.id)


@dataclass(frozen=True)
class ErasureState:
    id: UUID
    erased: bool


@dataclass(frozen=True)
class EraseVolunteer(Command):
    """Erases a volunteer's personal data on request (PIPL), the part that is recorded in the
    log: the volunteer reads as erased, and the claim of their ID document is released so
    that the document may register again, as a new volunteer. The claim is found by the
    document number, readable only until the data key is destroyed: so this comes first
    (timebank/erasure.py runs the whole). Erased already: records nothing."""

    volunteer_id: UUID
    reason: str

    def handle(self, uow: UnitOfWork) -> ErasureState:
        require_role(uow.ctx.actor, Role.ADMIN)
        volunteer = _erasable(uow, self.volunteer_id)
        if not volunteer.erased:
            document = DocumentType(volunteer.id_type), volunteer.id_number
            claim = uow.find(DocumentClaim, document_claim_id(*document, uow.pepper))
            volunteer.erase(uow.ctx, self.reason)
            if claim is not None:  # none for a volunteer registered before claims
                claim.release(uow.ctx)
        return ErasureState(volunteer.id, volunteer.erased)


@dataclass(frozen=True)
class RecordDataKeyDestroyed(Command):
    """Records that an erased volunteer's data key has been destroyed (once)."""

    volunteer_id: UUID

    def handle(self, uow: UnitOfWork) -> ErasureState:
        require_role(uow.ctx.actor, Role.ADMIN)
        volunteer = _erasable(uow, self.volunteer_id)
        volunteer.record_key_destroyed(uow.ctx)
        return ErasureState(volunteer.id, volunteer.erased)


def _erasable(uow: UnitOfWork, volunteer_id: UUID) -> Volunteer:
    """The volunteer, erased or not (`get` refuses an erased one)."""
    volunteer = uow.find(Volunteer, volunteer_id)
    if volunteer is None:
        raise NotFound("volunteer-not-found", f"no volunteer with id {volunteer_id}")
    return volunteer
