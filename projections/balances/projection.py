"""Balances: every account's posted balance, holds, lifetime earned and spent, service time;
every posting, and each side of it as an entry of its account's statement with the running
balance; and redemptions awaiting hand-out (for expiry).

A batch of events is applied in memory and written in a few statements: the accounts it
touches are read first, so that the running balances continue from the stored ones; stored
rows then get their changes added, and new rows are inserted after them."""

from dataclasses import dataclass, field
from typing import Any

from eventsourcing.domain import DomainEventProtocol

from ledger.accounts import Account, Posting, volunteer_account
from ledger.rewards import Redemption
from projections.base import Batch, ProjectionCursor, topic
from projections.db import utc_text

# A correction's reversal takes back credits posted for a record: it lowers the volunteer's
# lifetime earned (and the issuing account's spent) instead of counting as spending.
REVERSAL = "reversal"

ACCOUNT_COLUMNS = (
    "account",
    "kind",
    "owner_id",
    "aggregate_id",
    "balance",
    "reserved",
    "earned",
    "spent",
    "service_minutes",
)
ADD_TO_ACCOUNTS = (
    "UPDATE tb_accounts SET balance = tb_accounts.balance + v.balance, "
    "reserved = tb_accounts.reserved + v.reserved, earned = tb_accounts.earned + v.earned, "
    "spent = tb_accounts.spent + v.spent, "
    "service_minutes = tb_accounts.service_minutes + v.service_minutes "
    "FROM {rows} WHERE tb_accounts.account = v.account"
)
CHANGE_COLUMNS = [(name, "bigint") for name in ACCOUNT_COLUMNS[4:]] + [("account", "text")]
POSTING_COLUMNS = ("id", "position", "debit", "credit", "minutes", "kind", "memo", "recorded_at")
ENTRY_COLUMNS = (
    "account",
    "position",
    "seq",
    "posting_id",
    "amount",
    "balance",
    "kind",
    "memo",
    "counterparty",
    "reference",
    "occurred_at",
    "recorded_at",
)
REDEMPTION_COLUMNS = ("id", "volunteer_id", "venue_id", "status", "expires_at")
SET_STATUSES = (
    "UPDATE tb_redemptions SET status = v.status FROM {rows} WHERE tb_redemptions.id = v.id"
)
REDEMPTION_STATUS = {
    Redemption.Fulfilled: "fulfilled",
    Redemption.Cancelled: "cancelled",
    Redemption.Expired: "expired",
}
POSTING_EVENTS = (Account.ServiceCredited, Account.TransferSent, Account.HoldSettled)
VOLUNTEER_EVENTS = (
    Account.ServiceCredited,
    Account.ServiceCorrected,
    Account.CreditsHeld,
    Account.HoldReleased,
    Account.HoldSettled,
)


@dataclass
class _Account:
    """An account as the batch sees it: its balance so far and what the batch changed."""

    kind: str
    owner_id: str
    aggregate_id: str | None
    balance: int
    stored: bool  # already in tb_accounts before the batch
    # Added by the batch, in the order of ACCOUNT_COLUMNS from "balance" on.
    changes: list[int] = field(default_factory=lambda: [0, 0, 0, 0, 0])


def _postings(event: Any) -> list[Posting]:
    """The postings an event records (a correction has up to two)."""
    if isinstance(event, Account.ServiceCorrected):
        return [Posting.of(p) for p in (event.reversal, event.recredit) if p]
    if isinstance(event, POSTING_EVENTS) and event.posting:
        return [Posting.of(event.posting)]
    return []


