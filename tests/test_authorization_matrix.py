"""The authorization matrix: every operation of the OpenAPI document, asked by every kind of
caller, in and out of scope, on both stores, against one table (MATRIX).

An operation the table does not name, or an entry for an operation that no longer exists,
fails the suite. To add an operation: one line in MATRIX, `(METHOD, "/path/{template}"):
Rule(<who may>, <builder>)`, where the builder returns the request's path ids and body
(`shared` when the world's objects and no body will do). A builder is asked for a `fresh`
object whenever the caller is allowed, so that an allowed call never finds the state an earlier
call left; a refused caller is sent against the world's shared objects, which are kept in the
state where the call would succeed, so that a widened permission shows as a 2xx. A rule's
`cases` are further calls of the same operation whose objects move the scope (an object
below S, a member of the sibling subtree, no check-in code); `World.caller` names the caller
a call is being built for, for the rules that depend on who acts (maker-checker).

Out-of-scope calls are refused with 403 (the code hides no object's existence with a 404);
calls without a valid token with 401."""

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.app import create_app
from ledger.context import Role
from ledger.rules import Rules
from tests.conftest import make_settings
from tests.http import Api, Town, serve
from timebank.runtime import Runtime

# The kinds of caller. Every object of the world belongs to the volunteer SELF (home: the
# street S) and to S (organiser, recorder, awarding organisation), except the rewards and
# redemptions, which belong to the venue V. The tree: D > S > T, D > S2, D > V, D > V2.
ANON = "anonymous"  # no token
BAD = "bad-token"  # a token the store does not know
ADMIN = "admin"
AUDITOR = "auditor"
COORD = "coordinator"  # of S, the object's organisation
COORD_ABOVE = "coordinator-above"  # of D, an ancestor of S and of V
COORD_BELOW = "coordinator-below"  # of T, a team below S
COORD_SIBLING = "coordinator-sibling"  # of S2, a street beside S
COORD_VENUE = "coordinator-venue"  # of V, the venue of the rewards
DESK = "desk"  # of V
DESK_OTHER = "desk-other"  # of V2
SELF = "volunteer-self"  # the volunteer whose objects they are
OTHER = "volunteer-other"  # another volunteer of S
RELATIVE = "volunteer-relative"  # SELF's linked family member (a child), also of S

CALLERS = (
    ANON,
    BAD,
    ADMIN,
    AUDITOR,
    COORD,
    COORD_ABOVE,
    COORD_BELOW,
    COORD_SIBLING,
    COORD_VENUE,
    DESK,
    DESK_OTHER,
    SELF,
    OTHER,
    RELATIVE,
)
PUBLIC = frozenset(CALLERS)
TOKENS = PUBLIC - {ANON, BAD}  # any role
OVER = frozenset({ADMIN, COORD, COORD_ABOVE})  # coordinators of S or above, and admins
READ_OVER = OVER | {AUDITOR}
VENUE_OVER = frozenset({ADMIN, COORD_VENUE, COORD_ABOVE})  # coordinators of V or above
ANY_COORD = frozenset({COORD, COORD_ABOVE, COORD_BELOW, COORD_SIBLING, COORD_VENUE})
ROLE = {
    ADMIN: Role.ADMIN,
    AUDITOR: Role.AUDITOR,
    COORD: Role.COORDINATOR,
    COORD_ABOVE: Role.COORDINATOR,
    COORD_BELOW: Role.COORDINATOR,
    COORD_SIBLING: Role.COORDINATOR,
    COORD_VENUE: Role.COORDINATOR,
    DESK: Role.DESK,
    DESK_OTHER: Role.DESK,
    SELF: Role.VOLUNTEER,
    OTHER: Role.VOLUNTEER,
    RELATIVE: Role.VOLUNTEER,
}
PIN = "246810"  # SELF's, which a desk needs to reserve for them
SLOT = timedelta(minutes=20)  # each check-in or back-fill gets a window of its own


def iso(moment: datetime) -> str:
    return moment.isoformat()


@dataclass
class Call:
    """What a builder answers: the path's ids (over the world's defaults), a body, a query,
    and the volunteer who is SELF when it is not the world's (a check-in left open blocks
    its volunteer's other check-ins, so those calls have volunteers of their own)."""

    ids: dict[str, str] = field(default_factory=dict)
    body: Any = None
    query: dict[str, str] = field(default_factory=dict)
    owner: str | None = None


