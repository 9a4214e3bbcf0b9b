"""Faults under load: the service is killed with SIGKILL and started again, and (on
PostgreSQL) the database crashes and restarts, while clients keep sending commands that move
credits; afterwards every acknowledged command is in the log and the read models exactly
once, nothing refused left a trace, the trial balance is zero and the read models equal a
recomputation from the log.

`timebank serve` runs in a subprocess, on a database of a private PostgreSQL cluster
(tests/pg_cluster.py, so that a crash of it disturbs nobody else's tests) or on a SQLite file.
The world is seeded in-process first: organisations, a reward with a large stock, volunteers
each signed up, checked in and out of one activity a day for the last days, a few of those
signups verified so that spending can start at once. Then well-behaved clients (threads)
send commands, each with an Idempotency-Key, sent again with the same key and body after a
connection error or a 5xx answer until they get an answer: verifications of checked-out
signups (and verifications again under a new key, which credit nothing), transfers between
volunteers, redemptions and their hand-out at the desk or cancellation; a few answers they
throw away and ask for again with the same key, as if the connection had dropped just after
the server answered. Meanwhile the test SIGKILLs the service and starts a new one on the same
port, then (PostgreSQL) crashes the database (immediate stop, a second down, start: WAL
recovery) under the service that is running, which must recover by itself, or (SQLite) kills
the service a second time.

Afterwards: each acknowledged command's effect is in the log once (postings by id, credits
by signup, redemptions, holds, hand-outs and releases by redemption id) and nothing else is;
a repeated request got the first answer again; refusals were only the expected ones; the
service's read models catch up with the log; every volunteer's account and statement served
by the API match the log, each posting once; the reward's stock matches; the trial balance
over all accounts is zero and no volunteer is below the limit; and every read model about
the world equals its recomputation from the log (the oracle of
tests/test_read_models_match_the_log.py).
"""

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from ledger.activities import Category
from ledger.commands.attendance import CheckIn, CheckOut, PublishActivity, SignUp, VerifySignup
from ledger.commands.base import Command
from ledger.commands.exchange import ListReward
from ledger.commands.members import RegisterOrganisation, RegisterVolunteer
from ledger.context import Actor, Context, Role
from ledger.identity import DocumentType, signup_id
from ledger.organisations import OrgKind
from ledger.rules import Rules
from ledger.signups import Decision
from tests.conftest import make_settings
from tests.http import SERVER_PROCESSES, ServeProcess
from tests.pg_cluster import PgCluster, pg_cluster
from tests.test_read_models_match_the_log import RULES, Oracle, Scope, Store, compare
from timebank.runtime import Runtime

pytestmark = SERVER_PROCESSES

__all__ = ["pg_cluster"]  # the fixture, used by name

ADMIN = Actor("fault-seed", Role.ADMIN)
VOLUNTEERS = 16
DAYS = 10  # one activity a day for the last DAYS days; every volunteer served in each
FUNDED_DAYS = 2  # of those, verified while seeding
MINUTES = 60  # served in each activity
COST = 5  # of the reward
STOCK = 1_000_000
CLIENTS = 8
COMMAND_DEADLINE = 45.0  # seconds a client keeps sending one command before it gives up
PHASE_COMMANDS = 150  # acknowledged commands between two faults
PHASE_TIMEOUT = 20.0
DATABASE_DOWN = 1.0  # seconds between the crash of PostgreSQL and its start
# Of the first answers to commands, the share the clients throw away and ask again for (with
# the same key), as if the connection had dropped after the server answered: so that retries
# of committed commands happen on every run, not only when a kill lands in that window.
LOST_ANSWERS = 0.05
# The oracle's reports assume its party-member minimum; every other rule is the default.
PARTY_MINUTES = RULES.party_member_yearly_minutes


# The world ---------------------------------------------------------------------------------


@dataclass
class World:
    district: UUID
    team: UUID
    venue: UUID
    reward: UUID
    volunteers: list[UUID]
    activities: list[UUID]
    unverified: list[UUID]  # checked-out signups, for the load to verify
    funded: list[UUID]  # signups verified while seeding
    seed_head: int
    coordinator: str = ""  # tokens
    desk: str = ""
    volunteer_tokens: dict[UUID, str] = field(default_factory=dict)


