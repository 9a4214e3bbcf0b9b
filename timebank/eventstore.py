"""Event-store recorders that also store idempotent responses in the same transaction as
the events a command produced, so a retried request is answered from what was recorded, and
that show the group writer, inside each batch's transaction and under the event table's
lock, the events other writers committed since its last batch (`ForeignEvents`).

A stored response is kept sealed (AES-GCM): it may carry a secret, such as the code of a
reserved reward, which a replay must give back but the table must not show. Responses expire:
the sweeper removes those older than the configured life in small batches."""

import base64
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.cipher import AESCipher
from eventsourcing.persistence import InterfaceError, Notification, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from eventsourcing.utils import Environment, retry
from psycopg import Cursor
from psycopg.rows import DictRow, tuple_row
from psycopg.sql import SQL, Identifier

from ledger.engine.group_commit import ForeignEvents
from ledger.engine.recorder import PendingResponse, Response, StaleReads, StoredResponse

TABLE = "idempotency_keys"
CREATED_INDEX = f"{TABLE}_created"
SEALED = "sealed"  # the one field of a sealed response: nonce, tag and ciphertext in base64


class ResponseSealer:
    """Seals the responses stored for idempotency keys with AES-GCM under a 32-byte key, and
    opens them again; a response stored before they were sealed is read as it is."""

    def __init__(self, key: bytes) -> None:
        self._cipher = AESCipher(Environment(env={"CIPHER_KEY": base64.b64encode(key).decode()}))

    def seal(self, body: Mapping[str, Any]) -> str:
        sealed = self._cipher.encrypt(json.dumps(dict(body)).encode())
        return json.dumps({SEALED: base64.b64encode(sealed).decode()})

    def open(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.keys() != {SEALED}:
            return body
        opened: dict[str, Any] = json.loads(self._cipher.decrypt(base64.b64decode(body[SEALED])))
        return opened


class Sealed:
    """What both recorders share: the sealer the runtime gives them (timebank/runtime.py)."""

    sealer: ResponseSealer | None = None

    def _dump(self, body: Mapping[str, Any]) -> str:
        if self.sealer is None:
            raise RuntimeError("the recorder was given no ResponseSealer")
        return self.sealer.seal(body)

    def _stored(self, fingerprint: str, body: Any, position: int | None) -> StoredResponse:
        body = json.loads(body) if isinstance(body, str) else dict(body)
        if self.sealer is not None:
            body = self.sealer.open(body)
        elif body.keys() == {SEALED}:
            raise RuntimeError("the recorder was given no ResponseSealer")
        # Responses stored before the position had a column of its own carry it in the body.
        return StoredResponse(
            fingerprint, body, body.get("position") if position is None else position
        )

    def _response_rows(
        self, responses: Sequence[Response], notification_ids: Sequence[int] | None
    ) -> list[tuple[str, str, str, str, int | None]]:
        """Each command's response, and the log position of its last event."""
        return [
            (
                r.value.principal,
                r.value.key,
                r.value.fingerprint,
                self._dump(r.value.body),
                notification_ids[r.last_event] if notification_ids else None,
            )
            for r in responses
        ]

    def _response_columns(
        self, responses: Sequence[Response]
    ) -> tuple[list[str], list[str], list[str], list[str], list[int]]:
        pending: list[PendingResponse] = [r.value for r in responses]
        return (
            [p.principal for p in pending],
            [p.key for p in pending],
            [p.fingerprint for p in pending],
            [self._dump(p.body) for p in pending],
            [r.last_event for r in responses],
        )


# One batch of the group writer in one statement, holding the event table's lock: the other
# writers' events since the writer's last batch, then the batch's events and responses unless
# an aggregate it read is not at the version it read (the oldest any of its commands read):
# moved by another writer, or built on changes that were never written. New events take
# positions in their order, so the n-th smallest position is the n-th event's.
APPEND_FUNCTION = """
CREATE OR REPLACE FUNCTION {schema}.{function}(
    since bigint, foreign_limit int, read_ids uuid[], read_versions bigint[],
    originator_ids uuid[], versions bigint[], topics text[], states bytea[],
    principals text[], request_keys text[], fingerprints text[], bodies text[], ends int[]
) RETURNS TABLE (notification bigint, aggregate_id uuid, aggregate_version bigint)
LANGUAGE plpgsql AS $BODY$
DECLARE
    positions bigint[];
BEGIN
    SET LOCAL lock_timeout = '{lock_timeout}s';
    LOCK TABLE {events} IN EXCLUSIVE MODE;
    RETURN QUERY
        SELECT e.notification_id, e.originator_id, e.originator_version FROM {events} e
        WHERE e.notification_id > since ORDER BY e.notification_id DESC LIMIT foreign_limit;
    IF EXISTS (
        SELECT FROM unnest(read_ids, read_versions) AS r(id, version)
        WHERE r.version <> coalesce(
            (SELECT max(e.originator_version) FROM {events} e WHERE e.originator_id = r.id), 0
        )
    ) THEN
        RETURN;
    END IF;
    NOTIFY {channel};
    WITH inserted AS (
        INSERT INTO {events} (originator_id, originator_version, topic, state)
        SELECT * FROM unnest(originator_ids, versions, topics, states)
        RETURNING notification_id
    )
    SELECT array_agg(i.notification_id ORDER BY i.notification_id) INTO positions
    FROM inserted i;
    INSERT INTO {responses} (principal, key, fingerprint, response, position)
    SELECT r.p, r.k, r.f, r.b::jsonb, positions[r.e + 1]
    FROM unnest(principals, request_keys, fingerprints, bodies, ends) AS r(p, k, f, b, e);
    RETURN QUERY SELECT p, NULL::uuid, NULL::bigint FROM unnest(positions) AS p;
END;
$BODY$
"""


def _columns(
    stored_events: Sequence[StoredEvent],
) -> tuple[list[Any], list[int], list[str], list[bytes]]:
    return (
        [e.originator_id for e in stored_events],
        [e.originator_version for e in stored_events],
        [e.topic for e in stored_events],
        [e.state for e in stored_events],
    )


class SQLiteLedgerRecorder(Sealed, SQLiteApplicationRecorder):
    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {TABLE} ("
            "principal TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, "
            "response TEXT NOT NULL, created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, "
            "position INTEGER, PRIMARY KEY (principal, key))",
            f"CREATE INDEX IF NOT EXISTS {CREATED_INDEX} ON {TABLE} (created_at)",
        ]

    def expire_responses(self, before: datetime, limit: int) -> int:
        """Removes at most `limit` responses stored before `before`, in one short
        transaction; returns how many."""
        # created_at is SQLite's CURRENT_TIMESTAMP: UTC, "YYYY-MM-DD HH:MM:SS".
        cutoff = before.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"DELETE FROM {TABLE} WHERE rowid IN "
                f"(SELECT rowid FROM {TABLE} WHERE created_at < ? LIMIT ?)",
                (cutoff, limit),
            )
            removed: int = c.sqlite_cursor.rowcount
        return removed

    def _create_table(self, c: SQLiteCursor) -> None:
        super()._create_table(c)
        c.execute(f"PRAGMA table_info({TABLE})")
        if "position" not in {row[1] for row in c.fetchall()}:  # made before it had one
            c.execute(f"ALTER TABLE {TABLE} ADD COLUMN position INTEGER")

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        notification_ids = super()._insert_events(c, stored_events, **kwargs)
        check: ForeignEvents | None = kwargs.get("check")
        if check is not None and notification_ids:
            # The inserts hold the write lock; a batch that read an aggregate at another
            # version than the stored one raises and is rolled back.
            first = notification_ids[0]
            c.execute(
                f"SELECT rowid, originator_id, originator_version FROM {self.events_table_name} "
                "WHERE rowid > ? AND rowid < ? ORDER BY rowid LIMIT ?",
                (check.after, first, check.limit + 1),
            )
            foreign = [(r[0], UUID(r[1]), r[2]) for r in c.fetchall()]
            stale = check(foreign, first - 1)
            moved = self._not_as_read(c, check.reads, first)
            if stale or moved:
                raise StaleReads(stale or [s for s in check.batch if moved & s.reads.keys()])
        rows = self._response_rows(kwargs.get("responses", ()), notification_ids)
        if rows:
            c.executemany(
                f"INSERT INTO {TABLE} (principal, key, fingerprint, response, position) "
                "VALUES (?, ?, ?, ?, ?)",
                rows,
            )
        return notification_ids

    def _not_as_read(self, c: SQLiteCursor, reads: dict[UUID, int], before: int) -> set[UUID]:
        """The aggregates read whose last version before `before` is not the one read."""
        moved = set()
        for aggregate_id, version in reads.items():
            c.execute(
                f"SELECT max(originator_version) FROM {self.events_table_name} "
                "WHERE originator_id = ? AND rowid < ?",
                (aggregate_id.hex, before),
            )
            row = c.fetchone()
            if (row[0] or 0) != version:
                moved.add(aggregate_id)
        return moved

    def insert_at_positions(self, events: Sequence[tuple[int, StoredEvent]]) -> None:
        """Writes events at the log positions given (a store being filled from another, whose
        read models refer to those positions), in one transaction."""
        rows = [
            (position, UUID(str(e.originator_id)).hex, e.originator_version, e.topic, e.state)
            for position, e in events
        ]
        with self.datastore.transaction(commit=True) as c:
            c.executemany(
                f"INSERT INTO {self.events_table_name} "
                "(rowid, originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?, ?)",
                rows,
            )

    def stored_response(self, principal: str, key: str) -> StoredResponse | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT fingerprint, response, position FROM {TABLE} "
                "WHERE principal = ? AND key = ?",
                (principal, key),
            )
            row = c.fetchone()
        return self._stored(row[0], row[1], row[2]) if row else None


