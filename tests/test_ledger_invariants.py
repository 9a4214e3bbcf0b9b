"""Stateful property test of the ledger invariants (SPEC.md, "Concepts and rules").

A hypothesis state machine drives the real service (event store, projections) with random
sequences of registrations, family links, activities, signups, check-ins and check-outs,
verifications (with retries), back-fills (submitted by one coordinator, approved by another),
disputes resolved by corrections, transfers, rewards and redemptions, while keeping its own
model of what every command must do: succeed with a given result, or be refused with a
given error code and change nothing. After every step it checks, on the read models and on
the aggregates:

1. every account's balance equals its postings (credits in minus debits out);
2. the trial balance: all balances sum to zero;
3. no volunteer account is below its credit limit (balance - reserved >= -limit) or above
   the balance cap, and the aggregate agrees with the read model;
4. every verified signup and approved back-fill is credited exactly once (service postings
   less reversals per volunteer equal the current credits of their records; a retried
   verification or approval credits nothing; a correction reverses and re-credits once);
5. the model's balances, holds, service time and organisation/venue accounts match exactly.

One runtime (one store) serves all examples of a test, so each example registers its own
organisations and volunteers: whole-store checks hold cumulatively, model checks are
restricted to the ids the example created. Runs on SQLite and PostgreSQL (`database_url`)
and with two rule sets: the defaults, and a mutual-credit set with a credit limit, a
balance cap, family-only exchanges, 15-minute granularity and a 1-minute redemption expiry.
"""

import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ledger import bounds
from ledger.accounts import (
    Account,
    TransferKind,
    issuance_account,
    pool_account,
    venue_account,
    volunteer_account,
)
from ledger.activities import Activity, Category
from ledger.backfills import Backfill
from ledger.commands.attendance import (
    CancelSignup,
    CheckIn,
    CheckOut,
    PublishActivity,
    SignUp,
    VerifySignup,
)
from ledger.commands.base import Command
from ledger.commands.corrections import (
    ApproveBackfill,
    OpenDispute,
    RejectBackfill,
    ResolveDispute,
    SubmitBackfill,
)
from ledger.commands.exchange import (
    CancelRedemption,
    ExpireRedemption,
    FulfilRedemption,
    ListReward,
    Redeem,
    Transfer,
)
from ledger.commands.members import LinkFamily, RegisterOrganisation, RegisterVolunteer
from ledger.context import SYSTEM, Actor, Context, Role
from ledger.disputes import Resolution
from ledger.engine.service import IdempotencyKey
from ledger.errors import Conflict, DomainError, Forbidden, Invalid, WrongSecret
from ledger.identity import DocumentType, account_id, signup_id
from ledger.organisations import OrgKind
from ledger.rewards import Redemption, Reward
from ledger.rules import Rules, TransferPolicy
from ledger.signups import Decision, Signup
from ledger.volunteers import INVERSE_RELATION, Relation
from projections.balances.queries import overdue_redemptions
from tests.conftest import make_settings
from timebank.runtime import Runtime

CONFIGS = {
    "default-rules": Rules(),
    "limit-and-cap": Rules(
        credit_limit_minutes=90,
        balance_cap_minutes=480,
        exchange_policy=TransferPolicy.FAMILY_ONLY,
        redemption_expiry_minutes=1,
        max_check_ins_per_day=2,
        granularity_minutes=15,
        grace_minutes=10,
    ),
}

SETTINGS = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

ADMIN = Actor("admin", Role.ADMIN)
CLOCK_SKEW = timedelta(minutes=5)
MAX_VOLUNTEERS = 6
MAX_ACTIVITIES = 5
MAX_REWARDS = 4

Refusal = tuple[type[DomainError], str] | None


# The model ------------------------------------------------------------------------------


@dataclass
class VolunteerModel:
    id: UUID
    document: str
    home_org_id: UUID
    balance: int = 0
    earned: int = 0
    spent: int = 0
    service_minutes: int = 0
    service_credits: int = 0  # the sum of this volunteer's 'service' postings
    holds: dict[UUID, int] = field(default_factory=dict)
    family: dict[UUID, Relation] = field(default_factory=dict)
    intervals: dict[UUID, tuple[datetime, datetime | None]] = field(default_factory=dict)
    recorded: dict[UUID, tuple[datetime, datetime]] = field(default_factory=dict)  # back-fills

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """Whether [start, end) meets any checked-in or back-filled interval."""
        spans = [*self.intervals.values(), *self.recorded.values()]
        return any(s < end and (e is None or start < e) for s, e in spans)

    @property
    def reserved(self) -> int:
        return sum(self.holds.values())

    @property
    def available(self) -> int:
        return self.balance - self.reserved


@dataclass
class ActivityModel:
    id: UUID
    org_id: UUID
    starts_at: datetime
    ends_at: datetime
    capacity: int
    accepted: list[UUID] = field(default_factory=list)  # signup ids, in order
    waitlist: list[UUID] = field(default_factory=list)


@dataclass
class SignupModel:
    id: UUID
    activity_id: UUID
    volunteer_id: UUID
    org_id: UUID
    status: str
    checked_in_at: datetime | None = None
    measured: int | None = None
    decision: Decision | None = None
    minutes: int | None = None  # the verified minutes (service time), after corrections
    credited: int = 0  # what its verification posted to the volunteer's account, after corrections
    corrections: int = 0


@dataclass
class BackfillModel:
    id: UUID
    volunteer_id: UUID
    org_id: UUID
    start: datetime
    end: datetime
    minutes: int  # service minutes: as submitted, then after corrections
    status: str = "submitted"
    credited: int = 0
    corrections: int = 0


@dataclass
class RewardModel:
    id: UUID
    venue_id: UUID
    cost: int
    stock: int
    limit: int | None
    taken: dict[UUID, int] = field(default_factory=dict)


@dataclass
class RedemptionModel:
    id: UUID
    volunteer_id: UUID
    reward_id: UUID
    venue_id: UUID
    quantity: int
    minutes: int
    code: str
    expires_at: datetime
    status: str = "reserved"


