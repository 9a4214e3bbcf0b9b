"""The commands: each loads what it needs through a unit of work, applies the rules and
returns its result. Nothing here talks HTTP or SQL; the service saves what changed."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from ledger.accounts import Account, pool_account, volunteer_account
from ledger.activities import Activity, Category
from ledger.audit import Role
from ledger.awards import Award, AwardKind, star_award_id
from ledger.errors import Conflict, Forbidden, Invalid
from ledger.identity import (
    DocumentType,
    derived_id,
    new_volunteer_number,
    normalise_document,
    number_claim_id,
    volunteer_id_for,
)
from ledger.organisations import Organisation, OrgKind
from ledger.permissions import (
    is_desk_of,
    is_redemption_party,
    is_self,
    require_coordinator_of,
    require_role,
    require_self_or_coordinator,
)
from ledger.rewards import Redemption, RedemptionStatus, Reward, new_redemption_code
from ledger.rules import TransferPolicy
from ledger.signups import Decision, Signup
from ledger.timesheets import Timesheet
from ledger.unit_of_work import UnitOfWork
from ledger.volunteers import Relation, Volunteer, VolunteerNumber


def account_id(volunteer_id: UUID) -> UUID:
    return derived_id(volunteer_id, "account")


def timesheet_id(volunteer_id: UUID) -> UUID:
    return derived_id(volunteer_id, "timesheet")


def signup_id(activity_id: UUID, volunteer_id: UUID) -> UUID:
    return derived_id(volunteer_id, f"signup:{activity_id}")


class Command:
    """A command object: its fields are the input, `handle` does the work."""

    def handle(self, uow: UnitOfWork) -> Any:
        raise NotImplementedError


# Organisations -------------------------------------------------------------------------


@dataclass(frozen=True)
class Created:
    id: UUID


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


# Volunteers ----------------------------------------------------------------------------


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
        volunteer_id = volunteer_id_for(self.id_type, document, uow.pepper)
        if uow.find(Volunteer, volunteer_id) is not None:
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
        uow.add(
            Account.new(
                uow.ctx, Account.Opened, id=account_id(volunteer_id), volunteer_id=volunteer_id
            )
        )
        return VolunteerRegistered(volunteer_id, number)


@dataclass(frozen=True)
class LinkFamily(Command):
    volunteer_id: UUID
    relative_id: UUID
    relation: Relation

    def handle(self, uow: UnitOfWork) -> Created:
        volunteer = uow.get(Volunteer, self.volunteer_id, "volunteer")
        require_self_or_coordinator(uow, uow.ctx.actor, volunteer.id, volunteer.home_org_id)
        relative = uow.get(Volunteer, self.relative_id, "volunteer")
        volunteer.link(uow.ctx, relative, self.relation)
        return Created(relative.id)


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


# Activities and signups ---------------------------------------------------------------


@dataclass(frozen=True)
class ActivityPublished:
    id: UUID
    check_in_code: str


@dataclass(frozen=True)
class PublishActivity(Command):
    org_id: UUID
    title: str
    category: Category
    location: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    campaign: str | None = None

    def handle(self, uow: UnitOfWork) -> ActivityPublished:
        require_role(uow.ctx.actor, Role.COORDINATOR)
        org = uow.get(Organisation, self.org_id, "organisation")
        require_coordinator_of(uow, uow.ctx.actor, org.id)
        activity = Activity.publish(
            uow.ctx,
            org.id,
            self.title,
            self.category,
            self.location,
            self.starts_at,
            self.ends_at,
            self.capacity,
            self.campaign,
        )
        uow.add(activity)
        return ActivityPublished(activity.id, activity.check_in_code)


@dataclass(frozen=True)
class SignupState:
    id: UUID
    status: str


@dataclass(frozen=True)
class SignUp(Command):
    activity_id: UUID
    volunteer_id: UUID

    def handle(self, uow: UnitOfWork) -> SignupState:
        # Loaded before the activity, whose lock the signups of a rush queue for.
        uow.find(Volunteer, self.volunteer_id)
        uow.find(Signup, signup_id(self.activity_id, self.volunteer_id))
        activity = uow.get(Activity, self.activity_id, "activity")
        volunteer = uow.get(Volunteer, self.volunteer_id, "volunteer")
        require_self_or_coordinator(uow, uow.ctx.actor, volunteer.id, activity.org_id)
        sid = signup_id(activity.id, volunteer.id)
        status = activity.take_seat(uow.ctx, sid, volunteer.id)
        signup = uow.find(Signup, sid)
        if signup is None:
            uow.add(
                Signup.new(
                    uow.ctx,
                    Signup.Requested,
                    id=sid,
                    activity_id=activity.id,
                    volunteer_id=volunteer.id,
                    org_id=activity.org_id,
                    status=status.value,
                    starts_at=activity.starts_at,
                    ends_at=activity.ends_at,
                )
            )
        else:
            signup.renew(uow.ctx, status.value)
        return SignupState(sid, status.value)


def _load_signup(uow: UnitOfWork, sid: UUID) -> Signup:
    return uow.get(Signup, sid, "signup")


@dataclass(frozen=True)
class CancelSignup(Command):
    signup_id: UUID
    reason: str = ""

    def handle(self, uow: UnitOfWork) -> SignupState:
        signup = _load_signup(uow, self.signup_id)
        require_self_or_coordinator(uow, uow.ctx.actor, signup.volunteer_id, signup.org_id)
        activity = uow.get(Activity, signup.activity_id, "activity")
        signup.cancel(uow.ctx, self.reason.strip() or "cancelled")
        promoted = activity.release_seat(uow.ctx, signup.id)
        if promoted is not None:
            _load_signup(uow, promoted).promote(uow.ctx)
        return SignupState(signup.id, signup.status.value)


def _authorise_attendance(uow: UnitOfWork, signup: Signup, code: str | None) -> None:
    """The volunteer with the activity's check-in code, or a coordinator on their behalf."""
    actor = uow.ctx.actor
    if is_self(actor, signup.volunteer_id):
        activity = uow.get(Activity, signup.activity_id, "activity")
        if code is None or code.strip() != activity.check_in_code:
            raise Forbidden("wrong-check-in-code", "the check-in code is missing or wrong")
        return
    require_self_or_coordinator(uow, actor, signup.volunteer_id, signup.org_id)