class World:
    """The organisations, volunteers, tokens and shared objects, made over HTTP by an admin
    who is none of the callers (a back-fill's submitter may not approve it)."""

    def __init__(self, town: Town) -> None:
        self.town = town
        self.admin = town.admin
        self.root, self.org, self.below, self.venue = (
            town.district,
            town.street,
            town.team,
            town.venue,
        )
        self.sibling = town.org("另一街道", "street", self.root)
        self.other_venue = town.org("另一兑换点", "venue", self.root)
        # The activities run from 70 hours ago to 3 hours from now: SELF's first 10 hours
        # earn credits, then every check-in and back-fill has a slot of its own.
        self.opens = datetime.now(UTC) - timedelta(hours=70)
        self.slots = 0
        self.volunteer = self.new_volunteer()
        self.other = self.new_volunteer()
        self.relative = self.new_volunteer()
        self.stranger = self.new_volunteer(self.sibling)  # a member of the sibling street
        self.ok(self.admin.post(self.path("family-links"), self.link(self.relative)))
        self.ok(self.admin.post(self.path("pin"), {"pin": PIN}))  # the desk reserves with it
        self.number = self.ok(self.admin.get(f"/v1/volunteers/{self.volunteer}"))[
            "volunteer_number"
        ]
        self.earn()
        self.activity = self.new_activity()[0]
        self.signup = self.verified()  # read, evaluated; disputed and evaluated by the refused
        self.evaluation = self.evaluate(self.signup)
        self.open_activity = self.new_activity()[0]  # SELF has not signed up
        self.accepted = self.accepted_signup()  # cancelled by the refused
        # The refused check-ins and check-outs: a volunteer each, as an open check-in holds
        # off any other of its volunteer.
        self.arriving, self.leaving = self.new_volunteer(), self.new_volunteer()
        self.to_check_in = self.accepted_signup(slotted=True, volunteer=self.arriving)
        self.to_check_in_start, self.to_check_in_code = self.last_start, self.last_code
        self.checked_in = self.checked_in_signup(self.leaving)
        self.checked_in_start, self.checked_in_code = self.last_start, self.last_code
        self.checked_out = self.checked_out_signup()
        self.unevaluated = self.verified()
        self.backfill = self.new_backfill()
        self.dispute = self.new_dispute()
        self.training = self.ok(self.admin.post("/v1/trainings", self.training_body()))["id"]
        self.reward = self.ok(
            self.admin.post(
                "/v1/rewards",
                {"venue_id": self.venue, "name": "毛巾", "cost_minutes": 1, "stock": 10_000},
            )
        )["id"]
        self.redemption, self.code = self.new_redemption()
        self.award = self.commend()
        self.objected = self.objected_award()
        self.free_slot = self.slot()  # for back-fills sent by the refused
        issued = self.ok(self.admin.post("/v1/certificates", self.certificate_body()))
        self.certificate, self.certificate_number = issued["id"], issued["number"]
        town.rt.runner.catch_up()
        self.ids = {
            "volunteer_id": self.volunteer,
            "activity_id": self.activity,
            "signup_id": self.signup,
            "reward_id": self.reward,
            "redemption_id": self.redemption,
            "org_id": self.org,
            "backfill_id": self.backfill,
            "dispute_id": self.dispute,
            "training_id": self.training,
            "evaluation_id": self.evaluation,
            "award_id": self.award,
            "certificate_id": self.certificate,
        }
        scopes = {
            COORD: self.org,
            COORD_ABOVE: self.root,
            COORD_BELOW: self.below,
            COORD_SIBLING: self.sibling,
            COORD_VENUE: self.venue,
            DESK: self.venue,
            DESK_OTHER: self.other_venue,
            SELF: self.volunteer,
            OTHER: self.other,
            RELATIVE: self.relative,
        }
        self.clients = {c: town.client(ROLE[c], scopes.get(c)) for c in ROLE}
        self.clients[BAD] = Api(town.base_url, "not-a-token-" + uuid.uuid4().hex)
        self.clients[ANON] = Api(town.base_url, "")
        self.clients[ANON].client.headers.pop("Authorization")
        self.owners: dict[str, Api] = {}
        self.caller = ADMIN  # the caller a call is being built for

    @staticmethod
    def ok(r: Any) -> dict[str, Any]:
        assert 200 <= r.status_code < 300, r.text
        body: dict[str, Any] = r.json()
        return body

    def path(self, action: str, volunteer: str | None = None) -> str:
        return f"/v1/volunteers/{volunteer or self.volunteer}/{action}"

    @staticmethod
    def link(relative: str) -> dict[str, Any]:
        return {"relative_id": relative, "relation": "child"}

    def slot(self) -> datetime:
        """The start of a 20-minute window of its own, after the first 10 hours."""
        start = self.opens + timedelta(hours=10) + self.slots * SLOT
        self.slots += 1
        assert start + SLOT < datetime.now(UTC), "the world ran out of time slots"
        return start

    def new_volunteer(self, org: str | None = None) -> str:
        return self.town.volunteer(org or self.org)

    def volunteer_body(self) -> dict[str, Any]:
        return {
            "name": "王五",
            "id_document": {"type": "passport", "number": "E" + uuid.uuid4().hex[:10]},
            "phone": "13912345678",
            "birth_date": "1985-07-01",
            "party_member": False,
            "skills": ["nursing"],
            "home_org_id": self.org,
        }

    def activity_body(self, starts_at: datetime, ends_at: datetime) -> dict[str, Any]:
        return {
            "org_id": self.org,
            "title": "陪伴老人",
            "category": "elder_care",
            "location": "敬老院",
            "starts_at": iso(starts_at),
            "ends_at": iso(ends_at),
            "capacity": 50,
        }

    def new_activity(self) -> tuple[str, str]:
        """An activity of S open for signups whose window holds every slot; its id and code."""
        body = self.activity_body(self.opens, self.opens + timedelta(hours=73))
        r = self.ok(self.admin.post("/v1/activities", body))
        return r["id"], r["check_in_code"]

    def earn(self) -> None:
        """SELF earns about 10 hours, enough for every gift and redemption of the matrix."""
        signup = self.sign_up(self.new_activity()[0])
        self.attend(signup, self.opens + timedelta(minutes=1), self.opens + timedelta(hours=10))
        self.ok(self.admin.post(f"/v1/signups/{signup}/verify", {"decision": "approve"}))

    def sign_up(self, activity: str, volunteer: str | None = None) -> str:
        body = {"volunteer_id": volunteer or self.volunteer}
        return str(self.ok(self.admin.post(f"/v1/activities/{activity}/signups", body))["id"])

    def attend(self, signup: str, check_in: datetime, check_out: datetime | None) -> None:
        self.ok(self.admin.post(f"/v1/signups/{signup}/check-in", {"at": iso(check_in)}))
        if check_out is not None:
            self.ok(self.admin.post(f"/v1/signups/{signup}/check-out", {"at": iso(check_out)}))

    def accepted_signup(self, slotted: bool = False, volunteer: str | None = None) -> str:
        self.last_start = self.slot() if slotted else None
        activity, self.last_code = self.new_activity()
        return self.sign_up(activity, volunteer)

    def checked_in_signup(self, volunteer: str) -> str:
        signup = self.accepted_signup(slotted=True, volunteer=volunteer)
        assert self.last_start is not None
        self.attend(signup, self.last_start + timedelta(minutes=1), None)
        return signup

    def api(self, caller: str, owner: str | None) -> Api:
        """The caller's client; SELF's for `owner` when given (its token made once)."""
        if caller != SELF or owner is None:
            return self.clients[caller]
        if owner not in self.owners:
            self.owners[owner] = self.town.client(Role.VOLUNTEER, owner)
        return self.owners[owner]

    def checked_out_signup(self) -> str:
        signup = self.accepted_signup(slotted=True)
        assert self.last_start is not None
        start = self.last_start + timedelta(minutes=1)
        self.attend(signup, start, start + timedelta(minutes=8))
        return signup

    def verified(self) -> str:
        signup = self.checked_out_signup()
        self.ok(self.admin.post(f"/v1/signups/{signup}/verify", {"decision": "approve"}))
        return signup

    def evaluate(self, signup: str) -> str:
        body = {"signup_id": signup, "score": 5, "by": "organiser"}
        return str(self.ok(self.admin.post("/v1/evaluations", body))["id"])

    def backfill_body(self, start: datetime) -> dict[str, Any]:
        return {
            "volunteer_id": self.volunteer,
            "org_id": self.org,
            "category": "health",
            "started_at": iso(start + timedelta(minutes=1)),
            "ended_at": iso(start + timedelta(minutes=9)),
            "description": "义诊",
        }

    def new_backfill(self, submitter: Api | None = None) -> str:
        body = self.backfill_body(self.slot())
        return str(self.ok((submitter or self.admin).post("/v1/backfills", body))["id"])

    def new_dispute(self) -> str:
        body = {"record_id": self.verified(), "reason": "少算了"}
        return str(self.ok(self.admin.post("/v1/disputes", body))["id"])

    def training_body(self) -> dict[str, Any]:
        return {
            "org_id": self.org,
            "title": "急救培训",
            "held_at": iso(datetime.now(UTC) - timedelta(days=1)),
            "minutes": 90,
            "volunteer_ids": [self.volunteer],
        }

    def redemption_body(self) -> dict[str, Any]:
        return {"volunteer_id": self.volunteer, "reward_id": self.reward, "pin": PIN}

    def new_redemption(self) -> tuple[str, str]:
        r = self.ok(self.admin.post("/v1/redemptions", self.redemption_body()))
        return r["id"], r["code"]

    def commendation_body(self) -> dict[str, Any]:
        return {
            "volunteer_id": self.volunteer,
            "org_id": self.org,
            "title": "优秀志愿者" + uuid.uuid4().hex[:6],
            "reason": "热心",
        }

    def commend(self) -> str:
        return str(self.ok(self.admin.post("/v1/commendations", self.commendation_body()))["id"])

    def certificate_body(self) -> dict[str, Any]:
        """SELF's service recorded by S, from the world's first day to today."""
        return {
            "volunteer_id": self.volunteer,
            "org_id": self.org,
            "from": (self.opens - timedelta(days=1)).date().isoformat(),
            "to": (datetime.now(UTC) + timedelta(days=1)).date().isoformat(),
        }

    def objected_award(self) -> str:
        award = self.commend()
        self.ok(self.admin.post("/v1/objections", {"award_id": award, "reason": "有异议"}))
        return award


