"""Group commit: the events of concurrent commands are written in shared transactions, so
the event table's lock and the durable flush are paid once per batch, not once per command.

Commands still run concurrently in their callers' threads; each hands its changes to one
writer thread and waits. The writer takes whatever has queued up meanwhile (at most
`max_batch` commands) and writes it in one transaction. A command is answered only once its
transaction has committed, and only if every command whose uncommitted changes it built on
(`after`) was written before it or with it; if one of those failed, so does it.

A command that cannot succeed in its batch is answered at once with IntegrityError, which
the service retries on fresh state: it decided on a version that another command of the
batch, one committed before, or another writer has moved on. The batch's transaction, under
the event table's lock, writes nothing unless every aggregate the batch decided on is still
at the version it read, and hands back the events other writers committed since the last
batch (`ForeignEvents`), so that what is kept in memory stays current and a command is also
refused when an aggregate it only read was moved. If the store still refuses a batch, every
command of it is written alone, so one conflict never fails its neighbours."""

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, DomainEventProtocol
from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError, Recording

from ledger.engine.aggregates import Aggregates, Pending
from ledger.engine.recorder import UNKNOWN_OUTCOME, Response, StaleReads, StoreUnavailable
from ledger.engine.snapshots import Snapshots

FOREIGN_LIMIT = 10_000  # other writers' events read per batch; beyond it, forget all kept

log = structlog.get_logger(__name__)


@dataclass(eq=False)
class Submission:
    """One attempt of a command, as handed to the writer."""

    aggregates: Sequence[Aggregate]  # those it changed
    reads: dict[UUID, int]  # the version of each aggregate it decided on (0: absent)
    after: frozenset[Pending]  # unanswered commands whose changes it built on
    started_at: int  # the log position what it loaded was current with
    response: Any | None = None
    events: list[DomainEventProtocol[UUID]] = field(init=False)
    done: threading.Event = field(default_factory=threading.Event, init=False)
    position: int = field(default=0, init=False)
    error: BaseException | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.events = [e for a in self.aggregates for e in a.collect_events()]

    def last_versions(self) -> dict[UUID, int]:
        return {e.originator_id: e.originator_version for e in self.events}

    def finish(self, position: int = 0, error: BaseException | None = None) -> None:
        self.position, self.error = position, error
        self.after = frozenset()
        self.done.set()

    def result(self) -> int:
        """Waits for the answer: the log position of its last event."""
        self.done.wait()
        if self.error is not None:
            raise self.error
        return self.position


class ForeignEvents:
    """Given to the recorder with a batch. Inside the batch's transaction, holding the event
    table's lock, the recorder writes the batch only if every aggregate it decided on is at
    the version it read (`reads`: the oldest any of its commands read). It reads the events
    other writers committed after `after` (at most `limit` + 1) and hands them over
    (position, aggregate id, version; oldest first) with the last position before the
    batch's own; it gets back the commands that decided on a version those events moved."""

    limit = FOREIGN_LIMIT

    def __init__(self, aggregates: Aggregates, batch: list[Submission]) -> None:
        self.after = aggregates.head
        self.batch = batch
        self._aggregates = aggregates
        reads: dict[UUID, int] = {}
        for submission in batch:
            for aggregate_id, version in submission.reads.items():
                reads[aggregate_id] = min(version, reads.get(aggregate_id, version))
        self.reads = reads

    def __call__(self, events: Sequence[tuple[int, UUID, int]], last: int) -> list[Submission]:
        stale = self._aggregates.moved_on(events, last, [s.reads for s in self.batch], self.limit)
        return [submission for submission, moved in zip(self.batch, stale, strict=True) if moved]


