"""Builds the running system from settings: event store, service, read models, followers.

One process runs the projections, the log's Merkle tree and the sweeper (`start`); with
several HTTP worker processes on PostgreSQL, the others only serve requests and keep up with
the read models' positions (`follow_positions`)."""

import fcntl
import gc
import hashlib
import hmac
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import psycopg
import structlog
from eventsourcing.postgres import PostgresDatastore

import migrations
from ledger.commands.attendance import CloseUnattendedCheckIn
from ledger.commands.base import Command
from ledger.commands.exchange import ExpireRedemption
from ledger.commands.recognition import ConfirmAward
from ledger.context import SYSTEM, Context
from ledger.engine.reads import AggregateReads
from ledger.engine.service import LedgerService, TimebankApplication
from ledger.errors import DomainError
from projections.attendance.queries import unattended_check_ins
from projections.audit.queries import AuditQueries
from projections.balances.queries import BalancesQueries, overdue_redemptions
from projections.catalog import all_projections
from projections.certificates.queries import CertificatesQueries
from projections.db import RECONNECT_SECONDS, Database, PostgresDatabase, SQLiteDatabase
from projections.reads import Views
from projections.records.queries import RecordsQueries
from projections.records.service_record import awards_due
from projections.rewards.queries import RewardsQueries
from projections.runner import STOP_SECONDS, ProjectionRunner
from projections.worklist.queries import WorklistQueries
from timebank.checkpoints import load_signing_key
from timebank.erasure import Erasure
from timebank.eventstore import (
    PostgresLedgerRecorder,
    ResponseSealer,
    SQLiteLedgerRecorder,
)
from timebank.health import PostgresProbe, Probe, StoreHealth
from timebank.logtree import LogTree
from timebank.metrics import Metrics
from timebank.pepper import load_pepper
from timebank.sealing import KeyStore, SealingMapper, load_master_key, registrations_in_plaintext
from timebank.secrets import SecretStore
from timebank.settings import Settings
from timebank.tokens import TokenStore

log = structlog.get_logger(__name__)

# Seconds between looks at the log when no commit of this process wakes the projections.
POLL_SECONDS = 0.2
# When the commands are written by other processes (the HTTP workers), look more often.
POLL_SECONDS_OTHERS_WRITE = 0.05
# Seconds between reads of the projections' positions in a process that does not run them.
POSITIONS_SECONDS = 0.1
# Idempotency responses removed in one transaction: a short lock, whatever the backlog.
EXPIRED_RESPONSES_BATCH = 1000
KEY_POOL_SIZE = 4  # PostgreSQL connections of the data keys (short point reads)
SCHEMA_LOCK = 0x7469_6D65_6261_6E6B  # "timebank": the advisory lock of schema changes


def freeze_startup_heap() -> None:
    """For a serving process once it has started: what exists by then (modules, schemas, the
    runtime) lives as long as the process, so it is moved out of the cyclic collector's sight.
    Left in, every full collection walks it all again, a pause of about 65 ms."""
    gc.collect()
    gc.freeze()


def eventsourcing_env(settings: Settings) -> dict[str, str]:
    store = settings.store
    # Aggregates loaded for reading stay cached and are brought up to date with one read of
    # their newer events (fast-forward); commands use the service's own cache of the same size.
    env = {
        "CREATE_TABLE": "y",
        "AGGREGATE_CACHE_MAXSIZE": str(settings.aggregate_cache_size),
        "AGGREGATE_CACHE_FASTFORWARD": "y",
        "TRANSCODER_TOPIC": "timebank.transcoder:OrjsonTranscoder",
        "MAPPER_TOPIC": "timebank.sealing:SealingMapper",
    }
    if store.is_sqlite:
        return env | {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": store.sqlite_path,
            "SQLITE_LOCK_TIMEOUT": "30",
            "APPLICATION_RECORDER_TOPIC": "timebank.eventstore:SQLiteLedgerRecorder",
        }
    url = store.url
    return env | {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": url.database or "",
        "POSTGRES_HOST": url.host or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": url.username or "",
        "POSTGRES_PASSWORD": str(url.password or ""),
        "POSTGRES_POOL_SIZE": str(settings.pool_size),
        "POSTGRES_MAX_OVERFLOW": str(settings.pool_size),
        # How long a connection (a new one, or one of the pool's) is waited for.
        "POSTGRES_CONNECT_TIMEOUT": str(settings.store_timeout_seconds),
        "APPLICATION_RECORDER_TOPIC": "timebank.eventstore:PostgresLedgerRecorder",
    }


