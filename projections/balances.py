"""Balances: every account's posted balance, holds, lifetime earned and spent, service time;
every posting; and redemptions awaiting hand-out (for expiry)."""

from datetime import UTC
from typing import Any

from eventsourcing.domain import DomainEventProtocol

from ledger.accounts import Account, volunteer_account
from ledger.rewards import Redemption
from projections.db import Cursor


def topic(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


UPSERT_ACCOUNT = (
    "INSERT INTO tb_accounts (account, kind, owner_id, balance, earned, spent) "
    "VALUES (%s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (account) DO UPDATE SET "
    "balance = tb_accounts.balance + excluded.balance, "
    "earned = tb_accounts.earned + excluded.earned, "
    "spent = tb_accounts.spent + excluded.spent"
)
UPDATE_VOLUNTEER_ACCOUNT = (
    "UPDATE tb_accounts SET reserved = reserved + %s, service_minutes = service_minutes + %s "
    "WHERE aggregate_id = %s"
)


def _move(cur: Cursor, account: str, balance: int, earned: int = 0, spent: int = 0) -> None:
    kind, _, owner = account.partition(":")
    cur.execute(UPSERT_ACCOUNT, (account, kind, owner, balance, earned, spent))


def _post(cur: Cursor, posting: dict[str, Any], position: int, event: Any, memo: str) -> None:
    minutes = posting["minutes"]
    cur.execute(
        "INSERT INTO tb_postings (id, position, debit, credit, minutes, kind, memo, recorded_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (
            posting["id"],
            position,
            posting["debit"],
            posting["credit"],
            minutes,
            posting["kind"],
            memo,
            event.timestamp.astimezone(UTC).isoformat(),
        ),
    )
    _move(cur, posting["debit"], -minutes, spent=minutes)
    _move(cur, posting["credit"], minutes, earned=minutes)


def _volunteer_account(cur: Cursor, aggregate_id: Any, reserved: int = 0, service: int = 0) -> None:
    cur.execute(UPDATE_VOLUNTEER_ACCOUNT, (reserved, service, str(aggregate_id)))


class BalancesProjection:
    name: str = "balances"
    tables: tuple[str, ...] = ("tb_accounts", "tb_postings", "tb_redemptions")
    topics: frozenset[str] = frozenset(
        topic(cls)
        for cls in (
            Account.Opened,
            Account.ServiceCredited,
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
                    _post(cur, event.posting, position, event, "")
            case Account.TransferSent():
                _post(cur, event.posting, position, event, event.memo)
            case Account.CreditsHeld():
                _volunteer_account(cur, event.originator_id, reserved=event.minutes)
            case Account.HoldReleased():
                _volunteer_account(cur, event.originator_id, reserved=-event.minutes)
            case Account.HoldSettled():
                minutes = event.posting["minutes"]
                _volunteer_account(cur, event.originator_id, reserved=-minutes)
                _post(cur, event.posting, position, event, "")
            case Redemption.Reserved():
                cur.execute(
                    "INSERT INTO tb_redemptions (id, volunteer_id, venue_id, status, expires_at) "
                    "VALUES (%s, %s, %s, 'reserved', %s)",
                    (
                        str(event.originator_id),
                        str(event.volunteer_id),
                        str(event.venue_id),
                        event.expires_at.astimezone(UTC).isoformat(),
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
