"""Reads of the rewards view: a venue's rewards with the stock left, in the order listed
(the venue's desk, coordinators of the venue or above, auditors, admins)."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from ledger.commands.permissions import require_reward_reader
from ledger.context import Context
from ledger.errors import Invalid
from ledger.organisations import Organisation, OrgKind
from projections.db import Database
from projections.pagination import Page
from projections.reads import Views
from projections.rewards.projection import NAME


@dataclass(frozen=True)
class RewardRow:
    id: UUID
    name: str
    cost_minutes: int
    stock: int  # left: not reserved and not handed out
    per_volunteer_limit: int | None
    position: int  # of the event that listed it: the list's order

    @property
    def key(self) -> tuple[int]:
        return (self.position,)


@dataclass(frozen=True)
class RewardPage:
    venue_id: UUID
    items: list[RewardRow]
    next_cursor: str | None
    position: int


def _row(r: Sequence[Any]) -> RewardRow:
    limit = None if r[4] is None else int(r[4])
    return RewardRow(UUID(r[0]), r[1], int(r[2]), int(r[3]), limit, int(r[5]))


def rewards_at_venue(
    db: Database, venue_id: UUID, limit: int, after: tuple[Any, ...] | None = None
) -> list[RewardRow]:
    """Up to `limit` of the venue's rewards listed after position `after`, in listing order."""
    with db.read() as cur:
        cur.execute(
            "SELECT id, name, cost_minutes, stock, per_volunteer_limit, position FROM tb_rewards "
            "WHERE venue_id = %s AND position > %s ORDER BY position LIMIT %s",
            (str(venue_id), after[0] if after else -1, limit),
        )
        return [_row(r) for r in cur.fetchall()]


class RewardsQueries:
    def __init__(self, views: Views) -> None:
        self.views = views

    def at_venue(
        self, ctx: Context, venue_id: UUID, page: Page, min_position: int | None
    ) -> RewardPage:
        """A page of the venue's rewards. Who: the venue's desk, a coordinator of the venue
        or above, an auditor, an admin."""
        venue = self.views.aggregates.load(Organisation, venue_id, "organisation")
        require_reward_reader(self.views.aggregates.reader(ctx), ctx.actor, venue.id)
        if venue.kind is not OrgKind.VENUE:
            raise Invalid("not-a-venue", "rewards are listed by a venue")
        after = page.after((int,))
        views = self.views
        views.wait(NAME, min_position)
        position = views.position(NAME)
        rows = rewards_at_venue(views.db, venue.id, page.limit + 1, after)
        items, next_cursor = page.of(rows, lambda r: r.key)
        return RewardPage(venue.id, items, next_cursor, position)