def seed(rt: Runtime) -> World:
    requests = iter(range(1_000_000))

    def run(command: Command, at: datetime) -> dict[str, Any]:
        ctx = Context(ADMIN, f"seed-{next(requests)}", at)
        return rt.service.execute(ctx, command).body

    now = datetime.now(UTC)
    district = UUID(run(RegisterOrganisation("区", OrgKind.DISTRICT), now)["id"])
    team = UUID(run(RegisterOrganisation("服务队", OrgKind.TEAM, district), now)["id"])
    venue = UUID(run(RegisterOrganisation("兑换点", OrgKind.VENUE, district), now)["id"])
    reward = UUID(run(ListReward(venue, "大米", COST, STOCK), now)["id"])
    volunteers = [
        UUID(
            run(
                RegisterVolunteer(
                    f"志愿者{n}",
                    DocumentType.PASSPORT,
                    f"F{uuid.uuid4().hex[:10]}".upper(),
                    "13900001111",
                    "1980-05-06",
                    False,
                    (),
                    team,
                ),
                now - timedelta(days=DAYS + 1),
            )["id"]
        )
        for n in range(VOLUNTEERS)
    ]
    activities: list[UUID] = []
    signups: list[list[UUID]] = []
    for day in range(DAYS, 0, -1):
        starts = (now - timedelta(days=day)).replace(second=0, microsecond=0)
        ends = starts + timedelta(minutes=MINUTES)
        before = starts - timedelta(hours=1)
        activity = UUID(
            run(
                PublishActivity(
                    team, f"陪伴老人 {day}", Category.ELDER_CARE, "敬老院", starts, ends, VOLUNTEERS
                ),
                before,
            )["id"]
        )
        activities.append(activity)
        day_signups = []
        for volunteer in volunteers:
            run(SignUp(activity, volunteer), before)
            sid = signup_id(activity, volunteer)
            run(CheckIn(sid, starts), starts)
            run(CheckOut(sid, ends), ends)
            day_signups.append(sid)
        signups.append(day_signups)
    funded = [sid for day_signups in signups[:FUNDED_DAYS] for sid in day_signups]
    for sid in funded:
        run(VerifySignup(sid, Decision.APPROVE), now)
    unverified = [sid for day_signups in signups[FUNDED_DAYS:] for sid in day_signups]
    world = World(
        district,
        team,
        venue,
        reward,
        volunteers,
        activities,
        unverified,
        funded,
        rt.runner.head(),
    )
    world.coordinator = rt.tokens.create(Role.COORDINATOR, "fault-coordinator", district)
    world.desk = rt.tokens.create(Role.DESK, "fault-desk", venue)
    for n, volunteer in enumerate(volunteers):
        world.volunteer_tokens[volunteer] = rt.tokens.create(
            Role.VOLUNTEER, f"fault-volunteer-{n}", volunteer
        )
    return world


# The clients -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """A command as the load sends it."""

    kind: str  # verify, reverify, transfer, redeem, fulfil or cancel
    token: str
    path: str
    body: dict[str, Any]
    about: UUID | None = None  # the signup verified, the redemption handed out or cancelled


@dataclass
class Answer:
    """The final answer to one command (after its retries)."""

    request: Request
    key: str
    status: int  # 0: no answer before the deadline
    json: dict[str, Any]
    attempts: int
    lost: dict[str, Any] | None = None  # the first answer, when the client threw it away

    @property
    def kind(self) -> str:
        return self.request.kind

    @property
    def about(self) -> str:
        return str(self.request.about)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


# The answers each kind of command may get besides success: refusals that change nothing.
ALLOWED_REFUSALS = {
    "transfer": {"insufficient-balance"},
    "redeem": {"insufficient-balance"},
}


def problem_code(answer: Answer) -> str:
    return str(answer.json.get("type", "")).rsplit(":", 1)[-1]


