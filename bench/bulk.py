"""SPEC.md's large data set (1 million volunteers, 10 million events), built by the fastest
honest path: every event comes from the ledger's own commands and rules (`Command.handle`
on a unit of work, as the service runs them), but the aggregates stay in memory between
commands and their events are saved many thousands at a time, one library save (one
transaction, snapshots included) per chunk, instead of one transaction per command.

Each volunteer is registered (4 events) and as many as the event target needs serve once:
sign up, check in, check out, verified and credited (9 events), in activities of their own
(SIGNUPS_PER_ACTIVITY each, the size of a large real one)."""

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application, Repository
from eventsourcing.domain import Aggregate

from bench.dataset import SERVICE_MINUTES, volunteer_registration
from bench.world import World
from ledger.activities import Category
from ledger.commands.attendance import (
    ActivityPublished,
    CheckIn,
    CheckOut,
    PublishActivity,
    SignUp,
    VerifySignup,
)
from ledger.commands.base import Command
from ledger.engine.locks import StripedLocks
from ledger.engine.unit_of_work import UnitOfWork
from ledger.identity import signup_id
from ledger.signups import Decision

REGISTRATION_EVENTS = 4  # the volunteer, the claims of its number and document, its account
SERVICE_EVENTS = 9  # a volunteer's first service: the timesheet starts with it
CHUNK_VOLUNTEERS = 250  # about 3,000 events per save
SIGNUPS_PER_ACTIVITY = 500


class StagedRepository:
    """The aggregates a chunk of commands touched, held in memory in front of the store, so
    that each command builds on the previous ones without a save in between.

    The build is the store's only writer while it runs, so the ids in the store are read
    once at the start and kept up to date as chunks are saved: an id in neither place does
    not exist, and asking the store about it would only cost a round trip."""

    def __init__(self, store: Repository[Any], stored_ids: set[UUID]) -> None:
        self._store = store
        self._stored_ids = stored_ids
        self.aggregates: dict[UUID, Aggregate] = {}

    def get(self, aggregate_id: UUID) -> Aggregate:
        staged = self.aggregates.get(aggregate_id)
        if staged is not None:
            return staged
        if aggregate_id not in self._stored_ids:
            raise AggregateNotFoundError(aggregate_id)
        aggregate: Aggregate = self._store.get(aggregate_id)
        self.aggregates[aggregate_id] = aggregate
        return aggregate

    def changed(self) -> list[Aggregate]:
        return [a for a in self.aggregates.values() if a.pending_events]


@dataclass(frozen=True)
class Plan:
    volunteers: int
    services: int

    @property
    def events(self) -> int:
        activities = math.ceil(self.services / SIGNUPS_PER_ACTIVITY)
        return self.volunteers * REGISTRATION_EVENTS + self.services * SERVICE_EVENTS + activities


def plan(volunteers: int, events: int) -> Plan:
    """At least `volunteers` more volunteers and `events` more events: each registers, and
    as many as the events need serve once (more volunteers if one service each is short)."""
    volunteers = max(volunteers, math.ceil(events / (REGISTRATION_EVENTS + SERVICE_EVENTS)), 0)
    services = math.ceil(max(events - volunteers * REGISTRATION_EVENTS, 0) / SERVICE_EVENTS)
    return Plan(volunteers, min(services, volunteers))


@dataclass(frozen=True)
class Growth:
    volunteers: int
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


def stored_aggregate_ids(app: Application[UUID]) -> set[UUID]:
    ids: set[UUID] = set()
    position = 0
    while True:
        batch = app.recorder.select_notifications(start=position + 1, limit=10_000)
        if not batch:
            return ids
        ids.update(n.originator_id for n in batch)  # type: ignore[misc]
        position = batch[-1].id


class BulkBuilder:
    def __init__(self, world: World) -> None:
        self.world = world
        self.app = world.rt.app
        self.stored_ids = stored_aggregate_ids(self.app)
        self.staged = StagedRepository(self.app.repository, self.stored_ids)
        self._locks = StripedLocks()
        self.activity: UUID | None = None  # the one volunteers sign up to now
        self.activity_signups = 0

    def run(self, command: Command) -> Any:
        world = self.world
        uow = UnitOfWork(
            self.staged,  # type: ignore[arg-type]  # it has the one method a unit of work uses
            world.ctx(),
            world.rt.settings.rules,
            self._locks,
            world.rt.service.pepper,
        )
        try:
            result = command.handle(uow)
        finally:
            uow.close()
        for aggregate in uow.changed():
            self.staged.aggregates[aggregate.id] = aggregate
        return result

    def save(self) -> int:
        """Saves what the chunk changed in one transaction; returns how many events."""
        changed = self.staged.changed()
        events = sum(len(a.pending_events) for a in changed)
        if changed:
            self.app.save(*changed)
        self.stored_ids.update(a.id for a in changed)
        self.staged.aggregates.clear()
        return events

    def chunk(self, first: int, count: int, serving: int) -> int:
        """Registers volunteers first..first+count; the first `serving` of them serve once."""
        world = self.world
        team = world.the_town.team
        for n in range(first, first + count):
            body = self.run(volunteer_registration(n, team))
            volunteer = body.id
            world.volunteers.append(volunteer)
            if n - first < serving:
                self.serve(volunteer)
        return self.save()

    def serve(self, volunteer: UUID) -> None:
        world = self.world
        if self.activity is None or self.activity_signups == SIGNUPS_PER_ACTIVITY:
            self.activity = self.publish()
            self.activity_signups = 0
        self.activity_signups += 1
        sid = signup_id(self.activity, volunteer)
        at = world.started - timedelta(days=1, hours=3)
        self.run(SignUp(self.activity, volunteer))
        self.run(CheckIn(sid, at=at))
        self.run(CheckOut(sid, at=at + timedelta(minutes=SERVICE_MINUTES)))
        self.run(VerifySignup(sid, Decision.APPROVE))

    def publish(self) -> UUID:
        world = self.world
        published: ActivityPublished = self.run(
            PublishActivity(
                world.the_town.team,
                f"基准批量服务 {uuid4().hex[:8]}",
                Category.ELDER_CARE,
                "基准敬老院",
                world.started - timedelta(days=2),
                world.started + timedelta(days=2),
                capacity=SIGNUPS_PER_ACTIVITY,
            )
        )
        return published.id


def chunks(total: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, total, size):
        yield start, min(size, total - start)


def build(world: World, target: Plan, seconds: float | None = None) -> Growth:
    """Adds `target`'s volunteers and services, chunk by chunk, stopping early once
    `seconds` have passed."""
    builder = BulkBuilder(world)
    started = time.perf_counter()
    first = world.documents
    world.documents += target.volunteers
    registered = served = written = 0
    last_said = started
    for offset, count in chunks(target.volunteers, CHUNK_VOLUNTEERS):
        serving = max(min(count, target.services - served), 0)
        written += builder.chunk(first + offset, count, serving)
        registered += count
        served += serving
        now = time.perf_counter()
        if seconds is not None and now - started >= seconds:
            break
        if now - last_said > 30:
            last_said = now
            world.say(
                f"data set: {registered:,} of {target.volunteers:,} volunteers, "
                f"{written:,} events ({written / (now - started):,.0f} events/s)"
            )
    return Growth(registered, written, time.perf_counter() - started)
