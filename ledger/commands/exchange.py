"""Credits changing hands: transfers (gifts, donations, exchanges), rewards and their
two-phase redemptions (reserve, then hand out once, cancel or expire)."""

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from ledger import bounds
from ledger.accounts import Account, TransferKind, pool_account, volunteer_account
from ledger.commands.base import Command, Created, UnitOfWork
from ledger.commands.permissions import (
    is_desk_of,
    is_redemption_party,
    require_coordinator_of,
    require_role,
    require_self_or_coordinator,
)
from ledger.context import Role
from ledger.errors import Conflict, Forbidden, Invalid, Kind, WrongSecret
from ledger.identity import (
    account_id,
)
from ledger.organisations import Organisation, OrgKind
from ledger.rewards import Redemption, RedemptionStatus, Reward, new_redemption_code
from ledger.rules import TransferPolicy
from ledger.volunteers import Volunteer, check_pin

PIN = "pin"  # the target kinds of the secrets tried, as the guess counts name them
REDEMPTION_CODE = "redemption-code"


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
        return TransferDone(sent.id, sent.debit, sent.credit, sent.minutes, sent.kind)


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


def require_pin(uow: UnitOfWork, volunteer: Volunteer, pin: str | None) -> None:
    """The volunteer's PIN, typed by the volunteer at the desk: the proof that they are
    present. A wrong one counts as a failed guess at their PIN."""
    if pin is None:
        raise Forbidden("pin-required", "a desk acts for a volunteer only with the volunteer's PIN")
    check_pin(pin)
    if not volunteer.has_pin:
        raise Conflict(
            "pin-not-set", "the volunteer has no PIN yet: they (or their coordinator) set one"
        )
    uow.secrets.check(PIN, str(volunteer.id))
    if not uow.secrets.pin_matches(volunteer.id, pin):
        raise WrongSecret(
            Kind.FORBIDDEN, "wrong-pin", "the PIN does not match", PIN, str(volunteer.id)
        )


@dataclass(frozen=True)
class Redeem(Command):
    """Reserves a reward: by the volunteer themself (the code is theirs to show at the
    desk), by the venue's desk only with the volunteer's PIN (the code is then not shown to
    the desk), or by an admin."""

    volunteer_id: UUID
    reward_id: UUID
    quantity: int = 1
    pin: str | None = field(default=None, repr=False)

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
        volunteer = uow.get(Volunteer, self.volunteer_id, "volunteer")
        by_desk = actor.role is Role.DESK
        if by_desk:
            require_pin(uow, volunteer, self.pin)
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
        # The code is the volunteer's: a desk that saw it could hand the reward out alone.
        code = None if by_desk else redemption.code
        return RedemptionState(
            redemption.id, redemption.status.value, code, redemption.expires_at, minutes
        )


def _load_redemption(uow: UnitOfWork, redemption_id: UUID) -> Redemption:
    return uow.get(Redemption, redemption_id, "redemption")


@dataclass(frozen=True)
class FulfilRedemption(Command):
    """Hands a reserved reward out against a secret only the volunteer holds: the
    redemption code (shown to the volunteer, never to a desk) or the volunteer's PIN."""

    redemption_id: UUID
    code: str | None = field(default=None, repr=False)
    pin: str | None = field(default=None, repr=False)

    def handle(self, uow: UnitOfWork) -> RedemptionState:
        redemption = _load_redemption(uow, self.redemption_id)
        actor = uow.ctx.actor
        if not (is_desk_of(actor, redemption.venue_id) or actor.role is Role.ADMIN):
            raise Forbidden("outside-scope", "only a desk of the reward's venue may hand it out")
        if (self.code is None) == (self.pin is None):
            raise Invalid("code-or-pin", "give the redemption code or the volunteer's PIN")
        if redemption.is_overdue(uow.ctx.now):
            raise Conflict("redemption-expired", "the reservation has expired")
        redemption.require_reserved()
        if self.pin is not None:
            volunteer = uow.get(Volunteer, redemption.volunteer_id, "volunteer")
            require_pin(uow, volunteer, self.pin)
        else:
            assert self.code is not None
            _require_code(uow, redemption, self.code)
        redemption.fulfil(uow.ctx)
        account = uow.get(Account, account_id(redemption.volunteer_id))
        account.settle(uow.ctx, redemption.id, redemption.venue_id)
        return RedemptionState(redemption.id, redemption.status.value, minutes=redemption.minutes)


def _require_code(uow: UnitOfWork, redemption: Redemption, code: str) -> None:
    target = str(redemption.id)
    typed = bounds.CODE.check(code).strip().upper().encode()  # any text: compare bytes
    uow.secrets.check(REDEMPTION_CODE, target)
    if not secrets.compare_digest(typed, redemption.code.encode()):
        raise WrongSecret(
            Kind.CONFLICT,
            "wrong-code",
            "the redemption code does not match",
            REDEMPTION_CODE,
            target,
        )


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