class Load:
    """CLIENTS threads sending commands until told to stop; every final answer is kept."""

    def __init__(self, base: str, world: World, seed: int) -> None:
        self.base = base
        self.world = world
        self.seed = seed
        self.answers: list[Answer] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.unverified = list(world.unverified)
        random.Random(seed).shuffle(self.unverified)
        self.verified: list[UUID] = []
        self.transport_errors = 0
        self.lost_in_flight = 0  # requests sent whose answer never came
        self.server_errors: Counter[str] = Counter()
        self.threads = [
            threading.Thread(target=self._client, args=(n,), name=f"client-{n}", daemon=True)
            for n in range(CLIENTS)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=COMMAND_DEADLINE + 15)
        assert not any(t.is_alive() for t in self.threads), "a client is still sending"

    @property
    def acknowledged(self) -> int:
        with self.lock:
            return sum(1 for a in self.answers if a.ok)

    def wait_for(self, more: int, timeout: float = PHASE_TIMEOUT) -> None:
        """Until `more` commands more than now have been acknowledged."""
        target = self.acknowledged + more
        deadline = time.monotonic() + timeout
        while self.acknowledged < target:
            if time.monotonic() > deadline:
                pytest.fail(
                    f"{self.acknowledged} commands acknowledged, not {target}, after "
                    f"{timeout} s; {self.transport_errors} transport errors, "
                    f"5xx answers: {dict(self.server_errors)}"
                )
            time.sleep(0.02)

    # One client ----------------------------------------------------------------------------

    def _client(self, n: int) -> None:
        rng = random.Random(self.seed * 1000 + n)
        with httpx.Client(base_url=self.base, timeout=10) as http:
            while not self.stop.is_set():
                self._one(rng, http)

    def _one(self, rng: random.Random, http: httpx.Client) -> None:
        w = self.world
        approve = {"decision": "approve"}
        roll = rng.random()
        if roll < 0.3:
            with self.lock:
                sid = self.unverified.pop() if self.unverified else None
            if sid is not None:
                path = f"/v1/signups/{sid}/verify"
                answer = self.send(rng, http, Request("verify", w.coordinator, path, approve, sid))
                if answer.ok:
                    with self.lock:
                        self.verified.append(sid)
                return
        if roll < 0.38:
            with self.lock:
                sid = rng.choice(self.verified) if self.verified else None
            if sid is not None:  # a second verification, under a new key: credits nothing
                path = f"/v1/signups/{sid}/verify"
                self.send(rng, http, Request("reverify", w.coordinator, path, approve, sid))
                return
        if roll < 0.7:
            sender, recipient = rng.sample(w.volunteers, 2)
            body = {
                "from_volunteer_id": str(sender),
                "to_volunteer_id": str(recipient),
                "minutes": rng.randint(1, 20),
                "kind": "exchange",
                "memo": f"load {rng.randrange(10**6)}",
            }
            token = w.volunteer_tokens[sender]
            self.send(rng, http, Request("transfer", token, "/v1/transfers", body))
            return
        volunteer = rng.choice(w.volunteers)
        token = w.volunteer_tokens[volunteer]
        body = {"volunteer_id": str(volunteer), "reward_id": str(w.reward), "quantity": 1}
        reserved = self.send(rng, http, Request("redeem", token, "/v1/redemptions", body))
        if not reserved.ok:
            return
        rid = UUID(reserved.json["id"])
        then = rng.random()
        if then < 0.7:
            path, body = f"/v1/redemptions/{rid}/fulfil", {"code": reserved.json["code"]}
            self.send(rng, http, Request("fulfil", w.desk, path, body, rid))
        elif then < 0.85:
            path, body = f"/v1/redemptions/{rid}/cancel", {"reason": "changed my mind"}
            self.send(rng, http, Request("cancel", token, path, body, rid))

    def send(self, rng: random.Random, http: httpx.Client, request: Request) -> Answer:
        """Sends the command until it is answered (anything but a 5xx) or the deadline."""
        key = f"{request.kind}-{uuid.uuid4()}"
        headers = {"Authorization": f"Bearer {request.token}", "Idempotency-Key": key}
        deadline = time.monotonic() + COMMAND_DEADLINE
        attempts, status = 0, 0
        payload: dict[str, Any] = {}
        lost: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            attempts += 1
            try:
                r = http.post(request.path, json=request.body, headers=headers)
            except httpx.TransportError as e:
                with self.lock:
                    self.transport_errors += 1
                    self.lost_in_flight += not isinstance(e, httpx.ConnectError)
                time.sleep(min(0.5, 0.05 * attempts))
                continue
            status = r.status_code
            payload = r.json() if r.content else {}
            if r.is_success and attempts == 1 and rng.random() < LOST_ANSWERS:
                lost = payload
                continue
            if status < 500:
                break
            with self.lock:
                self.server_errors[f"{status} {payload.get('type', r.text[:80])}"] += 1
            time.sleep(min(0.5, 0.05 * attempts))
        answer = Answer(request, key, status, payload, attempts, lost)
        with self.lock:
            self.answers.append(answer)
        return answer


# Running the service -----------------------------------------------------------------------


class Service:
    """`timebank serve` on one port across kills."""

    def __init__(self, url: str, cwd: Path) -> None:
        self.url = url
        self.cwd = cwd
        self.outputs: list[str] = []
        self.current = self._start(None)

    def _start(self, port: int | None) -> ServeProcess:
        server = ServeProcess(
            self.url,
            self.cwd,
            port=port,
            TIMEBANK_LOG_LEVEL="warning",
            TIMEBANK_RULES__PARTY_MEMBER_YEARLY_MINUTES=str(PARTY_MINUTES),
        )
        server.wait_healthy()
        return server

    @property
    def base(self) -> str:
        return self.current.base

    def kill_and_start(self) -> None:
        port = self.current.port
        self.current.kill()
        self.outputs.append(self.current.output)
        self.current = self._start(port)

    def stop(self) -> None:
        self.current.stop()
        self.outputs.append(self.current.output)

    @property
    def output(self) -> str:
        tail = "\n".join(f"--- serve #{n}\n{o[-3000:]}" for n, o in enumerate(self.outputs))
        return tail


