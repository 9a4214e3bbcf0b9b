"""Reads of the audit view: the trail of a subject."""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from projections.db import Database


@dataclass(frozen=True)
class AuditRow:
    position: int
    event_type: str
    aggregate_id: str
    aggregate_version: int
    actor: str
    role: str
    request_id: str
    occurred_at: datetime
    recorded_at: datetime
    reason: str | None
    details: dict[str, Any]


def audit_trail(
    db: Database, subject_kind: str, subject_id: UUID, limit: int, after: int | None = None
) -> list[AuditRow]:
    """At most limit + 1 events of the subject's trail in log order, after position `after`."""
    with db.read() as cur:
        cur.execute(
            "SELECT position, event_type, aggregate_id, aggregate_version, actor, role, "
            "request_id, occurred_at, recorded_at, reason, details FROM tb_audit_trail "
            "WHERE subject_kind = %s AND subject_id = %s AND position > %s "
            "ORDER BY position LIMIT %s",
            (subject_kind, str(subject_id), after or 0, limit + 1),
        )
        rows = cur.fetchall()
    return [
        AuditRow(
            int(r[0]),
            str(r[1]),
            str(r[2]),
            int(r[3]),
            str(r[4]),
            str(r[5]),
            str(r[6]),
            datetime.fromisoformat(r[7]),
            datetime.fromisoformat(r[8]),
            None if r[9] is None else str(r[9]),
            json.loads(r[10]),
        )
        for r in rows
    ]