Builder = Callable[[World, bool], Call]


@dataclass(frozen=True)
class Rule:
    """Who may call an operation, how to build a call, and the answers other than a 2xx that
    an allowed caller may get (about the state, never about who asks)."""

    allowed: frozenset[str]
    build: Builder
    also: frozenset[int] = frozenset()
    # Further calls of the same operation whose objects move the scope (an object below S, a
    # member of another subtree, no code): a label and a rule each.
    cases: tuple[tuple[str, "Rule"], ...] = ()


def shared(w: World, fresh: bool) -> Call:
    return Call()


def query(**params: str) -> Builder:
    """The world's objects, with a query whose values name attributes of the world."""
    return lambda w, fresh: Call(query={k: str(getattr(w, v)) for k, v in params.items()})


def log_tree(**params: str) -> Builder:
    """The log's tree built and signed up to the head, and a query over its first leaves."""

    def build(w: World, fresh: bool) -> Call:
        w.town.rt.log_tree.catch_up()
        w.town.rt.log_tree.sign_checkpoint()
        return Call(ids={"position": "1"}, query=params)

    return build


def rankings(w: World, fresh: bool) -> Call:
    return Call(query={"org_id": w.root, "period": str(datetime.now(UTC).year)})


def report(w: World, fresh: bool) -> Call:
    return Call(query={"period": str(datetime.now(UTC).year)})


