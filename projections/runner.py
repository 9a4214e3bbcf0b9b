"""Follows the event log and applies it to the read models in batches: the view updates and
the new tracking position commit in one transaction, so each event applies exactly once.

Each projection commits its batches in its own transactions, so one that fails (and is
retried) holds back no other. Two runners on one store are safe: each batch locks the
projection's position row, re-reads it and applies only the events past it, so only one
process applies a given projection at a time and a runner killed mid-batch leaves nothing
behind but a rolled-back transaction.

A rebuild is blue/green: the projection is replayed from the start of the log into shadow
tables while the live tables keep serving (and following); when the shadow has caught up, one
transaction that holds the live position applies the last events, swaps the tables and moves
the position, so readers see either the old view or the finished new one."""

import gc
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import structlog
from eventsourcing.application import Application
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Notification

from projections.base import Batch, Projection, ProjectionCursor
from projections.db import (
    Cursor,
    Database,
    TablesBusy,
)
from projections.failures import Failure, Failures, describe, read_failures

log = structlog.get_logger(__name__)

SHADOW_SUFFIX = "__next"
SWAP_ATTEMPTS = 50  # tries to lock the live tables for the swap, a few seconds in all
# How long a stop waits for the thread to end its batch: the store's pools close after it,
# and a connection closed under a running statement can crash the driver.
STOP_SECONDS = 60


class _Decoder:
    """Turns each notification of a batch into its domain event at most once."""

    def __init__(self, app: Application[Any]) -> None:
        self._app = app
        self._events: dict[int, DomainEventProtocol[Any]] = {}

    def events(
        self, notifications: Sequence[Notification], after: int, topics: frozenset[str]
    ) -> list[tuple[DomainEventProtocol[Any], int]]:
        """The events past `after` with one of the topics, and their positions."""
        decoded, to_event = self._events, self._app.mapper.to_domain_event
        batch = []
        for n in notifications:
            if n.id > after and n.topic in topics:
                event = decoded.get(n.id)
                if event is None:
                    event = decoded[n.id] = to_event(n)
                batch.append((event, n.id))
        return batch


