"""Rewards: each reward listed at a venue (name, cost in minutes, per-volunteer limit) with
its stock left, as the Reward aggregate counts it: a reservation takes its quantity, a
cancelled or expired one gives it back (StockReleased), a hand-out changes nothing."""

from typing import Any

from eventsourcing.domain import DomainEventProtocol

from ledger.rewards import Reward
from projections.base import ProjectionCursor, topic

NAME = "rewards"
REWARD_COLUMNS = (
    "id",
    "venue_id",
    "name",
    "cost_minutes",
    "stock",
    "per_volunteer_limit",
    "position",
)


class RewardsProjection:
    name = NAME
    topics = frozenset(
        topic(c) for c in (Reward.Listed, Reward.StockReserved, Reward.StockReleased)
    )
    tables: tuple[str, ...] = ("tb_rewards",)

    def apply(self, cur: ProjectionCursor, event: DomainEventProtocol[Any], position: int) -> None:
        reward_id = str(event.originator_id)
        if isinstance(event, Reward.Listed):
            row = (
                reward_id,
                str(event.venue_id),
                event.name,
                event.cost_minutes,
                event.stock,
                event.per_volunteer_limit,
                position,
            )
            cur.insert("tb_rewards", REWARD_COLUMNS, [row])
        elif isinstance(event, Reward.StockReserved | Reward.StockReleased):
            taken = event.quantity if isinstance(event, Reward.StockReserved) else -event.quantity
            cur.execute(
                "UPDATE tb_rewards SET stock = stock - %s WHERE id = %s", (taken, reward_id)
            )