@dataclass(frozen=True)
class Attendance:
    id: UUID
    status: str
    at: datetime
    minutes: int | None = None


@dataclass(frozen=True)
class CheckIn(Command):
    signup_id: UUID
    at: datetime | None = None
    code: str | None = None

    def handle(self, uow: UnitOfWork) -> Attendance:
        signup = _load_signup(uow, self.signup_id)
        _authorise_attendance(uow, signup, self.code)
        at = self.at or uow.ctx.now
        signup.check_in(uow.ctx, uow.rules, at)
        volunteer_timesheet(uow, signup.volunteer_id).check_in(uow.ctx, uow.rules, signup.id, at)
        return Attendance(signup.id, signup.status.value, at)


@dataclass(frozen=True)
class CheckOut(Command):
    signup_id: UUID
    at: datetime | None = None
    code: str | None = None

    def handle(self, uow: UnitOfWork) -> Attendance:
        signup = _load_signup(uow, self.signup_id)
        _authorise_attendance(uow, signup, self.code)
        at = self.at or uow.ctx.now
        minutes = signup.check_out(uow.ctx, uow.rules, at)
        uow.get(Timesheet, timesheet_id(signup.volunteer_id)).check_out(uow.ctx, signup.id, at)
        return Attendance(signup.id, signup.status.value, at, minutes)