def report_of(org: str) -> Builder:
    """The report of another organisation of the world (an attribute's name)."""
    return lambda w, fresh: Call({"org_id": getattr(w, org)}, query=report(w, fresh).query)


def organisation(org: str) -> Builder:
    """Another organisation of the world (an attribute's name) as the path's org_id."""
    return lambda w, fresh: Call({"org_id": getattr(w, org)})


WORK_LISTS = ("subtree", "volunteers", "activities", "signups", "backfills", "disputes")


def worklist() -> Rule:
    """A work list of an organisation subtree: for those who oversee the organisation."""
    return Rule(
        READ_OVER,
        shared,
        cases=(
            ("of the team below", Rule(READ_OVER | {COORD_BELOW}, organisation("below"))),
            (
                "of the sibling street",
                Rule(
                    frozenset({ADMIN, AUDITOR, COORD_ABOVE, COORD_SIBLING}), organisation("sibling")
                ),
            ),
        ),
    )


def transfer(w: World, fresh: bool) -> Call:
    body = {
        "from_volunteer_id": w.volunteer,
        "to_volunteer_id": w.relative,
        "minutes": 1,
        "kind": "gift",
    }
    return Call(body=body)


def publish(w: World, fresh: bool) -> Call:
    start = datetime.now(UTC) + timedelta(days=2)
    return Call(body=w.activity_body(start, start + SLOT))


def publish_below(w: World, fresh: bool) -> Call:
    call = publish(w, fresh)
    call.body["org_id"] = w.below
    return call


def gift_to_a_stranger(w: World, fresh: bool) -> Call:
    return Call(body=transfer(w, fresh).body | {"to_volunteer_id": w.stranger})


def sign_up(w: World, fresh: bool) -> Call:
    activity = w.new_activity()[0] if fresh else w.open_activity
    return Call({"activity_id": activity}, {"volunteer_id": w.volunteer})


def cancel(w: World, fresh: bool) -> Call:
    return Call({"signup_id": w.accepted_signup() if fresh else w.accepted}, {"reason": "有事"})


def _own_time(w: World, body: dict[str, Any]) -> dict[str, Any]:
    """A volunteer's own attendance is at the server's time: only others give a moment."""
    return {k: v for k, v in body.items() if k != "at"} if w.caller == SELF else body


def check_in(w: World, fresh: bool) -> Call:
    owner = w.new_volunteer() if fresh else w.arriving
    if fresh:
        signup = w.accepted_signup(slotted=True, volunteer=owner)
        start, code = w.last_start, w.last_code
    else:
        signup = w.to_check_in
        start, code = w.to_check_in_start, w.to_check_in_code
    assert start is not None
    body = {"at": iso(start + timedelta(minutes=1)), "code": code}
    return Call({"signup_id": signup}, _own_time(w, body), owner=owner)