class _CollectionPause:
    """A batch allocates many objects that all live until it is written: collecting cycles
    meanwhile frees nothing and walks them all (a fifth of a rebuild's time). The cyclic
    collector waits while any batch of this process is being applied."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._applying = 0
        self._was_enabled = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._applying == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._applying += 1
        try:
            yield
        finally:
            with self._lock:
                self._applying -= 1
                if self._applying == 0 and self._was_enabled:
                    gc.enable()


_collection_paused = _CollectionPause()


def _apply(
    cur: ProjectionCursor,
    projection: Projection,
    notifications: Sequence[Notification],
    after: int,
    decode: _Decoder,
) -> None:
    with _collection_paused():
        apply_events(projection, cur, decode.events(notifications, after, projection.topics))


def apply_events(projection: Projection, cur: ProjectionCursor, batch: Batch) -> None:
    """Applies decoded events as the projection takes them: the whole batch at once when it
    can (`apply_batch`), else one by one."""
    apply_batch = getattr(projection, "apply_batch", None)
    if apply_batch is not None:
        apply_batch(cur, batch)
        return
    for event, position in batch:
        projection.apply(cur, event, position)


class ProjectionRunner:
    def __init__(
        self,
        app: Application[Any],
        db: Database,
        projections: Sequence[Projection],
        batch_size: int = 1000,
        on_failure: Callable[[str], None] | None = None,  # told the name of each that fails
    ) -> None:
        self.app = app
        self.db = db
        self.projections = list(projections)
        self.batch_size = batch_size
        self.on_failure = on_failure
        self._wake = threading.Event()
        self._caught_up = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(
            max(len(self.projections), 1), thread_name_prefix="projection"
        )
        self._topics = frozenset().union(*(p.topics for p in self.projections))
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="projection-reader")
        self._ahead = threading.local()  # each following thread's next batch, being read
        self.positions: dict[str, int] = {}
        self.failures = Failures(db)

    def projection(self, name: str) -> Projection:
        for projection in self.projections:
            if projection.name == name:
                return projection
        raise KeyError(name)

    # Positions ---------------------------------------------------------------------------

    def _lock_position(self, cur: Cursor, name: str) -> int:
        suffix = "" if self.db.is_sqlite else " FOR UPDATE"
        cur.execute("SELECT position FROM projection_positions WHERE name = %s" + suffix, (name,))
        row = cur.fetchone()
        if row is None:
            cur.execute(
                "INSERT INTO projection_positions (name, position) VALUES (%s, 0) "
                "ON CONFLICT (name) DO NOTHING",
                (name,),
            )
            return self._lock_position(cur, name)
        return int(row[0])

    def _set_position(self, cur: Cursor, name: str, position: int) -> None:
        cur.execute(
            "UPDATE projection_positions SET position = %s WHERE name = %s", (position, name)
        )

    def read_positions(self) -> dict[str, int]:
        with self.db.read() as cur:
            return self._positions(cur)

    def _positions(self, cur: Cursor) -> dict[str, int]:
        cur.execute("SELECT name, position FROM projection_positions")
        stored = {str(name): int(pos) for name, pos in cur.fetchall()}
        return {p.name: stored.get(p.name, 0) for p in self.projections}

    def read_status(self) -> tuple[dict[str, int], dict[str, Failure]]:
        """Each projection's position and the failures recorded, by whichever process
        applies them, in one read."""
        with self.db.read() as cur:
            return self._positions(cur), read_failures(cur)

    def head(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def _notifications(
        self, after: int, topics: Sequence[str] = (), stop: int | None = None
    ) -> list[Notification]:
        return list(
            self.app.recorder.select_notifications(
                start=after + 1, limit=self.batch_size, stop=stop, topics=topics
            )
        )

    def _read(
        self, after: int, topics: Sequence[str], wanted: frozenset[str]
    ) -> tuple[list[Notification], _Decoder]:
        """The batch after `after` (of the given topics, or all), with the events of the
        wanted topics decoded."""
        notifications = self._notifications(after, topics)
        decode = _Decoder(self.app)
        with _collection_paused():
            decode.events(notifications, after, wanted)
        return notifications, decode

    def _read_ahead(
        self, after: int, topics: Sequence[str], wanted: frozenset[str]
    ) -> "Future[tuple[list[Notification], _Decoder]]":
        """Starts reading and decoding the batch after `after` while the caller applies the
        one before. Events commit in the order of their positions, so a batch read early is
        still a true prefix of the log after `after`."""
        return self._reader.submit(self._read, after, topics, wanted)

    def _next_batch(self, after: int) -> tuple[list[Notification], _Decoder]:
        """The batch after `after`, read ahead by this thread's last call if it was full."""
        ahead: tuple[int, Future[tuple[list[Notification], _Decoder]]] | None
        ahead = getattr(self._ahead, "batch", None)
        self._ahead.batch = None
        if ahead is not None and ahead[0] == after:
            notifications, decode = ahead[1].result()
        else:
            notifications, decode = self._notifications(after), _Decoder(self.app)
        if len(notifications) == self.batch_size:
            last = notifications[-1].id
            self._ahead.batch = (last, self._read_ahead(last, (), self._topics))
        return notifications, decode

    # Following ---------------------------------------------------------------------------

    def process_batch(self, following: bool = False) -> int:
        """Applies the next batch of events to each projection; returns the most
        notifications any of them read. The log is read and decoded once for all of them; on
        PostgreSQL they then apply it at the same time, each in its own transaction. A
        projection that fails is recorded (failures.py) after the others have had their
        batch, and raised; when `following`, it is not raised, and a failing projection is
        left out until its pause is over."""
        positions = {
            name: position
            for name, position in self.read_positions().items()
            if not following or self.failures.due(name)
        }
        batches = {start: self._next_batch(start) for start in set(positions.values())}
        work = [
            (projection, positions[projection.name], *batches[positions[projection.name]])
            for projection in self.projections
            if projection.name in positions and batches[positions[projection.name]][0]
        ]

        def run(job: tuple[Projection, int, list[Notification], _Decoder]) -> Exception | None:
            return self._try_batch(*job)

        with _collection_paused():
            for projection, start, notifications, decode in work:
                decode.events(notifications, start, projection.topics)  # once, for all threads
            if self.db.is_sqlite:  # one writer at a time: nothing to gain from threads
                failures = [run(job) for job in work]
            else:
                failures = list(self._pool.map(run, work))
        for projection in self.projections:
            if projection.name in positions and not batches[positions[projection.name]][0]:
                # At the head: a failing batch whose commit went through but whose answer was
                # lost (the store stopped at that moment) leaves it here with nothing to apply.
                self.failures.recovered(projection.name)
        for (projection, start, _, _), failure in zip(work, failures, strict=True):
            if failure is None:
                self.failures.recovered(projection.name)
            else:
                self.failures.failed(projection.name, start, failure)
                if self.on_failure is not None:
                    self.on_failure(projection.name)
        if not following:
            for failure in failures:
                if failure is not None:
                    raise failure
        return max((len(notifications) for _, _, notifications, _ in work), default=0)

    def _try_batch(
        self,
        projection: Projection,
        start: int,
        notifications: Sequence[Notification],
        decode: _Decoder,
    ) -> Exception | None:
        # A batch with nothing for the projection only moves its position: if a crash loses
        # that, the events are read again and again apply nothing, so no wait for the disk.
        durable = bool(decode.events(notifications, start, projection.topics))
        try:
            self._apply_batch(projection, notifications, decode, durable)
        except Exception as e:
            return e
        return None

    def _apply_batch(
        self,
        projection: Projection,
        notifications: Sequence[Notification],
        decode: _Decoder,
        durable: bool = True,
    ) -> None:
        last = notifications[-1].id
        with self.db.transaction(durable) as cur:
            position = self._lock_position(cur, projection.name)
            _apply(ProjectionCursor(cur, projection), projection, notifications, position, decode)
            if last > position:
                self._set_position(cur, projection.name, last)
        self._published({projection.name: max(last, position)})

    def _published(self, positions: dict[str, int]) -> None:
        """Makes committed positions visible to readers waiting in this process."""
        self.positions.update(positions)
        with self._caught_up:
            self._caught_up.notify_all()

    def catch_up(self) -> None:
        while self.process_batch():
            pass

    def poke(self, _position: int = 0) -> None:
        """Called after a commit in this process: follow at once instead of at the next poll."""
        self._wake.set()

    def start(self, poll_seconds: float = 0.2) -> None:
        self.positions = self.read_positions()
        self._thread = threading.Thread(
            target=self._follow, args=(poll_seconds,), name="projections", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=STOP_SECONDS)

    def _follow(self, poll_seconds: float) -> None:
        last_error = ""
        while not self._stop.is_set():
            try:
                applied = self.process_batch(following=True)
                last_error = ""
                if applied:
                    continue
            except Exception as e:  # the store: tried again at the next poll, logged once
                if describe(e) != last_error:
                    log.exception("reading the log failed")
                last_error = describe(e)
            self._wake.wait(poll_seconds)
            self._wake.clear()

    def position(self, name: str) -> int:
        return self.positions.get(name, 0)

    def wait_for(self, name: str, position: int, timeout: float) -> bool:
        """Read-your-writes: waits until the projection has applied `position`."""
        deadline = time.monotonic() + timeout
        with self._caught_up:
            while self.position(name) < position:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    # Another process may be the one applying: look at the store once more.
                    self.positions.update(self.read_positions())
                    return self.position(name) >= position
                self._caught_up.wait(min(remaining, 0.1))
                if self._thread is None:
                    self.positions.update(self.read_positions())
        return True

    # Rebuilding ----------------------------------------------------------------------------

    def requested_rebuilds(self) -> list[str]:
        """Projections a migration asked to rebuild (their tables gained what only a replay
        can fill)."""
        with self.db.read() as cur:
            cur.execute("SELECT name FROM projection_rebuilds ORDER BY name")
            requested = {str(row[0]) for row in cur.fetchall()}
        return [p.name for p in self.projections if p.name in requested]

    def rebuild_requested(self) -> None:
        requested = self.requested_rebuilds()
        if requested:
            self.rebuild_together(requested)

    def rebuild(self, name: str, progress: Callable[[int, int], None] | None = None) -> int:
        """Replays the log into new tables for one projection and swaps them in when caught
        up. Calls progress(position, head) after each batch; returns the position."""
        return self.rebuild_together([name], progress)

    def rebuild_together(
        self, names: Sequence[str], progress: Callable[[int, int], None] | None = None
    ) -> int:
        """Rebuilds several projections in one pass over the log (reading only the events
        they follow, each decoded once), each batch applied to each projection's shadow in a
        transaction of its own; one transaction swaps them all in. Calls progress(position,
        head) after each batch; returns the position."""
        projections = [self.projection(name) for name in names]
        wanted = frozenset().union(*(p.topics for p in projections))
        topics = sorted(wanted)
        tables = [table for p in projections for table in p.tables]
        with self.db.transaction() as cur:
            for table in tables:  # left by an interrupted rebuild
                cur.execute(f'DROP TABLE IF EXISTS "{table}{SHADOW_SUFFIX}"')
            self.db.create_shadows(cur, tables, SHADOW_SUFFIX)
        position = 0
        ahead = self._read_ahead(position, topics, wanted)
        while True:
            notifications, decode = ahead.result()
            head = self.head()
            if len(notifications) < self.batch_size or notifications[-1].id >= head:
                break  # close enough to the head: finish while holding the live positions
            ahead = self._read_ahead(notifications[-1].id, topics, wanted)
            self._apply_to_shadows(projections, notifications, position, decode)
            position = notifications[-1].id
            if progress:
                progress(position, head)
        for attempt in range(SWAP_ATTEMPTS):
            try:
                position = self._swap(projections, tables, topics, position)
                break
            except TablesBusy:
                if attempt == SWAP_ATTEMPTS - 1:
                    raise
                time.sleep(min(0.05 * 2**attempt, 1.0))
        self._published({p.name: position for p in projections})
        if progress:
            progress(position, position)
        return position

    def _swap(
        self,
        projections: Sequence[Projection],
        tables: Sequence[str],
        topics: Sequence[str],
        position: int,
    ) -> int:
        """One transaction: holding the live positions (no batch is being applied to them)
        and every live table (no reader is in them), applies the events past `position` to
        the shadows, puts the shadows in place and moves the positions; returns the head."""
        with self.db.transaction() as cur:
            live = [self._lock_position(cur, p.name) for p in projections]
            self.db.lock_exclusively(cur, tables)
            head = self.head()  # events commit in order: every event up to it is readable
            decode = _Decoder(self.app)
            while notifications := self._notifications(position, topics, stop=head):
                for projection in projections:
                    target = ProjectionCursor(cur, projection, SHADOW_SUFFIX)
                    _apply(target, projection, notifications, position, decode)
                position = notifications[-1].id
            assert head >= max(live), "the shadows must hold every event the live views hold"
            self.db.replace_with_shadows(cur, tables, SHADOW_SUFFIX)
            for projection in projections:
                self._set_position(cur, projection.name, head)
            cur.execute(
                "DELETE FROM projection_rebuilds WHERE name IN "
                f"({', '.join(['%s'] * len(projections))})",
                [p.name for p in projections],
            )
        return head

    def _apply_to_shadows(
        self,
        projections: Sequence[Projection],
        notifications: Sequence[Notification],
        after: int,
        decode: _Decoder,
    ) -> None:
        """Applies a batch to each projection's shadow, in a transaction of its own (at the
        same time on PostgreSQL). An interrupted rebuild starts again from empty shadows, and
        the swap's durable commit makes every earlier one durable: these need not wait for
        the disk."""

        def apply(projection: Projection) -> None:
            with self.db.transaction(durable=False) as cur:
                target = ProjectionCursor(cur, projection, SHADOW_SUFFIX)
                _apply(target, projection, notifications, after, decode)

        with _collection_paused():
            if self.db.is_sqlite or len(projections) == 1:
                for projection in projections:
                    apply(projection)
            else:
                list(self._pool.map(apply, projections))
