"""Who may do what: roles, and the organisation subtree, venue or volunteer a role is bound to."""

from collections.abc import Iterable
from uuid import UUID

from ledger.commands.base import UnitOfWork
from ledger.context import Actor, Role
from ledger.errors import Forbidden
from ledger.organisations import Organisation
from ledger.privacy import Viewer
from ledger.volunteers import Volunteer


def require_role(actor: Actor, *roles: Role) -> None:
    if actor.role not in roles and actor.role is not Role.ADMIN:
        names = ", ".join(["admin", *(r.value for r in roles)])
        raise Forbidden("forbidden-role", f"this needs one of the roles: {names}")


def coordinates(uow: UnitOfWork, actor: Actor, org_id: UUID) -> bool:
    """True when the actor is admin, or a coordinator of org_id or one of its ancestors."""
    if actor.role is Role.ADMIN:
        return True
    if actor.role is not Role.COORDINATOR or actor.scope_id is None:
        return False
    org = uow.find(Organisation, org_id)
    return org is not None and org.is_within(actor.scope_id)


def require_coordinator_of(uow: UnitOfWork, actor: Actor, *org_ids: UUID) -> None:
    """Admin, or a coordinator whose subtree holds any of the given organisations."""
    if not any(coordinates(uow, actor, org_id) for org_id in org_ids):
        raise Forbidden(
            "outside-scope", "only a coordinator of that organisation or above may do this"
        )


def is_self(actor: Actor, volunteer_id: UUID) -> bool:
    return actor.role is Role.VOLUNTEER and actor.scope_id == volunteer_id


def is_desk_of(actor: Actor, venue_id: UUID) -> bool:
    return actor.role is Role.DESK and actor.scope_id == venue_id


def require_venue_desk(actor: Actor, venue_id: UUID) -> None:
    """The desk of the venue, or an admin: who hands its rewards out."""
    if not (is_desk_of(actor, venue_id) or actor.role is Role.ADMIN):
        raise Forbidden("outside-scope", "only a desk of the venue may see its reservations")


def require_reward_reader(uow: UnitOfWork, actor: Actor, venue_id: UUID) -> None:
    """A venue's rewards and their stock: the venue's desk, coordinators of the venue or
    above, auditors and admins."""
    if not (is_desk_of(actor, venue_id) or may_oversee(uow, actor, venue_id)):
        raise Forbidden("outside-scope", "only the venue's desk, its coordinators or an auditor")


def require_self_or_coordinator(
    uow: UnitOfWork, actor: Actor, volunteer_id: UUID, *org_ids: UUID
) -> None:
    if is_self(actor, volunteer_id):
        return
    if actor.role is Role.VOLUNTEER:
        raise Forbidden("not-yourself", "a volunteer may only act for themself")
    require_coordinator_of(uow, actor, *org_ids)


def is_redemption_party(actor: Actor, volunteer_id: UUID, venue_id: UUID) -> bool:
    """The volunteer redeeming, the desk of the venue, or an admin."""
    return is_self(actor, volunteer_id) or is_desk_of(actor, venue_id) or actor.role is Role.ADMIN


def require_account_reader(
    uow: UnitOfWork, actor: Actor, volunteer_id: UUID, home_org_id: UUID
) -> None:
    """The volunteer, any desk (to redeem) or auditor, or a coordinator of the home organisation."""
    if (
        is_self(actor, volunteer_id)
        or actor.role is Role.DESK
        or may_oversee(uow, actor, home_org_id)
    ):
        return
    raise Forbidden("outside-scope", "this account belongs to someone else")


def may_oversee(uow: UnitOfWork, actor: Actor, org_id: UUID) -> bool:
    """Auditors, admins and coordinators of org_id or above read what concerns org_id."""
    return actor.role is Role.AUDITOR or coordinates(uow, actor, org_id)


def require_signup_reader(uow: UnitOfWork, actor: Actor, volunteer_id: UUID, org_id: UUID) -> None:
    if not (is_self(actor, volunteer_id) or may_oversee(uow, actor, org_id)):
        raise Forbidden("outside-scope", "only the volunteer, the organiser or an auditor")


def require_record_reader(
    uow: UnitOfWork, actor: Actor, volunteer_id: UUID, home_org_id: UUID
) -> None:
    """A service record: the volunteer, coordinators of the home organisation or above,
    auditors and admins."""
    if not (is_self(actor, volunteer_id) or may_oversee(uow, actor, home_org_id)):
        raise Forbidden("outside-scope", "this service record belongs to someone else")


def require_certificate_reader(
    uow: UnitOfWork, actor: Actor, volunteer_id: UUID, org_id: UUID
) -> None:
    """A certificate: the volunteer, coordinators of the issuing organisation or above,
    auditors and admins (anyone else checks it by number, masked)."""
    if not (is_self(actor, volunteer_id) or may_oversee(uow, actor, org_id)):
        raise Forbidden(
            "outside-scope",
            "only the volunteer, the issuing organisation or an auditor may read a certificate",
        )


def require_training_reader(
    uow: UnitOfWork, actor: Actor, org_id: UUID, volunteer_ids: Iterable[UUID]
) -> None:
    """A training: its participants, coordinators of the organiser or above, auditors, admins."""
    if not (any(is_self(actor, v) for v in volunteer_ids) or may_oversee(uow, actor, org_id)):
        raise Forbidden(
            "outside-scope", "only a participant, the organiser or an auditor may see a training"
        )


def require_report_reader(uow: UnitOfWork, actor: Actor, org_id: UUID) -> None:
    """An organisation report: coordinators of the organisation or above, auditors, admins."""
    if not may_oversee(uow, actor, org_id):
        raise Forbidden(
            "outside-scope",
            "an organisation report is for coordinators of that organisation or above, "
            "auditors and admins",
        )


def require_worklist_reader(uow: UnitOfWork, actor: Actor, org_id: UUID) -> None:
    """What an organisation subtree has to do (its activities, signups, back-fills and
    disputes): coordinators of the organisation or above, auditors, admins."""
    if not may_oversee(uow, actor, org_id):
        raise Forbidden(
            "outside-scope",
            "an organisation's work lists are for coordinators of that organisation or above, "
            "auditors and admins",
        )


def require_audit_reader(uow: UnitOfWork, actor: Actor, org_id: UUID, party: bool) -> None:
    """An audit trail: auditors, admins, coordinators of `org_id` (the volunteer's home, the
    activity's organiser, the redemption's venue) or above, and the parties concerned (the
    volunteer; for a redemption also the venue's desk)."""
    if not (party or may_oversee(uow, actor, org_id)):
        raise Forbidden("outside-scope", "this audit trail is outside your scope")


def viewer_of(uow: UnitOfWork, actor: Actor, volunteer: Volunteer) -> Viewer:
    """Which column of the table in ledger/privacy.py the actor reads a volunteer by: the
    home organisation's coordinators are those of it or above, as for every other right."""
    if actor.role is Role.ADMIN:
        return Viewer.ADMIN
    if is_self(actor, volunteer.id):
        return Viewer.SELF
    if actor.role is Role.COORDINATOR:
        if coordinates(uow, actor, volunteer.home_org_id):
            return Viewer.HOME_COORDINATOR
        return Viewer.OTHER_COORDINATOR
    if actor.role is Role.DESK:
        return Viewer.DESK
    if actor.role is Role.AUDITOR:
        return Viewer.AUDITOR
    return Viewer.OTHER_VOLUNTEER