def check_in_without_code(w: World, fresh: bool) -> Call:
    call = check_in(w, fresh)
    call.body["code"] = None
    return call


def check_out(w: World, fresh: bool) -> Call:
    owner = w.new_volunteer() if fresh else w.leaving
    if fresh:
        signup = w.checked_in_signup(owner)
        start, code = w.last_start, w.last_code
    else:
        signup = w.checked_in
        start, code = w.checked_in_start, w.checked_in_code
    assert start is not None
    body = {"at": iso(start + timedelta(minutes=9)), "code": code}
    return Call({"signup_id": signup}, _own_time(w, body), owner=owner)


def verify(w: World, fresh: bool) -> Call:
    signup = w.checked_out_signup() if fresh else w.checked_out
    return Call({"signup_id": signup}, {"decision": "approve"})


def list_reward(w: World, fresh: bool) -> Call:
    return Call(body={"venue_id": w.venue, "name": "书", "cost_minutes": 10, "stock": 5})


def redeem(w: World, fresh: bool) -> Call:
    return Call(body=w.redemption_body())


def set_pin(w: World, fresh: bool) -> Call:
    return Call(body={"pin": PIN})


def revoke_token(w: World, fresh: bool) -> Call:
    """A token of its own each time: never one of the callers'."""
    name = f"matrix-{uuid.uuid4().hex[:12]}"
    w.town.rt.tokens.create(Role.AUDITOR, name)
    with w.town.rt.db.read() as cur:
        cur.execute("SELECT id FROM tb_tokens WHERE name = %s", (name,))
        return Call({"token_id": str(cur.fetchone()[0])})


def fulfil(w: World, fresh: bool) -> Call:
    redemption, code = w.new_redemption() if fresh else (w.redemption, w.code)
    return Call({"redemption_id": redemption}, {"code": code})


def cancel_redemption(w: World, fresh: bool) -> Call:
    redemption = w.new_redemption()[0] if fresh else w.redemption
    return Call({"redemption_id": redemption}, {"reason": "不要了"})


def register_volunteer(w: World, fresh: bool) -> Call:
    return Call(body=w.volunteer_body())


def erase_volunteer(w: World, fresh: bool) -> Call:
    """A volunteer of its own for the admin: an erasure is for good."""
    ids = {"volunteer_id": w.new_volunteer()} if fresh else {}
    return Call(ids, {"reason": "本人申请注销"})


def link_family(w: World, fresh: bool) -> Call:
    return Call(body=w.link(w.new_volunteer()))


def family_request(w: World, fresh: bool) -> Call:
    """A request of its own each time, asked by a new volunteer of S of SELF, to answer."""
    requester = w.new_volunteer()
    asker = w.town.client(Role.VOLUNTEER, requester)
    try:
        w.ok(asker.post(f"/v1/volunteers/{requester}/family-links", w.link(w.volunteer)))
    finally:
        asker.close()
    return Call({"requester_id": requester})


def transfer_membership(w: World, fresh: bool) -> Call:
    """From S to its sibling S2: the coordinators of either side (or above) may."""
    volunteer = w.new_volunteer() if fresh else w.volunteer
    return Call({"volunteer_id": volunteer}, {"to_org_id": w.sibling, "reason": "搬家"})


def register_organisation(w: World, fresh: bool) -> Call:
    return Call(body={"name": "新服务队", "kind": "team", "parent_id": w.org})


def register_top_organisation(w: World, fresh: bool) -> Call:
    return Call(body={"name": "新区", "kind": "district"})


def submit_backfill(w: World, fresh: bool) -> Call:
    return Call(body=w.backfill_body(w.slot() if fresh else w.free_slot))


def approve_backfill(w: World, fresh: bool) -> Call:
    return Call({"backfill_id": w.new_backfill() if fresh else w.backfill}, {})


def approve_own_backfill(w: World, fresh: bool) -> Call:
    """A back-fill submitted by the caller when they may submit one (maker-checker)."""
    submitter = w.clients[w.caller] if w.caller in OVER else None
    return Call({"backfill_id": w.new_backfill(submitter)}, {})


def reject_backfill(w: World, fresh: bool) -> Call:
    return Call({"backfill_id": w.new_backfill() if fresh else w.backfill}, {"reason": "无证明"})


def open_dispute(w: World, fresh: bool) -> Call:
    return Call(body={"record_id": w.verified() if fresh else w.signup, "reason": "少算了"})


def resolve_dispute(w: World, fresh: bool) -> Call:
    dispute = w.new_dispute() if fresh else w.dispute
    return Call({"dispute_id": dispute}, {"decision": "dismiss", "reason": "无误"})


def complete(w: World, fresh: bool) -> Call:
    activity = w.new_activity()[0] if fresh else w.activity
    return Call({"activity_id": activity}, {"beneficiaries": 3})


def hold_training(w: World, fresh: bool) -> Call:
    return Call(body=w.training_body())


