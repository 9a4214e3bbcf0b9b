"""Group commit: the events of concurrent commands are written in shared transactions, so
the event table's lock and the durable flush are paid once per batch, not once per command.

Commands still run concurrently in their callers' threads; each hands its new events to one
writer thread and waits. The writer takes whatever has queued up meanwhile (at most
`max_batch` commands) and writes it in one transaction. A command is answered only once its
transaction has committed. A command that cannot succeed in its batch (it was decided on a
state that another command of the batch, or one committed just before, has moved on) is
answered at once with IntegrityError, which the service retries like any optimistic
conflict; if the store still refuses the batch (a writer in another process), every
command of it is written alone, so one conflict never fails its neighbours."""

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import Aggregate, DomainEventProtocol
from eventsourcing.persistence import IntegrityError

KNOWN_VERSIONS = 100_000  # how many aggregates' last written versions are remembered


@dataclass(frozen=True)
class Response:
    """The response to store with a command's events (under its idempotency key)."""

    value: Any
    last_event: int  # index, in the batch's events, of the command's last event


@dataclass
class _Submission:
    aggregates: list[Aggregate]
    events: list[DomainEventProtocol[UUID]]
    response: Any | None
    done: threading.Event = field(default_factory=threading.Event)
    position: int = 0
    error: BaseException | None = None

    def first_versions(self) -> dict[UUID, int]:
        versions: dict[UUID, int] = {}
        for event in self.events:
            versions.setdefault(event.originator_id, event.originator_version)
        return versions

    def finish(self, position: int = 0, error: BaseException | None = None) -> None:
        self.position, self.error = position, error
        self.done.set()


class GroupCommitter:
    def __init__(
        self,
        app: Application[UUID],
        on_commit: Callable[[int], None] | None = None,
        max_batch: int = 500,
    ) -> None:
        self._app = app
        self._on_commit = on_commit
        self._max_batch = max_batch
        self._queue: list[_Submission] = []
        self._ready = threading.Condition()
        self._closed = False
        self._written: OrderedDict[UUID, int] = OrderedDict()  # aggregate id -> last version
        self._writer: threading.Thread | None = None
        self.transactions = 0  # committed, for the curious (tests, bench)

    def commit(self, aggregates: Sequence[Aggregate], response: Any | None = None) -> int:
        """Writes the aggregates' new events (and the response) durably; returns the log
        position of the last of them. Raises IntegrityError when the command must be run
        again on fresh state."""
        events: list[DomainEventProtocol[UUID]] = [
            e for a in aggregates for e in a.collect_events()
        ]
        submission = _Submission(list(aggregates), events, response)
        with self._ready:
            if self._closed:
                raise RuntimeError("the ledger is closed")
            if self._writer is None:
                self._writer = threading.Thread(target=self._write, name="group-commit")
                self._writer.daemon = True
                self._writer.start()
            self._queue.append(submission)
            self._ready.notify()
        submission.done.wait()
        if submission.error is not None:
            raise submission.error
        return submission.position

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify()
        if self._writer is not None:
            self._writer.join(timeout=10)

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
                    self._write_batch(self._admit(batch))
                except BaseException as e:  # never leave a caller waiting for an answer
                    for submission in batch:
                        if not submission.done.is_set():
                            submission.finish(error=e)

    def _admit(self, batch: list[_Submission]) -> list[_Submission]:
        """The submissions that can succeed together; the others are sent back to retry."""
        admitted: list[_Submission] = []
        touched: set[UUID] = set()
        keys: set[Any] = set()
        for submission in batch:
            versions = submission.first_versions()
            key = _key(submission.response)
            stale = any(
                aggregate_id in touched or self._written.get(aggregate_id, 0) >= version
                for aggregate_id, version in versions.items()
            )
            if stale or (key is not None and key in keys):
                submission.finish(error=IntegrityError("decided on a state that has moved on"))
                continue
            admitted.append(submission)
            touched.update(versions)
            if key is not None:
                keys.add(key)
        return admitted

    def _write_batch(self, batch: list[_Submission]) -> None:
        if not batch:
            return
        try:
            positions = self._record(batch)
        except IntegrityError:
            if len(batch) == 1:
                batch[0].finish(error=IntegrityError("conflict with another writer"))
                return
            for submission in batch:
                self._write_batch([submission])
            return
        except BaseException as e:
            for submission in batch:
                submission.finish(error=e)
            return
        for submission, position in zip(batch, positions, strict=True):
            submission.finish(position)
        if self._on_commit is not None:
            self._on_commit(positions[-1])

    def _record(self, batch: list[_Submission]) -> list[int]:
        """Writes the batch in one transaction; returns each submission's last position."""
        processing: ProcessingEvent[UUID] = ProcessingEvent()
        responses: list[Response] = []
        ends: list[int] = []
        for submission in batch:
            processing.collect_events(*submission.events)
            for aggregate in submission.aggregates:
                processing.aggregates[aggregate.id] = aggregate
            ends.append(len(processing.events) - 1)
            if submission.response is not None:
                responses.append(Response(submission.response, ends[-1]))
        processing.saved_kwargs["responses"] = responses
        recordings = self._app._record(processing)
        self.transactions += 1
        self._app._take_snapshots(processing)
        for event in processing.events:
            self._remember(event.originator_id, event.originator_version)
        return [recordings[end].notification.id for end in ends]

    def _remember(self, aggregate_id: UUID, version: int) -> None:
        self._written[aggregate_id] = version
        self._written.move_to_end(aggregate_id)
        if len(self._written) > KNOWN_VERSIONS:
            self._written.popitem(last=False)


def _key(response: Any | None) -> Any:
    return None if response is None else (response.principal, response.key)