@dataclass(frozen=True)
class CloseUnattendedCheckIn(Command):
    """The sweeper's: a check-in still open when the activity's widened window has closed is
    closed at the window's end and flagged (nobody checked out) for the coordinator, who
    verifies it like any other; until then it would keep the volunteer from checking in."""

    signup_id: UUID

    def handle(self, uow: UnitOfWork) -> Attendance:
        signup = _load_signup(uow, self.signup_id)
        require_role(uow.ctx.actor, Role.SYSTEM)
        minutes = signup.close_unattended(uow.ctx, uow.rules)
        at = signup.closes_at(uow.rules)
        uow.get(Timesheet, timesheet_id(signup.volunteer_id)).check_out(uow.ctx, signup.id, at)
        return Attendance(signup.id, signup.status.value, at, minutes)


def volunteer_timesheet(uow: UnitOfWork, volunteer_id: UUID) -> Timesheet:
    """The volunteer's timesheet, started on first use."""
    sheet = uow.find(Timesheet, timesheet_id(volunteer_id))
    if sheet is None:
        sheet = uow.add(
            Timesheet.new(
                uow.ctx, Timesheet.Started, id=timesheet_id(volunteer_id), volunteer_id=volunteer_id
            )
        )
    return sheet


def credit_service(
    uow: UnitOfWork, volunteer_id: UUID, source_id: UUID, org_id: UUID, minutes: int
) -> int:
    """Credits verified service to the volunteer and restates their stars; returns the
    credits posted (fewer than the minutes above the balance cap)."""
    account = uow.get(Account, account_id(volunteer_id))
    before = account.service_minutes
    credited = account.credit_service(uow.ctx, uow.rules, source_id, org_id, minutes)
    restate_stars(uow, volunteer_id, before, account.service_minutes)
    return credited


def restate_stars(uow: UnitOfWork, volunteer_id: UUID, before: int, after: int) -> None:
    """After service time moved from `before` to `after` minutes: each star level newly
    reached goes into public notice (again, if it had been withdrawn or revoked), and each
    level no longer reached is revoked."""
    rules = uow.rules
    for level in range(rules.stars(after) + 1, rules.stars(before) + 1):
        award = uow.find(Award, star_award_id(volunteer_id, level))
        if award is not None:
            award.revoke(uow.ctx, f"service time corrected below {rules.star_hours(level)} h")
    for level in range(rules.stars(before) + 1, rules.stars(after) + 1):
        reason = f"reached {rules.star_hours(level)} h of service"
        award = uow.find(Award, star_award_id(volunteer_id, level))
        if award is not None:
            award.renew(uow.ctx, rules, reason)
            continue
        volunteer = uow.get(Volunteer, volunteer_id, "volunteer")
        uow.add(
            Award.announce(
                uow.ctx,
                rules,
                star_award_id(volunteer_id, level),
                volunteer_id,
                volunteer.home_org_id,
                AwardKind.STAR,
                title=f"{level}-star volunteer (星级志愿者)",
                reason=reason,
                level=level,
            )
        )


@dataclass(frozen=True)
class Verification:
    id: UUID
    status: str
    decision: str
    minutes: int
    credited_minutes: int


@dataclass(frozen=True)
class VerifySignup(Command):
    signup_id: UUID
    decision: Decision
    minutes: int | None = None
    reason: str | None = None

    def handle(self, uow: UnitOfWork) -> Verification:
        signup = _load_signup(uow, self.signup_id)
        require_role(uow.ctx.actor, Role.COORDINATOR)
        require_coordinator_of(uow, uow.ctx.actor, signup.org_id)
        verdict = signup.decide(self.decision, self.minutes, self.reason)
        credited = 0
        if verdict is not None:
            if verdict.credits_service:
                credited = credit_service(
                    uow, signup.volunteer_id, signup.id, signup.org_id, verdict.minutes
                )
            signup.verify(uow.ctx, verdict, credited)
        assert signup.decision is not None and signup.credited_minutes is not None
        return Verification(
            signup.id,
            signup.status.value,
            signup.decision.value,
            signup.credited_minutes,
            credited,
        )