def train_a_stranger(w: World, fresh: bool) -> Call:
    return Call(body=w.training_body() | {"volunteer_ids": [w.volunteer, w.stranger]})


def evaluate(w: World, fresh: bool) -> Call:
    signup = w.verified() if fresh else w.unevaluated
    return Call(body={"signup_id": signup, "score": 4, "by": "organiser"})


def commend(w: World, fresh: bool) -> Call:
    return Call(body=w.commendation_body())


def commend_a_stranger(w: World, fresh: bool) -> Call:
    return Call(body=w.commendation_body() | {"volunteer_id": w.stranger})


def object_to(w: World, fresh: bool) -> Call:
    award = w.commend() if fresh else w.award
    return Call(body={"award_id": award, "reason": "有异议"})


def review(w: World, fresh: bool) -> Call:
    award = w.objected_award() if fresh else w.objected
    return Call({"award_id": award}, {"decision": "confirm", "reason": "异议不成立"})


def confirm(w: World, fresh: bool) -> Call:
    return Call(body={})


def issue_certificate(w: World, fresh: bool) -> Call:
    return Call(body=w.certificate_body())


def issue_certificate_below(w: World, fresh: bool) -> Call:
    """As recorded by the team below S, which recorded none of SELF's service: an allowed
    caller is told so (422 no-services), the others are refused first."""
    return Call(body=w.certificate_body() | {"org_id": w.below})


ACCOUNT_READERS = READ_OVER | {SELF, DESK, DESK_OTHER}  # any desk: to redeem
RECORD_READERS = READ_OVER | {SELF}  # the volunteer, the home organisation or above
RECORD = "/v1/volunteers/{volunteer_id}/record"

