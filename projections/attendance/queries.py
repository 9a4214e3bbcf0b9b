"""Reads of the attendance view: the check-ins the sweeper closes."""

from datetime import datetime
from uuid import UUID

from projections.db import Database, utc_text


def unattended_check_ins(db: Database, now: datetime, limit: int = 500) -> list[UUID]:
    """Open check-ins whose window has closed (and those recorded before their window was,
    which the command itself judges)."""
    with db.read() as cur:
        cur.execute(
            "SELECT signup_id FROM tb_open_check_ins WHERE closes_at IS NULL OR closes_at <= %s "
            "ORDER BY closes_at LIMIT %s",
            (utc_text(now), limit),
        )
        return [UUID(row[0]) for row in cur.fetchall()]
