"""The service's Prometheus metrics: their definitions, the hooks that move them, and their
exposition (`/metrics` on the API port with a token, or a listener of its own).

The domain and the engine know nothing of Prometheus: they call plain hooks
(`LedgerService(on_command=, on_batch=)`, `ProjectionRunner(on_failure=)`) that the
composition root (`timebank.runtime`) points at the one `Metrics` of its runtime. The API labels
each request (`api.metrics`) and counts it on its event loop without a lock (`RequestSeries`);
a thread adds those counts to the metrics every FLUSH_SECONDS, and before a scrape.

With `serve --workers N` each process writes its metrics to files in one directory
(prometheus-client's multiprocess mode) and a scrape of any of them adds them all up.
prometheus-client chooses that mode once, when it is first imported, from
PROMETHEUS_MULTIPROC_DIR: so this module imports it only when a `Metrics` is made, and `serve`
prepares the directory before that (`process_mode`). In one process, a registry of its own."""

import glob
import hashlib
import hmac
import os
import shutil
import sys
import tempfile
import threading
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import structlog

from ledger.commands.base import Command
from ledger.engine.service import Outcome
from ledger.errors import DomainError

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

    from timebank.settings import Settings

log = structlog.get_logger(__name__)

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
# Seconds between two readings of the log head and the projections' positions.
SAMPLE_SECONDS = 1.0
# Latency buckets, in seconds: from a read served from memory to a command in a signup rush.
SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Seconds between two additions of each HTTP process's request counts to the metrics.
FLUSH_SECONDS = 1.0
# Commands per group-commit transaction (at most 500: GroupCommitter's max_batch).
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500)


@contextmanager
def process_mode(settings: "Settings") -> Iterator[None]:
    """For `serve`, before anything imports prometheus_client. With HTTP workers, every
    process of the server shares its metrics through one directory: TIMEBANK_METRICS_DIR
    (created if need be, emptied of an earlier run's files) or a fresh temporary one, removed
    afterwards; the workers inherit it through the environment. In one process, none."""
    if not settings.workers:
        os.environ.pop(MULTIPROCESS_DIR, None)
        yield
        return
    if "prometheus_client" in sys.modules:
        raise RuntimeError("prometheus_client was imported before its directory was chosen")
    directory = settings.metrics_dir
    if directory is None:
        directory = tempfile.mkdtemp(prefix="timebank-metrics-")
    else:
        os.makedirs(directory, exist_ok=True)
        for stale in glob.glob(os.path.join(directory, "*.db")):
            os.remove(stale)
    os.environ[MULTIPROCESS_DIR] = directory
    try:
        yield
    finally:
        if settings.metrics_dir is None:
            shutil.rmtree(directory, ignore_errors=True)


def token_matches(given: str, expected: str) -> bool:
    """Compares in constant time (their digests: not even the length is given away)."""
    digest = hashlib.sha256
    return hmac.compare_digest(digest(given.encode()).digest(), digest(expected.encode()).digest())


