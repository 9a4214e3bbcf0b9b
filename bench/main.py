"""`timebank bench`: builds its own database and data through the ledger's commands, runs
each scenario of SPEC.md's performance budget beside references measured in the same run,
prints one table and optionally writes the figures as JSON."""

import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from bench import bulk, dataset
from bench.database import (
    DEFAULT_SERVER,
    BenchError,
    BenchStore,
    create_store,
    drop_store,
    server_version,
    settle,
)
from bench.profile import FULL, QUICK, Profile
from bench.report import Report
from bench.scenarios import (
    certificate,
    integrity,
    ledger,
    log,
    memory,
    over_http,
    projections,
    reads,
    rush,
    sealing,
)
from bench.server import Server
from bench.world import World
from ledger.context import Role
from timebank.runtime import Runtime, freeze_startup_heap
from timebank.settings import Settings

R = TypeVar("R")


@dataclass(frozen=True)
class Options:
    quick: bool = False
    json_path: str | None = None
    database_url: str = DEFAULT_SERVER
    clients: int = 16
    keep: bool = False
    dataset_seconds: float | None = None  # time box for the full data set (default: profile's)
    scale: float = 1.0  # multiplies every count of the profile (tests use a small one)


class Bench:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.began = time.perf_counter()
        profile = (QUICK if options.quick else FULL).scaled(options.scale)
        if options.dataset_seconds is not None:
            profile = replace(profile, dataset_seconds=options.dataset_seconds)
        self.profile: Profile = profile
        self.report = Report()
        self.growths: list[bulk.Growth] = []
        self.ok = True

    def say(self, message: str) -> None:
        print(f"[{time.perf_counter() - self.began:6.1f}s] {message}", file=sys.stderr, flush=True)

    def attempt(self, what: str, step: Callable[[], R]) -> R | None:
        """Runs one step; a failure is reported and the run goes on with the next one."""
        try:
            return step()
        except Exception as e:
            self.ok = False
            self.report.failures.append(f"{what}: {type(e).__name__}: {e}")
            self.say(f"{what} failed:\n{traceback.format_exc()}")
            return None

    def settings(self, store: BenchStore) -> Settings:
        own = {
            "database_url": store.url,
            "id_pepper": store.pepper,
            "id_pepper_file": None,
            "master_key_file": store.master_key_file,
            "signing_key_file": store.signing_key_file,
        }
        base = Settings(**own)  # type: ignore[arg-type]
        pool = max(base.pool_size, math.ceil(self.options.clients / 2))
        return Settings(**own, pool_size=pool)  # type: ignore[arg-type]

    def run(self) -> Report:
        store = create_store(self.options.database_url)
        workdir = Path(tempfile.mkdtemp(prefix="timebank-bench-"))
        self.say(f"bench database: {store.shown} ({self.profile.name} profile)")
        self.report.meta["database_version"] = server_version(store)
        started_at = datetime.now(UTC)
        rt: Runtime | None = None
        try:
            settings = self.settings(store)
            rt = Runtime(settings)
            world = World(rt, self.profile, self.options.clients, self.say)
            self.scenarios(world, store, settings, workdir)
        finally:
            if rt is not None:
                rt.close()
            self.finish(store, workdir, started_at)
        return self.report

    def finish(self, store: BenchStore, workdir: Path, started_at: datetime) -> None:
        keep = self.options.keep or not self.ok
        if self.options.keep:
            self.say(f"kept the bench database {store.shown} and {workdir}")
        else:
            drop_store(store)
            if keep:
                self.say(f"dropped the bench database; the API server log is in {workdir}")
            else:
                shutil.rmtree(workdir, ignore_errors=True)
        self.report.meta = {
            "started_at": started_at.isoformat(),
            "duration_seconds": round(time.perf_counter() - self.began, 1),
            "profile": self.profile.name,
            "quick": self.options.quick,
            "clients": self.options.clients,
            "database": "sqlite" if store.is_sqlite else "postgresql",
            "database_name": store.name,
            "kept": self.options.keep,
            "machine": {
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
            },
            **self.report.meta,
        }

    # The run ---------------------------------------------------------------------------

    def scenarios(self, world: World, store: BenchStore, settings: Settings, workdir: Path) -> None:
        report = self.report
        if self.attempt("data set", lambda: self.build(world)) is None:
            return
        # What the bench holds lives for the whole run: out of the collector's sight, as a
        # serving process's startup heap is, so that its pauses do not land in the figures.
        freeze_startup_heap()
        ledger_rate = self.attempt("1 ledger", lambda: self.ledger(world, store, settings))
        self.say(f"2 over HTTP: preparing {self.profile.http_each} services to verify")
        http_ops = self.attempt("2 HTTP preparation", lambda: over_http.prepare(world))
        self.say(f"3 signup rush: registering volunteers up to {self.profile.rush_signups}")
        self.attempt("3 rush preparation", lambda: rush.prepare(world))
        self.say("4 projections: catch-up from 0")
        decode = self.attempt("4 catch-up", lambda: projections.catch_up(world, report))
        self.say("4 projections: rebuild each")
        self.attempt("4 rebuild", lambda: projections.rebuild(world, report, decode or 0.0))
        self.attempt("5 data set", lambda: self.grow_dataset(world))
        self.say("5 data set: VACUUM (ANALYZE) after the bulk load")
        self.attempt("5 settle", lambda: settle(store))
        self.say("5 reads in-process")
        self.attempt("5 reads in-process", lambda: reads.in_process(world, report))
        freeze_startup_heap()
        self.serving(world, store, workdir, http_ops, ledger_rate)
        self.say("7 integrity")
        if not self.attempt("7 integrity", lambda: integrity.check(world, report)):
            self.ok = False
        self.say("9 log: the Merkle tree from empty, inclusion proofs, the audit")
        if not self.attempt("9 log", lambda: log.measure(world, report)):
            self.ok = False
        services = self.profile.certificate_services
        self.say(f"9 log: a certificate of {services} services, its bundle verified")
        if not self.attempt("9 certificate", lambda: certificate.measure(world, report)):
            self.ok = False
        self.attempt("8 sealing", lambda: self.sealing(store))

    def serving(
        self,
        world: World,
        store: BenchStore,
        workdir: Path,
        http_ops: list[over_http.HttpOp] | None,
        ledger_rate: float | None,
    ) -> None:
        """The scenarios against the API process: 2 (with 4's lag and 6), 5 over HTTP, 3."""
        report = self.report
        server = Server(store, workdir / "api.log")
        self.say("starting the API server (timebank serve)")

        def start() -> bool:
            server.start()
            return True

        if self.attempt("API server", start) is None:
            return
        try:
            token = world.rt.tokens.create(
                Role.COORDINATOR, f"bench-{os.getpid()}-{time.time_ns()}", world.the_town.district
            )
            if http_ops is not None:
                self.attempt(
                    "2 HTTP", lambda: self.over_http(world, server, token, http_ops, ledger_rate)
                )
            self.say("5 reads over HTTP")
            self.attempt(
                "5 reads over HTTP", lambda: reads.over_http(world, report, server.base_url, token)
            )
            self.say(f"3 signup rush: {self.profile.rush_signups} signups")
            seats = self.attempt("3 rush", lambda: rush.run(world, report, server.base_url, token))
            if seats is False:
                self.ok = False
                report.failures.append("3 rush: the seats did not come out exactly right")
        finally:
            server.stop()
        report.note(
            f"the HTTP clients run in the bench process, on the same {os.cpu_count()} cores as "
            "the API process and the database"
        )

    def build(self, world: World) -> bool:
        profile = self.profile
        services = profile.ledger_each + profile.http_each
        slots = dataset.slots_needed(profile.funded_volunteers, services)
        started = time.perf_counter()
        self.say("data set: town, rewards, activities")
        dataset.build_town(world, slots)
        self.say(f"data set: {profile.funded_volunteers} volunteers, credited through service")
        dataset.fund(world, profile.funded_volunteers)
        self.say(f"data set: an account with {profile.long_history_events} events")
        dataset.build_long_history(world, profile.long_history_events)
        if world.rt.runner.head() < profile.rebuild_events:
            self.say(f"data set: growing the log to {profile.rebuild_events:,} events")
            self.grow(world, 0, profile.rebuild_events)
        self.say(
            f"data set: {len(world.volunteers):,} volunteers, {world.rt.runner.head():,} "
            f"events in {time.perf_counter() - started:.1f} s"
        )
        return True

    def grow(self, world: World, volunteers: int, events: int) -> bulk.Growth:
        """Grows the data set to `volunteers` volunteers and `events` events in all."""
        head = world.rt.runner.head()
        target = bulk.plan(volunteers - len(world.volunteers), events - head)
        growth = bulk.build(world, target, self.profile.dataset_seconds)
        self.growths.append(growth)
        return growth

    def grow_dataset(self, world: World) -> None:
        profile = self.profile
        self.say(
            f"5 data set: growing to {profile.dataset_volunteers:,} volunteers and "
            f"{profile.dataset_events:,} events"
        )
        self.grow(world, profile.dataset_volunteers, profile.dataset_events)
        growth = bulk.Growth(
            sum(g.volunteers for g in self.growths),
            sum(g.events for g in self.growths),
            sum(g.seconds for g in self.growths),
        )
        self.say("5 data set: bringing the read models up to date")
        reads.dataset(world, self.report, growth)

    def ledger(self, world: World, store: BenchStore, settings: Settings) -> float:
        self.say(f"1 ledger commands: preparing {self.profile.ledger_each} of each kind")
        ops = ledger.prepare(world)
        self.say("1 ledger commands: warming up (one transfer from each funded volunteer)")
        warm = ledger.warm_up(world)
        if warm.error_count:
            self.say(f"  warm-up errors: {dict(warm.errors)}")
        self.say(f"1 ledger commands: {len(ops)} commands from {world.clients} clients")
        result = ledger.measure(world, ops)
        refs = ledger.measure_references(world, store, settings)
        ledger.report(self.report, world, result, refs)
        return result.rate

    def sealing(self, store: BenchStore) -> None:
        count = self.profile.sealed_volunteers
        result = sealing.measure(store, self.settings, count, self.say)
        sealing.report(self.report, result)

    def over_http(
        self,
        world: World,
        server: Server,
        token: str,
        ops: list[over_http.HttpOp],
        in_process: float | None,
    ) -> None:
        idle = server.rss_mb()
        self.say("2 over HTTP: reference GET /healthz")
        health = over_http.healthz(world, server.base_url, token)
        self.say(f"2 over HTTP: {len(ops)} commands from {world.clients} clients")
        monitor = projections.LagMonitor(world)
        monitor.start()
        try:
            result = over_http.measure(world, server.base_url, token, ops)
        except BaseException:
            monitor.finish(0, timeout=0)
            raise
        monitor.finish(max((position for _, position in result.acks), default=0))
        peak = server.peak_rss_mb()
        over_http.report(self.report, world, result, health, in_process)
        projections.lag(self.report, monitor, result.acks)
        memory.report(self.report, idle, peak)


def main(options: Options, echo: Callable[[str], None] = print) -> int:
    """Runs the bench; returns the exit status (1 if a scenario failed or a correctness check
    did not hold; figures that miss their budget do not fail the run)."""
    bench = Bench(options)
    try:
        report = bench.run()
    except BenchError as e:
        echo(f"error: {e}")
        return 2
    echo(report.table())
    echo(f"\nbench took {report.meta['duration_seconds']} s")
    if options.json_path is not None:
        text = json.dumps(report.to_json(), indent=2, ensure_ascii=False)
        Path(options.json_path).write_text(text + "\n")
    return 0 if bench.ok else 1