class _Changes:
    """What one batch does to the balances tables, gathered in memory."""

    def __init__(self, cur: ProjectionCursor, batch: Batch) -> None:
        self.accounts: dict[str, _Account] = {}
        self.account_of: dict[str, str] = {}  # volunteer accounts by aggregate id
        self.postings: list[tuple[Any, ...]] = []
        self.entries: list[tuple[Any, ...]] = []
        self.redemptions: dict[str, list[Any]] = {}  # inserted by the batch, by id
        self.statuses: dict[str, str] = {}  # of redemptions stored before the batch
        self._load(cur, batch)

    def _load(self, cur: ProjectionCursor, batch: Batch) -> None:
        """Reads the stored accounts the batch's postings name or its holds and service
        changes concern."""
        names: set[str] = set()
        aggregates: set[str] = set()
        for event, _ in batch:
            for posting in _postings(event):
                names.update((posting.debit, posting.credit))
            if isinstance(event, VOLUNTEER_EVENTS):
                aggregates.add(str(event.originator_id))
        columns = ("account", "kind", "owner_id", "aggregate_id", "balance")
        rows = cur.select_in("tb_accounts", columns, "account", sorted(names))
        rows += cur.select_in("tb_accounts", columns, "aggregate_id", sorted(aggregates))
        for name, kind, owner_id, aggregate_id, balance in rows:
            self.accounts[name] = _Account(kind, owner_id, aggregate_id, int(balance), True)
            if aggregate_id is not None:
                self.account_of[aggregate_id] = name

    def open(self, event: Any) -> None:
        name = volunteer_account(event.volunteer_id)
        if name in self.accounts:
            raise ValueError(f"account {name} is opened twice")
        aggregate_id = str(event.originator_id)
        self.accounts[name] = _Account("volunteer", str(event.volunteer_id), aggregate_id, 0, False)
        self.account_of[aggregate_id] = name

    def volunteer(self, aggregate_id: Any, reserved: int = 0, service: int = 0) -> None:
        """Moves a volunteer account's holds and service time (if it was opened)."""
        name = self.account_of.get(str(aggregate_id))
        if name is not None:
            changes = self.accounts[name].changes
            changes[1] += reserved
            changes[4] += service

    def _move(self, name: str, amount: int, earned: int = 0, spent: int = 0) -> int:
        """Moves an account's balance (opening it if need be); returns the balance after."""
        account = self.accounts.get(name)
        if account is None:
            kind, _, owner = name.partition(":")
            account = self.accounts[name] = _Account(kind, owner, None, 0, False)
        account.balance += amount
        changes = account.changes
        changes[0] += amount
        changes[2] += earned
        changes[3] += spent
        return account.balance

    def post(
        self,
        posting: Posting,
        position: int,
        event: Any,
        memo: str = "",
        reference: Any = None,
        seq: int = 0,
    ) -> None:
        """Records a posting and its two entries. `seq` orders the postings of one event;
        `reference` is what the posting is for (the signup, back-fill or redemption)."""
        posting_id, kind, minutes = posting.id, posting.kind, posting.minutes
        debit, credit = posting.debit, posting.credit
        occurred_at, recorded_at = utc_text(event.occurred_at), utc_text(event.timestamp)
        ref = None if reference is None else str(reference)
        self.postings.append(
            (posting_id, position, debit, credit, minutes, kind, memo, recorded_at)
        )
        if kind == REVERSAL:  # undoes a credit: lowers what it raised, and is no spending
            debit_balance = self._move(debit, -minutes, earned=-minutes)
            credit_balance = self._move(credit, minutes, spent=-minutes)
        else:
            debit_balance = self._move(debit, -minutes, spent=minutes)
            credit_balance = self._move(credit, minutes, earned=minutes)
        for account, amount, balance, counterparty in (
            (debit, -minutes, debit_balance, credit),
            (credit, minutes, credit_balance, debit),
        ):
            self.entries.append(
                (
                    account,
                    position,
                    seq,
                    posting_id,
                    amount,
                    balance,
                    kind,
                    memo,
                    counterparty,
                    ref,
                    occurred_at,
                    recorded_at,
                )
            )

    def reserve(self, event: Any) -> None:
        redemption_id = str(event.originator_id)
        if redemption_id in self.redemptions:
            raise ValueError(f"redemption {redemption_id} is reserved twice")
        self.redemptions[redemption_id] = [
            redemption_id,
            str(event.volunteer_id),
            str(event.venue_id),
            "reserved",
            utc_text(event.expires_at),
        ]

    def set_status(self, redemption_id: str, status: str) -> None:
        new = self.redemptions.get(redemption_id)
        if new is not None:
            new[3] = status
        else:
            self.statuses[redemption_id] = status

    def write(self, cur: ProjectionCursor) -> None:
        """Stored rows first, then the new ones: a change meant for a row that did not exist
        yet must not reach one the batch inserts later."""
        updates = [
            (*account.changes, name)
            for name, account in self.accounts.items()
            if account.stored and any(account.changes)
        ]
        cur.execute_rows(ADD_TO_ACCOUNTS, CHANGE_COLUMNS, updates)
        cur.execute_rows(
            SET_STATUSES, [("id", "text"), ("status", "text")], list(self.statuses.items())
        )
        new_accounts = [
            (name, account.kind, account.owner_id, account.aggregate_id, *account.changes)
            for name, account in self.accounts.items()
            if not account.stored
        ]
        cur.insert("tb_accounts", ACCOUNT_COLUMNS, new_accounts)
        cur.insert("tb_postings", POSTING_COLUMNS, self.postings)
        cur.insert("tb_account_entries", ENTRY_COLUMNS, self.entries)
        cur.insert("tb_redemptions", REDEMPTION_COLUMNS, list(self.redemptions.values()))


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

    def apply(self, cur: ProjectionCursor, event: DomainEventProtocol[Any], position: int) -> None:
        self.apply_batch(cur, [(event, position)])

    def apply_batch(self, cur: ProjectionCursor, batch: Batch) -> None:
        changes = _Changes(cur, batch)
        for event, position in batch:
            self._apply(changes, event, position)
        changes.write(cur)

    def _apply(self, changes: _Changes, event: Any, position: int) -> None:
        match event:
            case Account.Opened():
                changes.open(event)
            case Account.ServiceCredited():
                changes.volunteer(event.originator_id, service=event.service_minutes)
                if event.posting:
                    posting = Posting.of(event.posting)
                    changes.post(posting, position, event, reference=event.source_id)
            case Account.ServiceCorrected():
                change = event.corrected_minutes - event.previous_minutes
                changes.volunteer(event.originator_id, service=change)
                for seq, stored in enumerate((event.reversal, event.recredit)):
                    if stored:
                        posting = Posting.of(stored)
                        changes.post(posting, position, event, reference=event.source_id, seq=seq)
            case Account.TransferSent():
                changes.post(Posting.of(event.posting), position, event, event.memo)
            case Account.CreditsHeld():
                changes.volunteer(event.originator_id, reserved=event.minutes)
            case Account.HoldReleased():
                changes.volunteer(event.originator_id, reserved=-event.minutes)
            case Account.HoldSettled():
                posting = Posting.of(event.posting)
                changes.volunteer(event.originator_id, reserved=-posting.minutes)
                changes.post(posting, position, event, reference=event.redemption_id)
            case Redemption.Reserved():
                changes.reserve(event)
            case Redemption.Fulfilled() | Redemption.Cancelled() | Redemption.Expired():
                changes.set_status(str(event.originator_id), REDEMPTION_STATUS[type(event)])