# Transfers ----------------------------------------------------------------------------


class TransferKind(StrEnum):
    GIFT = "gift"
    DONATION = "donation"
    EXCHANGE = "exchange"


@dataclass(frozen=True)
class TransferDone:
    id: str
    debit_account: str
    credit_account: str
    minutes: int
    kind: str


@dataclass(frozen=True)
class Transfer(Command):
    from_volunteer_id: UUID
    minutes: int
    kind: TransferKind
    to_volunteer_id: UUID | None = None
    to_org_id: UUID | None = None
    memo: str = ""

    def handle(self, uow: UnitOfWork) -> TransferDone:
        sender = uow.get(Volunteer, self.from_volunteer_id, "volunteer")
        require_self_or_coordinator(uow, uow.ctx.actor, sender.id, sender.home_org_id)
        source = uow.get(Account, account_id(sender.id))
        if self.kind is TransferKind.DONATION:
            if self.to_org_id is None or self.to_volunteer_id is not None:
                raise Invalid("invalid-recipient", "a donation goes to an organisation (to_org_id)")
            org = uow.get(Organisation, self.to_org_id, "organisation")
            sent = source.send(
                uow.ctx, uow.rules, pool_account(org.id), self.minutes, self.kind.value, self.memo
            )
        else:
            if self.to_volunteer_id is None or self.to_org_id is not None:
                raise Invalid(
                    "invalid-recipient",
                    f"a {self.kind.value} goes to a volunteer (to_volunteer_id)",
                )
            recipient = uow.get(Volunteer, self.to_volunteer_id, "volunteer")
            family_only = (
                self.kind is TransferKind.GIFT
                or uow.rules.exchange_policy is TransferPolicy.FAMILY_ONLY
            )
            if family_only and sender.relation_to(recipient.id) is None:
                raise Forbidden(
                    "not-family", f"a {self.kind.value} may only go to a linked family member"
                )
            target = uow.get(Account, account_id(recipient.id))
            sent = source.send(
                uow.ctx,
                uow.rules,
                volunteer_account(recipient.id),
                self.minutes,
                self.kind.value,
                self.memo,
                recipient=target,
            )
        return TransferDone(
            sent["id"], sent["debit"], sent["credit"], sent["minutes"], sent["kind"]
        )


# Rewards and redemptions --------------------------------------------------------------


@dataclass(frozen=True)
class ListReward(Command):
    venue_id: UUID
    name: str
    cost_minutes: int
    stock: int
    per_volunteer_limit: int | None = None

    def handle(self, uow: UnitOfWork) -> Created:
        require_role(uow.ctx.actor, Role.COORDINATOR)
        venue = uow.get(Organisation, self.venue_id, "organisation")
        if venue.kind is not OrgKind.VENUE:
            raise Invalid("not-a-venue", "rewards are listed by a venue")
        require_coordinator_of(uow, uow.ctx.actor, venue.id)
        reward = Reward.list(
            uow.ctx, venue.id, self.name, self.cost_minutes, self.stock, self.per_volunteer_limit
        )
        return Created(uow.add(reward).id)


@dataclass(frozen=True)
class RedemptionState:
    id: UUID
    status: str
    code: str | None = None
    expires_at: datetime | None = None
    minutes: int | None = None


