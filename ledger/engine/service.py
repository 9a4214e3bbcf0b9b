"""The application service: the one place where commands run, are retried and are saved."""

import dataclasses
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.application import Application, Repository
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from ledger.accounts import Account
from ledger.activities import Activity
from ledger.commands.base import Command
from ledger.context import Context
from ledger.engine.aggregates import CACHED_STATES, Aggregates, fetch, require
from ledger.engine.group_commit import GroupCommitter, Submission
from ledger.engine.locks import Busy, StripedLocks
from ledger.engine.recorder import LedgerRecorder, PendingResponse
from ledger.engine.secrets import NoSecrets, SecretGuard
from ledger.engine.unit_of_work import CommandUnit, UnitOfWork
from ledger.errors import Conflict, DomainError, WrongSecret
from ledger.rewards import Reward
from ledger.rules import Rules
from ledger.timesheets import Timesheet
from ledger.volunteers import Volunteer

A = TypeVar("A", bound=Aggregate)
MAX_ATTEMPTS = 30


class TimebankApplication(Application[UUID]):
    name = "timebank"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {
        Account: 200,
        Activity: 200,
        Reward: 200,
        Timesheet: 100,
        Volunteer: 100,
    }


@dataclass(frozen=True)
class IdempotencyKey:
    principal: str
    key: str
    fingerprint: str  # a hash of what was asked: the same key with another request is refused


@dataclass(frozen=True)
class Outcome:
    body: dict[str, Any]  # the result as JSON values, with the log position of its last event
    position: int | None
    replayed: bool = False


# Told of each command once it is answered: the command, its outcome or error, its seconds.
CommandHook = Callable[[Command, Outcome | Exception, float], None]


def answered(body: dict[str, Any], position: int | None, replayed: bool = False) -> Outcome:
    """A command's answer: its result with the log position of its last event (None when it
    changed nothing), the one place that says where a command's position goes."""
    return Outcome({**body, "position": position}, position, replayed)


def _unobserved(*_: object) -> None:
    return None


def to_json(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


class LedgerService:
    def __init__(
        self,
        app: TimebankApplication,
        rules: Rules,
        pepper: bytes,
        on_commit: Callable[[int], None] | None = None,
        cached_states: int = CACHED_STATES,
        on_command: CommandHook | None = None,
        on_batch: Callable[[int], None] | None = None,
        secrets: SecretGuard | None = None,
    ) -> None:
        """`on_command` is told of each command once it is answered (its outcome or error, its
        seconds); `on_batch`, of each group-commit transaction's number of commands;
        `secrets` keeps the PINs and counts the wrong codes and PINs tried."""
        self.app = app
        self.rules = rules
        self.pepper = pepper
        self.secrets: SecretGuard = secrets or NoSecrets()
        self._on_command = on_command or _unobserved
        recorder = app.recorder
        assert isinstance(recorder, LedgerRecorder), "the store adapter must be a LedgerRecorder"
        self._responses = recorder
        store = Repository(app.events, snapshot_store=app.snapshots)
        self.aggregates = Aggregates(store, recorder.max_notification_id() or 0, cached_states)
        self.committer = GroupCommitter(app, self.aggregates, on_commit, on_batch=on_batch)
        self._locks = StripedLocks()

    def execute(
        self, ctx: Context, command: Command, idempotency: IdempotencyKey | None = None
    ) -> Outcome:
        """Runs the command, retrying on optimistic conflicts, and saves what it changed
        together with the response to its idempotency key, in a transaction it may share
        with concurrent commands (group commit). Raises DomainError on refusal."""
        started = time.perf_counter()
        try:
            outcome = self._execute(ctx, command, idempotency)
        except WrongSecret as e:
            # Counted here, once per request: an attempt may be run more than once.
            self.secrets.failed(ctx.actor, e.target_kind, e.target_id)
            self._on_command(command, e, time.perf_counter() - started)
            raise
        except Exception as e:
            self._on_command(command, e, time.perf_counter() - started)
            raise
        self._on_command(command, outcome, time.perf_counter() - started)
        return outcome

    def _execute(
        self, ctx: Context, command: Command, idempotency: IdempotencyKey | None
    ) -> Outcome:
        fresh = False
        for attempt in range(MAX_ATTEMPTS):
            if idempotency is not None:
                replay = self._replay(idempotency)
                if replay is not None:
                    return replay
            unit = CommandUnit(
                self.aggregates, ctx, self.rules, self._locks, self.pepper, fresh, self.secrets
            )
            try:
                decided = self._decide(unit, command, idempotency)
            except Busy:
                _back_off(attempt)
                continue
            finally:
                unit.close()  # the next command on a contended aggregate may build on this one
            body, outcome = decided
            if isinstance(outcome, Submission):
                try:
                    position = outcome.result()
                except IntegrityError:
                    _back_off(attempt)
                    continue
                return answered(body, position)
            if not self._settled(unit):
                fresh = True  # it may rest on what another writer has moved: run it on fresh state
                continue
            if outcome is not None:
                # A concurrent twin of this request may have committed meanwhile.
                replay = self._replay(idempotency) if idempotency else None
                if replay is not None:
                    return replay
                raise outcome
            return answered(body, None)
        raise Conflict("contention", "the records involved are too busy right now; retry")

    def _decide(
        self, unit: CommandUnit, command: Command, idempotency: IdempotencyKey | None
    ) -> tuple[dict[str, Any], Submission | DomainError | None]:
        """Runs the command: its result and its changes handed to the writer, its refusal,
        or its result alone when it changed nothing."""
        try:
            body: dict[str, Any] = to_json(command.handle(unit))
        except DomainError as e:
            return {}, e
        changed = unit.changed()
        if not changed:
            return body, None
        pending = (
            PendingResponse(idempotency.principal, idempotency.key, idempotency.fingerprint, body)
            if idempotency
            else None
        )
        submission = Submission(
            changed, unit.reads, frozenset(unit.after), unit.started_at, pending
        )
        unit.hand_over(submission, changed)
        self.committer.enqueue(submission)
        return body, submission

    def _settled(self, unit: CommandUnit) -> bool:
        """Whether an outcome that changed nothing stands: the commands it built on were
        committed, and nothing it decided on has been moved by another writer since."""
        for pending in unit.after:
            pending.done.wait()
            if pending.error is not None:
                return False
        if not unit.remembered:
            return True  # everything was read from the store during the attempt
        log_head = self.app.recorder.max_notification_id() or 0
        return self.aggregates.current(unit.reads, unit.started_at, log_head)

    def _replay(self, idempotency: IdempotencyKey) -> Outcome | None:
        stored = self._responses.stored_response(idempotency.principal, idempotency.key)
        if stored is None:
            return None
        if stored.fingerprint != idempotency.fingerprint:
            raise Conflict(
                "idempotency-key-reused",
                "this Idempotency-Key was already used with a different request",
            )
        return answered(stored.body, stored.position, replayed=True)

    def close(self) -> None:
        self.committer.close()

    def load(self, cls: type[A], aggregate_id: UUID, what: str) -> A:
        """Loads for reading: no locks, nothing saved."""
        return require(fetch(self.app.repository, cls, aggregate_id), cls, aggregate_id, what)

    def reader(self, ctx: Context) -> UnitOfWork:
        """A unit of work for queries: it loads, and nothing it does is saved."""
        return UnitOfWork(
            self.app.repository, ctx, self.rules, self._locks, self.pepper, self.secrets
        )


def _back_off(attempt: int) -> None:
    time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
