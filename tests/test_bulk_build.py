"""The bench's bulk build writes what the ledger's commands write: the same rules refuse
what they refuse, the events replay into the same read models, and the volunteers it
builds work with the service afterwards."""

import pytest

from bench import bulk, dataset
from bench.profile import QUICK
from bench.world import World
from ledger.accounts import TransferKind
from ledger.commands.exchange import Transfer
from ledger.errors import Conflict
from projections.balances.queries import volunteer_account_row
from timebank.runtime import Runtime


@pytest.fixture
def world(runtime: Runtime) -> World:
    world = World(runtime, QUICK, clients=2, progress=lambda _: None)
    dataset.build_town(world, slots=2)
    return world


def test_plan_reaches_both_targets() -> None:
    only_volunteers = bulk.plan(volunteers=1_000, events=0)
    assert only_volunteers == bulk.Plan(1_000, 0)
    assert bulk.plan(volunteers=1_000, events=10_000).events >= 10_000
    each = bulk.REGISTRATION_EVENTS + bulk.SERVICE_EVENTS
    only_events = bulk.plan(volunteers=0, events=100 * each)
    assert only_events.events >= 100 * each and only_events.services == only_events.volunteers


def test_bulk_built_volunteers_are_credited_once_and_usable(world: World) -> None:
    rt = world.rt
    head = rt.runner.head()
    events = 30 * bulk.REGISTRATION_EVENTS + 20 * bulk.SERVICE_EVENTS
    target = bulk.plan(volunteers=30, events=events)
    growth = bulk.build(world, target)

    assert growth.volunteers == 30
    assert growth.events == rt.runner.head() - head == target.events
    rt.runner.catch_up()
    served, idle = world.volunteers[:20], world.volunteers[20:]
    for volunteer in served:
        row = volunteer_account_row(rt.db, volunteer)
        assert row is not None and row.balance_minutes == dataset.SERVICE_MINUTES
    for volunteer in idle:
        row = volunteer_account_row(rt.db, volunteer)
        assert row is not None and row.balance_minutes == 0

    world.execute(Transfer(served[0], 7, TransferKind.EXCHANGE, to_volunteer_id=idle[0]))
    rt.runner.catch_up()
    receiver = volunteer_account_row(rt.db, idle[0])
    assert receiver is not None and receiver.balance_minutes == 7


def test_the_rules_still_refuse_in_a_bulk_build(world: World) -> None:
    builder = bulk.BulkBuilder(world)
    builder.run(dataset.volunteer_registration(7, world.the_town.team))
    with pytest.raises(Conflict) as refused:
        builder.run(dataset.volunteer_registration(7, world.the_town.team))
    assert refused.value.code == "duplicate-volunteer"
    builder.save()
    with pytest.raises(Conflict):
        bulk.BulkBuilder(world).run(dataset.volunteer_registration(7, world.the_town.team))