MATRIX: dict[tuple[str, str], Rule] = {
    ("GET", "/healthz"): Rule(PUBLIC, shared),
    ("GET", "/v1/tokens"): Rule(frozenset({ADMIN}), shared),
    ("POST", "/v1/tokens/{token_id}/revoke"): Rule(frozenset({ADMIN}), revoke_token),
    ("GET", "/readyz"): Rule(PUBLIC, shared),
    ("GET", "/v1/log/checkpoint"): Rule(PUBLIC, log_tree()),
    ("GET", "/v1/log/public-key"): Rule(PUBLIC, shared),
    ("GET", "/v1/log/proofs/inclusion"): Rule(PUBLIC, log_tree(position="1", tree_size="2")),
    ("GET", "/v1/log/proofs/consistency"): Rule(PUBLIC, log_tree(first="1", second="2")),
    ("GET", "/v1/log/entries/{position}"): Rule(frozenset({ADMIN, AUDITOR}), log_tree()),
    ("GET", "/v1/log/entries"): Rule(frozenset({ADMIN, AUDITOR}), log_tree(limit="5")),
    ("GET", "/v1/accounts/{volunteer_id}"): Rule(ACCOUNT_READERS, shared),
    ("GET", "/v1/accounts/{volunteer_id}/statement"): Rule(ACCOUNT_READERS, shared),
    ("POST", "/v1/transfers"): Rule(
        OVER | {SELF},
        transfer,
        cases=(("a gift to someone not family", Rule(frozenset(), gift_to_a_stranger)),),
    ),
    ("POST", "/v1/activities"): Rule(
        OVER, publish, cases=(("for the team below", Rule(OVER | {COORD_BELOW}, publish_below)),)
    ),
    ("GET", "/v1/activities/{activity_id}"): Rule(TOKENS, shared),
    ("POST", "/v1/activities/{activity_id}/signups"): Rule(OVER | {SELF}, sign_up),
    ("GET", "/v1/signups/{signup_id}"): Rule(RECORD_READERS, shared),
    ("POST", "/v1/signups/{signup_id}/cancel"): Rule(OVER | {SELF}, cancel),
    ("POST", "/v1/signups/{signup_id}/check-in"): Rule(
        OVER | {SELF},
        check_in,
        cases=(("without the code", Rule(OVER, check_in_without_code)),),
    ),
    ("POST", "/v1/signups/{signup_id}/check-out"): Rule(OVER | {SELF}, check_out),
    ("POST", "/v1/signups/{signup_id}/verify"): Rule(OVER, verify),
    ("POST", "/v1/rewards"): Rule(VENUE_OVER, list_reward),
    ("GET", "/v1/rewards"): Rule(VENUE_OVER | {AUDITOR, DESK}, query(venue_id="venue")),
    ("GET", "/v1/rewards/{reward_id}"): Rule(TOKENS, shared),
    ("POST", "/v1/redemptions"): Rule(frozenset({ADMIN, SELF, DESK}), redeem),
    ("GET", "/v1/redemptions/{redemption_id}"): Rule(
        frozenset({ADMIN, AUDITOR, SELF, DESK}), shared
    ),
    ("POST", "/v1/redemptions/{redemption_id}/fulfil"): Rule(frozenset({ADMIN, DESK}), fulfil),
    ("POST", "/v1/redemptions/{redemption_id}/cancel"): Rule(
        frozenset({ADMIN, SELF, DESK}), cancel_redemption
    ),
    ("POST", "/v1/volunteers"): Rule(OVER, register_volunteer),
    ("GET", "/v1/volunteers"): Rule(
        ANY_COORD | {ADMIN, AUDITOR, DESK, DESK_OTHER}, query(number="number")
    ),
    ("GET", "/v1/volunteers/{volunteer_id}"): Rule(TOKENS, shared),
    ("POST", "/v1/volunteers/{volunteer_id}/family-links"): Rule(OVER | {SELF}, link_family),
    ("POST", "/v1/volunteers/{volunteer_id}/pin"): Rule(OVER | {SELF}, set_pin),
    ("POST", "/v1/volunteers/{volunteer_id}/sign-in-links"): Rule(
        OVER | {DESK, DESK_OTHER}, set_pin
    ),
    ("POST", "/v1/volunteers/{volunteer_id}/erase"): Rule(frozenset({ADMIN}), erase_volunteer),
    ("POST", "/v1/volunteers/{volunteer_id}/family-links/{requester_id}/confirm"): Rule(
        OVER | {SELF}, family_request
    ),
    ("POST", "/v1/volunteers/{volunteer_id}/family-links/{requester_id}/decline"): Rule(
        OVER | {SELF}, family_request
    ),
    ("POST", "/v1/volunteers/{volunteer_id}/transfer-membership"): Rule(
        OVER | {COORD_SIBLING}, transfer_membership
    ),
    ("POST", "/v1/organisations"): Rule(
        OVER,
        register_organisation,
        cases=(("at the top of the tree", Rule(frozenset({ADMIN}), register_top_organisation)),),
    ),
    ("GET", "/v1/organisations"): Rule(frozenset({ADMIN, AUDITOR}), shared),
    ("GET", "/v1/organisations/{org_id}"): Rule(TOKENS, shared),
    **{("GET", f"/v1/organisations/{{org_id}}/{work}"): worklist() for work in WORK_LISTS},
    ("POST", "/v1/backfills"): Rule(OVER, submit_backfill),
    ("GET", "/v1/backfills/{backfill_id}"): Rule(RECORD_READERS, shared),
    ("POST", "/v1/backfills/{backfill_id}/approve"): Rule(
        OVER,
        approve_backfill,
        cases=(("submitted by the caller", Rule(frozenset(), approve_own_backfill)),),
    ),
    ("POST", "/v1/backfills/{backfill_id}/reject"): Rule(OVER, reject_backfill),
    ("POST", "/v1/disputes"): Rule(OVER | {SELF}, open_dispute),
    ("GET", "/v1/disputes/{dispute_id}"): Rule(RECORD_READERS, shared),
    ("POST", "/v1/disputes/{dispute_id}/resolve"): Rule(OVER, resolve_dispute),
    ("POST", "/v1/activities/{activity_id}/complete"): Rule(OVER, complete),
    ("POST", "/v1/trainings"): Rule(
        OVER,
        hold_training,
        cases=(
            (
                "with a participant from the sibling street",
                Rule(frozenset({ADMIN, COORD_ABOVE}), train_a_stranger),
            ),
        ),
    ),
    ("GET", "/v1/trainings/{training_id}"): Rule(RECORD_READERS, shared),
    ("GET", "/v1/trainings"): Rule(
        READ_OVER,
        query(org_id="org"),
        cases=(
            ("of the team below", Rule(READ_OVER | {COORD_BELOW}, query(org_id="below"))),
            (
                "of the sibling street",
                Rule(
                    frozenset({ADMIN, AUDITOR, COORD_ABOVE, COORD_SIBLING}),
                    query(org_id="sibling"),
                ),
            ),
        ),
    ),
    ("POST", "/v1/evaluations"): Rule(OVER, evaluate),
    ("GET", "/v1/evaluations/{evaluation_id}"): Rule(RECORD_READERS, shared),
    ("POST", "/v1/commendations"): Rule(
        OVER,
        commend,
        cases=(
            (
                "of a member of the sibling street",
                Rule(frozenset({ADMIN, COORD_ABOVE}), commend_a_stranger),
            ),
        ),
    ),
    ("POST", "/v1/objections"): Rule(TOKENS, object_to),
    ("POST", "/v1/awards/{award_id}/review"): Rule(OVER, review),
    # The notice of the world's awards runs for days: an allowed caller is told it has not ended.
    ("POST", "/v1/awards/{award_id}/confirm"): Rule(OVER, confirm, frozenset({409})),
    ("GET", "/v1/awards/{award_id}"): Rule(TOKENS, shared),
    ("GET", RECORD): Rule(RECORD_READERS, shared),
    ("GET", RECORD + "/services"): Rule(RECORD_READERS, shared),
    ("GET", RECORD + "/corrections"): Rule(RECORD_READERS, shared),
    ("GET", RECORD + "/trainings"): Rule(RECORD_READERS, shared),
    ("GET", RECORD + "/evaluations"): Rule(RECORD_READERS, shared),
    ("GET", RECORD + "/awards"): Rule(RECORD_READERS, shared),
    ("GET", "/v1/awards"): Rule(TOKENS, query(org_id="org")),
    ("GET", "/v1/rankings/teams"): Rule(TOKENS, rankings),
    ("GET", "/v1/rankings/volunteers"): Rule(TOKENS, rankings),
    ("GET", "/v1/reports/organisations/{org_id}.csv"): Rule(READ_OVER, report),
    ("GET", "/v1/reports/organisations/{org_id}"): Rule(
        READ_OVER,
        report,
        cases=(
            ("of the team below", Rule(READ_OVER | {COORD_BELOW}, report_of("below"))),
            (
                "of the sibling street",
                Rule(frozenset({ADMIN, AUDITOR, COORD_ABOVE, COORD_SIBLING}), report_of("sibling")),
            ),
        ),
    ),
    ("POST", "/v1/certificates"): Rule(
        OVER,
        issue_certificate,
        cases=(
            (
                "by the team below",
                Rule(OVER | {COORD_BELOW}, issue_certificate_below, frozenset({422})),
            ),
        ),
    ),
    ("GET", "/v1/certificates/check"): Rule(PUBLIC, query(number="certificate_number")),
    ("GET", "/v1/certificates/{certificate_id}"): Rule(RECORD_READERS, shared),
    ("GET", "/v1/certificates/{certificate_id}/bundle"): Rule(RECORD_READERS, shared),
    ("GET", "/v1/certificates/{certificate_id}.pdf"): Rule(RECORD_READERS, shared),
    ("GET", "/v1/volunteers/{volunteer_id}/audit-trail"): Rule(RECORD_READERS, shared),
    ("GET", "/v1/activities/{activity_id}/audit-trail"): Rule(READ_OVER, shared),
    ("GET", "/v1/redemptions/{redemption_id}/audit-trail"): Rule(
        VENUE_OVER | {AUDITOR, SELF, DESK}, shared
    ),
}
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def documented_operations(rt: Runtime) -> set[tuple[str, str]]:
    paths = create_app(rt).openapi()["paths"]
    return {(m.upper(), path) for path, item in paths.items() for m in item if m in HTTP_METHODS}


