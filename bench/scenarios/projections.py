"""Scenario 4: projections. Catch-up from position 0 over the log the bench built, a
blue/green rebuild of each projection (`Runtime.runner.rebuild`), and the lag while the HTTP
load runs: how many events behind the read models are, and how long an acknowledged
command takes to show in them."""

import bisect
import threading
import time
from dataclasses import dataclass

from bench.profile import REBUILD_EVENTS
from bench.report import Budget, Figure, Reference, Report
from bench.stats import percentile, summarise
from bench.world import World

SCENARIO = "4 projections"
EVENTS_PER_SECOND = Budget(">=", 30_000, "events/s")


def read_and_decode_rate(world: World) -> float:
    """The floor under any projection: reading the log and decoding its events."""
    app = world.rt.app
    head = world.rt.runner.head()
    started = time.perf_counter()
    position = 0
    while position < head:
        batch = app.recorder.select_notifications(start=position + 1, limit=1000)
        if not batch:
            break
        for notification in batch:
            app.mapper.to_domain_event(notification)
        position = batch[-1].id
    elapsed = time.perf_counter() - started
    return head / elapsed if elapsed > 0 else 0.0


def catch_up(world: World, report: Report) -> float:
    """Applies the whole log to every projection; returns the read-and-decode reference."""
    runner = world.rt.runner
    decode = read_and_decode_rate(world)
    start = min(runner.read_positions().values(), default=0)
    head = runner.head()
    started = time.perf_counter()
    runner.catch_up()
    elapsed = time.perf_counter() - started
    events = head - start
    names = ", ".join(p.name for p in runner.projections)
    report.add(
        Figure(
            SCENARIO,
            f"catch-up from {start}, all {len(runner.projections)} projections",
            events / elapsed if elapsed > 0 else None,
            "events/s",
            (Reference("log read + decode", decode, "events/s"),),
            EVENTS_PER_SECOND,
            note=f"{events} events in {elapsed:.2f} s ({names}; batches of {runner.batch_size})",
        )
    )
    return decode


def rebuild(world: World, report: Report, decode: float) -> None:
    """Each projection rebuilt alone, then all of them in one pass over the log (what a
    rebuild of every read model does): the time of that pass is the figure for the SPEC's
    million events, beside the sum of the separate rebuilds."""
    runner = world.rt.runner
    separately = 0.0
    for projection in runner.projections:
        started = time.perf_counter()
        position = runner.rebuild(projection.name)
        elapsed = time.perf_counter() - started
        separately += elapsed
        what = f"rebuild {projection.name}"
        report.add(_rebuild_figure(what, position, elapsed, decode, runner.batch_size))
    names = [p.name for p in runner.projections]
    started = time.perf_counter()
    head = runner.rebuild_together(names)
    together = time.perf_counter() - started
    what = f"rebuild all {len(names)} in one pass"
    report.add(_rebuild_figure(what, head, together, decode, runner.batch_size))
    measured = head >= REBUILD_EVENTS
    scale = 1 if measured else REBUILD_EVENTS / max(head, 1)
    how = "measured" if measured else f"extrapolated from {head:,} events"
    report.add(
        Figure(
            SCENARIO,
            f"rebuild all, {REBUILD_EVENTS:,} events ({how})",
            together * scale,
            "s",
            (
                Reference(f"rebuild all in one pass, {head:,} events", together, "s"),
                Reference("one by one, extrapolated alike", separately * scale, "s"),
            ),
            Budget("<", 60, "s"),
        )
    )
    if not measured:
        report.note(
            f"the {REBUILD_EVENTS:,}-event rebuild time is extrapolated linearly from "
            f"rebuilding {head:,} events; the log was not that long in this run"
        )


def _rebuild_figure(
    what: str, position: int, elapsed: float, decode: float, batch_size: int
) -> Figure:
    return Figure(
        SCENARIO,
        what,
        position / elapsed if elapsed > 0 else None,
        "events/s",
        (Reference("log read + decode", decode, "events/s"),),
        EVENTS_PER_SECOND,
        note=f"{position} events in {elapsed:.2f} s (batches of {batch_size})",
    )


@dataclass(frozen=True)
class Sample:
    started: float
    done: float
    applied: int  # the lowest position any projection has applied
    head: int


class LagMonitor:
    """Samples the log head and the projections' positions from the store while a load runs
    (the API process applies the events; this process only looks)."""

    def __init__(self, world: World, interval: float = 0.01) -> None:
        self.world = world
        self.interval = interval
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lag-monitor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _sample(self) -> Sample:
        runner = self.world.rt.runner
        started = time.perf_counter()
        head = runner.head()
        applied = min(runner.read_positions().values(), default=0)
        return Sample(started, time.perf_counter(), applied, head)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self._sample())
            self._stop.wait(self.interval)

    def finish(self, position: int, timeout: float = 10.0) -> None:
        """Keeps sampling until the read models have applied `position`, then stops."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.samples and self.samples[-1].applied >= position:
                break
            time.sleep(self.interval)
        self._stop.set()
        self._thread.join(timeout=5)

    def visibility(self, acks: list[tuple[float, int]]) -> tuple[list[float], int]:
        """For each acknowledged (time, position): seconds until a sample taken after it saw
        the position applied; and how many never showed while sampling."""
        samples = self.samples
        starts = [s.started for s in samples]
        applied = [s.applied for s in samples]
        delays: list[float] = []
        unseen = 0
        for acked_at, position in acks:
            first = bisect.bisect_left(starts, acked_at)
            seen = bisect.bisect_left(applied, position, lo=first)
            if seen >= len(samples):
                unseen += 1
                continue
            delays.append(samples[seen].done - acked_at)
        return delays, unseen


def lag(report: Report, monitor: LagMonitor, acks: list[tuple[float, int]]) -> None:
    delays, unseen = monitor.visibility(acks)
    seen = summarise(delays)
    behind = [float(s.head - s.applied) for s in monitor.samples]
    interval_ms = monitor.interval * 1000
    report.add(
        Figure(
            SCENARIO,
            "lag p99 under HTTP load (ack to visible)",
            seen.p99_ms,
            "ms",
            (
                Reference("lag p50", seen.p50_ms, "ms"),
                Reference("sampling every", interval_ms, "ms"),
            ),
            Budget("<", 500, "ms"),
            note=f"{len(delays)} acknowledged commands, {unseen} not seen within the wait",
        )
    )
    report.add(
        Figure(
            SCENARIO,
            "lag p99 under HTTP load (head - min position)",
            percentile(behind, 99),
            "events",
            (
                Reference("p50", percentile(behind, 50), "events"),
                Reference("samples", len(monitor.samples), ""),
            ),
        )
    )