class PostgresLedgerRecorder(Sealed, PostgresApplicationRecorder):
    # The library tries a read ten times over two seconds and more, each try waiting for a
    # connection: a request reading from a database that is down is told so after one try
    # (503). Connections that a restart of the database broke are replaced when the store's
    # health check sees it answer again (timebank/health.py).
    select_events = PostgresApplicationRecorder.select_events.__wrapped__
    max_notification_id = PostgresApplicationRecorder.max_notification_id.__wrapped__

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        schema = Identifier(self.datastore.schema)
        self.responses_table = SQL("{0}.{1}").format(schema, Identifier(TABLE))
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {0} ("
                "principal text NOT NULL, key text NOT NULL, fingerprint text NOT NULL, "
                "response jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), "
                "position bigint, PRIMARY KEY (principal, key))"
            ).format(self.responses_table)
        )
        self.sql_create_statements.append(  # a table made before it had one
            SQL("ALTER TABLE {0} ADD COLUMN IF NOT EXISTS position bigint").format(
                self.responses_table
            )
        )
        self.sql_create_statements.append(
            SQL("CREATE INDEX IF NOT EXISTS {0} ON {1} (created_at)").format(
                Identifier(CREATED_INDEX), self.responses_table
            )
        )
        self._expire = SQL(
            "DELETE FROM {0} WHERE ctid = ANY(ARRAY("
            "SELECT ctid FROM {0} WHERE created_at < %s LIMIT %s))"
        ).format(self.responses_table)
        append = Identifier(f"{self.events_table_name}_append")
        self.sql_create_statements.append(
            SQL(APPEND_FUNCTION).format(
                function=append,
                events=SQL("{0}.{1}").format(schema, Identifier(self.events_table_name)),
                responses=self.responses_table,
                channel=Identifier(self.channel_name),
                schema=schema,
                lock_timeout=self.datastore.lock_timeout,
            )
        )
        self.insert_events_statement = SQL(
            "INSERT INTO {0}.{1} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::uuid[], %b::int8[], %b::text[], %b::bytea[]) "
            "RETURNING notification_id"
        ).format(schema, Identifier(self.events_table_name))
        self._append = (
            SQL(
                "SELECT * FROM {0}.{1}(%s, %s, %b::uuid[], %b::int8[], "
                "%b::uuid[], %b::int8[], %b::text[], %b::bytea[], "
                "%s::text[], %s::text[], %s::text[], %s::text[], %s::int4[])"
            )
            .format(schema, append)
            .as_string()
        )
        self._select_notifications = SQL(
            "SELECT originator_id, originator_version, topic, state, notification_id "
            "FROM {0}.{1} WHERE notification_id >= %s"
        ).format(schema, Identifier(self.events_table_name))

    @retry((InterfaceError, OperationalError), max_attempts=3, wait=0.2)
    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        """The library's, with rows read in binary as tuples: the projections read the
        whole log through it, and text-encoded event states cost more to read than to
        decode."""
        first = 1 if start is None else start if inclusive_of_start else start + 1
        sql = self._select_notifications
        params: list[Any] = [first]
        if stop is not None:
            sql += SQL(" AND notification_id <= %s")
            params.append(stop)
        if topics:
            sql += SQL(" AND topic = ANY(%s)")
            params.append(list(topics))
        sql += SQL(" ORDER BY notification_id LIMIT %s")
        params.append(limit)
        with (
            self.datastore.get_connection() as conn,
            conn.cursor(row_factory=tuple_row, binary=True) as curs,
        ):
            curs.execute(sql, params, prepare=True)
            return [Notification(*row) for row in curs.fetchall()]

    def _insert_stored_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        """The library's insert, with one array per column, dumped in binary, in place of
        an array of a composite type, which psycopg dumps as text event by event."""
        self._lock_table(curs)
        self._notify_channel(curs)
        curs.execute(self.insert_events_statement, _columns(stored_events))

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """A batch of the group writer (with `check`) is one statement, one round trip, and
        is never sent twice: if the connection fails, whether the first one committed is not
        known (the group writer says so to its callers)."""
        check: ForeignEvents | None = kwargs.get("check")
        if check is None:
            ids: Sequence[int] | None = super().insert_events(stored_events, **kwargs)
            return ids
        responses: Sequence[Response] = kwargs.get("responses", ())
        reads = check.reads
        params = (
            check.after,
            check.limit + 1,
            list(reads),
            list(reads.values()),
            *_columns(stored_events),
            *self._response_columns(responses),
        )
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._append, params, prepare=True)
            rows = curs.fetchall()
        foreign = [
            (r["notification"], r["aggregate_id"], r["aggregate_version"])
            for r in reversed(rows)
            if r["aggregate_id"] is not None
        ]
        positions = [r["notification"] for r in rows if r["aggregate_id"] is None]
        stale = check(foreign, foreign[-1][0] if foreign else check.after)
        if not positions:  # an aggregate read has moved: nothing was written
            raise StaleReads(stale or check.batch)
        return positions

    def stored_response(self, principal: str, key: str) -> StoredResponse | None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                SQL(
                    "SELECT fingerprint, response, position FROM {0} "
                    "WHERE principal = %s AND key = %s"
                ).format(self.responses_table),
                (principal, key),
            )
            row = curs.fetchone()
        return self._stored(row["fingerprint"], row["response"], row["position"]) if row else None

    def insert_at_positions(self, events: Sequence[tuple[int, StoredEvent]]) -> None:
        """Writes events at the log positions given (a store being filled from another, whose
        read models refer to those positions), in one transaction; the positions of new
        events then continue after the highest."""
        table = SQL("{0}.{1}").format(
            Identifier(self.datastore.schema), Identifier(self.events_table_name)
        )
        stored = [e for _, e in events]
        with self.datastore.transaction(commit=True) as curs:
            self._lock_table(curs)
            curs.execute(
                SQL(
                    "INSERT INTO {0} (notification_id, originator_id, originator_version, "
                    "topic, state) SELECT * FROM "
                    "unnest(%b::int8[], %b::uuid[], %b::int8[], %b::text[], %b::bytea[])"
                ).format(table),
                ([position for position, _ in events], *_columns(stored)),
            )
            curs.execute(
                SQL(
                    "SELECT setval(pg_get_serial_sequence(%s, 'notification_id'), "
                    "(SELECT max(notification_id) FROM {0}))"
                ).format(table),
                (f'"{self.datastore.schema}"."{self.events_table_name}"',),
            )

    def expire_responses(self, before: datetime, limit: int) -> int:
        """Removes at most `limit` responses stored before `before`, in one short
        transaction; returns how many."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self._expire, (before, limit))
            removed: int = curs.rowcount
        return removed