class Metrics:
    """Every metric of one process, with the series that are moved often bound in advance."""

    def __init__(self, projections: Sequence[str] = ()) -> None:
        # prometheus_client is imported by the methods, not at the top: see the module's
        # docstring.
        own = self._open_registry()
        self._define_http(own)
        self._define_commands(own)
        self._define_projections(own)
        self._define_sweeper(own)
        self._failures: dict[str, Callable[[float], None]] = {}
        for name in projections:  # bound now, so that each is there (at 0) before it fails
            self.projection_failed(name, 0)
        self._commands: dict[tuple[type[Command], str, str], Callable[[], None]] = {}
        self._durations: dict[type[Command], Callable[[float], None]] = {}
        self._positions: dict[str, tuple[Gauge, Gauge]] = {}
        self._request_counts: list[RequestCounts] = []
        self._flush_lock = threading.Lock()  # never taken by an event loop
        self._flusher: threading.Thread | None = None
        self._sampler: threading.Thread | None = None
        self._listener: WSGIServer | None = None
        self._stop = threading.Event()

    def _open_registry(self) -> "CollectorRegistry | None":
        """The registry scraped, and the one the metrics are defined in: this process's own,
        or none in multiprocess mode (the metrics then go to files the registry reads)."""
        import prometheus_client as prom
        from prometheus_client import multiprocess, values

        prom.disable_created_metrics()  # type: ignore[no-untyped-call]  # as in multiprocess mode
        self.directory: str | None = None
        own: CollectorRegistry | None
        if getattr(values.ValueClass, "_multiprocess", False):
            # Written to this process's files in the directory; a scrape reads them all.
            self.directory = os.environ[MULTIPROCESS_DIR]
            self.registry = prom.CollectorRegistry()
            multiprocess.MultiProcessCollector(self.registry, self.directory)  # type: ignore[no-untyped-call]
            own = None
        else:
            self.registry = own = prom.CollectorRegistry()
            prom.ProcessCollector(registry=own)
            prom.PlatformCollector(registry=own)
            prom.GCCollector(registry=own)
        self._prom = prom
        return own

    def _define_http(self, own: "CollectorRegistry | None") -> None:
        """Requests answered, their durations, the processes serving them."""
        import prometheus_client as prom

        self.http_requests = prom.Counter(
            "timebank_http_requests_total",
            "HTTP requests answered, by method, route template and status",
            ("method", "route", "status"),
            registry=own,
        )
        self.http_duration = prom.Histogram(
            "timebank_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by method and route template",
            ("method", "route"),
            buckets=SECONDS_BUCKETS,
            registry=own,
        )
        self.http_processes = prom.Gauge(
            "timebank_http_processes",
            "Processes serving HTTP",
            registry=own,
            multiprocess_mode="livesum",
        )

    def _define_commands(self, own: "CollectorRegistry | None") -> None:
        """Commands, their durations, and the group commit's transactions."""
        import prometheus_client as prom

        self.commands = prom.Counter(
            "timebank_commands_total",
            "Commands run, by command type and outcome (ok, replayed, refused, error); a "
            "refusal's kind is its domain error's (invalid, not-found, forbidden, conflict)",
            ("command", "outcome", "kind"),
            registry=own,
        )
        self.command_duration = prom.Histogram(
            "timebank_command_duration_seconds",
            "Time from a command's start to its answer (its commit included), by command type",
            ("command",),
            buckets=SECONDS_BUCKETS,
            registry=own,
        )
        self.batch_commands = prom.Histogram(
            "timebank_group_commit_batch_commands",
            "Commands written per group-commit transaction",
            buckets=BATCH_BUCKETS,
            registry=own,
        )
        self.transactions = prom.Counter(
            "timebank_group_commit_transactions_total",
            "Group-commit transactions committed",
            registry=own,
        )

    def _define_projections(self, own: "CollectorRegistry | None") -> None:
        """The log head, and each projection's position, lag and failures."""
        import prometheus_client as prom

        self.log_head = prom.Gauge(
            "timebank_log_head_position",
            "Position of the last event in the log",
            registry=own,
            multiprocess_mode="livemax",
        )
        self.projection_position = prom.Gauge(
            "timebank_projection_position",
            "Log position each projection has applied",
            ("projection",),
            registry=own,
            multiprocess_mode="livemax",
        )
        self.projection_lag = prom.Gauge(
            "timebank_projection_lag_events",
            "Events in the log that each projection has yet to apply (head minus position)",
            ("projection",),
            registry=own,
            multiprocess_mode="livemax",
        )
        self.projection_failures = prom.Counter(
            "timebank_projection_batch_failures_total",
            "Batches a projection failed to apply (each is tried again)",
            ("projection",),
            registry=own,
        )

    def _define_sweeper(self, own: "CollectorRegistry | None") -> None:
        """The sweeper's runs and what they did."""
        import prometheus_client as prom

        self.sweeper_runs = prom.Counter(
            "timebank_sweeper_runs_total", "Runs of the sweeper", registry=own
        )
        self.sweeper_failures = prom.Counter(
            "timebank_sweeper_failures_total", "Runs of the sweeper that failed", registry=own
        )
        self.expired_redemptions = prom.Counter(
            "timebank_sweeper_expired_redemptions_total",
            "Redemptions the sweeper expired (their credits and stock released)",
            registry=own,
        )
        self.confirmed_awards = prom.Counter(
            "timebank_sweeper_confirmed_awards_total",
            "Awards the sweeper confirmed at the end of their public notice",
            registry=own,
        )
        self.closed_check_ins = prom.Counter(
            "timebank_sweeper_closed_check_ins_total",
            "Check-ins left open past their window that the sweeper closed",
            registry=own,
        )

    # HTTP --------------------------------------------------------------------------------

    def requests(self) -> "RequestCounts":
        """The counts of one event loop's requests, added to the metrics every FLUSH_SECONDS
        by a thread of this process, and at once before this process answers a scrape."""
        counts = RequestCounts(self)
        with self._flush_lock:
            self._request_counts.append(counts)
            if self._flusher is None:
                self._flusher = threading.Thread(target=self._flush_often, name="metrics-flush")
                self._flusher.daemon = True
                self._flusher.start()
        return counts

    def flush(self) -> None:
        with self._flush_lock:
            for counts in self._request_counts:
                counts.flush()

    def _flush_often(self) -> None:
        while not self._stop.wait(FLUSH_SECONDS):
            try:
                self.flush()
            except Exception:
                log.exception("adding the requests to the metrics failed")

    def serving_http(self) -> None:
        """Called by each process that serves the API, once it has started."""
        self.http_processes.set(1)

    # Hooks of the engine -----------------------------------------------------------------

    def command(self, command: Command, result: Outcome | Exception, seconds: float) -> None:
        """LedgerService's `on_command`: each command once it is answered."""
        kind = ""
        if isinstance(result, Outcome):
            outcome = "replayed" if result.replayed else "ok"
        elif isinstance(result, DomainError):
            outcome, kind = "refused", result.kind.value
        else:
            outcome = "error"
        cls = type(command)
        count = self._commands.get((cls, outcome, kind))
        if count is None:
            count = self.commands.labels(cls.__name__, outcome, kind).inc
            self._commands[cls, outcome, kind] = count
        count()
        observe = self._durations.get(cls)
        if observe is None:
            observe = self._durations[cls] = self.command_duration.labels(cls.__name__).observe
        observe(seconds)

    def batch(self, commands: int) -> None:
        """GroupCommitter's `on_batch`: each committed transaction and its commands."""
        self.transactions.inc()
        self.batch_commands.observe(commands)

    def projection_failed(self, projection: str, batches: int = 1) -> None:
        """ProjectionRunner's `on_failure`: a batch a projection failed to apply."""
        count = self._failures.get(projection)
        if count is None:
            count = self._failures[projection] = self.projection_failures.labels(projection).inc
        count(batches)

    def swept(self, expired: int, confirmed: int, closed: int, failed: bool) -> None:
        """A run of the sweeper and what it did."""
        self.sweeper_runs.inc()
        self.expired_redemptions.inc(expired)
        self.confirmed_awards.inc(confirmed)
        self.closed_check_ins.inc(closed)
        if failed:
            self.sweeper_failures.inc()

    # The log and the projections ---------------------------------------------------------

    def sample(self, positions: Callable[[], Mapping[str, int]], head: Callable[[], int]) -> None:
        """Reads the projections' positions, then the log head: every event up to a position
        was in the log before it was read, so the head read after it is at least as far and
        the lag is never negative."""
        applied = positions()
        last = head()
        self.log_head.set(last)
        for name, position in applied.items():
            gauges = self._positions.get(name)
            if gauges is None:
                gauges = (self.projection_position.labels(name), self.projection_lag.labels(name))
                self._positions[name] = gauges
            gauges[0].set(position)
            gauges[1].set(max(0, last - position))

    def follow(self, positions: Callable[[], Mapping[str, int]], head: Callable[[], int]) -> None:
        """In the process that runs the projections: samples now and every SAMPLE_SECONDS."""

        def run() -> None:
            while True:
                try:
                    self.sample(positions, head)
                except Exception:
                    log.exception("reading the positions for the metrics failed")
                if self._stop.wait(SAMPLE_SECONDS):
                    return

        self._sampler = threading.Thread(target=run, name="metrics", daemon=True)
        self._sampler.start()

    # Exposition --------------------------------------------------------------------------

    def exposition(self, accept: str | None = None) -> tuple[bytes, str]:
        """The metrics of every process of the server, in the format the scraper asked for
        (OpenMetrics or Prometheus text), and its content type."""
        from prometheus_client.exposition import choose_encoder

        encode, content_type = choose_encoder(accept or "")
        self.flush()
        return encode(self.registry), content_type

    def listen(self, host: str, port: int) -> None:
        """Serves the metrics without a token on a listener of their own (a thread)."""
        self._listener, _ = self._prom.start_http_server(port, addr=host, registry=self.registry)

    def process_ended(self, pid: int) -> None:
        """Called by the serving process when an HTTP worker has ended: its live gauges go."""
        if self.directory is not None:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(pid, self.directory)  # type: ignore[no-untyped-call]

    def close(self) -> None:
        self._stop.set()
        for thread in (self._sampler, self._flusher):
            if thread is not None:
                thread.join(timeout=5)
        self.flush()  # the last requests of a worker that stops
        if self._listener is not None:
            self._listener.shutdown()
            self._listener.server_close()


