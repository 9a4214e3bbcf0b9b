"""Scenario 3: a signup rush over HTTP. Many clients sign volunteers up for one activity at
the same moment: exactly `capacity` are accepted, the rest waitlisted, none refused; beside
the latency of the same signup with no contention."""

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from uuid import UUID

from bench.client import ApiClient
from bench.dataset import ensure_volunteers
from bench.load import run_ops
from bench.report import Budget, Figure, Reference, Report
from bench.stats import summarise
from bench.world import World
from ledger.activities import Activity, Category
from ledger.commands.attendance import PublishActivity

SCENARIO = "3 signup rush"
RUSH_CLIENTS = 100  # connections signing up at once; each signs up volunteers one by one
UNCONTENDED = 30  # signups, one at a time, for the reference


def _activity(world: World, capacity: int, title: str) -> UUID:
    now = datetime.now(UTC)
    body = world.execute(
        PublishActivity(
            world.the_town.team,
            title,
            Category.COMMUNITY_CLEANUP,
            "基准广场",
            now + timedelta(days=1),
            now + timedelta(days=1, hours=3),
            capacity,
        )
    )
    return UUID(str(body["id"]))


def prepare(world: World) -> None:
    ensure_volunteers(world, world.profile.rush_signups + UNCONTENDED)


def run(world: World, report: Report, base_url: str, token: str) -> bool:
    """Returns whether the seats came out exactly right."""
    signups = world.profile.rush_signups
    capacity = world.profile.rush_capacity
    volunteers = world.volunteers[: signups + UNCONTENDED]
    solo = _uncontended(world, base_url, token, volunteers[signups:])
    statuses: Counter[str] = Counter()
    lock = threading.Lock()
    activity = _activity(world, capacity, "基准抢报活动")
    clients = min(RUSH_CLIENTS, signups)
    result = run_ops(
        volunteers[:signups],
        clients,
        lambda a, v: _sign_up(a, activity, v, statuses, lock),
        lambda: ApiClient(base_url, token),
        lambda _: "signup",
        close=ApiClient.close,
    )
    stored = world.rt.service.load(Activity, activity, "activity")
    held = len(stored.accepted)
    waiting = len(stored.waitlist)
    latency = summarise(result.all_latencies())
    uncontended = summarise(solo)
    add = report.add
    add(
        Figure(
            SCENARIO,
            f"accepted ({signups} signups, capacity {capacity})",
            statuses["accepted"],
            "",
            (Reference("seats taken in the activity", held, ""),),
            Budget("==", capacity, ""),
        )
    )
    add(
        Figure(
            SCENARIO,
            "waitlisted",
            statuses["waitlisted"],
            "",
            (Reference("waitlist in the activity", waiting, ""),),
            Budget("==", signups - capacity, ""),
        )
    )
    errors = ", ".join(f"{k} x{n}" for k, n in result.errors.most_common(5))
    add(Figure(SCENARIO, "errors", result.error_count, "", (), Budget("==", 0, ""), errors))
    add(
        Figure(
            SCENARIO,
            f"latency p99, {clients} clients at once",
            latency.p99_ms,
            "ms",
            (
                Reference(f"uncontended signup p99 ({len(solo)})", uncontended.p99_ms, "ms"),
                Reference("rush p50", latency.p50_ms, "ms"),
            ),
            Budget("<", 1000, "ms"),
        )
    )
    add(Figure(SCENARIO, "throughput", result.rate, "signups/s"))
    return (
        statuses["accepted"] == held == capacity
        and statuses["waitlisted"] == waiting == signups - capacity
    )


def _uncontended(world: World, base_url: str, token: str, volunteers: list[UUID]) -> list[float]:
    """The durations of signups one at a time to an activity with room for all."""
    reference = _activity(world, 10**6, "基准对照活动")
    api = ApiClient(base_url, token)
    solo: list[float] = []
    try:
        for volunteer in volunteers:
            started = time.perf_counter()
            _sign_up(api, reference, volunteer, Counter(), threading.Lock())
            solo.append(time.perf_counter() - started)
    finally:
        api.close()
    return solo


def _sign_up(
    api: ApiClient, activity: UUID, volunteer: UUID, statuses: Counter[str], lock: threading.Lock
) -> int | None:
    body = api.post(f"/v1/activities/{activity}/signups", {"volunteer_id": str(volunteer)})
    with lock:
        statuses[str(body["status"])] += 1
    position = body.get("position")
    return int(position) if position is not None else None
