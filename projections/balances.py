"""Balances: every account's posted balance, holds, lifetime earned and spent, service time;
every posting, and each side of it as an entry of its account's statement with the running
balance; and redemptions awaiting hand-out (for expiry)."""

from typing import Any

from eventsourcing.domain import DomainEventProtocol

from ledger.accounts import Account, volunteer_account
from ledger.rewards import Redemption
from projections.db import Cursor, utc_text
from projections.runner import topic

UPSERT_ACCOUNT = (
    "INSERT INTO tb_accounts (account, kind, owner_id, balance, earned, spent) "
    "VALUES (%s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (account) DO UPDATE SET "
    "balance = tb_accounts.balance + excluded.balance, "
    "earned = tb_accounts.earned + excluded.earned, "
    "spent = tb_accounts.spent + excluded.spent "
    "RETURNING balance"
)
UPDATE_VOLUNTEER_ACCOUNT = (
    "UPDATE tb_accounts SET reserved = reserved + %s, service_minutes = service_minutes + %s "
    "WHERE aggregate_id = %s"
)
INSERT_POSTING = (
    "INSERT INTO tb_postings (id, position, debit, credit, minutes, kind, memo, recorded_at) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)
ENTRY = "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
INSERT_ENTRIES = (  # both sides of a posting in one statement
    "INSERT INTO tb_account_entries (account, position, seq, posting_id, amount, balance, "
    f"kind, memo, counterparty, reference, occurred_at, recorded_at) VALUES {ENTRY}, {ENTRY}"
)


def _move(cur: Cursor, account: str, balance: int, earned: int = 0, spent: int = 0) -> int:
    """Moves an account's balance; returns the balance after the move."""
    kind, _, owner = account.partition(":")
    cur.execute(UPSERT_ACCOUNT, (account, kind, owner, balance, earned, spent))
    return int(cur.fetchone()[0])


def _post(
    cur: Cursor,
    posting: dict[str, Any],
    position: int,
    event: Any,
    memo: str = "",
    reference: Any = None,
    seq: int = 0,
) -> None:
    """Records a posting and its two entries. `seq` orders the postings of one event;
    `reference` is what the posting is for (the signup, back-fill or redemption)."""
    minutes = posting["minutes"]
    debit, credit = posting["debit"], posting["credit"]
    occurred_at, recorded_at = utc_text(event.occurred_at), utc_text(event.timestamp)
    ref = None if reference is None else str(reference)
    cur.execute(
        INSERT_POSTING,
        (posting["id"], position, debit, credit, minutes, posting["kind"], memo, recorded_at),
    )
    debit_balance = _move(cur, debit, -minutes, spent=minutes)
    credit_balance = _move(cur, credit, minutes, earned=minutes)
    sides = ((debit, -minutes, debit_balance, credit), (credit, minutes, credit_balance, debit))
    cur.execute(
        INSERT_ENTRIES,
        [
            value
            for account, amount, balance, counterparty in sides
            for value in (
                account,
                position,
                seq,
                posting["id"],
                amount,
                balance,
                posting["kind"],
                memo,
                counterparty,
                ref,
                occurred_at,
                recorded_at,
            )
        ],
    )


def _volunteer_account(cur: Cursor, aggregate_id: Any, reserved: int = 0, service: int = 0) -> None:
    cur.execute(UPDATE_VOLUNTEER_ACCOUNT, (reserved, service, str(aggregate_id)))


class BalancesProjection:
    name: str = "balances"
    tables: tuple[str, ...] = ("tb_accounts", "tb_postings", "tb_account_entries", "tb_redemptions")
    topics: frozenset[str] = frozenset(
        topic(cls)
        for cls in (
            Account.Opened,
            Account.ServiceCredited,
            Account.ServiceCorrected,
            Account.TransferSent,
            Account.CreditsHeld,
            Account.HoldReleased,
            Account.HoldSettled,
            Redemption.Reserved,
            Redemption.Fulfilled,
            Redemption.Cancelled,
            Redemption.Expired,
        )
    )

    def apply(self, cur: Cursor, event: DomainEventProtocol[Any], position: int) -> None:
        match event:
            case Account.Opened():
                cur.execute(
                    "INSERT INTO tb_accounts (account, kind, owner_id, aggregate_id) "
                    "VALUES (%s, 'volunteer', %s, %s)",
                    (
                        volunteer_account(event.volunteer_id),
                        str(event.volunteer_id),
                        str(event.originator_id),
                    ),
                )
            case Account.ServiceCredited():
                _volunteer_account(cur, event.originator_id, service=event.service_minutes)
                if event.posting:
                    _post(cur, event.posting, position, event, reference=event.source_id)
            case Account.ServiceCorrected():
                change = event.corrected_minutes - event.previous_minutes
                _volunteer_account(cur, event.originator_id, service=change)
                for seq, posting in enumerate((event.reversal, event.recredit)):
                    if posting:
                        _post(cur, posting, position, event, reference=event.source_id, seq=seq)
            case Account.TransferSent():
                _post(cur, event.posting, position, event, event.memo)
            case Account.CreditsHeld():
                _volunteer_account(cur, event.originator_id, reserved=event.minutes)
            case Account.HoldReleased():
                _volunteer_account(cur, event.originator_id, reserved=-event.minutes)
            case Account.HoldSettled():
                minutes = event.posting["minutes"]
                _volunteer_account(cur, event.originator_id, reserved=-minutes)
                _post(cur, event.posting, position, event, reference=event.redemption_id)
            case Redemption.Reserved():
                cur.execute(
                    "INSERT INTO tb_redemptions (id, volunteer_id, venue_id, status, expires_at) "
                    "VALUES (%s, %s, %s, 'reserved', %s)",
                    (
                        str(event.originator_id),
                        str(event.volunteer_id),
                        str(event.venue_id),
                        utc_text(event.expires_at),
                    ),
                )
            case Redemption.Fulfilled() | Redemption.Cancelled() | Redemption.Expired():
                status = {
                    Redemption.Fulfilled: "fulfilled",
                    Redemption.Cancelled: "cancelled",
                    Redemption.Expired: "expired",
                }[type(event)]
                cur.execute(
                    "UPDATE tb_redemptions SET status = %s WHERE id = %s",
                    (status, str(event.originator_id)),
                )