# The checks --------------------------------------------------------------------------------


def wait_until_caught_up(rt: Runtime, head: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while (positions := rt.runner.read_positions()) and min(positions.values()) < head:
        if time.monotonic() > deadline:
            pytest.fail(f"the read models stopped short of {head}: {positions}")
        time.sleep(0.1)


def check_log(world: World, answers: list[Answer], log: list[Any]) -> list[str]:
    """Every acknowledged command's effect is in the log once; nothing else is."""
    problems: list[str] = []
    after = [item.event for item in log if item.position > world.seed_head]
    everything = [item.event for item in log]

    def named(name: str, events: list[Any]) -> list[Any]:
        return [e for e in events if type(e).__qualname__ == name]

    def compare_counts(what: str, found: Counter[Any], acked: list[Any]) -> None:
        for key in acked:
            if found[key] != 1:
                problems.append(f"{what} {key}: acknowledged, {found[key]} times in the log")
        for key in set(found) - set(acked):
            problems.append(f"{what} {key}: in the log {found[key]} times, never acknowledged")

    by_kind: dict[str, list[Answer]] = {}
    for answer in answers:
        by_kind.setdefault(answer.kind, []).append(answer)
    ok = {kind: [a for a in items if a.ok] for kind, items in by_kind.items()}

    transfers = Counter(e.posting["id"] for e in named("Account.TransferSent", after))
    compare_counts("transfer", transfers, [a.json["id"] for a in ok.get("transfer", [])])
    credited = Counter(str(e.source_id) for e in named("Account.ServiceCredited", everything))
    verified = [a.about for a in ok.get("verify", [])] + [str(s) for s in world.funded]
    compare_counts("credit of signup", credited, verified)
    for a in ok.get("verify", []):
        if a.json.get("credited_minutes") != MINUTES:
            problems.append(f"verification {a.key} of {a.about} answered {a.json}")
    for a in ok.get("reverify", []):
        if a.json.get("credited_minutes") != 0:
            problems.append(f"second verification {a.key} of {a.about} answered {a.json}")
    reserved = Counter(str(e.originator_id) for e in named("Redemption.Reserved", after))
    held = Counter(str(e.redemption_id) for e in named("Account.CreditsHeld", after))
    redeemed = [a.json["id"] for a in ok.get("redeem", [])]
    compare_counts("redemption", reserved, redeemed)
    compare_counts("hold of redemption", held, redeemed)
    settled = Counter(str(e.redemption_id) for e in named("Account.HoldSettled", after))
    compare_counts("hand-out of redemption", settled, [a.about for a in ok.get("fulfil", [])])
    released = Counter(str(e.redemption_id) for e in named("Account.HoldReleased", after))
    compare_counts("release of redemption", released, [a.about for a in ok.get("cancel", [])])
    for kind, items in by_kind.items():
        for a in items:
            if a.lost is not None and a.json != a.lost:
                problems.append(f"{kind} {a.key}: answered {a.lost}, then again {a.json}")
            if a.ok:
                continue
            if a.status == 0:
                problems.append(f"{kind} {a.key}: no answer in {COMMAND_DEADLINE} s")
            elif a.status != 409 or problem_code(a) not in ALLOWED_REFUSALS.get(kind, set()):
                problems.append(f"{kind} {a.key} {a.request.path}: {a.status} {a.json}")
    return problems


def check_read_models(rt: Runtime, world: World, base: str, answers: list[Answer]) -> None:
    store = Store(rt)
    log = store.read_log()
    problems = check_log(world, answers, log)
    assert not problems, f"{len(problems)} problems in the log:\n" + "\n".join(problems[:40])
    wait_until_caught_up(rt, log[-1].position)
    oracle = Oracle(log)
    # Through the API: every account as computed from the log, and every posting in the
    # statements of both its sides, once.
    statements: Counter[tuple[str, str]] = Counter()
    headers = {"Authorization": f"Bearer {world.coordinator}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
        for volunteer in world.volunteers:
            r = http.get(f"/v1/accounts/{volunteer}")
            assert r.status_code == 200, r.text
            account = r.json()
            expected = oracle.account_row(volunteer)
            assert expected is not None
            fields = ("balance", "reserved", "earned", "spent", "service")
            served = {f"{name}_minutes": account[f"{name}_minutes"] for name in fields}
            assert served == expected, f"account of {volunteer}: {served}, log says {expected}"
            assert account["available_minutes"] >= 0, account
            cursor: str | None = None
            while True:
                params: dict[str, Any] = {"limit": 1000} | ({"cursor": cursor} if cursor else {})
                r = http.get(f"/v1/accounts/{volunteer}/statement", params=params)
                assert r.status_code == 200, r.text
                page = r.json()
                for entry in page["entries"]:
                    statements[(str(volunteer), entry["posting_id"])] += 1
                cursor = page["next_cursor"]
                if not cursor:
                    break
        r = http.get(f"/v1/rewards/{world.reward}")
        assert r.status_code == 200, r.text
        taken = sum(a.ok for a in answers if a.kind == "redeem")
        given_back = sum(a.ok for a in answers if a.kind == "cancel")
        assert r.json()["stock"] == STOCK - taken + given_back, r.json()
    twice = [key for key, count in statements.items() if count != 1]
    assert not twice, f"postings in a statement more than once: {twice[:10]}"
    for a in answers:
        if a.kind == "transfer" and a.ok:
            for side in (a.request.body["from_volunteer_id"], a.request.body["to_volunteer_id"]):
                assert statements[(side, a.json["id"])] == 1, f"transfer {a.json} not in {side}"
    # The read models' tables: the trial balance, the limits, and everything served about
    # the world equal to its recomputation from the log.
    with rt.db.read() as cur:
        cur.execute("SELECT COALESCE(SUM(balance), 0), COUNT(*) FROM tb_accounts")
        total, accounts = cur.fetchone()
        assert int(total) == 0 and accounts > VOLUNTEERS
        cur.execute(
            "SELECT account, balance, reserved FROM tb_accounts "
            "WHERE account LIKE 'volunteer:%%' AND balance - reserved < 0"
        )
        assert cur.fetchall() == []
    days = {f.service_date for f in oracle.facts}
    periods = sorted({f"{d:%Y}" for d in days} | {f"{d:%Y-%m}" for d in days})
    scope = Scope(
        volunteers=world.volunteers,
        activities=world.activities,
        redemptions=[UUID(a.json["id"]) for a in answers if a.kind == "redeem" and a.ok],
        orgs=[world.district, world.team],
        venues=[world.venue],
        district=world.district,
        periods=[*periods, "campaign:none"],
    )
    compare(rt, oracle, scope)


# The test ----------------------------------------------------------------------------------


@pytest.fixture
def fault_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, Callable[[], None] | None]]:
    """A store of its own, and how to crash and restart its database (None on SQLite)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/timebank.db", None
        return
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    url = cluster.create_database(f"faults_{uuid.uuid4().hex[:8]}")

    def crash() -> None:
        cluster.stop("immediate")
        time.sleep(DATABASE_DOWN)
        cluster.start()

    yield url, crash


@pytest.mark.parametrize("fault_store", ["sqlite", "postgres"], indirect=True)
def test_acknowledged_commands_survive_kills_and_crashes(
    fault_store: tuple[str, Callable[[], None] | None], tmp_path: Path
) -> None:
    url, crash_database = fault_store
    started = time.monotonic()
    settings = make_settings(url, rules=Rules(party_member_yearly_minutes=PARTY_MINUTES))
    rt = Runtime(settings)
    try:
        world = seed(rt)
    finally:
        rt.close()
    service = Service(url, tmp_path)
    load = Load(service.base, world, seed=7)
    try:
        load.start()
        load.wait_for(PHASE_COMMANDS)
        service.kill_and_start()
        load.wait_for(PHASE_COMMANDS)
        if crash_database is None:
            service.kill_and_start()
        else:  # the service that lives through it must recover: its writer and projections
            crash_database()
        load.wait_for(PHASE_COMMANDS)
        load.finish()
        kinds = Counter(f"{a.kind} {a.status}" for a in load.answers)
        print(
            f"{len(load.answers)} commands, {dict(sorted(kinds.items()))}; "
            f"{load.transport_errors} transport errors ({load.lost_in_flight} in flight), "
            f"{sum(a.lost is not None for a in load.answers)} answers lost on purpose, "
            f"5xx: {dict(load.server_errors)}; "
            f"{time.monotonic() - started:.1f} s"
        )
        rt = Runtime(settings, migrate=False)  # opened after the faults: to read
        try:
            check_read_models(rt, world, service.base, load.answers)
        finally:
            rt.close()
    finally:
        load.stop.set()
        service.stop()
        print(service.output[-6000:])