def expected_service_minutes(
    check_in: datetime, check_out: datetime, starts_at: datetime, ends_at: datetime, rules: Rules
) -> int:
    """SPEC: check-out minus check-in, clipped to the schedule widened by the grace period,
    rounded down to the granularity."""
    grace = timedelta(minutes=rules.grace_minutes)
    start = max(check_in, starts_at - grace)
    end = min(check_out, ends_at + grace)
    if end <= start:
        return 0
    minutes = int((end - start).total_seconds() // 60)
    return minutes - minutes % rules.granularity_minutes


@dataclass
class Store:
    """The read models, and what in them breaks invariants 1-3."""

    accounts: dict[str, tuple[int, int, int, int, int, str]]  # balance, reserved, earned, ...
    service_postings: dict[str, int]  # 'service' minutes credited, by account
    reversals: dict[str, int]  # 'reversal' minutes taken back by corrections, by account
    redemptions: dict[UUID, str]  # status by redemption id
    problems: dict[str, str]  # account or posting -> what is wrong with it
    total: int  # the trial balance


def read_store(rt: Runtime) -> Store:
    rt.runner.catch_up()
    with rt.db.read() as cur:
        cur.execute(
            "SELECT account, kind, balance, reserved, earned, spent, service_minutes "
            "FROM tb_accounts"
        )
        accounts = {row[0]: (*(int(v) for v in row[2:]), row[1]) for row in cur.fetchall()}
        cur.execute("SELECT credit, SUM(minutes) FROM tb_postings GROUP BY credit")
        credits = {row[0]: int(row[1]) for row in cur.fetchall()}
        cur.execute("SELECT debit, SUM(minutes) FROM tb_postings GROUP BY debit")
        debits = {row[0]: int(row[1]) for row in cur.fetchall()}
        cur.execute("SELECT id FROM tb_postings WHERE minutes <= 0 OR debit = credit")
        bad_postings = [row[0] for row in cur.fetchall()]
        cur.execute(
            "SELECT credit, SUM(minutes) FROM tb_postings WHERE kind = 'service' GROUP BY credit"
        )
        service_postings = {row[0]: int(row[1]) for row in cur.fetchall()}
        cur.execute(
            "SELECT debit, SUM(minutes) FROM tb_postings WHERE kind = 'reversal' GROUP BY debit"
        )
        reversals = {row[0]: int(row[1]) for row in cur.fetchall()}
        cur.execute(
            "SELECT credit, SUM(minutes) FROM tb_postings WHERE kind = 'reversal' GROUP BY credit"
        )
        reversed_in = {row[0]: int(row[1]) for row in cur.fetchall()}
        cur.execute("SELECT id, status FROM tb_redemptions")
        redemptions = {UUID(row[0]): row[1] for row in cur.fetchall()}

    rules = rt.settings.rules
    problems = {f"posting:{p}": "moves a non-positive amount, or to itself" for p in bad_postings}
    for account in (set(credits) | set(debits)) - set(accounts):
        problems[account] = "has postings but no row in tb_accounts"
    for account, (balance, reserved, earned, spent, _service, kind) in accounts.items():
        # 1. the balance is the sum of the postings; a reversal (a correction) takes back
        # what was earned (or issued) instead of counting as spending (or receiving)
        took_back, given_back = reversals.get(account, 0), reversed_in.get(account, 0)
        if (earned, spent, balance) != (
            credits.get(account, 0) - given_back - took_back,
            debits.get(account, 0) - took_back - given_back,
            credits.get(account, 0) - debits.get(account, 0),
        ):
            problems[account] = (
                f"balance {balance} (earned {earned}, spent {spent}) but postings in "
                f"{credits.get(account, 0)}, out {debits.get(account, 0)}"
            )
        # 3. no volunteer below its limit, nor above the cap
        elif kind == "volunteer" and (
            reserved < 0 or balance - reserved < -rules.credit_limit_minutes
        ):
            problems[account] = f"overdrawn: balance {balance}, reserved {reserved}"
        elif (
            kind == "volunteer"
            and rules.balance_cap_minutes is not None
            and (balance > rules.balance_cap_minutes)
        ):
            problems[account] = f"balance {balance} above the cap"
        elif kind != "volunteer" and reserved != 0:
            problems[account] = f"reserved {reserved} on an organisation account"
    # 2. the trial balance
    total = sum(row[0] for row in accounts.values())
    return Store(accounts, service_postings, reversals, redemptions, problems, total)


amounts = st.one_of(st.integers(-5, 300), st.sampled_from(["all", "over"]))
WHEN = st.one_of(
    st.tuples(st.just("ago"), st.integers(0, 3 * 24 * 60 + 120)),
    st.tuples(st.sampled_from(["before", "inside"]), st.integers(1, 180)),
    st.tuples(st.just("future"), st.just(10)),
)


class LedgerMachine(RuleBasedStateMachine):
    rt: Runtime  # set by the test that runs the machine

    def __init__(self) -> None:
        super().__init__()
        self.config: Rules = self.rt.settings.rules  # (`rules` is taken by hypothesis)
        self.zone = ZoneInfo(self.config.timezone)
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.late = self.now + timedelta(minutes=self.config.redemption_expiry_minutes + 1)
        self.tag = uuid4().hex[:12]
        self.requests = 0
        self.documents = 0
        self.district: UUID | None = None
        self.street: UUID | None = None
        self.teams: list[UUID] = []
        self.venues: list[UUID] = []
        self.vols: dict[UUID, VolunteerModel] = {}
        self.activities: dict[UUID, ActivityModel] = {}
        self.signups: dict[UUID, SignupModel] = {}
        self.rewards: dict[UUID, RewardModel] = {}
        self.redemptions: dict[UUID, RedemptionModel] = {}
        self.backfills: dict[UUID, BackfillModel] = {}
        # the issuance, pool and venue accounts of this example's organisations
        self.org_accounts: dict[str, int] = {}
        store = read_store(self.rt)
        self.baseline_problems = set(store.problems)
        self.baseline_total = store.total

    # Plumbing ---------------------------------------------------------------------------

    @property
    def orgs(self) -> list[UUID]:
        assert self.district is not None and self.street is not None
        return [self.district, self.street, *self.teams, *self.venues]

    def ctx(self, actor: Actor = ADMIN, now: datetime | None = None) -> Context:
        self.requests += 1
        return Context(actor, f"{self.tag}-{self.requests}", now or self.now)

    def execute(
        self,
        command: Command,
        refusal: Refusal = None,
        ctx: Context | None = None,
        idempotency: IdempotencyKey | None = None,
    ) -> dict[str, Any] | None:
        """Runs the command and checks it does what the model says: succeeds (returns the
        body), or is refused with the expected error and leaves the log untouched."""
        ctx = ctx or self.ctx()
        head = self.rt.runner.head()
        if refusal is None:
            try:
                outcome = self.rt.service.execute(ctx, command, idempotency)
            except DomainError as e:
                raise AssertionError(
                    f"{command!r} was refused ({type(e).__name__} {e.code}: {e.detail}) "
                    "but the model expected it to succeed"
                ) from e
            event(f"{type(command).__name__}: done")
            return outcome.body
        kind, code = refusal
        event(f"{type(command).__name__}: {code}")
        try:
            self.rt.service.execute(ctx, command, idempotency)
        except DomainError as e:
            assert (type(e), e.code) == (kind, code), (
                f"{command!r}: expected {kind.__name__} {code}, "
                f"got {type(e).__name__} {e.code}: {e.detail}"
            )
        else:
            raise AssertionError(f"{command!r} succeeded; expected {kind.__name__} {code}")
        assert self.rt.runner.head() == head, f"the refused {command!r} changed the log"
        return None

    def probe_overdraft(self, vol: VolunteerModel) -> None:
        """One minute beyond what the volunteer may spend is refused, and changes nothing."""
        minutes = vol.available + self.config.credit_limit_minutes + 1
        self.execute(
            Transfer(vol.id, minutes, TransferKind.DONATION, None, self.teams[0], "too much"),
            (Conflict, "insufficient-balance"),
        )

    def execute_unchanged(self, command: Command, ctx: Context | None = None) -> dict[str, Any]:
        """A command the model says succeeds without changing anything (an idempotent retry)."""
        head = self.rt.runner.head()
        body = self.execute(command, None, ctx)
        assert body is not None
        assert body["position"] is None, f"{command!r} should have recorded nothing: {body}"
        assert self.rt.runner.head() == head
        return body

    def new_document(self) -> str:
        self.documents += 1
        return f"P{self.tag}{self.documents:03d}".upper()

    def register_volunteer_at(self, home: UUID) -> UUID:
        document = self.new_document()
        body = self.execute(
            RegisterVolunteer(
                f"Volunteer {document}",
                DocumentType.PASSPORT,
                document,
                "13800000000",
                "1960-05-01",
                False,
                ("care",),
                home,
            )
        )
        assert body is not None
        vid = UUID(body["id"])
        assert vid not in self.vols
        self.vols[vid] = VolunteerModel(vid, document, home)
        return vid

    def register_org(self, name: str, kind: OrgKind, parent: UUID | None) -> UUID:
        body = self.execute(RegisterOrganisation(f"{name} {self.tag}", kind, parent))
        assert body is not None
        org = UUID(body["id"])
        for account in (issuance_account(org), pool_account(org), venue_account(org)):
            self.org_accounts[account] = 0
        return org

    def resolve_amount(self, vol: VolunteerModel, amount: int | str) -> int:
        if amount == "all":
            return vol.available + self.config.credit_limit_minutes
        if amount == "over":
            return vol.available + self.config.credit_limit_minutes + 1
        assert isinstance(amount, int)
        return amount

    def spendable_refusal(self, vol: VolunteerModel, minutes: int) -> Refusal:
        if minutes <= 0:
            return Invalid, "invalid-amount"
        if vol.available - minutes < -self.config.credit_limit_minutes:
            return Conflict, "insufficient-balance"
        return None

    def room_below_cap(self, vol: VolunteerModel) -> int | None:
        if self.config.balance_cap_minutes is None:
            return None
        return max(self.config.balance_cap_minutes - vol.balance, 0)

    def release(self, redemption: RedemptionModel, status: str) -> None:
        vol = self.vols[redemption.volunteer_id]
        del vol.holds[redemption.id]
        reward = self.rewards[redemption.reward_id]
        reward.stock += redemption.quantity
        reward.taken[redemption.volunteer_id] -= redemption.quantity
        redemption.status = status

    # Setup ------------------------------------------------------------------------------

    @initialize(
        starting=st.lists(st.integers(0, 600), min_size=3, max_size=3),
        rewards=st.lists(
            st.tuples(st.integers(1, 150), st.integers(0, 5), st.one_of(st.none(), st.just(1))),
            min_size=2,
            max_size=2,
        ),
        capacity=st.integers(1, 3),
        long=st.booleans(),
    )
    def setup(
        self,
        starting: list[int],
        rewards: list[tuple[int, int, int | None]],
        capacity: int,
        long: bool,
    ) -> None:
        """The organisation tree, two venues and three volunteers who each start with a
        verified service of `starting` minutes (adjusted), so that credits can flow; the first
        two are spouses, each venue lists a reward, and a second activity is open."""
        self.district = self.register_org("District", OrgKind.DISTRICT, None)
        self.street = self.register_org("Street", OrgKind.STREET, self.district)
        self.teams = [self.register_org(f"Team {n}", OrgKind.TEAM, self.street) for n in "AB"]
        self.venues = [self.register_org(f"Venue {n}", OrgKind.VENUE, self.street) for n in "12"]
        aid = self.publish(self.teams[0], 10, long=True, category=Category.ELDER_CARE)
        for n, minutes in enumerate(starting):
            vid = self.register_volunteer_at(self.teams[n % 2])
            sid = signup_id(aid, vid)
            assert self.sign_up(aid, vid)
            assert self.check_in(sid, self.now - timedelta(hours=2))
            assert self.check_out(sid, self.now - timedelta(hours=1))
            assert self.verify(sid, Decision.ADJUST, minutes, "starting balance")
        first, second = list(self.vols)[:2]
        self.execute(LinkFamily(first, second, Relation.SPOUSE))
        self.vols[first].family[second] = self.vols[second].family[first] = Relation.SPOUSE
        for venue, (cost, stock, limit) in zip(self.venues, rewards, strict=True):
            self.list_reward_at(venue, cost, stock, limit)
        self.publish(self.teams[1], capacity, long, Category.COMMUNITY_CLEANUP)

    # Volunteers -------------------------------------------------------------------------

    @rule(data=st.data(), duplicate=st.integers(0, 3))
    def register_volunteer(self, data: st.DataObject, duplicate: int) -> None:
        """One registration per ID document: a second one is refused and creates nothing."""
        if len(self.vols) < MAX_VOLUNTEERS and duplicate:
            self.register_volunteer_at(data.draw(st.sampled_from(self.teams), label="home"))
            return
        vol = data.draw(st.sampled_from(list(self.vols.values())), label="volunteer")
        document = data.draw(
            st.sampled_from(
                [vol.document, vol.document.lower(), f" {vol.document[:5]} {vol.document[5:]}"]
            ),
            label="document",
        )
        self.execute(
            RegisterVolunteer(
                "Someone Else",
                DocumentType.PASSPORT,
                document,
                "13900000000",
                "1970-01-01",
                True,
                (),
                self.teams[1],
            ),
            (Conflict, "duplicate-volunteer"),
        )

    @rule(data=st.data(), relation=st.sampled_from(Relation))
    def link_family(self, data: st.DataObject, relation: Relation) -> None:
        ids = list(self.vols)
        a = data.draw(st.sampled_from(ids), label="volunteer")
        b = data.draw(st.sampled_from(ids), label="relative")
        command = LinkFamily(a, b, relation)
        existing = self.vols[a].family.get(b)
        if a == b:
            self.execute(command, (Invalid, "invalid-family-link"))
        elif existing == relation:
            self.execute_unchanged(command)
        elif existing is not None:
            self.execute(command, (Conflict, "family-link-exists"))
        else:
            self.execute(command)
            self.vols[a].family[b] = relation
            self.vols[b].family[a] = INVERSE_RELATION[relation]

    # Activities, signups and attendance ------------------------------------------------

    def publish(self, org: UUID, capacity: int, long: bool, category: Category) -> UUID:
        """Activities run now: a long one began three days ago, a short one three hours ago;
        both end in an hour, so signups are open."""
        starts_at = self.now - (timedelta(days=3) if long else timedelta(hours=3))
        ends_at = self.now + timedelta(hours=1)
        body = self.execute(
            PublishActivity(org, "Help", category, "Hall", starts_at, ends_at, capacity)
        )
        assert body is not None
        aid = UUID(body["id"])
        self.activities[aid] = ActivityModel(aid, org, starts_at, ends_at, capacity)
        return aid

    @precondition(lambda self: len(self.activities) < MAX_ACTIVITIES)
    @rule(
        data=st.data(),
        capacity=st.integers(1, 3),
        long=st.booleans(),
        category=st.sampled_from(Category),
    )
    def publish_activity(
        self, data: st.DataObject, capacity: int, long: bool, category: Category
    ) -> None:
        assert self.street is not None
        org = data.draw(st.sampled_from([*self.teams, self.street]), label="organiser")
        self.publish(org, capacity, long, category)

    def sign_up(self, aid: UUID, vid: UUID) -> bool:
        activity = self.activities[aid]
        sid = signup_id(aid, vid)
        existing = self.signups.get(sid)
        command = SignUp(aid, vid)
        if sid in activity.accepted or sid in activity.waitlist:
            self.execute(command, (Conflict, "already-signed-up"))
            return False
        if existing is not None and existing.status != "cancelled":
            self.execute(command, (Conflict, "already-signed-up"))
            return False
        status = "accepted" if len(activity.accepted) < activity.capacity else "waitlisted"
        body = self.execute(command)
        assert body is not None
        assert (body["id"], body["status"]) == (str(sid), status), f"{body} != model {activity}"
        (activity.accepted if status == "accepted" else activity.waitlist).append(sid)
        if existing is None:
            self.signups[sid] = SignupModel(sid, aid, vid, activity.org_id, status)
        else:
            existing.status = status
        return True

    def check_in(self, sid: UUID, at: datetime) -> bool:
        signup = self.signups[sid]
        activity = self.activities[signup.activity_id]
        vol = self.vols[signup.volunteer_id]
        command = CheckIn(sid, at)
        refusal: Refusal = None
        if signup.status != "accepted":
            refusal = Conflict, "cannot-check-in"
        elif at > self.now + CLOCK_SKEW:
            refusal = Invalid, "time-in-future"
        elif at > activity.ends_at + timedelta(minutes=self.config.grace_minutes):
            refusal = Conflict, "activity-over"
        else:
            spans = [span for other, span in vol.intervals.items() if other != sid]
            day = at.astimezone(self.zone).date()
            same_day = sum(1 for start, _ in spans if start.astimezone(self.zone).date() == day)
            if same_day >= self.config.max_check_ins_per_day:
                refusal = Conflict, "check-in-limit"
            elif any(
                end is None or start <= at < end for start, end in [*spans, *vol.recorded.values()]
            ):
                refusal = Conflict, "overlapping-service"
        body = self.execute(command, refusal)
        if refusal is not None:
            return False
        assert body is not None and body["status"] == "checked_in"
        signup.status = "checked_in"
        signup.checked_in_at = at
        vol.intervals[sid] = (at, None)
        return True

    def check_out(self, sid: UUID, at: datetime) -> bool:
        signup = self.signups[sid]
        activity = self.activities[signup.activity_id]
        vol = self.vols[signup.volunteer_id]
        command = CheckOut(sid, at)
        refusal: Refusal = None
        if signup.status != "checked_in" or signup.checked_in_at is None:
            refusal = Conflict, "cannot-check-out"
        elif at > self.now + CLOCK_SKEW:
            refusal = Invalid, "time-in-future"
        elif at <= signup.checked_in_at:
            refusal = Invalid, "invalid-check-out"
        else:
            start = signup.checked_in_at
            for other, (other_start, other_end) in [
                *vol.intervals.items(),
                *vol.recorded.items(),
            ]:
                if other != sid and other_start < at and (other_end is None or start < other_end):
                    refusal = Conflict, "overlapping-service"
        body = self.execute(command, refusal)
        if refusal is not None:
            return False
        assert body is not None and signup.checked_in_at is not None
        minutes = expected_service_minutes(
            signup.checked_in_at, at, activity.starts_at, activity.ends_at, self.config
        )
        assert (body["status"], body["minutes"]) == ("checked_out", minutes)
        signup.status = "checked_out"
        signup.measured = minutes
        vol.intervals[sid] = (signup.checked_in_at, at)
        return True

    def verify(self, sid: UUID, decision: Decision, minutes: int | None, reason: str) -> bool:
        """VerifySignup as the model sees it; a repeated identical decision credits nothing."""
        signup = self.signups[sid]
        vol = self.vols[signup.volunteer_id]
        command = VerifySignup(sid, decision, minutes, reason or None)
        refusal: Refusal = None
        if decision is Decision.APPROVE:
            minutes = signup.measured
        elif decision is Decision.ADJUST:
            if minutes is None or not 0 <= minutes <= bounds.SERVICE_MINUTES.high:
                refusal = Invalid, "invalid-minutes"
            elif not reason.strip():
                refusal = Invalid, "reason-required"
        else:
            if not reason.strip():
                refusal = Invalid, "reason-required"
            minutes = 0
        retry = False
        if refusal is None and signup.status in ("verified", "rejected"):
            if signup.decision is decision and signup.minutes == minutes:
                retry = True
            else:
                refusal = Conflict, "already-verified"
        elif refusal is None and signup.status != "checked_out":
            refusal = Conflict, "not-checked-out"
        if refusal is not None:
            self.execute(command, refusal)
            return False
        if retry:
            again = self.execute_unchanged(command)
            assert again["credited_minutes"] == 0, f"a retried verification credited: {again}"
            assert again["minutes"] == signup.minutes
            return True
        assert minutes is not None
        credited = 0
        if decision is not Decision.REJECT:
            room = self.room_below_cap(vol)
            credited = minutes if room is None else min(minutes, room)
        body = self.execute(command)
        assert body is not None
        status = "rejected" if decision is Decision.REJECT else "verified"
        assert (body["status"], body["decision"], body["minutes"], body["credited_minutes"]) == (
            status,
            decision.value,
            minutes,
            credited,
        )
        signup.status = status
        signup.decision = decision
        signup.minutes = minutes
        signup.credited = credited
        if decision is not Decision.REJECT:
            vol.service_minutes += minutes
            vol.service_credits += credited
            vol.balance += credited
            vol.earned += credited
            self.org_accounts[issuance_account(signup.org_id)] -= credited
        return True

    def cancel_signup(self, sid: UUID) -> None:
        signup = self.signups[sid]
        activity = self.activities[signup.activity_id]
        command = CancelSignup(sid, "cannot come")
        if signup.status not in ("accepted", "waitlisted"):
            self.execute(command, (Conflict, "cannot-cancel"))
            return
        body = self.execute(command)
        assert body is not None and body["status"] == "cancelled"
        was_accepted = sid in activity.accepted
        activity.accepted = [s for s in activity.accepted if s != sid]
        activity.waitlist = [s for s in activity.waitlist if s != sid]
        signup.status = "cancelled"
        if was_accepted and activity.waitlist:
            promoted = activity.waitlist.pop(0)
            activity.accepted.append(promoted)
            self.signups[promoted].status = "accepted"

    def pick_time(self, vol: VolunteerModel, when: tuple[str, int]) -> datetime:
        """A check-in time: some minutes ago, just before or inside the volunteer's latest
        interval (to provoke overlaps), or in the future."""
        how, minutes = when
        starts = [start for start, _ in vol.intervals.values()]
        anchor = starts[-1] if starts else self.now - timedelta(hours=6)
        if how == "ago":
            return self.now - timedelta(minutes=minutes)
        if how == "before":
            return anchor - timedelta(minutes=minutes)
        if how == "inside":
            return min(anchor + timedelta(minutes=minutes), self.now)
        return self.now + timedelta(minutes=minutes)

    @precondition(lambda self: self.signups)
    @rule(data=st.data())
    def cancel_signup_rule(self, data: st.DataObject) -> None:
        self.cancel_signup(data.draw(st.sampled_from(list(self.signups)), label="signup"))

    @precondition(lambda self: self.activities)
    @rule(data=st.data())
    def crowd(self, data: st.DataObject) -> None:
        """Volunteers rush to sign up for one activity, maybe beyond its capacity; then some
        cancel (the first on the waitlist takes a freed seat)."""
        aid = data.draw(st.sampled_from(list(self.activities)), label="activity")
        rush = data.draw(
            st.lists(st.sampled_from(list(self.vols)), min_size=1, unique=True), label="rush"
        )
        for vid in rush:
            self.sign_up(aid, vid)
        for vid in data.draw(st.lists(st.sampled_from(rush), max_size=3), label="cancelling"):
            self.cancel_signup(signup_id(aid, vid))

    @precondition(lambda self: self.signups)
    @rule(data=st.data(), out=st.booleans(), when=WHEN, duration=st.integers(1, 600))
    def attend(self, data: st.DataObject, out: bool, when: tuple[str, int], duration: int) -> None:
        """Check in, or check out after `duration` minutes (or in the future), or try to."""
        sid = data.draw(st.sampled_from(list(self.signups)), label="signup")
        signup = self.signups[sid]
        if not out:
            self.check_in(sid, self.pick_time(self.vols[signup.volunteer_id], when))
            return
        start = signup.checked_in_at or self.now - timedelta(hours=1)
        at = min(start + timedelta(minutes=duration), self.now)
        self.check_out(sid, self.now + timedelta(minutes=10) if when[0] == "future" else at)

    @precondition(lambda self: self.signups)
    @rule(
        data=st.data(),
        decision=st.sampled_from(Decision),
        minutes=st.one_of(
            st.integers(0, 600),
            st.sampled_from([-1, bounds.SERVICE_MINUTES.high, bounds.SERVICE_MINUTES.high + 1]),
        ),
        reason=st.sampled_from(["checked by the coordinator", "", "  "]),
        retries=st.integers(0, 2),
    )
    def verify_rule(
        self, data: st.DataObject, decision: Decision, minutes: int, reason: str, retries: int
    ) -> None:
        sid = data.draw(st.sampled_from(list(self.signups)), label="signup")
        for _ in range(1 + retries):
            self.verify(sid, decision, minutes, reason)

    @precondition(lambda self: self.activities)
    @rule(
        data=st.data(),
        when=WHEN,
        duration=st.integers(1, 600),
        decision=st.sampled_from(Decision),
        adjusted=st.integers(0, 600),
    )
    def serve(
        self,
        data: st.DataObject,
        when: tuple[str, int],
        duration: int,
        decision: Decision,
        adjusted: int,
    ) -> None:
        """Sign up, check in, check out and verify in one step, as far as the rules allow."""
        aid = data.draw(st.sampled_from(list(self.activities)), label="activity")
        vid = data.draw(st.sampled_from(list(self.vols)), label="volunteer")
        sid = signup_id(aid, vid)
        signup = self.signups.get(sid)
        if (signup is None or signup.status == "cancelled") and not self.sign_up(aid, vid):
            return
        check_in_at = self.pick_time(self.vols[vid], when)
        if self.signups[sid].status == "accepted" and not self.check_in(sid, check_in_at):
            return
        check_in_at = self.signups[sid].checked_in_at or check_in_at
        check_out_at = min(check_in_at + timedelta(minutes=duration), self.now)
        if self.signups[sid].status == "checked_in" and not self.check_out(sid, check_out_at):
            return
        if self.signups[sid].status in ("checked_out", "verified", "rejected"):
            self.verify(sid, decision, adjusted, "reviewed")

    # Back-fills, disputes and corrections -----------------------------------------------

    def credited_records(self, vid: UUID | None = None) -> list[SignupModel | BackfillModel]:
        """The verified signups and approved back-fills (of one volunteer)."""
        records: list[SignupModel | BackfillModel] = [
            *(s for s in self.signups.values() if s.status == "verified"),
            *(b for b in self.backfills.values() if b.status == "approved"),
        ]
        return [r for r in records if vid is None or r.volunteer_id == vid]

    def approve_backfill(self, backfill: BackfillModel) -> None:
        """The checker approves: credited once (a retry credits nothing), unless the interval
        now overlaps service recorded since it was submitted."""
        vol = self.vols[backfill.volunteer_id]
        checker = Actor("checker", Role.COORDINATOR, self.street)
        command = ApproveBackfill(backfill.id)
        if backfill.status == "approved":
            again = self.execute_unchanged(command, self.ctx(checker))
            assert (again["status"], again["credited_minutes"]) == ("approved", 0)
            return
        refusal: Refusal = None
        if backfill.status != "submitted":
            refusal = Conflict, "already-decided"
        elif vol.overlaps(backfill.start, backfill.end):
            refusal = Conflict, "overlapping-service"
        body = self.execute(command, refusal, self.ctx(checker))
        if refusal is not None:
            return
        room = self.room_below_cap(vol)
        credited = backfill.minutes if room is None else min(backfill.minutes, room)
        assert body is not None
        assert (body["status"], body["credited_minutes"]) == ("approved", credited), body
        backfill.status = "approved"
        backfill.credited = credited
        vol.recorded[backfill.id] = (backfill.start, backfill.end)
        vol.service_minutes += backfill.minutes
        vol.service_credits += credited
        vol.balance += credited
        vol.earned += credited
        self.org_accounts[issuance_account(backfill.org_id)] -= credited

    @rule(
        data=st.data(),
        when=WHEN,
        duration=st.integers(1, 600),
        then=st.sampled_from(["approve", "approve", "self-approve", "reject", "keep"]),
        outside=st.integers(0, 9),
    )
    def backfill(
        self, data: st.DataObject, when: tuple[str, int], duration: int, then: str, outside: int
    ) -> None:
        """A coordinator of a team back-fills service; a coordinator of the street approves
        it (with a retry), or rejects it; the submitter may not approve it."""
        vol = self.vols[data.draw(st.sampled_from(list(self.vols)), label="volunteer")]
        org = data.draw(st.sampled_from(self.teams), label="organisation")
        maker = Actor("maker", Role.COORDINATOR, org)
        start = self.pick_time(vol, when)
        window = timedelta(days=self.config.backfill_window_days)
        if outside == 0:
            start = self.now - window - timedelta(minutes=1)
        end = start + timedelta(minutes=duration)
        minutes = duration - duration % self.config.granularity_minutes
        refusal: Refusal = None
        if start < self.now - window:
            refusal = Invalid, "outside-backfill-window"
        elif end > self.now + CLOCK_SKEW:
            refusal = Invalid, "time-in-future"
        elif minutes == 0:
            refusal = Invalid, "invalid-interval"
        elif vol.overlaps(start, end):
            refusal = Conflict, "overlapping-service"
        command = SubmitBackfill(vol.id, org, start, end, "helped", Category.OTHER, ("photo",))
        body = self.execute(command, refusal, self.ctx(maker))
        if refusal is not None:
            return
        assert body is not None
        assert (body["status"], body["minutes"]) == ("submitted", minutes), body
        backfill = BackfillModel(UUID(body["id"]), vol.id, org, start, end, minutes)
        self.backfills[backfill.id] = backfill
        if then == "self-approve":
            self.execute(
                ApproveBackfill(backfill.id), (Forbidden, "same-approver"), self.ctx(maker)
            )
        elif then == "approve":
            self.approve_backfill(backfill)
            self.approve_backfill(backfill)
        elif then == "reject":
            self.execute(RejectBackfill(backfill.id, "no evidence"), None, self.ctx(maker))
            backfill.status = "rejected"
            self.approve_backfill(backfill)

    @precondition(lambda self: any(b.status == "submitted" for b in self.backfills.values()))
    @rule(data=st.data())
    def approve_pending_backfill(self, data: st.DataObject) -> None:
        pending = [b for b in self.backfills.values() if b.status == "submitted"]
        self.approve_backfill(data.draw(st.sampled_from(pending), label="backfill"))

    @precondition(lambda self: self.credited_records())
    @rule(
        data=st.data(),
        decision=st.sampled_from([Resolution.CORRECT, Resolution.CORRECT, Resolution.DISMISS]),
        minutes=st.one_of(st.integers(0, 600), st.just(0)),
        acting=st.sampled_from(["self", "self", "coordinator", "other-volunteer"]),
        spend_first=st.booleans(),
    )
    def dispute(
        self,
        data: st.DataObject,
        decision: Resolution,
        minutes: int,
        acting: str,
        spend_first: bool,
    ) -> None:
        """A volunteer disputes a credited record; a coordinator of its organisation corrects
        it (a reversal of what was credited and a re-credit) or dismisses it. A correction
        that would take back credits already spent is refused, and the dispute dismissed."""
        record = data.draw(st.sampled_from(self.credited_records()), label="record")
        vol = self.vols[record.volunteer_id]
        org = self.teams[0]
        others = [v for v in self.vols if v != vol.id]
        opener = {
            "self": Actor("self", Role.VOLUNTEER, vol.id),
            "coordinator": Actor("coordinator", Role.COORDINATOR, record.org_id),
            "other-volunteer": Actor("other", Role.VOLUNTEER, others[0]),
        }[acting]
        refusal: Refusal = (Forbidden, "not-yourself") if acting == "other-volunteer" else None
        body = self.execute(OpenDispute(record.id, "not what I served"), refusal, self.ctx(opener))
        if body is None:
            return
        assert (body["status"], body["previous_minutes"]) == ("open", record.minutes), body
        dispute = UUID(body["id"])
        self.execute(OpenDispute(record.id, "again"), (Conflict, "dispute-open"))
        resolver = self.ctx(Actor("resolver", Role.COORDINATOR, record.org_id))
        dismiss = ResolveDispute(dispute, Resolution.DISMISS, "as recorded")
        if decision == Resolution.DISMISS:
            body = self.execute(dismiss, None, resolver)
            assert body is not None and body["status"] == "dismissed"
            return
        spendable = vol.available + self.config.credit_limit_minutes
        if spend_first and spendable > 0:  # what a correction would take back is gone
            self.execute(Transfer(vol.id, spendable, TransferKind.DONATION, None, org, "all"))
            vol.balance -= spendable
            vol.spent += spendable
            self.org_accounts[pool_account(org)] += spendable
        previous = record.minutes or 0
        reversal = record.credited
        room = None
        if self.config.balance_cap_minutes is not None:
            room = max(self.config.balance_cap_minutes - (vol.balance - reversal), 0)
        recredit = minutes if room is None else min(minutes, room)
        net = recredit - reversal
        if minutes == previous:
            refusal = Invalid, "unchanged-minutes"
        elif net < 0 and vol.available + self.config.credit_limit_minutes + net < 0:
            refusal = Conflict, "insufficient-balance"
        command = ResolveDispute(dispute, Resolution.CORRECT, "recounted", minutes)
        body = self.execute(command, refusal, resolver)
        if body is None:
            body = self.execute(dismiss, None, self.ctx(resolver.actor))
            assert body is not None and body["status"] == "dismissed"
            return
        assert (
            body["status"],
            body["previous_minutes"],
            body["corrected_minutes"],
            body["reversed_credits"],
            body["recredited_credits"],
        ) == ("corrected", previous, minutes, reversal, recredit), body
        record.minutes = minutes
        record.credited = recredit
        record.corrections += 1
        vol.service_minutes += minutes - previous
        vol.service_credits += net
        vol.balance += net
        vol.earned += recredit - reversal  # a correction changes earned, never spent
        self.org_accounts[issuance_account(record.org_id)] -= net
        self.probe_overdraft(vol)

    # Transfers --------------------------------------------------------------------------

    @rule(
        data=st.data(),
        kind=st.sampled_from(TransferKind),
        amount=amounts,
        acting=st.sampled_from(
            [
                *("admin", "admin", "self", "self", "home-coordinator"),
                *("other-volunteer", "foreign-coordinator"),
            ]
        ),
        idempotent=st.booleans(),
        misaddressed=st.integers(0, 15),
        to_family=st.booleans(),
    )
    def transfer(
        self,
        data: st.DataObject,
        kind: TransferKind,
        amount: int | str,
        acting: str,
        idempotent: bool,
        misaddressed: int,
        to_family: bool,
    ) -> None:
        sender = self.vols[data.draw(st.sampled_from(list(self.vols)), label="sender")]
        minutes = self.resolve_amount(sender, amount)
        others = [v for v in self.vols if v != sender.id] or [sender.id]
        other_team = next(t for t in self.teams if t != sender.home_org_id)
        actor = {
            "admin": ADMIN,
            "self": Actor("self", Role.VOLUNTEER, sender.id),
            "other-volunteer": Actor("other", Role.VOLUNTEER, others[0]),
            "home-coordinator": Actor("coordinator", Role.COORDINATOR, sender.home_org_id),
            "foreign-coordinator": Actor("foreign", Role.COORDINATOR, other_team),
        }[acting]
        refusal: Refusal = None
        if acting == "other-volunteer" and others[0] != sender.id:
            refusal = Forbidden, "not-yourself"
        elif acting == "foreign-coordinator":
            refusal = Forbidden, "outside-scope"

        recipient: VolunteerModel | None = None
        if kind is TransferKind.DONATION:
            to_org = data.draw(st.sampled_from(self.orgs), label="organisation")
            target = pool_account(to_org)
            command = Transfer(sender.id, minutes, kind, None, to_org, "thanks")
            if misaddressed == 0:
                command = Transfer(sender.id, minutes, kind, sender.id, to_org, "thanks")
                refusal = refusal or (Invalid, "invalid-recipient")
            refusal = refusal or self.spendable_refusal(sender, minutes)
        else:
            choices = list(sender.family) if to_family and sender.family else list(self.vols)
            recipient = self.vols[data.draw(st.sampled_from(choices), label="recipient")]
            target = volunteer_account(recipient.id)
            command = Transfer(sender.id, minutes, kind, recipient.id, None, "for you")
            if misaddressed == 0:
                command = Transfer(sender.id, minutes, kind, None, self.teams[0], "for you")
                refusal = refusal or (Invalid, "invalid-recipient")
            family_only = (
                kind is TransferKind.GIFT
                or self.config.exchange_policy is TransferPolicy.FAMILY_ONLY
            )
            if family_only and recipient.id not in sender.family:
                refusal = refusal or (Forbidden, "not-family")
            refusal = refusal or self.spendable_refusal(sender, minutes)
            if recipient.id == sender.id:
                refusal = refusal or (Invalid, "invalid-recipient")
            room = self.room_below_cap(recipient)
            if room is not None and minutes > room:
                refusal = refusal or (Conflict, "recipient-cap-reached")

        key = IdempotencyKey(actor.name, uuid4().hex, "fingerprint") if idempotent else None
        ctx = self.ctx(actor)
        body = self.execute(command, refusal, ctx, key)
        if refusal is not None:
            return
        assert body is not None
        assert (body["debit_account"], body["credit_account"], body["minutes"], body["kind"]) == (
            volunteer_account(sender.id),
            target,
            minutes,
            kind.value,
        )
        sender.balance -= minutes
        sender.spent += minutes
        if recipient is not None:
            recipient.balance += minutes
            recipient.earned += minutes
        else:
            self.org_accounts[target] += minutes
        if key is not None:  # a retried request is answered from the store, not re-run
            head = self.rt.runner.head()
            replay = self.rt.service.execute(self.ctx(actor), command, key)
            assert replay.replayed and replay.body == body
            assert self.rt.runner.head() == head
        self.probe_overdraft(sender)

    # Rewards and redemptions -----------------------------------------------------------

    def list_reward_at(self, venue: UUID, cost: int, stock: int, limit: int | None) -> UUID:
        body = self.execute(ListReward(venue, "Haircut", cost, stock, limit))
        assert body is not None
        rid = UUID(body["id"])
        self.rewards[rid] = RewardModel(rid, venue, cost, stock, limit)
        return rid

    def fulfil_redemption(
        self, redemption: RedemptionModel, code: str, late: bool, acting: str
    ) -> bool:
        other_venue = next(v for v in self.venues if v != redemption.venue_id)
        actor = {
            "admin": ADMIN,
            "desk": Actor("desk", Role.DESK, redemption.venue_id),
            "other-desk": Actor("other-desk", Role.DESK, other_venue),
        }[acting]
        now = self.late if late else self.now
        given = {
            "exact": redemption.code,
            "lower": f" {redemption.code.lower()} ",
            "wrong": "00000000",
        }[code]
        refusal: Refusal = None
        if acting == "other-desk":
            refusal = Forbidden, "outside-scope"
        elif redemption.status == "reserved" and now >= redemption.expires_at:
            refusal = Conflict, "redemption-expired"
        elif redemption.status != "reserved":
            refusal = Conflict, f"redemption-{redemption.status}"
        elif code == "wrong":
            refusal = WrongSecret, "wrong-code"
        body = self.execute(FulfilRedemption(redemption.id, given), refusal, self.ctx(actor, now))
        if refusal is not None:
            return False
        assert body is not None
        assert (body["status"], body["minutes"]) == ("fulfilled", redemption.minutes)
        vol = self.vols[redemption.volunteer_id]
        del vol.holds[redemption.id]
        vol.balance -= redemption.minutes
        vol.spent += redemption.minutes
        self.org_accounts[venue_account(redemption.venue_id)] += redemption.minutes
        redemption.status = "fulfilled"
        return True

    def cancel_redemption(self, redemption: RedemptionModel, acting: str) -> None:
        others = [v for v in self.vols if v != redemption.volunteer_id]
        actor = {
            "admin": ADMIN,
            "desk": Actor("desk", Role.DESK, redemption.venue_id),
            "self": Actor("self", Role.VOLUNTEER, redemption.volunteer_id),
            "other-volunteer": Actor("other", Role.VOLUNTEER, others[0]),
        }[acting]
        refusal: Refusal = None
        if acting == "other-volunteer":
            refusal = Forbidden, "outside-scope"
        elif redemption.status != "reserved":
            refusal = Conflict, f"redemption-{redemption.status}"
        body = self.execute(
            CancelRedemption(redemption.id, "changed my mind"), refusal, self.ctx(actor)
        )
        if refusal is None:
            assert body is not None and body["status"] == "cancelled"
            self.release(redemption, "cancelled")

    def expire_redemption(self, redemption: RedemptionModel, late: bool) -> None:
        now = self.late if late else self.now
        overdue = redemption.status == "reserved" and now >= redemption.expires_at
        # the sweeper finds exactly the overdue reservations in the read model
        self.rt.runner.catch_up()
        listed = overdue_redemptions(self.rt.db, now)
        if len(listed) < 500:
            assert (redemption.id in listed) == overdue, (redemption, listed)
        command = ExpireRedemption(redemption.id)
        ctx = self.ctx(SYSTEM, now)
        if not overdue:
            if redemption.status == "reserved":
                self.execute(command, (Conflict, "not-yet-expired"), ctx)
            else:
                unchanged = self.execute_unchanged(command, ctx)
                assert unchanged["status"] == redemption.status
            return
        body = self.execute(command, None, ctx)
        assert body is not None and body["status"] == "expired"
        self.release(redemption, "expired")

    @precondition(lambda self: len(self.rewards) < MAX_REWARDS)
    @rule(
        data=st.data(),
        cost=st.integers(1, 240),
        stock=st.integers(0, 3),
        limit=st.one_of(st.none(), st.integers(1, 2)),
        at_a_team=st.integers(0, 7),
    )
    def list_reward(
        self, data: st.DataObject, cost: int, stock: int, limit: int | None, at_a_team: int
    ) -> None:
        if at_a_team == 0:
            self.execute(ListReward(self.teams[0], "Tea", cost, stock), (Invalid, "not-a-venue"))
            return
        self.list_reward_at(
            data.draw(st.sampled_from(self.venues), label="venue"), cost, stock, limit
        )

    @precondition(lambda self: self.rewards)
    @rule(
        data=st.data(),
        quantity=st.sampled_from([1, 1, 1, 1, 2, 3, 0]),
        acting=st.sampled_from(["admin", "desk", "self", "other-desk"]),
        then=st.sampled_from(["keep", "fulfil", "fulfil-twice", "cancel", "expire"]),
    )
    def redeem(self, data: st.DataObject, quantity: int, acting: str, then: str) -> None:
        """Redeem, then (in the same step) keep it pending, fulfil it (once or twice),
        cancel it, or let it expire."""
        reward = self.rewards[data.draw(st.sampled_from(list(self.rewards)), label="reward")]
        vol = self.vols[data.draw(st.sampled_from(list(self.vols)), label="volunteer")]
        other_venue = next(v for v in self.venues if v != reward.venue_id)
        actor = {
            "admin": ADMIN,
            "desk": Actor("desk", Role.DESK, reward.venue_id),
            "self": Actor("self", Role.VOLUNTEER, vol.id),
            "other-desk": Actor("other-desk", Role.DESK, other_venue),
        }[acting]
        minutes = reward.cost * quantity
        refusal: Refusal = None
        if acting == "other-desk":
            refusal = Forbidden, "outside-scope"
        elif acting == "desk":  # without the volunteer's PIN
            refusal = Forbidden, "pin-required"
        elif quantity < 1:
            refusal = Invalid, "invalid-quantity"
        elif quantity > reward.stock:
            refusal = Conflict, "insufficient-stock"
        elif reward.limit is not None and reward.taken.get(vol.id, 0) + quantity > reward.limit:
            refusal = Conflict, "per-volunteer-limit"
        else:
            refusal = self.spendable_refusal(vol, minutes)
        body = self.execute(Redeem(vol.id, reward.id, quantity), refusal, self.ctx(actor))
        if refusal is not None:
            return
        assert body is not None
        expires_at = self.now + timedelta(minutes=self.config.redemption_expiry_minutes)
        assert body["status"] == "reserved" and body["minutes"] == minutes
        assert datetime.fromisoformat(body["expires_at"]) == expires_at
        rid = UUID(body["id"])
        redemption = RedemptionModel(
            rid, vol.id, reward.id, reward.venue_id, quantity, minutes, body["code"], expires_at
        )
        self.redemptions[rid] = redemption
        vol.holds[rid] = minutes
        reward.stock -= quantity
        reward.taken[vol.id] = reward.taken.get(vol.id, 0) + quantity
        self.probe_overdraft(vol)
        if then.startswith("fulfil"):
            assert self.fulfil_redemption(redemption, "exact", False, "desk")
            if then == "fulfil-twice":  # fulfilled at most once
                self.fulfil_redemption(redemption, "exact", False, "desk")
        elif then == "cancel":
            self.cancel_redemption(redemption, "self")
        elif then == "expire":
            self.expire_redemption(redemption, late=True)

    @precondition(lambda self: self.redemptions)
    @rule(
        data=st.data(),
        action=st.sampled_from(["fulfil", "cancel", "expire"]),
        code=st.sampled_from(["exact", "lower", "wrong"]),
        late=st.integers(0, 4),
        acting=st.sampled_from(["admin", "desk", "self", "other"]),
    )
    def settle_redemption(
        self, data: st.DataObject, action: str, code: str, late: int, acting: str
    ) -> None:
        """Fulfil (by the desk, with the code), cancel or expire a redemption, or try to."""
        redemption = self.redemptions[
            data.draw(st.sampled_from(list(self.redemptions)), label="redemption")
        ]
        if action == "fulfil":
            fulfiller = {"self": "desk", "other": "other-desk"}.get(acting, acting)
            self.fulfil_redemption(redemption, code, late == 0, fulfiller)
        elif action == "cancel":
            self.cancel_redemption(redemption, {"other": "other-volunteer"}.get(acting, acting))
        else:
            self.expire_redemption(redemption, late > 1)

    # Invariants -------------------------------------------------------------------------

    @invariant()
    def ledger_invariants(self) -> None:
        store = read_store(self.rt)
        # 1, 2, 3 on the whole store (what was already broken before this example began is
        # reported by the example that broke it, and again at the end of the test)
        broken = {k: v for k, v in store.problems.items() if k not in self.baseline_problems}
        assert not broken, f"ledger invariants broken: {broken}"
        assert store.total == self.baseline_total, (
            f"the trial balance moved from {self.baseline_total} to {store.total}"
        )
        accounts = store.accounts
        service_postings = store.service_postings
        limit = self.config.credit_limit_minutes
        rt = self.rt

        # 3, 4, 5. this example's accounts: model, read model and aggregate agree
        for vol in self.vols.values():
            name = volunteer_account(vol.id)
            expected = (vol.balance, vol.reserved, vol.earned, vol.spent, vol.service_minutes)
            assert accounts[name][:5] == expected, f"read model {accounts[name]} != {expected}"
            records = self.credited_records(vol.id)
            credited = sum(r.credited for r in records)
            assert vol.service_credits == credited
            net_service = service_postings.get(name, 0) - store.reversals.get(name, 0)
            assert net_service == credited, (
                f"{name}: service postings less reversals {net_service} != credits "
                f"{credited} of its verified signups and approved back-fills"
            )
            served = sum(r.minutes or 0 for r in records)
            assert vol.service_minutes == served
            aggregate = rt.service.load(Account, account_id(vol.id), "account")
            assert (
                aggregate.balance,
                aggregate.reserved,
                aggregate.earned,
                aggregate.spent,
                aggregate.service_minutes,
            ) == expected, f"aggregate of {name} disagrees with the model"
            assert aggregate.holds == {str(k): v for k, v in vol.holds.items()}
            assert aggregate.available >= -limit
        for account, balance in self.org_accounts.items():
            row = accounts.get(account)
            assert (row[0] if row else 0) == balance, f"{account}: {row} != {balance}"
        for redemption in self.redemptions.values():
            assert store.redemptions[redemption.id] == redemption.status

    def teardown(self) -> None:
        """Once per example: the other aggregates agree with the model, and each signup's
        credit appears exactly once in its volunteer's account stream."""
        if sys.exc_info()[0] is not None or not self.vols:
            return  # the example already failed: let that failure be the one reported
        load = self.rt.service.load
        for activity in self.activities.values():
            aggregate = load(Activity, activity.id, "activity")
            seats = (
                [UUID(e[0]) for e in aggregate.accepted],
                [UUID(e[0]) for e in aggregate.waitlist],
            )
            assert seats == (activity.accepted, activity.waitlist), (
                f"seats (accepted, waitlist) {seats} != model {activity}"
            )
            assert len(aggregate.accepted) <= aggregate.capacity, "overbooked"
        for signup in self.signups.values():
            s = load(Signup, signup.id, "signup")
            assert (s.status.value, s.decision, s.verified_minutes, s.measured_minutes) == (
                signup.status,
                signup.decision,
                signup.minutes,
                signup.measured,
            ), signup
        for reward in self.rewards.values():
            r = load(Reward, reward.id, "reward")
            assert r.stock == reward.stock >= 0, f"stock {r.stock} != model {reward}"
            taken = {UUID(k): v for k, v in r.taken.items() if v}
            assert taken == {k: v for k, v in reward.taken.items() if v}, (taken, reward)
        for redemption in self.redemptions.values():
            status = load(Redemption, redemption.id, "redemption").status.value
            assert status == redemption.status, redemption
        for vol in self.vols.values():
            stream = list(self.rt.app.events.get(account_id(vol.id)))
            credits = Counter(e.source_id for e in stream if isinstance(e, Account.ServiceCredited))
            verified = {r.id for r in self.credited_records(vol.id)}
            assert set(credits) == verified, (
                "a verified signup or approved back-fill was not credited, or another one was"
            )
            assert all(n == 1 for n in credits.values()), f"credited more than once: {credits}"
            corrections = Counter(
                e.source_id for e in stream if isinstance(e, Account.ServiceCorrected)
            )
            expected = {r.id: r.corrections for r in self.credited_records(vol.id) if r.corrections}
            assert corrections == expected, f"corrections {corrections} != model {expected}"
        for backfill in self.backfills.values():
            b = load(Backfill, backfill.id, "backfill")
            minutes = b.service_minutes if b.is_approved else b.minutes
            assert (b.status.value, minutes, b.credits, b.corrections) == (
                backfill.status,
                backfill.minutes,
                backfill.credited,
                backfill.corrections,
            ), backfill


@pytest.mark.parametrize("config", list(CONFIGS))
def test_ledger_invariants(database_url: str, config: str) -> None:
    # Wrong codes are part of the model, not guessing: no lockout here (tests/test_desk_*).
    rt = Runtime(make_settings(database_url, rules=CONFIGS[config], guess_limit=10**6))
    try:
        machine = type("LedgerInvariants", (LedgerMachine,), {"rt": rt})
        run_state_machine_as_test(machine, settings=SETTINGS)
        store = read_store(rt)  # and cumulatively, over everything the examples did
        assert not store.problems, store.problems
        assert store.total == 0, f"the trial balance is {store.total}"
    finally:
        rt.close()
