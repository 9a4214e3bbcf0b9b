"""Event-store recorders that also store idempotent responses in the same transaction as
the events a command produced, so a retried request is answered from what was recorded."""

import json
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from ledger.group_commit import Response
from ledger.service import PendingResponse, StoredResponse

TABLE = "idempotency_keys"


def _response_rows(
    responses: Sequence[Response], notification_ids: Sequence[int] | None
) -> list[tuple[str, str, str, str]]:
    """Each command's response, with the log position of its last event."""
    rows = []
    for response in responses:
        pending: PendingResponse = response.value
        body = dict(pending.body)
        if notification_ids:
            body["position"] = notification_ids[response.last_event]
        rows.append((pending.principal, pending.key, pending.fingerprint, json.dumps(body)))
    return rows


class SQLiteLedgerRecorder(SQLiteApplicationRecorder):
    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {TABLE} ("
            "principal TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, "
            "response TEXT NOT NULL, created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, "
            "PRIMARY KEY (principal, key))",
        ]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        notification_ids = super()._insert_events(c, stored_events, **kwargs)
        rows = _response_rows(kwargs.get("responses", ()), notification_ids)
        if rows:
            c.executemany(
                f"INSERT INTO {TABLE} (principal, key, fingerprint, response) VALUES (?, ?, ?, ?)",
                rows,
            )
        return notification_ids

    def stored_response(self, principal: str, key: str) -> StoredResponse | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT fingerprint, response FROM {TABLE} WHERE principal = ? AND key = ?",
                (principal, key),
            )
            row = c.fetchone()
        return StoredResponse(row[0], json.loads(row[1])) if row else None


class PostgresLedgerRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self.responses_table = SQL("{0}.{1}").format(
            Identifier(self.datastore.schema), Identifier(TABLE)
        )
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {0} ("
                "principal text NOT NULL, key text NOT NULL, fingerprint text NOT NULL, "
                "response jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), "
                "PRIMARY KEY (principal, key))"
            ).format(self.responses_table)
        )

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        notification_ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        rows = _response_rows(kwargs.get("responses", ()), notification_ids)
        if rows:
            curs.executemany(
                SQL(
                    "INSERT INTO {0} (principal, key, fingerprint, response) "
                    "VALUES (%s, %s, %s, %s)"
                ).format(self.responses_table),
                rows,
            )  # a duplicate key fails here, inside the transaction
        return notification_ids

    def stored_response(self, principal: str, key: str) -> StoredResponse | None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                SQL(
                    "SELECT fingerprint, response FROM {0} WHERE principal = %s AND key = %s"
                ).format(self.responses_table),
                (principal, key),
            )
            row = curs.fetchone()
        return StoredResponse(row["fingerprint"], row["response"]) if row else None