@dataclass(frozen=True)
class Redeem(Command):
    volunteer_id: UUID
    reward_id: UUID
    quantity: int = 1

    def handle(self, uow: UnitOfWork) -> RedemptionState:
        # Loaded before the reward, whose lock the redemptions of a popular reward queue for.
        uow.find(Volunteer, self.volunteer_id)
        uow.find(Account, account_id(self.volunteer_id))
        reward = uow.get(Reward, self.reward_id, "reward")
        actor = uow.ctx.actor
        if not is_redemption_party(actor, self.volunteer_id, reward.venue_id):
            raise Forbidden(
                "outside-scope", "a volunteer redeems for themself, a desk for its own venue"
            )
        uow.get(Volunteer, self.volunteer_id, "volunteer")
        account = uow.get(Account, account_id(self.volunteer_id))
        redemption_id = uuid4()
        minutes = reward.cost_minutes * self.quantity
        reward.reserve(uow.ctx, redemption_id, self.volunteer_id, self.quantity)
        account.hold(uow.ctx, uow.rules, redemption_id, minutes)
        redemption = Redemption.new(
            uow.ctx,
            Redemption.Reserved,
            id=redemption_id,
            volunteer_id=self.volunteer_id,
            reward_id=reward.id,
            venue_id=reward.venue_id,
            quantity=self.quantity,
            minutes=minutes,
            code=new_redemption_code(),
            expires_at=uow.ctx.now + timedelta(minutes=uow.rules.redemption_expiry_minutes),
        )
        uow.add(redemption)
        return RedemptionState(
            redemption.id, redemption.status.value, redemption.code, redemption.expires_at, minutes
        )


def _load_redemption(uow: UnitOfWork, redemption_id: UUID) -> Redemption:
    return uow.get(Redemption, redemption_id, "redemption")


@dataclass(frozen=True)
class FulfilRedemption(Command):
    redemption_id: UUID
    code: str

    def handle(self, uow: UnitOfWork) -> RedemptionState:
        redemption = _load_redemption(uow, self.redemption_id)
        actor = uow.ctx.actor
        if not (is_desk_of(actor, redemption.venue_id) or actor.role is Role.ADMIN):
            raise Forbidden("outside-scope", "only a desk of the reward's venue may hand it out")
        if redemption.is_overdue(uow.ctx.now):
            raise Conflict("redemption-expired", "the reservation has expired")
        redemption.fulfil(uow.ctx, self.code)
        account = uow.get(Account, account_id(redemption.volunteer_id))
        account.settle(uow.ctx, redemption.id, redemption.venue_id)
        return RedemptionState(redemption.id, redemption.status.value, minutes=redemption.minutes)


def _release(uow: UnitOfWork, redemption: Redemption, reason: str) -> None:
    account = uow.get(Account, account_id(redemption.volunteer_id))
    account.release(uow.ctx, redemption.id, reason)
    reward = uow.get(Reward, redemption.reward_id, "reward")
    reward.release(uow.ctx, redemption.id, redemption.volunteer_id, redemption.quantity)


@dataclass(frozen=True)
class CancelRedemption(Command):
    redemption_id: UUID
    reason: str = ""

    def handle(self, uow: UnitOfWork) -> RedemptionState:
        redemption = _load_redemption(uow, self.redemption_id)
        actor = uow.ctx.actor
        if not is_redemption_party(actor, redemption.volunteer_id, redemption.venue_id):
            raise Forbidden("outside-scope", "only the volunteer or the venue's desk may cancel")
        redemption.cancel(uow.ctx, self.reason.strip() or "cancelled")
        _release(uow, redemption, "cancelled")
        return RedemptionState(redemption.id, redemption.status.value)


@dataclass(frozen=True)
class ExpireRedemption(Command):
    redemption_id: UUID

    def handle(self, uow: UnitOfWork) -> RedemptionState:
        redemption = _load_redemption(uow, self.redemption_id)
        require_role(uow.ctx.actor, Role.SYSTEM)
        if not redemption.is_overdue(uow.ctx.now):
            if redemption.status is RedemptionStatus.RESERVED:
                raise Conflict("not-yet-expired", "the reservation has not expired yet")
            return RedemptionState(redemption.id, redemption.status.value)
        redemption.expire(uow.ctx)
        _release(uow, redemption, "expired")
        return RedemptionState(redemption.id, redemption.status.value)
