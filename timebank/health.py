"""Whether the store answers, as a thread that asks it a few times a second finds out.

Readiness checks and the refusal of requests while the store is down read the answer from
memory, so they answer at once whatever the database does (a database that stops answering
mid-query cannot hold them up). A request that could not reach the store says so too, so the
next ones are refused at once instead of each waiting for the pool. When the store answers
again after it did not (or the probe's own connection broke: the server restarted), the
connections the pools hold are checked and broken ones replaced, and `on_recovery` runs."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
import structlog

log = structlog.get_logger(__name__)

PROBE_SECONDS = 0.25  # between two probes
STALE_SECONDS = 1.5  # a probe older than this does not count: the store is not answering


@dataclass(frozen=True)
class Probe:
    """Asks the store for the log head; `reset` drops whatever connection it holds."""

    head: Callable[[], int]
    reset: Callable[[], None]


class StoreHealth:
    def __init__(
        self,
        probe: Probe,
        on_recovery: Callable[[], None] = lambda: None,
        interval: float = PROBE_SECONDS,
        stale_after: float = STALE_SECONDS,
    ) -> None:
        self._probe = probe
        self._on_recovery = on_recovery
        self._interval = interval
        self._stale_after = stale_after
        self._last_ok = time.monotonic()  # a store just opened has answered
        self._down_since: float | None = None
        self.head: int | None = None  # the log head the last probe read
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def available(self) -> bool:
        if self._down_since is not None:
            return False
        return self._thread is None or time.monotonic() - self._last_ok < self._stale_after

    def failed(self, error: BaseException | str) -> None:
        """A request could not reach the store: refuse the next ones until a probe answers."""
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning("the store does not answer", error=str(error))
        self.error = str(error)

    def start(self) -> None:
        self.check()  # what is known from now on, not from when the store was opened
        self._thread = threading.Thread(target=self._run, name="store-health", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def check(self) -> None:
        """One probe: records the head, or the failure."""
        try:
            head = self._probe.head()
        except Exception as e:
            self._probe.reset()
            self.failed(e)
            return
        was_down = self._down_since is not None
        self.head, self._last_ok, self._down_since, self.error = head, time.monotonic(), None, None
        if was_down:
            log.info("the store answers again")
            try:
                self._on_recovery()
            except Exception:
                log.exception("recovering from an outage failed")

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.check()


class PostgresProbe:
    """Asks PostgreSQL over a connection of its own, with short timeouts at every step, so a
    probe of a server that is down or stopped fails in about a second."""

    def __init__(self, conninfo: str, events_table: str) -> None:
        self._conninfo = conninfo
        self._query = f"SELECT max(notification_id) FROM {events_table}"
        self._conn: psycopg.Connection[tuple[Any, ...]] | None = None

    def head(self) -> int:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self._conninfo,
                autocommit=True,
                connect_timeout=1,
                tcp_user_timeout=1000,
                keepalives_idle=1,
                keepalives_interval=1,
                keepalives_count=1,
                options="-c statement_timeout=1000",
            )
        row = self._conn.execute(self._query).fetchone()
        return int(row[0] or 0) if row else 0

    def reset(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def probe(self) -> Probe:
        return Probe(self.head, self.reset)