def open_database(settings: Settings, pool_size: int | None = None) -> Database:
    store = settings.store
    if store.is_sqlite:
        return SQLiteDatabase(store.sqlite_path)
    return PostgresDatabase(
        store.libpq_conninfo, pool_size or settings.pool_size, settings.store_timeout_seconds
    )


def response_key(settings: Settings, pepper: bytes) -> bytes:
    """The 32-byte AES key of the stored idempotency responses: from TIMEBANK_RESPONSE_KEY,
    else from the ID pepper (another purpose, so another key than the pepper itself)."""
    secret = settings.response_key.get_secret_value().encode() if settings.response_key else pepper
    purpose = b"timebank idempotency responses"
    return hmac.new(secret, purpose, hashlib.sha256).digest()


@contextmanager
def schema_lock(settings: Settings) -> Iterator[None]:
    """Held while a process brings the schema up to date (migrations, the event tables and
    their functions), so that two processes starting at once (two CLI commands, HTTP workers)
    never change it at the same time: a PostgreSQL advisory lock, or a lock on a file beside
    the SQLite database."""
    store = settings.store
    if store.is_sqlite:
        with open(f"{store.sqlite_path}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
        return
    with psycopg.connect(store.libpq_conninfo, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        yield  # the lock ends with the connection


def open_probe(settings: Settings, app: TimebankApplication) -> Probe:
    if settings.store.is_sqlite:
        recorder = app.recorder
        return Probe(lambda: recorder.max_notification_id() or 0, lambda: None)
    table = app.recorder.events_table_name  # type: ignore[attr-defined]
    return PostgresProbe(settings.store.libpq_conninfo, table).probe()


@dataclass(frozen=True)
class Queries:
    """Every read the API serves: one object per read model, whose reads check their read
    permissions and wait for the position asked for, and the reads of the aggregates."""

    balances: BalancesQueries
    audit: AuditQueries
    records: RecordsQueries
    certificates: CertificatesQueries
    rewards: RewardsQueries
    worklist: WorklistQueries
    aggregates: AggregateReads


def open_queries(
    settings: Settings, db: Database, service: LedgerService, runner: ProjectionRunner
) -> Queries:
    views = Views(db, service, runner, settings.rules, settings.read_wait_seconds)
    return Queries(
        BalancesQueries(views),
        AuditQueries(views),
        RecordsQueries(views),
        CertificatesQueries(views),
        RewardsQueries(views),
        WorklistQueries(views),
        AggregateReads(service),
    )


class PlaintextStore(Exception):
    """The store holds personal data written before it was sealed: it is not served."""


PLAINTEXT_STORE = (
    "this store holds volunteers' personal data in plaintext, written before personal data "
    "was sealed; it is not served as it is: move it into a new store with "
    "`timebank store reseal --to URL` (README: Operations, Stores written before sealing)"
)


def open_application(settings: Settings, keys: KeyStore) -> TimebankApplication:
    """The event-sourced application of the store, its mapper sealing with `keys`."""
    app = TimebankApplication(env=eventsourcing_env(settings))
    assert isinstance(app.mapper, SealingMapper)
    app.mapper.keys = keys
    return app


class Runtime:
    def __init__(
        self, settings: Settings, migrate: bool = True, plaintext_allowed: bool = False
    ) -> None:
        """Opens the stores; `migrate=False` in a process whose parent has migrated them.
        A store with personal data in plaintext is refused unless `plaintext_allowed` (to
        move it into a new one)."""
        self.settings = settings
        pepper = load_pepper(settings)  # before the store is touched: no pepper, no start
        master_key = load_master_key(settings)
        signing_key, generated = load_signing_key(settings)
        if generated:
            log.warning(
                "a signing key for the log's checkpoints was generated; keep it safe",
                path=f"{settings.store.sqlite_path}.signing-key",
            )
        with schema_lock(settings):
            if migrate:
                migrations.upgrade(settings.store.sqlalchemy_url)
            self.db = open_database(settings)
            # Connections of their own: keys are read while events are decoded, also inside
            # a read model's transaction on this thread's connection.
            self.keys = KeyStore(open_database(settings, KEY_POOL_SIZE), master_key)
            self.app = open_application(settings, self.keys)
        try:
            self.keys.check_master_key()
            if not plaintext_allowed and registrations_in_plaintext(self.app.mapper, self.recorder):
                raise PlaintextStore(PLAINTEXT_STORE)
        except Exception:
            self.app.close()
            self.db.close()
            self.keys.close()
            raise
        self.recorder.sealer = ResponseSealer(response_key(settings, pepper))
        if isinstance(self._datastore, PostgresDatastore):  # the library does not pass it on
            self._datastore.pool.reconnect_timeout = RECONNECT_SECONDS
        self.health = StoreHealth(open_probe(settings, self.app), on_recovery=self._recovered)
        self.runner = ProjectionRunner(
            self.app, self.db, all_projections(settings.rules), settings.projection_batch_size
        )
        self.metrics = Metrics([p.name for p in self.runner.projections])
        self.runner.on_failure = self.metrics.projection_failed
        self.log_tree = LogTree(
            self.recorder,
            self.db,
            signing_key,
            settings.log_origin,
            settings.projection_batch_size,
            settings.checkpoint_seconds,
        )
        self.secrets = SecretStore(self.db, settings.guess_limit, settings.guess_window_seconds)
        self.service = LedgerService(
            self.app,
            settings.rules,
            pepper,
            on_commit=self._committed,
            cached_states=settings.aggregate_cache_size,
            on_command=self.metrics.command,
            on_batch=self.metrics.batch,
            secrets=self.secrets,
        )
        self.tokens = TokenStore(self.db, expiry_days=settings.token_expiry_days.of)
        self.queries = open_queries(settings, self.db, self.service, self.runner)
        self.erasure = Erasure(
            self.service,
            self.keys,
            self.secrets,
            self.tokens,
            self.runner,
            settings.read_wait_seconds,
        )
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None
        self._positions: threading.Thread | None = None

    def _committed(self, position: int) -> None:
        self.runner.poke(position)
        self.log_tree.poke(position)

    def start(self, poll_seconds: float = POLL_SECONDS) -> None:
        """Follows the log into the read models and the log's Merkle tree (which signs its
        checkpoints); expires overdue redemptions and confirms
        awards whose public notice has ended, and closes check-ins left open; samples the
        projections' positions for the metrics, and serves them on a port of their own if one
        is configured."""
        self.health.start()
        self.runner.start(poll_seconds)
        self.log_tree.start(poll_seconds)
        self.metrics.follow(lambda: dict(self.runner.positions), self.log_head)
        if self.settings.metrics_port is not None:
            self.metrics.listen(self.settings.metrics_host, self.settings.metrics_port)
        if self.runner.requested_rebuilds():
            rebuilder = threading.Thread(
                target=self._rebuild_requested, name="rebuild", daemon=True
            )
            rebuilder.start()
        self._sweeper = threading.Thread(target=self._sweep, name="sweeper", daemon=True)
        self._sweeper.start()

    @property
    def recorder(self) -> SQLiteLedgerRecorder | PostgresLedgerRecorder:
        recorder = self.app.recorder
        assert isinstance(recorder, SQLiteLedgerRecorder | PostgresLedgerRecorder)
        return recorder

    @property
    def _datastore(self) -> object:
        """The event store's datastore (a PostgresDatastore on PostgreSQL)."""
        return getattr(self.app.recorder, "datastore", None)

    def log_head(self) -> int:
        """The log head as this process knows it, without asking the store: what the health
        check last read, or further if the projections or the log's tree have applied more
        since."""
        return max(
            self.health.head or 0, *self.runner.positions.values(), self.log_tree.built.position
        )

    def follow_positions(self) -> None:
        """For a process that serves reads while another runs the projections: keeps the
        positions it reports (and waits on) up to date with the store."""
        self.health.start()
        self.runner.positions = self.runner.read_positions()
        self._positions = threading.Thread(target=self._read_positions, name="positions")
        self._positions.daemon = True
        self._positions.start()

    def _read_positions(self) -> None:
        while not self._stop.wait(POSITIONS_SECONDS):
            if not self.health.available:
                continue
            try:
                positions, self.runner.failures.current = self.runner.read_status()
                self.runner.positions.update(positions)
                self.log_tree.built = self.log_tree.head()
            except Exception:
                log.exception("reading the projections' positions failed")

    def _recovered(self) -> None:
        """The store answers again: connections it broke are replaced, and the read models
        that failed meanwhile are tried at once."""
        self.db.check_connections()
        if isinstance(self._datastore, PostgresDatastore):
            self._datastore.pool.check()
        self.runner.failures.retry_now()
        self.runner.poke()

    def _rebuild_requested(self) -> None:
        try:
            self.runner.rebuild_requested()
        except Exception:
            log.exception("requested rebuild failed; it is tried again on the next start")

    def _as_system(self, command: Command, now: datetime, subject: UUID) -> bool:
        ctx = Context(SYSTEM, f"sweep-{uuid.uuid4()}", now)
        try:
            outcome = self.service.execute(ctx, command)
        except DomainError as e:
            log.info(
                "sweep skipped", command=type(command).__name__, id=str(subject), reason=e.code
            )
            return False
        return outcome.position is not None  # None: done already, the read model was behind

    def expire_overdue(self, now: datetime | None = None) -> int:
        now = now or datetime.now(UTC)
        due = overdue_redemptions(self.db, now)
        return sum(self._as_system(ExpireRedemption(r), now, r) for r in due)

    def confirm_due_awards(self, now: datetime | None = None) -> int:
        now = now or datetime.now(UTC)
        return sum(self._as_system(ConfirmAward(a), now, a) for a in awards_due(self.db, now))

    def close_unattended_check_ins(self, now: datetime | None = None) -> int:
        now = now or datetime.now(UTC)
        due = unattended_check_ins(self.db, now)
        return sum(self._as_system(CloseUnattendedCheckIn(s), now, s) for s in due)

    def expire_idempotency_responses(self, now: datetime | None = None) -> int:
        """Removes the responses stored for idempotency keys longer ago than their life, a
        batch a transaction so that no writer waits long; a retry with such a key is then a
        new request."""
        now = now or datetime.now(UTC)
        before = now - timedelta(hours=self.settings.idempotency_expiry_hours)
        removed = 0
        while True:
            batch = self.recorder.expire_responses(before, EXPIRED_RESPONSES_BATCH)
            removed += batch
            if batch < EXPIRED_RESPONSES_BATCH or self._stop.is_set():
                return removed

    def sweep(self, now: datetime | None = None) -> None:
        """One run of the sweeper: expires overdue redemptions, confirms awards whose notice
        has ended and closes check-ins left open past their window; counted in the metrics
        with what it did. Then removes expired idempotency responses."""
        expired = confirmed = closed = 0
        failed = False
        try:
            expired = self.expire_overdue(now)
            confirmed = self.confirm_due_awards(now)
            closed = self.close_unattended_check_ins(now)
            removed = self.expire_idempotency_responses(now)
            if removed:
                log.info("expired idempotency responses removed", count=removed)
        except Exception:
            failed = True
            log.exception("sweep failed")
        self.metrics.swept(expired, confirmed, closed, failed)

    def _sweep(self) -> None:
        while not self._stop.wait(self.settings.expiry_sweep_seconds):
            if self.health.available:
                self.sweep()

    def close(self) -> None:
        self._stop.set()
        self.health.stop()
        self.metrics.close()
        for thread in (self._positions, self._sweeper):
            if thread is not None:
                thread.join(timeout=STOP_SECONDS)
        self.runner.stop()
        self.log_tree.stop()
        self.service.close()
        self.db.close()
        self.keys.close()
        self.app.close()
