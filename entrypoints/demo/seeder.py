"""What the seeding steps share: the seeder that runs their commands, and what earlier steps
made for later ones."""

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from entrypoints.demo.data import ADMIN, BENEFICIARIES, VOLUNTEERS
from entrypoints.demo.people import Person
from ledger.activities import Category
from ledger.commands.base import Command
from ledger.context import Actor, Context, Role
from timebank.runtime import Runtime

# A past activity's date and its row of HISTORY.
Scheduled = tuple[date, tuple[str, Category, str, int, int, bool]]


@dataclass
class DemoTown:
    """What was seeded: ids worth showing to whoever opens the demo."""

    district_id: UUID
    street_id: UUID
    community_ids: list[UUID]
    team_ids: list[UUID]
    venue_id: UUID
    reward_ids: list[UUID]
    volunteer_ids: list[UUID]
    activity_ids: list[UUID]  # today's, then the history's
    year: str  # the calendar year whose reports show the history
    campaign: str
    backfill_ids: list[UUID] = field(default_factory=list)
    dispute_ids: list[UUID] = field(default_factory=list)
    award_ids: list[UUID] = field(default_factory=list)
    training_ids: list[UUID] = field(default_factory=list)
    commands: int = 0
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Served:
    """A signup verified today."""

    signup_id: UUID
    volunteer: int
    minutes: int


def _now() -> datetime:
    return datetime.now(UTC)


class Seeder:
    """Runs the seeding's commands (request ids from the seeded random numbers) and holds
    what each step made: volunteers are numbered by their place in `volunteers`."""

    # found_town
    district: UUID
    street: UUID
    communities: list[UUID]
    teams: list[UUID]
    homes: list[UUID]  # where volunteers are members
    venue: UUID
    rewards: list[UUID]
    reward_cost: dict[UUID, int]
    maker: Actor  # the street's coordinator: makes the back-fills
    checker: Actor  # the district's: approves or rejects them
    # enrol_volunteers, link_families
    people: list[Person]
    volunteers: list[UUID]
    numbers: list[str]
    family: list[tuple[int, int]]
    # plan_history, hold_past_activities
    organisers: list[UUID]
    anchor: date  # the local date of today's first service
    days: list[date]
    year: int
    campaign: str
    schedule: list[Scheduled]
    core: list[int]
    crews: list[list[int]]
    past_activities: list[tuple[UUID, UUID]]  # activity, organiser
    backfills: list[UUID]
    backfilled: list[tuple[UUID, int]]  # approved back-fill, volunteer (not core)
    # publish_today, attend_slots
    activities: list[UUID]
    slot_of: dict[int, int]  # activity index, slot
    daily_limit: int
    check_ins: dict[int, int]
    verified: list[Served]
    adjusted_signups: list[Served]
    # the rest
    disputes: list[UUID]
    trainings: list[UUID]
    awards: list[UUID]

    def __init__(self, rt: Runtime, rng: random.Random) -> None:
        self.rt = rt
        self.rng = rng
        self.commands = 0
        self.counts: dict[str, int] = {}
        self.rules = rt.settings.rules
        self.now = _now()
        self.zone = ZoneInfo(self.rules.timezone)
        self.balance: dict[int, int] = dict.fromkeys(range(VOLUNTEERS), 0)
        self.served: dict[int, int] = dict.fromkeys(range(VOLUNTEERS), 0)  # service minutes

    def run(self, command: Command, what: str, actor: Actor = ADMIN) -> dict[str, Any]:
        ctx = Context(actor, f"demo-{uuid.UUID(int=self.rng.getrandbits(128))}", _now())
        body = self.rt.service.execute(ctx, command).body
        self.commands += 1
        self.counts[what] = self.counts.get(what, 0) + 1
        return body

    def volunteer_actor(self, volunteer: int) -> Actor:
        number = self.numbers[volunteer]
        return Actor(f"demo-volunteer-{number}", Role.VOLUNTEER, self.volunteers[volunteer])

    def beneficiaries(self, category: Category) -> int:
        return self.rng.randint(*BENEFICIARIES[category])

    def town(self) -> DemoTown:
        return DemoTown(
            district_id=self.district,
            street_id=self.street,
            community_ids=self.communities,
            team_ids=self.teams,
            venue_id=self.venue,
            reward_ids=self.rewards,
            volunteer_ids=self.volunteers,
            activity_ids=self.activities + [activity for activity, _ in self.past_activities],
            year=str(self.year),
            campaign=self.campaign,
            backfill_ids=self.backfills,
            dispute_ids=self.disputes,
            award_ids=self.awards,
            training_ids=self.trainings,
            commands=self.commands,
            counts=dict(self.counts),
        )
