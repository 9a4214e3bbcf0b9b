"""Builds the bench's data through the ledger's commands only (LedgerService.execute).

A volunteer earns credits the way a real one does: sign up, check in, check out, verified.
Each prepared service of a volunteer uses its own "slot": an earlier day (one check-in a
day, so neither the daily limit nor the no-overlap rule refuses it) and its own activity
(a volunteer holds one signup per activity), spread over a few activities per slot so
that no single activity serialises the preparation."""

import math
import time
from datetime import timedelta
from uuid import UUID

from bench.load import LoadResult, no_state, run_ops
from bench.world import Town, World
from ledger import bounds
from ledger.accounts import TransferKind
from ledger.activities import Category
from ledger.commands.attendance import CheckIn, CheckOut, PublishActivity, SignUp, VerifySignup
from ledger.commands.exchange import ListReward, Transfer
from ledger.commands.members import RegisterOrganisation, RegisterVolunteer
from ledger.identity import DocumentType, signup_id
from ledger.organisations import OrgKind
from ledger.signups import Decision

SHARDS = 8  # activities per slot
REWARDS = 16  # a reward is a consistency boundary (stock): spread redemptions over several
SERVICE_MINUTES = 120


def _id(body: dict[str, object]) -> UUID:
    return UUID(str(body["id"]))


def build_town(world: World, slots: int) -> None:
    """A district > street > team, a venue with rewards, and the activities volunteers
    serve in (`slots` earlier days, SHARDS activities each)."""
    run = world.execute
    district = _id(run(RegisterOrganisation("基准区", OrgKind.DISTRICT, population=1_000_000)))
    street = _id(run(RegisterOrganisation("基准街道", OrgKind.STREET, district)))
    team = _id(run(RegisterOrganisation("基准服务队", OrgKind.TEAM, street)))
    venue = _id(run(RegisterOrganisation("基准兑换点", OrgKind.VENUE, district)))
    rewards = tuple(
        _id(run(ListReward(venue, f"奖品 {n}", cost_minutes=1, stock=10**9)))
        for n in range(REWARDS)
    )
    world.town = Town(district, street, team, venue, rewards)
    starts = world.started - timedelta(days=slots + 2)
    ends = world.started + timedelta(days=2)
    for slot in range(slots):
        for shard in range(SHARDS):
            body = run(
                PublishActivity(
                    team,
                    f"基准服务 {slot}-{shard}",
                    Category.ELDER_CARE,
                    "基准敬老院",
                    starts,
                    ends,
                    capacity=bounds.CAPACITY.high,
                )
            )
            world.activities[(slot, shard)] = _id(body)


def slots_needed(funded: int, services: int) -> int:
    """Slot 0 funds every volunteer; the services to verify later take the next ones."""
    return 1 + math.ceil(services / max(funded, 1)) + 1


def volunteer_registration(n: int, team: UUID) -> RegisterVolunteer:
    """The bench's n-th volunteer: a passport number of its own, every tenth a party member."""
    return RegisterVolunteer(
        name=f"志愿者{n}",
        id_type=DocumentType.PASSPORT,
        id_number=f"TB{n:010d}",
        phone="13900000000",
        birth_date="1990-01-01",
        party_member=n % 10 == 0,
        skills=(),
        home_org_id=team,
    )


def register_volunteers(world: World, count: int) -> LoadResult:
    """Registers `count` more volunteers, concurrently."""
    team = world.the_town.team
    first = world.documents
    world.documents += count

    def register(_: None, n: int) -> int | None:
        body = world.execute(volunteer_registration(n, team))
        world.volunteers.append(_id(body))
        return None

    return run_ops(
        range(first, first + count),
        world.clients,
        register,
        no_state,
        lambda _: "register",
    )


def ensure_volunteers(world: World, count: int) -> None:
    missing = count - len(world.volunteers)
    if missing > 0:
        result = register_volunteers(world, missing)
        if result.error_count:
            raise RuntimeError(f"registering volunteers failed: {dict(result.errors)}")


def _allocate(world: World, volunteers: list[UUID], count: int) -> list[tuple[UUID, int, int]]:
    """The next `count` (volunteer, slot, shard) services, round robin over volunteers."""
    items = []
    for _ in range(count):
        v = volunteers[world.service_cursor % len(volunteers)]
        world.service_cursor += 1
        slot = world.next_slot.get(v, 0)
        world.next_slot[v] = slot + 1
        items.append((v, slot, v.int % SHARDS))
    return items


def prepare_services(
    world: World, volunteers: list[UUID], count: int, verify: bool
) -> tuple[list[UUID], LoadResult]:
    """Signs up, checks in and checks out `count` services (and verifies them when asked);
    returns the signups that got through."""
    done: list[UUID] = []

    def serve(_: None, item: tuple[UUID, int, int]) -> int | None:
        volunteer, slot, shard = item
        activity = world.activities[(slot, shard)]
        sid = signup_id(activity, volunteer)
        world.execute(SignUp(activity, volunteer))
        at = world.started - timedelta(days=slot + 1, hours=3)
        world.execute(CheckIn(sid, at=at))
        world.execute(CheckOut(sid, at=at + timedelta(minutes=SERVICE_MINUTES)))
        if verify:
            world.execute(VerifySignup(sid, Decision.APPROVE))
        done.append(sid)
        return None

    items = _allocate(world, volunteers, count)
    result = run_ops(items, world.clients, serve, no_state, lambda _: "service")
    return done, result


def fund(world: World, count: int) -> LoadResult:
    """Gives `count` volunteers credits through one verified service each."""
    ensure_volunteers(world, count)
    world.funded = world.volunteers[:count]
    _, result = prepare_services(world, world.funded, count, verify=True)
    if result.error_count:
        raise RuntimeError(f"funding volunteers failed: {dict(result.errors)}")
    return result


def build_long_history(world: World, events: int) -> float:
    """One account that has received `events` transfers (one event each), sent one by one
    from the funded volunteers: a hot account would only thrash if sent concurrently."""
    hot = world.volunteers[-1] if len(world.volunteers) > len(world.funded) else None
    if hot is None:
        ensure_volunteers(world, len(world.volunteers) + 1)
        hot = world.volunteers[-1]
    world.hot_volunteer = hot
    started = time.perf_counter()
    for n in range(events):
        sender = world.funded[n % len(world.funded)]
        world.execute(Transfer(sender, 1, TransferKind.EXCHANGE, to_volunteer_id=hot))
    return time.perf_counter() - started
