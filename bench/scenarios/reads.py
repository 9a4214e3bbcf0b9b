"""Scenario 5: reads. A volunteer's balance from the read model in-process
(projections.balances.queries.volunteer_account_row) and over HTTP (GET /v1/accounts/{id}), one
read at a time; loading an account with a long history (snapshots); and how far the data
set is from the one SPEC.md asks these figures to hold under."""

import random
import time
from collections.abc import Callable

from bench import bulk
from bench.bulk import Growth
from bench.client import ApiClient
from bench.profile import LONG_HISTORY_EVENTS, TARGET_EVENTS, TARGET_VOLUNTEERS
from bench.report import Budget, Figure, Reference, Report
from bench.stats import Latency, summarise
from bench.world import World
from ledger.accounts import Account
from ledger.identity import account_id
from projections.balances.queries import volunteer_account_row

SCENARIO = "5 reads"


def _timed(count: int, read: Callable[[int], object]) -> Latency:
    samples = []
    for n in range(count):
        started = time.perf_counter()
        read(n)
        samples.append(time.perf_counter() - started)
    return summarise(samples)


def dataset(world: World, report: Report, growth: Growth) -> None:
    """The data set the read figures hold under, and the projections catching up with the
    part of it the bulk build added."""
    runner = world.rt.runner
    head = runner.head()
    behind = head - min(runner.read_positions().values(), default=0)
    started = time.perf_counter()
    runner.catch_up()
    elapsed = time.perf_counter() - started
    report.add(
        Figure(
            "4 projections",
            f"catch-up of the data set, all {len(runner.projections)} projections",
            behind / elapsed if elapsed > 0 else None,
            "events/s",
            (Reference("bulk build, events written", growth.rate, "events/s"),),
            Budget(">=", 30_000, "events/s"),
            note=f"{behind:,} events in {elapsed:.1f} s",
        )
    )
    volunteers = len(world.volunteers)
    report.add(
        Figure(
            SCENARIO,
            "data set: volunteers",
            volunteers,
            "",
            budget=Budget(">=", TARGET_VOLUNTEERS, ""),
            note="the read budgets hold only with the SPEC's data set",
        )
    )
    report.add(
        Figure(SCENARIO, "data set: events", head, "", budget=Budget(">=", TARGET_EVENTS, ""))
    )
    report.note(
        f"data set: {growth.volunteers:,} volunteers and {growth.events:,} events added by the "
        f"bulk build (the ledger's commands, saved {bulk.CHUNK_VOLUNTEERS:,} volunteers' "
        f"commands per transaction) in {growth.seconds:.0f} s ({growth.rate:,.0f} events/s)"
    )


def in_process(world: World, report: Report) -> None:
    rng = random.Random(5)
    ids = [rng.choice(world.volunteers) for _ in range(world.profile.read_samples)]
    db = world.rt.db

    def select_one(_: int) -> None:
        with db.read() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()

    reads = _timed(len(ids), lambda n: volunteer_account_row(db, ids[n]))
    floor = _timed(len(ids), select_one)
    report.add(
        Figure(
            SCENARIO,
            "balance p99 in-process",
            reads.p99_ms,
            "ms",
            (
                Reference("SELECT 1 p99", floor.p99_ms, "ms"),
                Reference("balance p50", reads.p50_ms, "ms"),
            ),
            Budget("<", 5, "ms"),
            note=f"{reads.count} reads, one at a time",
        )
    )
    hot = world.hot_volunteer
    if hot is None:
        return
    service = world.rt.service
    fresh = world.funded[0]
    samples = max(world.profile.read_samples // 10, 20)
    long = _timed(samples, lambda _: service.load(Account, account_id(hot), "account"))
    short = _timed(samples, lambda _: service.load(Account, account_id(fresh), "account"))
    events = service.load(Account, account_id(hot), "account").version
    report.add(
        Figure(
            SCENARIO,
            f"load an account with {events:,} events, p99",
            long.p99_ms,
            "ms",
            (
                Reference("account with a few events p99", short.p99_ms, "ms"),
                Reference(f"{events:,} events p50", long.p50_ms, "ms"),
            ),
            Budget("<", 2, "ms"),
            note=""
            if events >= LONG_HISTORY_EVENTS
            else f"the SPEC's figure is for {LONG_HISTORY_EVENTS:,} events",
        )
    )


def over_http(world: World, report: Report, base_url: str, token: str) -> None:
    rng = random.Random(6)
    ids = [rng.choice(world.volunteers) for _ in range(world.profile.http_read_samples)]
    api = ApiClient(base_url, token)
    try:
        api.get(f"/v1/accounts/{ids[0]}")  # connect once before timing
        reads = _timed(len(ids), lambda n: api.get(f"/v1/accounts/{ids[n]}"))
        floor = _timed(len(ids), lambda _: api.get("/healthz"))
    finally:
        api.close()
    report.add(
        Figure(
            SCENARIO,
            "balance p99 over HTTP",
            reads.p99_ms,
            "ms",
            (
                Reference("GET /healthz p99", floor.p99_ms, "ms"),
                Reference("balance p50", reads.p50_ms, "ms"),
            ),
            Budget("<", 10, "ms"),
            note=f"{reads.count} GET /v1/accounts/{{id}}, one at a time",
        )
    )
