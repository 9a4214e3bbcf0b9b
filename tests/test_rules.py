"""The configurable rules, checked through the service on both backends."""

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from ledger.accounts import Account, TransferKind
from ledger.activities import Category
from ledger.commands.attendance import CheckIn, CheckOut, PublishActivity, SignUp, VerifySignup
from ledger.commands.base import Command
from ledger.commands.exchange import ExpireRedemption, ListReward, Redeem, Transfer
from ledger.commands.members import RegisterOrganisation, RegisterVolunteer
from ledger.context import SYSTEM, Actor, Context, Role
from ledger.errors import Conflict, Forbidden
from ledger.identity import DocumentType, account_id
from ledger.organisations import OrgKind
from ledger.rules import Rules, TransferPolicy
from ledger.signups import Decision
from ledger.timesheets import service_minutes
from projections.balances.queries import overdue_redemptions, volunteer_account_row
from tests.conftest import make_settings
from timebank.runtime import Runtime

T0 = datetime(2026, 3, 5, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("check_in", "check_out", "granularity", "expected"),
    [
        (T0, T0 + timedelta(hours=2), 1, 120),  # inside the window
        (T0 - timedelta(hours=1), T0 + timedelta(hours=2), 1, 150),  # early: clipped to grace
        (T0, T0 + timedelta(hours=5), 1, 210),  # late check-out: clipped to end + grace
        (T0 + timedelta(seconds=30), T0 + timedelta(minutes=100), 1, 99),  # rounded down
        (T0, T0 + timedelta(minutes=59), 15, 45),  # granularity
        (T0 + timedelta(hours=5), T0 + timedelta(hours=6), 1, 0),  # entirely outside
    ],
)
def test_service_minutes_are_clipped_to_the_widened_window_and_rounded_down(
    check_in: datetime, check_out: datetime, granularity: int, expected: int
) -> None:
    rules = Rules(grace_minutes=30, granularity_minutes=granularity)
    assert service_minutes(check_in, check_out, T0, T0 + timedelta(hours=3), rules) == expected


def test_stars_follow_the_thresholds() -> None:
    rules = Rules()
    assert [rules.stars(h * 60) for h in (0, 99, 100, 299, 300, 600, 1000, 1500, 9999)] == [
        0,
        0,
        1,
        1,
        2,
        3,
        4,
        5,
        5,
    ]


