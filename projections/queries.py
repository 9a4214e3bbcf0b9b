"""Reads served from the read models."""

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from ledger.accounts import volunteer_account
from projections.db import Database


@dataclass(frozen=True)
class AccountRow:
    balance: int
    reserved: int
    earned: int
    spent: int
    service_minutes: int

    @property
    def available(self) -> int:
        return self.balance - self.reserved


def volunteer_account_row(db: Database, volunteer_id: UUID) -> AccountRow | None:
    with db.read() as cur:
        cur.execute(
            "SELECT balance, reserved, earned, spent, service_minutes FROM tb_accounts "
            "WHERE account = %s",
            (volunteer_account(volunteer_id),),
        )
        row = cur.fetchone()
    return AccountRow(*(int(v) for v in row)) if row else None


def overdue_redemptions(db: Database, now: datetime, limit: int = 500) -> list[UUID]:
    with db.read() as cur:
        cur.execute(
            "SELECT id FROM tb_redemptions WHERE status = 'reserved' AND expires_at <= %s "
            "ORDER BY expires_at LIMIT %s",
            (now.astimezone(UTC).isoformat(), limit),
        )
        return [UUID(row[0]) for row in cur.fetchall()]