def assert_matrix_covers(documented: set[tuple[str, str]]) -> None:
    missing, stale = sorted(documented - set(MATRIX)), sorted(set(MATRIX) - documented)
    assert not missing, f"operations with no entry in MATRIX: {missing}"
    assert not stale, f"entries of MATRIX for operations that do not exist: {stale}"


def test_the_matrix_names_every_operation_of_the_openapi_document(runtime: Runtime) -> None:
    assert_matrix_covers(documented_operations(runtime))


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    # Many check-ins a day for one volunteer: each allowed call gets a signup of its own.
    rt = Runtime(make_settings(database_url, rules=Rules(max_check_ins_per_day=1000)))
    try:
        rt.start()
        with serve(rt) as base_url:
            yield World(Town(rt, base_url))
    finally:
        rt.close()


def expected(rule: Rule, caller: str) -> str:
    if caller in rule.allowed:
        return "2xx" + "".join(f" or {s}" for s in sorted(rule.also))
    return "401" if caller in (ANON, BAD) else "403"


def answered_as_expected(rule: Rule, caller: str, status: int) -> bool:
    if caller in rule.allowed:
        return 200 <= status < 300 or status in rule.also
    return status == (401 if caller in (ANON, BAD) else 403)


def test_every_operation_admits_exactly_the_callers_of_its_rule(world: World) -> None:
    assert_matrix_covers(documented_operations(world.town.rt))
    wrong: list[str] = []
    for (method, template), main in MATRIX.items():
        for label, rule in (("", main), *main.cases):
            for caller in CALLERS:
                world.caller = caller
                call = rule.build(world, caller in rule.allowed)
                path = template.format(**(world.ids | call.ids))
                api = world.api(caller, call.owner)
                if method == "GET":
                    r = api.client.get(path, params=call.query)
                else:
                    r = api.client.post(path, json=call.body, params=call.query)
                if not answered_as_expected(rule, caller, r.status_code):
                    wrong.append(
                        f"{method} {template} {label} as {caller}: expected "
                        f"{expected(rule, caller)}, got {r.status_code} {r.text[:200]}"
                    )
    assert not wrong, "\n".join(wrong)