class RequestSeries:
    """The requests of one method, route and status that one event loop has answered, and
    their durations. Only that loop writes it, with no lock; `RequestCounts.flush` reads it
    from another thread and adds what is new to the metrics."""

    __slots__ = ("_counter", "count", "flushed", "timing")

    def __init__(self, counter: "Counter", timing: "RequestTiming") -> None:
        self.count = self.flushed = 0
        self.timing = timing
        self._counter = counter

    def __call__(self, seconds: float) -> None:
        """Counts a request that took `seconds`."""
        self.count += 1
        timing = self.timing
        timing.total += seconds
        timing.buckets[bisect_left(timing.bounds, seconds)] += 1

    def flush(self) -> None:
        count = self.count
        if count != self.flushed:
            self._counter.inc(count - self.flushed)
            self.flushed = count


class RequestTiming:
    """The durations of one method and route, counted per bucket of their histogram. The
    histogram has no public way to add counts already sorted into its buckets, so `flush`
    adds them to its bucket and sum cells (`_buckets`, `_sum`: the values `observe` adds to,
    in memory or in the multiprocess files); tests/test_metrics.py checks that the result is
    the same as observing each duration."""

    __slots__ = ("_histogram", "bounds", "buckets", "flushed", "flushed_total", "total")

    def __init__(self, histogram: "Histogram") -> None:
        self._histogram = histogram
        self.bounds: list[float] = histogram._upper_bounds  # the last is +Inf
        self.buckets = [0] * len(self.bounds)
        self.flushed = [0] * len(self.bounds)
        self.total = self.flushed_total = 0.0

    def flush(self) -> None:
        """Adds what is new to the histogram, as observing each duration would have: one
        bucket (not cumulative) per duration, and their sum."""
        histogram = self._histogram
        for i, count in enumerate(self.buckets):
            if count != self.flushed[i]:
                histogram._buckets[i].inc(count - self.flushed[i])
                self.flushed[i] = count
        total = self.total
        if total != self.flushed_total:
            histogram._sum.inc(total - self.flushed_total)
            self.flushed_total = total


class RequestCounts:
    """The request series of one event loop (`Metrics.requests`)."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._series: list[RequestSeries] = []
        self._timings: dict[tuple[str, str], RequestTiming] = {}

    def series(self, method: str, route: str, status: str) -> RequestSeries:
        """A new series to count these requests in: bind it once, on the loop that counts."""
        timing = self._timings.get((method, route))
        if timing is None:
            histogram = self._metrics.http_duration.labels(method, route)
            timing = self._timings[method, route] = RequestTiming(histogram)
        series = RequestSeries(self._metrics.http_requests.labels(method, route, status), timing)
        self._series.append(series)
        return series

    def flush(self) -> None:
        for series in list(self._series):
            series.flush()
        for timing in list(self._timings.values()):
            timing.flush()
