"""Reads of the balances view: accounts, statements, redemptions awaiting hand-out."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from ledger.accounts import volunteer_account
from ledger.commands.permissions import require_account_reader, require_venue_desk
from ledger.context import Context
from ledger.errors import Invalid
from ledger.volunteers import Volunteer
from projections.balances.projection import BalancesProjection
from projections.db import Cursor, Database, utc_text
from projections.pagination import Page
from projections.reads import Views

NAME = BalancesProjection.name


@dataclass(frozen=True)
class AccountRow:
    balance_minutes: int
    reserved_minutes: int  # held by pending redemptions
    earned_minutes: int
    spent_minutes: int
    service_minutes: int

    @property
    def available_minutes(self) -> int:
        return self.balance_minutes - self.reserved_minutes


def volunteer_account_row(db: Database, volunteer_id: UUID) -> AccountRow | None:
    with db.read() as cur:
        cur.execute(
            "SELECT balance, reserved, earned, spent, service_minutes FROM tb_accounts "
            "WHERE account = %s",
            (volunteer_account(volunteer_id),),
        )
        row = cur.fetchone()
    return AccountRow(*(int(v) for v in row)) if row else None


def redemptions_of_volunteer(db: Database, volunteer_id: UUID, limit: int) -> list[UUID]:
    with db.read() as cur:
        cur.execute(
            "SELECT id FROM tb_redemptions WHERE volunteer_id = %s "
            "ORDER BY expires_at DESC, id LIMIT %s",
            (str(volunteer_id), limit),
        )
        return [UUID(row[0]) for row in cur.fetchall()]


def overdue_redemptions(db: Database, now: datetime, limit: int = 500) -> list[UUID]:
    with db.read() as cur:
        cur.execute(
            "SELECT id FROM tb_redemptions WHERE status = 'reserved' AND expires_at <= %s "
            "ORDER BY expires_at LIMIT %s",
            (utc_text(now), limit),
        )
        return [UUID(row[0]) for row in cur.fetchall()]


@dataclass(frozen=True)
class Pending:
    """A reservation awaiting hand-out at a venue."""

    id: UUID
    volunteer_id: UUID
    expires_at: datetime


def pending_at_venue(db: Database, venue_id: UUID, now: datetime, limit: int) -> list[Pending]:
    with db.read() as cur:
        cur.execute(
            "SELECT id, volunteer_id, expires_at FROM tb_redemptions "
            "WHERE status = 'reserved' AND expires_at > %s AND venue_id = %s "
            "ORDER BY expires_at, id LIMIT %s",
            (utc_text(now), str(venue_id), limit),
        )
        return [
            Pending(UUID(r[0]), UUID(r[1]), datetime.fromisoformat(r[2])) for r in cur.fetchall()
        ]


# Statements -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One side of a posting, as its account sees it."""

    position: int
    seq: int
    posting_id: str
    kind: str
    amount_minutes: int  # signed: negative when the account is debited
    balance_minutes: int  # the account's balance after this entry, in log order
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
    balance_before_minutes: int  # before the first entry given (or the range when none)
    balance_as_of_minutes: int | None  # at the moment asked for, if one was


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


def latest_entries(
    db: Database, volunteer_id: UUID, limit: int, before: tuple[int, int] | None
) -> list[Entry]:
    """Entries of the volunteer's account, the latest first, before the key `before`."""
    where = "account = %s"
    params: list[Any] = [volunteer_account(volunteer_id)]
    if before is not None:
        where += " AND (position, seq) < (%s, %s)"
        params += [before[0], before[1]]
    with db.read() as cur:
        cur.execute(
            f"SELECT {ENTRY_COLUMNS} FROM tb_account_entries WHERE {where} "
            "ORDER BY position DESC, seq DESC LIMIT %s",
            (*params, limit + 1),
        )
        return [_entry(row) for row in cur.fetchall()]


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
            before = entries[0].balance_minutes - entries[0].amount_minutes
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


# Queries ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountView:
    volunteer_id: UUID
    row: AccountRow
    stars: int
    position: int


@dataclass(frozen=True)
class StatementPage:
    volunteer_id: UUID
    statement: Statement
    entries: list[Entry]  # the page's
    next_cursor: str | None
    position: int


class BalancesQueries:
    """Reads of a volunteer's account, for the volunteer themself, any desk, a coordinator of
    their home organisation or above, an auditor or an admin."""

    def __init__(self, views: Views) -> None:
        self.views = views

    def _volunteer(self, ctx: Context, volunteer_id: UUID) -> Volunteer:
        volunteer = self.views.aggregates.load(Volunteer, volunteer_id, "volunteer")
        reader = self.views.aggregates.reader(ctx)
        require_account_reader(reader, ctx.actor, volunteer.id, volunteer.home_org_id)
        return volunteer

    def account(self, ctx: Context, volunteer_id: UUID, min_position: int | None) -> AccountView:
        volunteer = self._volunteer(ctx, volunteer_id)
        views = self.views
        views.wait(NAME, min_position)
        row = volunteer_account_row(views.db, volunteer.id) or AccountRow(0, 0, 0, 0, 0)
        stars = views.rules.stars(row.service_minutes)
        return AccountView(volunteer.id, row, stars, views.position(NAME))

    def latest(
        self, ctx: Context, volunteer_id: UUID, page: Page, min_position: int | None
    ) -> tuple[list[Entry], str | None]:
        """A page of the statement the latest entry first (each with the balance after it),
        and the cursor to the older ones."""
        volunteer = self._volunteer(ctx, volunteer_id)
        before = page.after((int, int))
        self.views.wait(NAME, min_position)
        found = latest_entries(self.views.db, volunteer.id, page.limit, before)
        return page.of(found, lambda e: e.key)

    def redemptions(
        self, ctx: Context, volunteer_id: UUID, limit: int, min_position: int | None
    ) -> list[UUID]:
        """The volunteer's newest `limit` redemptions (any state), the latest to expire
        first; each is read from its aggregate, whose read says who sees its code."""
        volunteer = self._volunteer(ctx, volunteer_id)
        self.views.wait(NAME, min_position)
        return redemptions_of_volunteer(self.views.db, volunteer.id, limit)

    def pending(
        self, ctx: Context, venue_id: UUID, limit: int, min_position: int | None
    ) -> list[Pending]:
        """The venue's reservations awaiting hand-out, the soonest to expire first. Who: the
        venue's desk; an admin."""
        require_venue_desk(ctx.actor, venue_id)
        self.views.wait(NAME, min_position)
        return pending_at_venue(self.views.db, venue_id, ctx.now, limit)

    def statement(
        self,
        ctx: Context,
        volunteer_id: UUID,
        page: Page,
        since: datetime | None,
        until: datetime | None,
        as_of: datetime | None,
        min_position: int | None,
    ) -> StatementPage:
        """A page of the statement (see `statement`); `until` must not be before `since`."""
        volunteer = self._volunteer(ctx, volunteer_id)
        if since is not None and until is not None and until < since:
            raise Invalid("invalid-period", "`to` must not be before `from`")
        after = page.after((int, int))
        views = self.views
        views.wait(NAME, min_position)
        position = views.position(NAME)
        found = statement(views.db, volunteer.id, page.limit, after, since, until, as_of)
        entries, next_cursor = page.of(found.entries, lambda e: e.key)
        return StatementPage(volunteer.id, found, entries, next_cursor, position)
