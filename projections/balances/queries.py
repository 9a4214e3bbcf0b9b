"""Reads of the balances view: accounts, statements, redemptions awaiting hand-out."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from ledger.accounts import volunteer_account
from projections.db import Cursor, Database, utc_text


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
            (utc_text(now), limit),
        )
        return [UUID(row[0]) for row in cur.fetchall()]


# Statements -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One side of a posting, as its account sees it."""

    position: int
    seq: int
    posting_id: str
    kind: str
    amount: int  # signed: negative when the account is debited
    balance: int  # the account's balance after this entry, in log order
    counterparty: str
    memo: str
    reference: str | None
    occurred_at: datetime
    recorded_at: datetime

    @property
    def key(self) -> tuple[int, int]:
        return (self.position, self.seq)


@dataclass(frozen=True)
class Statement:
    entries: list[Entry]  # at most limit + 1, in log order
    balance_before: int  # before the first entry given (or the range when there is none)
    balance_as_of: int | None


ENTRY_COLUMNS = (
    "position, seq, posting_id, kind, amount, balance, counterparty, memo, reference, "
    "occurred_at, recorded_at"
)


def _entry(row: Any) -> Entry:
    return Entry(
        int(row[0]),
        int(row[1]),
        str(row[2]),
        str(row[3]),
        int(row[4]),
        int(row[5]),
        str(row[6]),
        str(row[7]),
        None if row[8] is None else str(row[8]),
        datetime.fromisoformat(row[9]),
        datetime.fromisoformat(row[10]),
    )


def _last_balance(cur: Cursor, account: str, where: str, params: tuple[Any, ...]) -> int:
    cur.execute(
        f"SELECT balance FROM tb_account_entries WHERE account = %s AND {where} "
        "ORDER BY position DESC, seq DESC LIMIT 1",
        (account, *params),
    )
    row = cur.fetchone()
    return int(row[0]) if row else 0


def statement(
    db: Database,
    volunteer_id: UUID,
    limit: int,
    after: tuple[int, int] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    as_of: datetime | None = None,
) -> Statement:
    """Entries of the volunteer's account recorded in [since, until), in log order after the
    key `after`; the balance before them; and the balance as of a past moment (that of the
    last entry, in log order, recorded at or before it)."""
    account = volunteer_account(volunteer_id)
    where: list[str] = ["account = %s"]
    params: list[Any] = [account]
    if after is not None:
        where.append("(position, seq) > (%s, %s)")
        params += [after[0], after[1]]
    if since is not None:
        where.append("recorded_at >= %s")
        params.append(utc_text(since))
    if until is not None:
        where.append("recorded_at < %s")
        params.append(utc_text(until))
    with db.read() as cur:
        cur.execute(
            f"SELECT {ENTRY_COLUMNS} FROM tb_account_entries WHERE {' AND '.join(where)} "
            "ORDER BY position, seq LIMIT %s",
            (*params, limit + 1),
        )
        entries = [_entry(row) for row in cur.fetchall()]
        if entries:
            before = entries[0].balance - entries[0].amount
        elif after is not None:
            before = _last_balance(
                cur, account, "(position, seq) <= (%s, %s)", (after[0], after[1])
            )
        elif since is not None:
            before = _last_balance(cur, account, "recorded_at < %s", (utc_text(since),))
        else:
            before = 0
        balance_as_of = (
            None
            if as_of is None
            else _last_balance(cur, account, "recorded_at <= %s", (utc_text(as_of),))
        )
    return Statement(entries, before, balance_as_of)