class Ledger:
    """Drives the service directly as an admin."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.ctx = Context(Actor("admin", Role.ADMIN), "test", datetime.now(UTC))
        self.clock = self.ctx.now  # earlier service is booked further back, never overlapping
        district = uuid.UUID(str(self.run(RegisterOrganisation("区", OrgKind.DISTRICT))["id"]))
        self.team = uuid.UUID(
            str(self.run(RegisterOrganisation("队", OrgKind.TEAM, district))["id"])
        )
        self.venue = uuid.UUID(
            str(self.run(RegisterOrganisation("点", OrgKind.VENUE, district))["id"])
        )

    def run(self, command: Command, ctx: Context | None = None) -> dict[str, object]:
        return self.rt.service.execute(ctx or self.ctx, command).body

    def volunteer(self) -> uuid.UUID:
        body = self.run(
            RegisterVolunteer(
                "赵六",
                DocumentType.OTHER,
                uuid.uuid4().hex,
                "139",
                "1970-01-01",
                False,
                (),
                self.team,
            )
        )
        return uuid.UUID(str(body["id"]))

    def earn(self, volunteer: uuid.UUID, minutes: int) -> dict[str, object]:
        now = datetime.now(UTC)
        activity = self.run(
            PublishActivity(
                self.team,
                "t",
                Category.OTHER,
                "",
                now - timedelta(hours=20),
                now + timedelta(hours=1),
                5,
            )
        )["id"]
        sid = uuid.UUID(str(self.run(SignUp(uuid.UUID(str(activity)), volunteer))["id"]))
        start = self.clock - timedelta(minutes=minutes + 1)
        self.clock = start
        self.run(CheckIn(sid, start))
        self.run(CheckOut(sid, start + timedelta(minutes=minutes)))
        return self.run(VerifySignup(sid, Decision.APPROVE))

    def account(self, volunteer: uuid.UUID) -> Account:
        return self.rt.service.load(Account, account_id(volunteer), "account")


@pytest.fixture
def ledger_with(database_url: str) -> Iterator[Callable[..., Ledger]]:
    runtimes: list[Runtime] = []

    def build(**rules: object) -> Ledger:
        rt = Runtime(make_settings(database_url, rules=Rules(**rules)))
        runtimes.append(rt)
        return Ledger(rt)

    yield build
    for rt in runtimes:
        rt.close()


def test_balance_cap_keeps_service_time_but_stops_spendable_credits(
    ledger_with: Callable[..., Ledger],
) -> None:
    ledger = ledger_with(balance_cap_minutes=100)
    volunteer = ledger.volunteer()
    assert ledger.earn(volunteer, 80)["credited_minutes"] == 80
    assert ledger.earn(volunteer, 60)["credited_minutes"] == 20
    assert ledger.earn(volunteer, 10)["credited_minutes"] == 0
    account = ledger.account(volunteer)
    assert (account.balance, account.service_minutes) == (100, 150)
    relative = ledger.volunteer()
    ledger.earn(relative, 90)
    with pytest.raises(Conflict) as refused:
        ledger.run(Transfer(volunteer, 20, TransferKind.EXCHANGE, to_volunteer_id=relative))
    assert refused.value.code == "recipient-cap-reached"
    ledger.rt.runner.catch_up()
    row = volunteer_account_row(ledger.rt.db, volunteer)
    assert row is not None and (row.balance_minutes, row.service_minutes) == (100, 150)


def test_credit_limit_lets_a_mutual_credit_bank_go_negative_up_to_the_limit(
    ledger_with: Callable[..., Ledger],
) -> None:
    ledger = ledger_with(credit_limit_minutes=60)
    giver, taker = ledger.volunteer(), ledger.volunteer()
    ledger.run(Transfer(giver, 60, TransferKind.EXCHANGE, to_volunteer_id=taker))
    with pytest.raises(Conflict):
        ledger.run(Transfer(giver, 1, TransferKind.EXCHANGE, to_volunteer_id=taker))
    assert ledger.account(giver).available == -60


def test_exchange_policy_family_only_refuses_strangers(ledger_with: Callable[..., Ledger]) -> None:
    ledger = ledger_with(exchange_policy=TransferPolicy.FAMILY_ONLY)
    giver, stranger = ledger.volunteer(), ledger.volunteer()
    ledger.earn(giver, 10)
    with pytest.raises(Forbidden) as refused:
        ledger.run(Transfer(giver, 5, TransferKind.EXCHANGE, to_volunteer_id=stranger))
    assert refused.value.code == "not-family"


def test_unfulfilled_redemptions_expire_and_release_credits_and_stock(
    ledger_with: Callable[..., Ledger],
) -> None:
    ledger = ledger_with(redemption_expiry_minutes=60)
    volunteer = ledger.volunteer()
    ledger.earn(volunteer, 50)
    reward = uuid.UUID(str(ledger.run(ListReward(ledger.venue, "茶叶", 20, 1))["id"]))
    redemption = uuid.UUID(str(ledger.run(Redeem(volunteer, reward))["id"]))
    with pytest.raises(Conflict) as early:
        ledger.run(ExpireRedemption(redemption), Context(SYSTEM, "sweep", datetime.now(UTC)))
    assert early.value.code == "not-yet-expired"
    later = datetime.now(UTC) + timedelta(minutes=61)
    ledger.rt.runner.catch_up()
    assert overdue_redemptions(ledger.rt.db, later) == [redemption]
    assert ledger.rt.expire_overdue(later) == 1
    ledger.rt.runner.catch_up()
    assert overdue_redemptions(ledger.rt.db, later) == []
    assert ledger.account(volunteer).available == 50
    with pytest.raises(Conflict) as gone:
        ledger.run(Redeem(volunteer, reward, 2))
    assert gone.value.code == "insufficient-stock"
    assert ledger.run(Redeem(volunteer, reward))["status"] == "reserved"  # the stock came back
