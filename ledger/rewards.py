"""Rewards at a venue and two-phase redemptions: reserve, then fulfil once, cancel or expire."""

import secrets
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from ledger import bounds
from ledger.base import LedgerAggregate
from ledger.context import Context
from ledger.errors import Conflict

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 8


def new_redemption_code() -> str:
    """Eight characters drawn uniformly from the 32 of the alphabet (a byte's low 5 bits)."""
    return "".join(CODE_ALPHABET[b & 31] for b in secrets.token_bytes(CODE_LENGTH))


class Reward(LedgerAggregate):
    contended = True  # a popular reward is redeemed by many at once

    class Listed(LedgerAggregate.Created):
        class_version = 2  # v2: per_volunteer_limit within bounds.PER_VOLUNTEER_LIMIT

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            # Recorded before the bound was enforced: a limit beyond it limits nothing.
            limit = state["per_volunteer_limit"]
            if limit is not None and limit > bounds.PER_VOLUNTEER_LIMIT.high:
                state["per_volunteer_limit"] = None

        venue_id: UUID
        name: str
        cost_minutes: int
        stock: int
        per_volunteer_limit: int | None

    class StockReserved(LedgerAggregate.Event):
        redemption_id: UUID
        volunteer_id: UUID
        quantity: int

        def apply(self, reward: "Reward") -> None:
            reward.stock -= self.quantity
            key = str(self.volunteer_id)
            reward.taken[key] = reward.taken.get(key, 0) + self.quantity

    class StockReleased(LedgerAggregate.Event):
        redemption_id: UUID
        volunteer_id: UUID
        quantity: int

        def apply(self, reward: "Reward") -> None:
            reward.stock += self.quantity
            reward.taken[str(self.volunteer_id)] -= self.quantity

    def __init__(
        self,
        venue_id: UUID,
        name: str,
        cost_minutes: int,
        stock: int,
        per_volunteer_limit: int | None,
    ) -> None:
        self.venue_id = venue_id
        self.name = name
        self.cost_minutes = cost_minutes
        self.stock = stock  # available: not reserved and not handed out
        self.per_volunteer_limit = per_volunteer_limit
        self.taken: dict[str, int] = {}  # volunteer id -> reserved or handed out

    @classmethod
    def list(
        cls,
        ctx: Context,
        venue_id: UUID,
        name: str,
        cost_minutes: int,
        stock: int,
        per_volunteer_limit: int | None,
    ) -> "Reward":
        bounds.NAME.check(name)
        bounds.COST_MINUTES.check(cost_minutes)
        bounds.STOCK.check(stock)
        if per_volunteer_limit is not None:
            bounds.PER_VOLUNTEER_LIMIT.check(per_volunteer_limit)
        reward: Reward = cls.new(
            ctx,
            cls.Listed,
            venue_id=venue_id,
            name=name.strip(),
            cost_minutes=cost_minutes,
            stock=stock,
            per_volunteer_limit=per_volunteer_limit,
        )
        return reward

    def reserve(self, ctx: Context, redemption_id: UUID, volunteer_id: UUID, quantity: int) -> None:
        bounds.QUANTITY.check(quantity)
        if quantity > self.stock:
            raise Conflict("insufficient-stock", f"only {self.stock} left in stock")
        if self.per_volunteer_limit is not None:
            already = self.taken.get(str(volunteer_id), 0)
            if already + quantity > self.per_volunteer_limit:
                raise Conflict(
                    "per-volunteer-limit",
                    f"at most {self.per_volunteer_limit} per volunteer; {already} already taken",
                )
        self.emit(
            ctx,
            self.StockReserved,
            redemption_id=redemption_id,
            volunteer_id=volunteer_id,
            quantity=quantity,
        )

    def release(self, ctx: Context, redemption_id: UUID, volunteer_id: UUID, quantity: int) -> None:
        self.emit(
            ctx,
            self.StockReleased,
            redemption_id=redemption_id,
            volunteer_id=volunteer_id,
            quantity=quantity,
        )


class RedemptionStatus(StrEnum):
    RESERVED = "reserved"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class Redemption(LedgerAggregate):
    class Reserved(LedgerAggregate.Created):
        volunteer_id: UUID
        reward_id: UUID
        venue_id: UUID
        quantity: int
        minutes: int
        code: str
        expires_at: datetime

    class Fulfilled(LedgerAggregate.Event):
        def apply(self, redemption: "Redemption") -> None:
            redemption.status = RedemptionStatus.FULFILLED

    class Cancelled(LedgerAggregate.Event):
        reason: str

        def apply(self, redemption: "Redemption") -> None:
            redemption.status = RedemptionStatus.CANCELLED

    class Expired(LedgerAggregate.Event):
        def apply(self, redemption: "Redemption") -> None:
            redemption.status = RedemptionStatus.EXPIRED

    def __init__(
        self,
        volunteer_id: UUID,
        reward_id: UUID,
        venue_id: UUID,
        quantity: int,
        minutes: int,
        code: str,
        expires_at: datetime,
    ) -> None:
        self.volunteer_id = volunteer_id
        self.reward_id = reward_id
        self.venue_id = venue_id
        self.quantity = quantity
        self.minutes = minutes
        self.code = code
        self.expires_at = expires_at
        self.status = RedemptionStatus.RESERVED

    def is_overdue(self, now: datetime) -> bool:
        return self.status is RedemptionStatus.RESERVED and now >= self.expires_at

    def require_reserved(self) -> None:
        if self.status is not RedemptionStatus.RESERVED:
            raise Conflict(
                f"redemption-{self.status.value}", f"the redemption is already {self.status.value}"
            )

    def fulfil(self, ctx: Context) -> None:
        """Hands it out: the caller has checked the volunteer's code or PIN."""
        self.require_reserved()
        self.emit(ctx, self.Fulfilled)

    def cancel(self, ctx: Context, reason: str) -> None:
        self.require_reserved()
        self.emit(ctx, self.Cancelled, reason=bounds.REASON.check(reason))

    def expire(self, ctx: Context) -> None:
        self.require_reserved()
        self.emit(ctx, self.Expired)