class GroupCommitter:
    def __init__(
        self,
        app: Application[UUID],
        aggregates: Aggregates,
        on_commit: Callable[[int], None] | None = None,
        max_batch: int = 500,
        on_batch: Callable[[int], None] | None = None,  # told each transaction's commands
    ) -> None:
        self._app = app
        self._aggregates = aggregates
        self._on_commit = on_commit
        self._on_batch = on_batch
        self._max_batch = max_batch
        self._queue: list[Submission] = []
        self._ready = threading.Condition()
        self._closed = False
        self._writer: threading.Thread | None = None
        self._snapshots = Snapshots(app)
        self.transactions = 0  # committed, for the curious (tests, bench)
        self.retried = 0  # commands sent back to run again on fresh state, likewise

    def enqueue(self, submission: Submission) -> None:
        """Hands a command to the writer; `submission.result()` waits for its answer."""
        with self._ready:
            if self._closed:
                error = RuntimeError("the ledger is closed")
                self._fail(submission, error)
                raise error
            if self._writer is None:
                self._writer = threading.Thread(target=self._write, name="group-commit")
                self._writer.daemon = True
                self._writer.start()
            self._queue.append(submission)
            self._ready.notify()

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify()
        if self._writer is not None:
            self._writer.join(timeout=10)
        self._snapshots.close()

    def _write(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._closed:
                    self._ready.wait()
                if not self._queue:
                    return
                queued, self._queue = self._queue, []
            while queued:
                batch, queued = queued[: self._max_batch], queued[self._max_batch :]
                try:
                    self._write_batch(batch)
                except BaseException as e:  # never leave a caller waiting for an answer
                    for submission in batch:
                        if not submission.done.is_set():
                            self._fail(submission, e)

    def _admit(self, batch: list[Submission]) -> list[Submission]:
        """The submissions that can succeed together, in order; the others are answered
        with IntegrityError (to retry) and break what was built on them."""
        admitted: list[Submission] = []
        before: set[Pending] = set()  # the admitted ones, to look up
        versions: dict[UUID, int] = {}  # last versions written by the admitted ones
        keys: set[Any] = set()
        for submission in batch:
            if submission.done.is_set():
                continue
            key = _key(submission.response)
            if (
                not _built_on(submission, before)
                or self._aggregates.is_stale(submission.reads, submission.started_at, versions)
                or (key is not None and key in keys)
            ):
                self._fail(submission, IntegrityError("decided on a state that has moved on"))
                continue
            admitted.append(submission)
            before.add(submission)
            versions.update(submission.last_versions())
            if key is not None:
                keys.add(key)
        return admitted

    def _write_batch(self, batch: list[Submission]) -> None:
        admitted = self._admit(batch)
        while admitted:
            try:
                positions = self._record(admitted)
            except StaleReads as e:
                for submission in e.submissions:
                    self._fail(submission, IntegrityError("another writer moved its aggregates"))
                admitted = self._admit(admitted)
                continue
            except IntegrityError:
                if len(admitted) == 1:
                    error = IntegrityError("conflict with another writer")
                    self._fail(admitted[0], error, refused=True)
                    return
                for submission in admitted:
                    self._write_batch([submission])
                return
            except (OperationalError, InterfaceError) as e:
                log.warning("the store failed while a batch was written", error=str(e))
                for submission in admitted:
                    self._fail(submission, StoreUnavailable(UNKNOWN_OUTCOME))
                return
            except BaseException as e:
                for submission in admitted:
                    self._fail(submission, e)
                return
            for submission, position in zip(admitted, positions, strict=True):
                submission.finish(position)
            if self._on_commit is not None:
                self._on_commit(positions[-1])
            if self._on_batch is not None:
                self._on_batch(len(admitted))
            return

    def _record(self, batch: list[Submission]) -> list[int]:
        """Writes the batch in one transaction; returns each submission's last position."""
        events: list[DomainEventProtocol[UUID]] = []
        responses: list[Response] = []
        ends: list[int] = []
        for submission in batch:
            events.extend(submission.events)
            ends.append(len(events) - 1)
            if submission.response is not None:
                responses.append(Response(submission.response, ends[-1]))
        recordings = self._app.events.put(
            events, responses=responses, check=ForeignEvents(self._aggregates, batch)
        )
        self.transactions += 1
        written = _positions(recordings)
        try:
            self._aggregates.committed([a for s in batch for a in s.aggregates], written)
            self._snapshots.take(batch)
        except Exception:  # the batch is durable: its commands must not be told otherwise
            log.exception("keeping up with a committed batch failed; forgetting what is kept")
            self._aggregates.forget(written[-1][0])
        return [recordings[end].notification.id for end in ends]

    def _fail(self, submission: Submission, error: BaseException, refused: bool = False) -> None:
        self._aggregates.discard(submission.reads, refused)
        if isinstance(error, IntegrityError):
            self.retried += 1
        submission.finish(error=error)


def _built_on(submission: Submission, admitted: set[Pending]) -> bool:
    """Whether every command it built on is committed or admitted before it."""
    return all((s.done.is_set() and s.error is None) or s in admitted for s in submission.after)


def _positions(recordings: Sequence[Recording[UUID]]) -> list[tuple[int, UUID, int]]:
    return [
        (r.notification.id, r.domain_event.originator_id, r.domain_event.originator_version)
        for r in recordings
    ]


def _key(response: Any | None) -> Any:
    return None if response is None else (response.principal, response.key)
