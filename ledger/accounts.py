"""Volunteer accounts: double-entry postings in integer minutes, holds, limit and cap.

A volunteer account is the consistency boundary for its lower limit. The other side of
each posting (an organisation's issuance account or pool, a venue's redemption account)
has no limit and is derived from the postings by the projections.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from ledger import bounds
from ledger.base import LedgerAggregate
from ledger.context import Context
from ledger.errors import Conflict, Invalid
from ledger.rules import Rules


class TransferKind(StrEnum):
    GIFT = "gift"
    DONATION = "donation"
    EXCHANGE = "exchange"


def volunteer_account(volunteer_id: UUID) -> str:
    return f"volunteer:{volunteer_id}"


def issuance_account(org_id: UUID) -> str:
    return f"issuance:{org_id}"


def pool_account(org_id: UUID) -> str:
    return f"pool:{org_id}"


def venue_account(venue_id: UUID) -> str:
    return f"venue:{venue_id}"


@dataclass(frozen=True)
class Posting:
    """One movement of credits: `minutes` leave `debit` and arrive at `credit`. Events carry
    it as a plain mapping of these fields (`stored`), which `of` reads back."""

    id: str
    debit: str
    credit: str
    minutes: int
    kind: str

    @classmethod
    def new(cls, debit: str, credit: str, minutes: int, kind: str) -> "Posting":
        return cls(str(uuid4()), debit, credit, minutes, kind)

    @classmethod
    def of(cls, stored: Mapping[str, Any]) -> "Posting":
        return cls(
            stored["id"], stored["debit"], stored["credit"], stored["minutes"], stored["kind"]
        )

    @property
    def stored(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "debit": self.debit,
            "credit": self.credit,
            "minutes": self.minutes,
            "kind": self.kind,
        }


class Account(LedgerAggregate):
    class Opened(LedgerAggregate.Created):
        volunteer_id: UUID

    class ServiceCredited(LedgerAggregate.Event):
        """Verified service: service time counts in full, credits up to the cap."""

        class_version = 2
        source_id: UUID  # the signup or back-fill credited
        org_id: UUID
        service_minutes: int
        posting: dict[str, Any] | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["source_id"] = state.pop("signup_id")  # back-fills made it more than signups

        def apply(self, account: "Account") -> None:
            account.service_minutes += self.service_minutes
            if self.posting:
                account.balance += Posting.of(self.posting).minutes
                account.earned += Posting.of(self.posting).minutes

    class ServiceCorrected(LedgerAggregate.Event):
        """A dispute's correction: the credits first posted for the source go back to the
        issuing organisation, and the corrected minutes are credited anew (up to the cap)."""

        source_id: UUID
        dispute_id: UUID
        org_id: UUID
        previous_minutes: int
        corrected_minutes: int
        reversal: dict[str, Any] | None
        recredit: dict[str, Any] | None

        def apply(self, account: "Account") -> None:
            account.service_minutes += self.corrected_minutes - self.previous_minutes
            if self.reversal:  # takes back what was earned: no spending
                account.balance -= Posting.of(self.reversal).minutes
                account.earned -= Posting.of(self.reversal).minutes
            if self.recredit:
                account.balance += Posting.of(self.recredit).minutes
                account.earned += Posting.of(self.recredit).minutes

    class TransferSent(LedgerAggregate.Event):
        posting: dict[str, Any]
        memo: str

        def apply(self, account: "Account") -> None:
            account.balance -= Posting.of(self.posting).minutes
            account.spent += Posting.of(self.posting).minutes

    class TransferReceived(LedgerAggregate.Event):
        posting_id: str
        from_account: str
        minutes: int
        kind: str
        memo: str

        def apply(self, account: "Account") -> None:
            account.balance += self.minutes
            account.earned += self.minutes

    class CreditsHeld(LedgerAggregate.Event):
        redemption_id: UUID
        minutes: int

        def apply(self, account: "Account") -> None:
            account.holds[str(self.redemption_id)] = self.minutes

    class HoldReleased(LedgerAggregate.Event):
        redemption_id: UUID
        minutes: int
        reason: str

        def apply(self, account: "Account") -> None:
            del account.holds[str(self.redemption_id)]

    class HoldSettled(LedgerAggregate.Event):
        redemption_id: UUID
        posting: dict[str, Any]

        def apply(self, account: "Account") -> None:
            del account.holds[str(self.redemption_id)]
            account.balance -= Posting.of(self.posting).minutes
            account.spent += Posting.of(self.posting).minutes

    def __init__(self, volunteer_id: UUID) -> None:
        self.volunteer_id = volunteer_id
        self.balance = 0  # posted: the sum of this account's postings
        self.earned = 0
        self.spent = 0
        self.service_minutes = 0
        self.holds: dict[str, int] = {}  # redemption id -> reserved minutes

    @property
    def name(self) -> str:
        return volunteer_account(self.volunteer_id)

    @property
    def reserved(self) -> int:
        return sum(self.holds.values())

    @property
    def available(self) -> int:
        return self.balance - self.reserved

    def _require_spendable(self, minutes: int, rules: Rules) -> None:
        if minutes <= 0:
            raise Invalid("invalid-amount", "the amount must be a positive number of minutes")
        if self.available - minutes < -rules.credit_limit_minutes:
            raise Conflict(
                "insufficient-balance",
                f"{minutes} minutes requested but only {self.available} available"
                + (
                    f" (credit limit {rules.credit_limit_minutes})"
                    if rules.credit_limit_minutes
                    else ""
                ),
            )

    def room_below_cap(self, rules: Rules) -> int | None:
        if rules.balance_cap_minutes is None:
            return None
        return max(rules.balance_cap_minutes - self.balance, 0)

    def credit_service(
        self, ctx: Context, rules: Rules, source_id: UUID, org_id: UUID, minutes: int
    ) -> int:
        """Credits verified service; returns the credits posted (at most `minutes`)."""
        room = self.room_below_cap(rules)
        credited = minutes if room is None else min(minutes, room)
        self.emit(
            ctx,
            self.ServiceCredited,
            source_id=source_id,
            org_id=org_id,
            service_minutes=minutes,
            posting=Posting.new(issuance_account(org_id), self.name, credited, "service").stored
            if credited > 0
            else None,
        )
        return credited

    def correct_service(
        self,
        ctx: Context,
        rules: Rules,
        source_id: UUID,
        dispute_id: UUID,
        org_id: UUID,
        previous: tuple[int, int],
        corrected_minutes: int,
    ) -> int:
        """Reverses the credits posted for the source and credits `corrected_minutes` anew.
        `previous` is the source's (service minutes, credits) before the correction.
        Returns the credits re-credited (at most `corrected_minutes`, under the cap)."""
        previous_minutes, previous_credits = previous
        room = None
        if rules.balance_cap_minutes is not None:
            room = max(rules.balance_cap_minutes - (self.balance - previous_credits), 0)
        recredited = corrected_minutes if room is None else min(corrected_minutes, room)
        net = recredited - previous_credits
        spendable = self.available + rules.credit_limit_minutes
        if net < 0 and spendable + net < 0:
            raise Conflict(
                "insufficient-balance",
                f"the correction takes back {-net} minutes of credits but only "
                f"{max(spendable, 0)} are available: {-(spendable + net)} minutes are missing "
                "(already spent or reserved)",
            )
        issuer = issuance_account(org_id)
        reversal = Posting.new(self.name, issuer, previous_credits, "reversal")
        recredit = Posting.new(issuer, self.name, recredited, "service")
        self.emit(
            ctx,
            self.ServiceCorrected,
            source_id=source_id,
            dispute_id=dispute_id,
            org_id=org_id,
            previous_minutes=previous_minutes,
            corrected_minutes=corrected_minutes,
            reversal=reversal.stored if previous_credits > 0 else None,
            recredit=recredit.stored if recredited > 0 else None,
        )
        return recredited

    def send(
        self,
        ctx: Context,
        rules: Rules,
        to_account: str,
        minutes: int,
        kind: str,
        memo: str,
        recipient: "Account | None" = None,
    ) -> Posting:
        bounds.TRANSFER_MINUTES.check(minutes)
        bounds.REASON.check(memo)
        self._require_spendable(minutes, rules)
        if recipient is not None:
            if recipient.id == self.id:
                raise Invalid("invalid-recipient", "an account cannot send credits to itself")
            room = recipient.room_below_cap(rules)
            if room is not None and minutes > room:
                raise Conflict(
                    "recipient-cap-reached",
                    f"the recipient can receive at most {room} more minutes (balance cap)",
                )
        sent = Posting.new(self.name, to_account, minutes, kind)
        self.emit(ctx, self.TransferSent, posting=sent.stored, memo=memo)
        if recipient is not None:
            recipient.emit(
                ctx,
                recipient.TransferReceived,
                posting_id=sent.id,
                from_account=self.name,
                minutes=minutes,
                kind=kind,
                memo=memo,
            )
        return sent

    def hold(self, ctx: Context, rules: Rules, redemption_id: UUID, minutes: int) -> None:
        self._require_spendable(minutes, rules)
        self.emit(ctx, self.CreditsHeld, redemption_id=redemption_id, minutes=minutes)

    def release(self, ctx: Context, redemption_id: UUID, reason: str) -> None:
        minutes = self.holds[str(redemption_id)]
        self.emit(
            ctx, self.HoldReleased, redemption_id=redemption_id, minutes=minutes, reason=reason
        )

    def settle(self, ctx: Context, redemption_id: UUID, venue_id: UUID) -> Posting:
        minutes = self.holds[str(redemption_id)]
        settled = Posting.new(self.name, venue_account(venue_id), minutes, "redemption")
        self.emit(ctx, self.HoldSettled, redemption_id=redemption_id, posting=settled.stored)
        return settled
