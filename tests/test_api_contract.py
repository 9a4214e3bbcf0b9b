"""The v1 HTTP contract, over real HTTP against the real app, on SQLite and on PostgreSQL:
problem+json for every refusal, roles and scopes, PII masking, Idempotency-Key,
read-your-writes and the OpenAPI document."""

import asyncio
import base64
import copy
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import structlog.testing
from stdnum import damm

from api.app import create_app
from api.auth import TokenVerifier
from ledger import bounds
from ledger.context import Actor, Role
from tests.http import Api, Town, serve_app
from timebank.runtime import Runtime
from timebank.tokens import TokenStore

PROBLEM = "application/problem+json"
Body = dict[str, Any]


# Helpers ----------------------------------------------------------------------------------


def problem_errors(r: httpx.Response, status: int, code: str, *mentions: str) -> list[str]:
    """Everything that keeps `r` from being the expected RFC 9457 problem; empty if none."""
    where = f"{r.request.method} {r.request.url.path}"
    if r.status_code != status:
        return [f"{where}: status {r.status_code}, expected {status}: {r.text[:300]}"]
    errors = []
    if r.headers.get("content-type") != PROBLEM:
        errors.append(f"{where}: content-type {r.headers.get('content-type')!r}")
    try:
        body = r.json()
    except ValueError:
        return [*errors, f"{where}: body is not JSON: {r.text[:200]}"]
    if body.get("type") != f"urn:timebank:problem:{code}":
        errors.append(f"{where}: type {body.get('type')!r}, expected code {code!r}")
    if body.get("status") != status:
        errors.append(f"{where}: status member {body.get('status')!r} != {status}")
    if not (isinstance(body.get("title"), str) and body["title"].strip()):
        errors.append(f"{where}: no title in {body}")
    detail = body.get("detail")
    if not (isinstance(detail, str) and detail.strip()):
        errors.append(f"{where}: no detail in {body}")
    else:
        errors += [
            f"{where}: detail {detail!r} does not name {m!r}" for m in mentions if m not in detail
        ]
    return errors


def assert_problem(r: httpx.Response, status: int, code: str, *mentions: str) -> Body:
    errors = problem_errors(r, status, code, *mentions)
    assert not errors, "\n".join(errors)
    return dict(r.json())


def created(r: httpx.Response, status: int = 201) -> Body:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    return dict(r.json())


def iso(moment: datetime) -> str:
    return moment.isoformat()


def now() -> datetime:
    return datetime.now(UTC)


def volunteer_body(home_org_id: str, number: str | None = None, **changes: Any) -> Body:
    return {
        "name": "王五",
        "id_document": {"type": "passport", "number": number or "E" + uuid.uuid4().hex[:10]},
        "phone": "13912345678",
        "birth_date": "1985-07-01",
        "party_member": False,
        "skills": ["nursing"],
        "home_org_id": home_org_id,
        **changes,
    }


def activity_body(org_id: str, **changes: Any) -> Body:
    return {
        "org_id": org_id,
        "title": "清洁家园",
        "category": "community_cleanup",
        "location": "社区广场",
        "starts_at": iso(now() - timedelta(hours=2)),
        "ends_at": iso(now() + timedelta(hours=1)),
        "capacity": 20,
        "campaign": "学雷锋志愿服务月",
        **changes,
    }


def token_of(api: Api) -> str:
    return str(api.client.headers["Authorization"])


def checked_out_signup(town: Town, volunteer: str, minutes: int) -> str:
    """An accepted signup to a new activity of town.team, checked in and out `minutes` apart."""
    activity = town.activity()["id"]
    signup = created(
        town.admin.post(f"/v1/activities/{activity}/signups", {"volunteer_id": volunteer})
    )["id"]
    start = now() - timedelta(minutes=minutes + 5)
    for action, at in (("check-in", start), ("check-out", start + timedelta(minutes=minutes))):
        created(town.admin.post(f"/v1/signups/{signup}/{action}", {"at": iso(at)}), 200)
    return str(signup)


def link_family(town: Town, volunteer: str, relative: str, relation: str = "child") -> None:
    r = town.admin.post(
        f"/v1/volunteers/{volunteer}/family-links", {"relative_id": relative, "relation": relation}
    )
    created(r)


# 1. Problem+json for every bad request ---------------------------------------------------


@dataclass
class World:
    """Real ids for the endpoints' paths and bodies; the bad requests refer to these."""

    town: Town
    volunteer: str  # signed up to `activity` (`signup`), balance 0
    relative: str  # not signed up, not family of `volunteer`
    activity: str
    signup: str
    reward: str  # costs 30 minutes
    redemption: str  # reserved by a third volunteer

    @classmethod
    def build(cls, town: Town) -> "World":
        volunteer, relative, rich = town.volunteer(), town.volunteer(), town.volunteer()
        activity = town.activity()["id"]
        signup = created(
            town.admin.post(f"/v1/activities/{activity}/signups", {"volunteer_id": volunteer})
        )["id"]
        reward = created(
            town.admin.post(
                "/v1/rewards",
                {"venue_id": town.venue, "name": "大米", "cost_minutes": 30, "stock": 5},
            )
        )["id"]
        town.earn(rich, 40)
        redemption = created(
            town.admin.post("/v1/redemptions", {"volunteer_id": rich, "reward_id": reward})
        )["id"]
        return cls(town, volunteer, relative, activity, signup, reward, redemption)

    def ids(self) -> dict[str, str]:
        return {
            "volunteer": self.volunteer,
            "activity": self.activity,
            "signup": self.signup,
            "redemption": self.redemption,
        }


@dataclass(frozen=True)
class Case:
    """A request that the domain refuses: (what, change the valid body, status, code, mention)."""

    what: str
    body: Callable[[World, Body], Body | None]
    status: int
    code: str
    mention: str


@dataclass(frozen=True)
class Endpoint:
    group: str
    path: str  # "{signup}" and the like are filled in from World.ids()
    body: Callable[[World], Body]  # a valid body
    fields: dict[str, str]  # dotted body field -> kind of value, see BAD_VALUES
    required: tuple[str, ...] = ()
    unknown: dict[str, str] = field(default_factory=dict)  # "path" or a field -> what is missing
    body_required: bool = True
    cases: tuple[Case, ...] = ()


BAD_VALUES: dict[str, list[Any]] = {
    "uuid": [12345, "not-a-uuid", "00000000-0000-0000-0000-00000000000g"],
    "name": [42, "", "x" * 201, "x\x00y", "\x1b[31mx"],
    "text": [42, ["x"], {"zh": "x"}, "a\x00b", "ab\x7f", "a\x85b"],
    "enum": ["bogus", 3, None],
    "positive": [0, -1, -60, "ten", 2.5],
    "count": [-1, "ten", 2.5],
    "datetime": ["tomorrow", "2026-03-05T09:00:00", "2026-02-30T09:00:00+08:00", []],
    "date": ["1990-02-30", "last year", 19900101.5],
    "bool": ["maybe", [], {}],
    "list": ["nursing", [42], {"a": 1}],
    "object": ["11010519491231002X", [], 7],
}

ORGS, ACTIVITIES, ACCOUNTS, REWARDS = "organisations", "activities", "transfers", "rewards"

ENDPOINTS: list[Endpoint] = [
    Endpoint(
        ORGS,
        "/v1/organisations",
        lambda w: {"name": "新服务队", "kind": "team", "parent_id": w.town.street, "population": 9},
        {"name": "name", "kind": "enum", "parent_id": "uuid", "population": "count"},
        ("name", "kind"),
        {"parent_id": "organisation"},
        cases=(Case("blank name", lambda w, b: {**b, "name": "   "}, 422, "invalid-name", "name"),),
    ),
    Endpoint(
        ORGS,
        "/v1/volunteers",
        lambda w: volunteer_body(
            w.town.team,
            id_document={"type": "resident_id", "number": "11010519491231002X"},
            party_member=True,
        ),
        {
            "name": "name",
            "id_document": "object",
            "id_document.type": "enum",
            "id_document.number": "name",
            "phone": "text",
            "birth_date": "date",
            "party_member": "bool",
            "skills": "list",
            "home_org_id": "uuid",
        },
        (
            "name",
            "id_document",
            "id_document.type",
            "id_document.number",
            "phone",
            "birth_date",
            "home_org_id",
        ),
        {"home_org_id": "organisation"},
        cases=(
            Case(
                "resident ID with a wrong check digit",
                lambda w, b: {
                    **b,
                    "id_document": {"type": "resident_id", "number": "110105194912310021"},
                },
                422,
                "invalid-id-document",
                "resident ID",
            ),
            Case(
                "blank passport number",
                lambda w, b: {**b, "id_document": {"type": "passport", "number": "   "}},
                422,
                "invalid-id-document",
                "ID document",
            ),
            Case(
                "born in the future",
                lambda w, b: {**b, "birth_date": (now() + timedelta(days=400)).date().isoformat()},
                422,
                "invalid-birth-date",
                "birth date",
            ),
            Case("blank name", lambda w, b: {**b, "name": "  "}, 422, "invalid-name", "name"),
        ),
    ),
    Endpoint(
        ORGS,
        "/v1/volunteers/{volunteer}/family-links",
        lambda w: {"relative_id": w.relative, "relation": "spouse"},
        {"relative_id": "uuid", "relation": "enum"},
        ("relative_id", "relation"),
        {"path": "volunteer", "relative_id": "volunteer"},
        cases=(
            Case(
                "linked to themself",
                lambda w, b: {**b, "relative_id": w.volunteer},
                422,
                "invalid-family-link",
                "themself",
            ),
        ),
    ),
    Endpoint(
        ORGS,
        "/v1/volunteers/{volunteer}/transfer-membership",
        lambda w: {"to_org_id": w.town.street, "reason": "搬家"},
        {"to_org_id": "uuid", "reason": "text"},
        ("to_org_id", "reason"),
        {"path": "volunteer", "to_org_id": "organisation"},
        cases=(
            Case(
                "into a venue",
                lambda w, b: {**b, "to_org_id": w.town.venue},
                422,
                "invalid-organisation",
                "venue",
            ),
            Case(
                "blank reason", lambda w, b: {**b, "reason": " "}, 422, "reason-required", "reason"
            ),
            Case(
                "to the current home",
                lambda w, b: {**b, "to_org_id": w.town.team},
                409,
                "already-member",
                "already belongs",
            ),
        ),
    ),
    Endpoint(
        ACTIVITIES,
        "/v1/activities",
        lambda w: activity_body(w.town.team),
        {
            "org_id": "uuid",
            "title": "name",
            "category": "enum",
            "location": "text",
            "starts_at": "datetime",
            "ends_at": "datetime",
            "capacity": "positive",
            "campaign": "text",
        },
        ("org_id", "title", "category", "starts_at", "ends_at", "capacity"),
        {"org_id": "organisation"},
        cases=(
            Case(
                "ends before it starts",
                lambda w, b: {**b, "ends_at": iso(now() - timedelta(hours=3))},
                422,
                "invalid-schedule",
                "end",
            ),
            Case("blank title", lambda w, b: {**b, "title": "  "}, 422, "invalid-title", "title"),
        ),
    ),
    Endpoint(
        ACTIVITIES,
        "/v1/activities/{activity}/signups",
        lambda w: {"volunteer_id": w.relative},
        {"volunteer_id": "uuid"},
        ("volunteer_id",),
        {"path": "activity", "volunteer_id": "volunteer"},
        cases=(
            Case(
                "a second signup",
                lambda w, b: {"volunteer_id": w.volunteer},
                409,
                "already-signed-up",
                "already signed up",
            ),
        ),
    ),
    Endpoint(
        ACTIVITIES,
        "/v1/signups/{signup}/cancel",
        lambda w: {"reason": "生病"},
        {"reason": "text"},
        unknown={"path": "signup"},
        body_required=False,
    ),
    Endpoint(
        ACTIVITIES,
        "/v1/signups/{signup}/check-in",
        lambda w: {"at": iso(now() - timedelta(minutes=30)), "code": "123456"},
        {"at": "datetime", "code": "text"},
        unknown={"path": "signup"},
        body_required=False,
        cases=(
            Case(
                "in the future",
                lambda w, b: {"at": iso(now() + timedelta(days=1))},
                422,
                "time-in-future",
                "future",
            ),
        ),
    ),
    Endpoint(
        ACTIVITIES,
        "/v1/signups/{signup}/check-out",
        lambda w: {"at": iso(now() - timedelta(minutes=1)), "code": "123456"},
        {"at": "datetime", "code": "text"},
        unknown={"path": "signup"},
        body_required=False,
        cases=(Case("never checked in", lambda w, b: None, 409, "cannot-check-out", "accepted"),),
    ),
    Endpoint(
        ACTIVITIES,
        "/v1/signups/{signup}/verify",
        lambda w: {"decision": "adjust", "minutes": 60, "reason": "补足时长"},
        {"decision": "enum", "minutes": "count", "reason": "text"},
        ("decision",),
        {"path": "signup"},
        cases=(
            Case(
                "adjust without minutes",
                lambda w, b: {"decision": "adjust", "reason": "x"},
                422,
                "invalid-minutes",
                "minutes",
            ),
            Case(
                "reject without a reason",
                lambda w, b: {"decision": "reject"},
                422,
                "reason-required",
                "reason",
            ),
            Case(
                "not checked out",
                lambda w, b: {"decision": "approve"},
                409,
                "not-checked-out",
                "cannot be verified",
            ),
        ),
    ),
    Endpoint(
        ACCOUNTS,
        "/v1/transfers",
        lambda w: {
            "from_volunteer_id": w.volunteer,
            "to_volunteer_id": w.relative,
            "minutes": 30,
            "kind": "gift",
            "memo": "给家人",
        },
        {
            "from_volunteer_id": "uuid",
            "to_volunteer_id": "uuid",
            "minutes": "positive",
            "kind": "enum",
            "memo": "text",
        },
        ("from_volunteer_id", "minutes", "kind"),
        {"from_volunteer_id": "volunteer", "to_volunteer_id": "volunteer"},
        cases=(
            Case(
                "a gift without a recipient",
                lambda w, b: {k: v for k, v in b.items() if k != "to_volunteer_id"},
                422,
                "invalid-recipient",
                "to_volunteer_id",
            ),
            Case("a gift outside the family", lambda w, b: b, 403, "not-family", "family"),
        ),
    ),
    Endpoint(
        ACCOUNTS,
        "/v1/transfers",
        lambda w: {
            "from_volunteer_id": w.volunteer,
            "to_org_id": w.town.team,
            "minutes": 30,
            "kind": "donation",
        },
        {"to_org_id": "uuid"},
        unknown={"to_org_id": "organisation"},
        cases=(
            Case("more than the balance", lambda w, b: b, 409, "insufficient-balance", "available"),
            Case(
                "two recipients",
                lambda w, b: {**b, "to_volunteer_id": w.relative},
                422,
                "invalid-recipient",
                "to_org_id",
            ),
        ),
    ),
    Endpoint(
        REWARDS,
        "/v1/rewards",
        lambda w: {
            "venue_id": w.town.venue,
            "name": "食用油",
            "cost_minutes": 120,
            "stock": 10,
            "per_volunteer_limit": 2,
        },
        {
            "venue_id": "uuid",
            "name": "name",
            "cost_minutes": "positive",
            "stock": "count",
            "per_volunteer_limit": "positive",
        },
        ("venue_id", "name", "cost_minutes", "stock"),
        {"venue_id": "organisation"},
        cases=(
            Case(
                "listed by a team",
                lambda w, b: {**b, "venue_id": w.town.team},
                422,
                "not-a-venue",
                "venue",
            ),
        ),
    ),
    Endpoint(
        REWARDS,
        "/v1/redemptions",
        lambda w: {"volunteer_id": w.volunteer, "reward_id": w.reward, "quantity": 1},
        {"volunteer_id": "uuid", "reward_id": "uuid", "quantity": "positive"},
        ("volunteer_id", "reward_id"),
        {"reward_id": "reward", "volunteer_id": "volunteer"},
        cases=(
            Case("more than the balance", lambda w, b: b, 409, "insufficient-balance", "available"),
            Case(
                "more than 1000 at once",
                lambda w, b: {**b, "quantity": 1001},
                422,
                "validation-failed",
                "quantity",
            ),
        ),
    ),
    Endpoint(
        REWARDS,
        "/v1/redemptions/{redemption}/fulfil",
        lambda w: {"code": "ABC123"},
        {"code": "name"},
        ("code",),
        {"path": "redemption"},
        cases=(Case("wrong code", lambda w, b: b, 409, "wrong-code", "code"),),
    ),
    Endpoint(
        REWARDS,
        "/v1/redemptions/{redemption}/cancel",
        lambda w: {"reason": "不要了"},
        {"reason": "text"},
        unknown={"path": "redemption"},
        body_required=False,
    ),
]


def with_value(body: Body, dotted: str, value: Any) -> Body:
    body = copy.deepcopy(body)
    *parents, last = dotted.split(".")
    target = body
    for name in parents:
        target = target[name]
    target[last] = value
    return body


def without(body: Body, dotted: str) -> Body:
    body = copy.deepcopy(body)
    *parents, last = dotted.split(".")
    target = body
    for name in parents:
        target = target[name]
    del target[last]
    return body


@dataclass(frozen=True)
class BadRequest:
    what: str
    path: str
    status: int
    code: str
    mentions: tuple[str, ...] = ()
    json: Any = None
    content: bytes | None = None  # sent as-is with content-type application/json
    empty: bool = False  # no body at all


PLACEHOLDER = re.compile(r"\{(\w+)\}")


def bad_requests(endpoint: Endpoint, world: World) -> list[BadRequest]:
    path = endpoint.path.format(**world.ids())
    valid = endpoint.body(world)
    out = [
        BadRequest("truncated JSON", path, 400, "malformed-json", ("JSON",), content=b'{"a": '),
        BadRequest("single quotes", path, 400, "malformed-json", ("JSON",), content=b"{'a': 1}"),
        BadRequest("trailing comma", path, 400, "malformed-json", ("JSON",), content=b'{"a": 1,}'),
        BadRequest("a list, not an object", path, 422, "validation-failed", json=[valid]),
        BadRequest("a string, not an object", path, 422, "validation-failed", json="hello"),
        BadRequest(
            "an extra field",
            path,
            422,
            "validation-failed",
            ("surprise",),
            json={**valid, "surprise": True},
        ),
    ]
    if endpoint.body_required:
        out.append(BadRequest("no body", path, 422, "validation-failed", empty=True))
        out.append(BadRequest("JSON null", path, 422, "validation-failed", content=b"null"))
    out += [
        BadRequest(f"without {name}", path, 422, "validation-failed", (name,), without(valid, name))
        for name in endpoint.required
    ]
    out += [
        BadRequest(
            f"{name} = {value!r}",
            path,
            422,
            "validation-failed",
            (name,),
            with_value(valid, name, value),
        )
        for name, kind in endpoint.fields.items()
        for value in BAD_VALUES[kind]
    ]
    placeholder = PLACEHOLDER.search(endpoint.path)
    if placeholder:
        param = f"{placeholder.group(1)}_id"
        for bad in ("not-a-uuid", "12345"):
            wrong = PLACEHOLDER.sub(bad, endpoint.path)
            out.append(
                BadRequest(f"{param} {bad}", wrong, 422, "validation-failed", (param,), valid)
            )
    for target, what in endpoint.unknown.items():
        missing = str(uuid.uuid4())
        if target == "path":
            out.append(
                BadRequest(
                    f"unknown {what} in the path",
                    PLACEHOLDER.sub(missing, endpoint.path),
                    404,
                    f"{what}-not-found",
                    (missing,),
                    valid,
                )
            )
        else:
            out.append(
                BadRequest(
                    f"unknown {target}",
                    path,
                    404,
                    f"{what}-not-found",
                    (missing,),
                    with_value(valid, target, missing),
                )
            )
    for case in endpoint.cases:
        body = case.body(world, copy.deepcopy(valid))
        out.append(
            BadRequest(
                case.what, path, case.status, case.code, (case.mention,), body, empty=body is None
            )
        )
    return out


def send(api: Api, request: BadRequest, key: str | None) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    if request.empty:
        return api.client.post(request.path, headers=headers)
    if request.content is not None:
        headers["content-type"] = "application/json"
        return api.client.post(request.path, content=request.content, headers=headers)
    return api.client.post(request.path, json=request.json, headers=headers)


GROUPS = sorted({e.group for e in ENDPOINTS})


@pytest.mark.parametrize("group", GROUPS)
def test_every_bad_request_is_a_problem_and_records_nothing(town: Town, group: str) -> None:
    world = World.build(town)
    head = town.rt.runner.head()
    failures: list[str] = []
    sent = 0
    for endpoint in (e for e in ENDPOINTS if e.group == group):
        for i, request in enumerate(bad_requests(endpoint, world)):
            # every other request carries an Idempotency-Key: a refusal must not be stored
            key = f"bad-{uuid.uuid4()}" if i % 2 else None
            r = send(town.admin, request, key)
            sent += 1
            errors = problem_errors(r, request.status, request.code, *request.mentions)
            failures += [f"[{endpoint.path}: {request.what}] {e}" for e in errors]
        # without a token, or with a wrong one: 401 with a Bearer challenge
        path = endpoint.path.format(**world.ids())
        for token, code in (
            (None, "unauthenticated"),
            ("Bearer tb_nope", "invalid-token"),
            ("Basic dXNlcjpwYXNz", "unauthenticated"),
        ):
            headers = {"Authorization": token} if token else {}
            r = httpx.post(town.base_url + path, json=endpoint.body(world), headers=headers)
            sent += 1
            errors = problem_errors(r, 401, code)
            if r.headers.get("www-authenticate") != "Bearer":
                errors.append(f"WWW-Authenticate is {r.headers.get('www-authenticate')!r}")
            failures += [f"[{path}: {token or 'no token'}] {e}" for e in errors]
    assert not failures, f"{len(failures)} of {sent} requests:\n" + "\n".join(failures)
    assert sent > 40
    assert town.rt.runner.head() == head, "a refused request recorded events"


def test_unknown_paths_wrong_methods_and_bad_reads_are_problems(town: Town) -> None:
    admin, base = town.admin, town.base_url
    volunteer = town.volunteer()
    missing = str(uuid.uuid4())
    r = admin.get("/v1/nothing-here")
    assert assert_problem(r, 404, "not-found")["instance"] == "/v1/nothing-here"
    assert_problem(admin.post(f"/v1/volunteers/{volunteer}/nothing", {}), 404, "not-found")
    assert_problem(httpx.get(base + "/v2/organisations"), 404, "not-found")
    for path, what in (
        ("organisations", "organisation"),
        ("volunteers", "volunteer"),
        ("activities", "activity"),
        ("signups", "signup"),
        ("rewards", "reward"),
        ("redemptions", "redemption"),
        ("accounts", "volunteer"),
    ):
        assert_problem(admin.get(f"/v1/{path}/{missing}"), 404, f"{what}-not-found", missing)
        assert_problem(admin.get(f"/v1/{path}/not-an-id"), 422, "validation-failed", "_id")
        r = httpx.get(f"{base}/v1/{path}/{missing}")
        assert_problem(r, 401, "unauthenticated")
        assert r.headers["www-authenticate"] == "Bearer"
    for method, path in (
        ("GET", "/v1/transfers"),
        ("DELETE", "/v1/organisations"),
        ("PUT", f"/v1/volunteers/{volunteer}"),
        ("PATCH", f"/v1/accounts/{volunteer}"),
        ("GET", f"/v1/signups/{missing}/verify"),
        ("DELETE", f"/v1/redemptions/{missing}/fulfil"),
        ("POST", "/healthz"),
    ):
        r = admin.client.request(method, path)
        assert_problem(r, 405, "method-not-allowed")
    # bad query strings
    assert_problem(admin.get("/v1/volunteers"), 422, "validation-failed", "number")
    assert_problem(
        admin.get("/v1/volunteers", number="123"), 422, "invalid-volunteer-number", "123"
    )
    unissued = "1234567890" + damm.calc_check_digit("1234567890")
    assert_problem(admin.get("/v1/volunteers", number=unissued), 404, "volunteer-not-found")
    r = admin.get(f"/v1/accounts/{volunteer}", min_position=-1)
    assert_problem(r, 422, "validation-failed", "min_position")
    r = admin.get(f"/v1/accounts/{volunteer}", min_position="soon")
    assert_problem(r, 422, "validation-failed", "min_position")


def test_405_names_the_allowed_methods(town: Town) -> None:
    r = town.admin.client.delete("/v1/transfers")
    assert_problem(r, 405, "method-not-allowed")
    assert "allow" in r.headers, "a 405 names the allowed methods"
    assert r.headers["allow"] == "POST"
    both = town.admin.client.delete("/v1/volunteers")  # a look-up (GET) and a registration
    assert_problem(both, 405, "method-not-allowed")
    assert both.headers["allow"] == "GET, POST"


def test_nested_extra_fields_are_refused(town: Town) -> None:
    head = town.rt.runner.head()
    body = volunteer_body(town.team)
    body["id_document"]["expires"] = "2030-01-01"
    r = town.admin.post("/v1/volunteers", body)
    assert r.status_code == 422, r.text
    assert_problem(r, 422, "validation-failed", "id_document.expires")
    assert town.rt.runner.head() == head


def test_json_scalars_of_the_wrong_type_are_not_coerced(town: Town) -> None:
    """JSON true is not 1 minute and "yes" is not a boolean: only JSON numbers are numbers."""
    giver, relative = town.volunteer(), town.volunteer()
    link_family(town, giver, relative)
    town.earn(giver, 10)
    requests = [
        ("/v1/volunteers", volunteer_body(town.team, party_member="yes"), "party_member"),
        ("/v1/volunteers", volunteer_body(town.team, party_member=1), "party_member"),
        ("/v1/activities", activity_body(town.team, capacity="20"), "capacity"),
        ("/v1/activities", activity_body(town.team, capacity=True), "capacity"),
        (
            "/v1/transfers",
            {
                "from_volunteer_id": giver,
                "to_volunteer_id": relative,
                "minutes": True,
                "kind": "gift",
            },
            "minutes",
        ),
        (
            "/v1/transfers",
            {
                "from_volunteer_id": giver,
                "to_volunteer_id": relative,
                "minutes": "5",
                "kind": "gift",
            },
            "minutes",
        ),
    ]
    coerced = []
    for path, body, name in requests:
        r = town.admin.post(path, body)
        assert r.status_code != 500, r.text
        if r.status_code < 400 or r.json()["code"] != "validation-failed":
            coerced.append(f"{path} {name}={body[name]!r} -> {r.status_code}")
            continue
        assert_problem(r, 422, "validation-failed", name)
    assert not coerced, coerced


def test_times_out_of_range_are_refused_never_a_500(town: Town) -> None:
    """Dates near the ends of the calendar must be a 422, not an overflow later on."""
    volunteer = town.volunteer()
    responses: list[httpx.Response] = []
    with structlog.testing.capture_logs():  # rendering the tracebacks of a 500 takes seconds
        requests_near_the_ends_of_time(town, volunteer, responses)
    crashed = [
        f"{r.request.url.path} {r.request.content!r}" for r in responses if r.status_code == 500
    ]
    assert not crashed, crashed
    for r in responses:
        assert r.status_code < 500 and (
            r.status_code < 400 or r.headers["content-type"] == PROBLEM
        ), r.text


def requests_near_the_ends_of_time(
    town: Town, volunteer: str, responses: list[httpx.Response]
) -> None:
    for starts, ends in (
        (now() - timedelta(hours=1), "9999-12-31T23:59:59+00:00"),
        ("0001-01-01T00:00:00+00:00", now() + timedelta(hours=1)),
    ):
        body = activity_body(
            town.team,
            starts_at=starts if isinstance(starts, str) else iso(starts),
            ends_at=ends if isinstance(ends, str) else iso(ends),
        )
        r = town.admin.post("/v1/activities", body)
        responses.append(r)
        if r.status_code != 201:
            continue
        r = town.admin.post(f"/v1/activities/{r.json()['id']}/signups", {"volunteer_id": volunteer})
        signup = created(r)["id"]
        responses.append(town.admin.post(f"/v1/signups/{signup}/check-in", {}))
        responses.append(town.admin.post(f"/v1/signups/{signup}/check-out", {}))
        town.admin.post(f"/v1/signups/{signup}/cancel", {})
    other = town.volunteer()
    activity = town.activity()["id"]
    signup = created(
        town.admin.post(f"/v1/activities/{activity}/signups", {"volunteer_id": other})
    )["id"]
    responses.append(
        town.admin.post(f"/v1/signups/{signup}/check-in", {"at": "0001-01-01T00:00:00+23:00"})
    )


# 2. Roles and scopes ---------------------------------------------------------------------


def test_a_coordinator_acts_in_their_subtree_only(town: Town) -> None:
    other_street = town.org("西湖街道", "street", town.district)
    outsider = town.client(Role.COORDINATOR, other_street)
    ancestor = town.client(Role.COORDINATOR, town.street)
    volunteer = town.volunteer()
    signup = checked_out_signup(town, volunteer, 45)
    head = town.rt.runner.head()

    r = outsider.post("/v1/volunteers", volunteer_body(town.team))
    assert_problem(r, 403, "outside-scope")
    assert_problem(outsider.post("/v1/activities", activity_body(town.team)), 403, "outside-scope")
    r = outsider.post(f"/v1/signups/{signup}/verify", {"decision": "approve"})
    assert_problem(r, 403, "outside-scope")
    r = outsider.post("/v1/organisations", {"name": "队", "kind": "team", "parent_id": town.team})
    assert_problem(r, 403, "outside-scope")
    assert town.rt.runner.head() == head, "a refused command recorded events"

    # the same token works in its own subtree
    created(outsider.post("/v1/volunteers", volunteer_body(other_street)))
    created(outsider.post("/v1/activities", activity_body(other_street)))

    # a coordinator of the street (an ancestor of the team) may do all of it
    registered = created(ancestor.post("/v1/volunteers", volunteer_body(town.team)))
    assert re.fullmatch(r"\d{11}", registered["volunteer_number"])
    assert damm.is_valid(registered["volunteer_number"])
    created(ancestor.post("/v1/activities", activity_body(town.team)))
    verified = created(ancestor.post(f"/v1/signups/{signup}/verify", {"decision": "approve"}), 200)
    assert (verified["status"], verified["decision"]) == ("verified", "approve")
    assert (verified["minutes"], verified["credited_minutes"]) == (45, 45)


def test_volunteer_and_desk_tokens_are_limited_to_their_role(town: Town) -> None:
    me, someone = town.volunteer(), town.volunteer()
    number = created(town.admin.get(f"/v1/volunteers/{me}"), 200)["volunteer_number"]
    volunteer = town.client(Role.VOLUNTEER, me)
    desk = town.client(Role.DESK, town.venue)
    auditor = town.client(Role.AUDITOR)
    activity = town.activity(capacity=5)["id"]
    head = town.rt.runner.head()

    r = volunteer.post(
        "/v1/organisations", {"name": "我的队", "kind": "team", "parent_id": town.team}
    )
    assert_problem(r, 403, "forbidden-role", "admin")
    assert_problem(
        volunteer.post("/v1/organisations", {"name": "x", "kind": "district"}),
        403,
        "forbidden-role",
    )
    r = volunteer.post(f"/v1/activities/{activity}/signups", {"volunteer_id": someone})
    assert_problem(r, 403, "not-yourself")
    assert_problem(volunteer.get("/v1/volunteers", number=number), 403, "forbidden-role", "desk")
    assert_problem(desk.post("/v1/volunteers", volunteer_body(town.team)), 403, "forbidden-role")
    assert_problem(auditor.post("/v1/activities", activity_body(town.team)), 403, "forbidden-role")
    assert town.rt.runner.head() == head, "a refused command recorded events"

    mine = created(volunteer.post(f"/v1/activities/{activity}/signups", {"volunteer_id": me}))
    assert mine["status"] == "accepted"
    found = created(desk.get("/v1/volunteers", number=number), 200)
    assert (found["id"], found["volunteer_number"]) == (me, number)
    assert (
        created(desk.get("/v1/volunteers", number=f" {number[:5]} {number[5:]} "), 200)["id"] == me
    )
    assert created(auditor.get("/v1/volunteers", number=number), 200)["id"] == me


# 3. PII masking --------------------------------------------------------------------------

ZHANG_SAN_ID = "11010519491231002X"


def zhang_san(home_org_id: str, number: str = ZHANG_SAN_ID) -> Body:
    return {
        "name": "张三",
        "id_document": {"type": "resident_id", "number": number},
        "phone": "13812345678",
        "birth_date": "1949-12-31",
        "party_member": True,
        "skills": ["护理", "驾驶"],
        "home_org_id": home_org_id,
    }


def test_personal_data_is_masked_for_everyone_but_admin_and_home_coordinators(town: Town) -> None:
    other_street = town.org("西湖街道", "street", town.district)
    registered = created(town.admin.post("/v1/volunteers", zhang_san(town.team)))
    zhang, number = registered["id"], registered["volunteer_number"]
    common = {
        "id": zhang,
        "volunteer_number": number,
        "skills": ["护理", "驾驶"],
        "home_org_id": town.team,
        "erased": False,
    }
    full = {
        **common,
        "party_member": True,
        "family": [],
        "family_requests": [],
        "name": "张三",
        "id_document": {"type": "resident_id", "number": ZHANG_SAN_ID},
        "phone": "13812345678",
        "birth_date": "1949-12-31",
        "pii_masked": False,
    }
    for who, api in (
        ("admin", town.admin),
        ("team coordinator", town.client(Role.COORDINATOR, town.team)),
        ("street coordinator", town.client(Role.COORDINATOR, town.street)),
        ("district coordinator", town.client(Role.COORDINATOR, town.district)),
    ):
        assert created(api.get(f"/v1/volunteers/{zhang}"), 200) == full, who
        if who != "admin":
            assert created(api.get("/v1/volunteers", number=number), 200) == full, who

    masked = {
        **common,
        "name": "**",
        "id_document": {"type": "resident_id", "number": "11**************2X"},
        "phone": "1*********8",
        "birth_date": None,
        "party_member": None,
        "family": None,
        "family_requests": None,
        "pii_masked": True,
    }
    viewers: list[tuple[str, Api, bool]] = [
        ("desk", town.client(Role.DESK, town.venue), True),
        ("auditor", town.client(Role.AUDITOR), True),
        ("coordinator of another street", town.client(Role.COORDINATOR, other_street), True),
        ("another volunteer", town.client(Role.VOLUNTEER, town.volunteer()), False),
    ]
    for who, api, may_look_up in viewers:
        responses = [api.get(f"/v1/volunteers/{zhang}")]
        if may_look_up:
            responses.append(api.get("/v1/volunteers", number=number))
        for r in responses:
            body = created(r, 200)
            assert body == masked, who
            for secret in ("张三", ZHANG_SAN_ID, "13812345678", "1949-12-31"):
                assert secret not in r.text, f"{who} sees {secret}"


def test_resident_id_is_checked_and_registered_once(town: Town) -> None:
    head = town.rt.runner.head()
    r = town.admin.post("/v1/volunteers", zhang_san(town.team, "110105194912310021"))
    assert_problem(r, 422, "invalid-id-document", "resident ID")
    assert town.rt.runner.head() == head

    first = created(town.admin.post("/v1/volunteers", zhang_san(town.team)))
    head = town.rt.runner.head()
    assert first["position"] == head
    street = town.client(Role.COORDINATOR, town.street)
    for api, body in (
        (town.admin, zhang_san(town.team)),
        # the same document written differently, another name and home: still the same person
        (town.admin, {**zhang_san(town.street, "110105 19491231 002x"), "name": "张叁"}),
        (street, zhang_san(town.team)),
    ):
        r = api.post("/v1/volunteers", body)
        assert_problem(r, 409, "duplicate-volunteer", "ID document")
        assert str(first["id"]) not in r.text  # the refusal does not reveal who holds it
        assert town.rt.runner.head() == head, "a duplicate registration recorded events"
    shown = created(town.admin.get(f"/v1/volunteers/{first['id']}"), 200)
    assert (shown["name"], shown["home_org_id"], shown["volunteer_number"]) == (
        "张三",
        town.team,
        first["volunteer_number"],
    )


# 4. Idempotency-Key ----------------------------------------------------------------------


def test_an_idempotency_key_replays_the_first_response(town: Town) -> None:
    admin = town.admin
    body = {"name": "夕阳红服务队", "kind": "team", "parent_id": town.street, "population": 300}
    first = admin.post("/v1/organisations", body, key="create-team-1")
    first_body = created(first)
    head = town.rt.runner.head()
    assert first_body["position"] == head
    assert set(first_body) == {"id", "position"}

    again = admin.post("/v1/organisations", body, key="create-team-1")
    assert (again.status_code, again.json()) == (201, first_body)
    # the same JSON, written with other key order and whitespace, is the same request
    raw = json.dumps(dict(reversed(body.items())), indent=3, ensure_ascii=False).encode()
    r = admin.client.post(
        "/v1/organisations",
        content=raw,
        headers={"Idempotency-Key": "create-team-1", "content-type": "application/json"},
    )
    assert (r.status_code, r.json()) == (201, first_body)
    assert town.rt.runner.head() == head, "a replay recorded events"

    r = admin.post("/v1/organisations", {**body, "name": "另一个队"}, key="create-team-1")
    assert_problem(r, 409, "idempotency-key-reused", "Idempotency-Key")
    r = admin.post("/v1/volunteers", volunteer_body(town.team), key="create-team-1")
    assert_problem(r, 409, "idempotency-key-reused", "Idempotency-Key")
    assert town.rt.runner.head() == head, "a refused reuse recorded events"

    # keys belong to a token: another token may use the same key string for itself
    theirs = created(town.client(Role.ADMIN).post("/v1/organisations", body, key="create-team-1"))
    assert theirs["id"] != first_body["id"]
    assert theirs["position"] == town.rt.runner.head() > head
    for org in (first_body["id"], theirs["id"]):
        assert created(admin.get(f"/v1/organisations/{org}"), 200)["name"] == "夕阳红服务队"

    # a balance-changing command replays with its position, too
    giver, relative = town.volunteer(), town.volunteer()
    link_family(town, giver, relative)
    town.earn(giver, 50)
    gift = {"from_volunteer_id": giver, "to_volunteer_id": relative, "minutes": 20, "kind": "gift"}
    sent = created(admin.post("/v1/transfers", gift, key="gift-1"))
    head = town.rt.runner.head()
    assert sent["position"] == head and sent["minutes"] == 20
    assert created(admin.post("/v1/transfers", gift, key="gift-1")) == sent
    assert town.rt.runner.head() == head
    assert town.account(giver)["available_minutes"] == 30
    assert town.account(relative)["available_minutes"] == 20


def post_concurrently(
    town: Town, api: Api, path: str, body: Body, key: str, n: int = 8
) -> list[httpx.Response]:
    """n threads, each with its own connection and the same token, post at the same moment."""
    start = threading.Barrier(n)
    headers = {"Authorization": token_of(api), "Idempotency-Key": key}

    def one(_: int) -> httpx.Response:
        with httpx.Client(base_url=town.base_url, headers=headers, timeout=60) as client:
            start.wait()
            return client.post(path, json=body)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def test_concurrent_retries_with_one_key_make_exactly_one_change(town: Town) -> None:
    admin = town.admin
    giver, relative = town.volunteer(), town.volunteer()
    link_family(town, giver, relative, "parent")
    town.earn(giver, 100)
    org = {"name": "并发服务队", "kind": "team", "parent_id": town.street}
    person = volunteer_body(town.team, number="E99887766")
    # the balance covers this gift once only: a second execution would be refused
    gift = {"from_volunteer_id": giver, "to_volunteer_id": relative, "minutes": 70, "kind": "gift"}
    leaked: list[str] = []
    for path, body, key, events, refusal in (
        ("/v1/organisations", org, "org-1", 1, None),
        ("/v1/volunteers", person, "person-1", 4, "duplicate-volunteer"),
        ("/v1/transfers", gift, "gift-1", None, "insufficient-balance"),
    ):
        head = town.rt.runner.head()
        responses = post_concurrently(town, admin, path, body, key)
        firsts = [r for r in responses if r.status_code == 201]
        assert firsts, [r.text for r in responses]
        first = firsts[0].json()
        assert all(r.json() == first for r in firsts), [r.text for r in firsts]
        # exactly one change: the log ends with the one execution's last event
        assert first["position"] == town.rt.runner.head() > head, path
        if events is not None:  # (PostgreSQL's ids have gaps where a losing save rolled back)
            recorded = town.rt.app.recorder.select_notifications(start=head + 1, limit=100)
            assert len(recorded) == events, [n.topic for n in recorded]
        for r in responses:
            if r.status_code != 201:
                # a retry that lost the race ran the command again instead of replaying
                assert refusal is not None, r.text
                leaked.append(f"{path}: {assert_problem(r, 409, refusal)['code']}")
    assert town.account(giver)["available_minutes"] == 30
    assert town.account(relative)["available_minutes"] == 70
    assert not leaked, leaked


# 5. Read-your-writes ---------------------------------------------------------------------


def test_min_position_reads_your_own_writes(town: Town) -> None:
    admin = town.admin
    giver, relative = town.volunteer(), town.volunteer()
    me = town.client(Role.VOLUNTEER, giver)
    desk = town.client(Role.DESK, town.venue)
    link_family(town, giver, relative, "parent")
    stale: list[str] = []

    def read(volunteer: str, position: int, api: Api, **expected: int) -> None:
        """GET the account with min_position: it must already show `expected`."""
        body = created(api.get(f"/v1/accounts/{volunteer}", min_position=position), 200)
        assert body["position"] >= position
        shown = {name: body[name] for name in expected}
        if shown == expected:
            return
        stale.append(f"at min_position={position}: {shown} instead of {expected}")
        # the expectation itself must be right: the view gets there a moment later
        for _ in range(100):
            body = created(api.get(f"/v1/accounts/{volunteer}"), 200)
            if {name: body[name] for name in expected} == expected:
                return
            time.sleep(0.02)
        raise AssertionError(f"the account never shows {expected}: {body}")

    signup = checked_out_signup(town, giver, 90)
    verified = created(admin.post(f"/v1/signups/{signup}/verify", {"decision": "approve"}), 200)
    assert verified["credited_minutes"] == 90
    read(
        giver,
        verified["position"],
        admin,
        available_minutes=90,
        earned_minutes=90,
        service_minutes=90,
        reserved_minutes=0,
        spent_minutes=0,
        balance_minutes=90,
    )

    gift = {"from_volunteer_id": giver, "to_volunteer_id": relative, "minutes": 25, "kind": "gift"}
    sent = created(me.post("/v1/transfers", gift))
    read(giver, sent["position"], me, available_minutes=65, spent_minutes=25, service_minutes=90)
    read(
        relative,
        sent["position"],
        admin,
        available_minutes=25,
        earned_minutes=25,
        service_minutes=0,
    )

    reward = created(
        admin.post(
            "/v1/rewards", {"venue_id": town.venue, "name": "毛巾", "cost_minutes": 20, "stock": 3}
        )
    )["id"]
    held = created(me.post("/v1/redemptions", {"volunteer_id": giver, "reward_id": reward}))
    assert (held["status"], held["minutes"]) == ("reserved", 20)
    read(giver, held["position"], me, available_minutes=45, reserved_minutes=20, balance_minutes=65)
    done = created(desk.post(f"/v1/redemptions/{held['id']}/fulfil", {"code": held["code"]}), 200)
    assert done["status"] == "fulfilled"
    read(giver, done["position"], desk, available_minutes=45, reserved_minutes=0, spent_minutes=45)

    # many writes, each read back at once
    for i in range(1, 21):
        one = {**gift, "minutes": 1}
        sent = created(me.post("/v1/transfers", one))
        read(giver, sent["position"], me, available_minutes=45 - i)

    # a position the log has not reached: a bounded wait, then 503 with Retry-After
    r = admin.get(f"/v1/accounts/{giver}", min_position=town.rt.runner.head() + 1000)
    assert_problem(r, 503, "projection-lagging", "position")
    assert r.headers["retry-after"] == "1"
    assert not stale, stale


# 6. OpenAPI ------------------------------------------------------------------------------

CONTRACT_ROUTES = {
    ("post", "/v1/organisations"),
    ("get", "/v1/organisations/{org_id}"),
    ("post", "/v1/volunteers"),
    ("get", "/v1/volunteers"),
    ("get", "/v1/volunteers/{volunteer_id}"),
    ("post", "/v1/volunteers/{volunteer_id}/family-links"),
    ("post", "/v1/volunteers/{volunteer_id}/transfer-membership"),
    ("post", "/v1/activities"),
    ("get", "/v1/activities/{activity_id}"),
    ("post", "/v1/activities/{activity_id}/signups"),
    ("get", "/v1/signups/{signup_id}"),
    ("post", "/v1/signups/{signup_id}/cancel"),
    ("post", "/v1/signups/{signup_id}/check-in"),
    ("post", "/v1/signups/{signup_id}/check-out"),
    ("post", "/v1/signups/{signup_id}/verify"),
    ("get", "/v1/accounts/{volunteer_id}"),
    ("post", "/v1/transfers"),
    ("post", "/v1/rewards"),
    ("get", "/v1/rewards/{reward_id}"),
    ("post", "/v1/redemptions"),
    ("get", "/v1/redemptions/{redemption_id}"),
    ("post", "/v1/redemptions/{redemption_id}/fulfil"),
    ("post", "/v1/redemptions/{redemption_id}/cancel"),
    ("get", "/v1/reports/organisations/{org_id}"),
    ("get", "/v1/reports/organisations/{org_id}.csv"),
    ("get", "/healthz"),
    ("get", "/readyz"),
}
METHODS = {"get", "post", "put", "patch", "delete"}


def openapi_operations(town: Town) -> list[tuple[str, str, Body]]:
    r = httpx.get(town.base_url + "/openapi.json")
    doc = created(r, 200)
    assert doc["openapi"].startswith("3.")
    return [
        (method, path, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def test_openapi_documents_the_contract(town: Town) -> None:
    operations = openapi_operations(town)
    ids = [op.get("operationId") for _, _, op in operations]
    assert all(ids) and len(ids) == len(set(ids)), ids
    missing = CONTRACT_ROUTES - {(method, path) for method, path, _ in operations}
    assert not missing, missing
    posts = [(path, op) for method, path, op in operations if method == "post"]
    assert len(posts) >= 15
    for path, op in posts:
        headers = {p["name"].lower(): p for p in op.get("parameters", []) if p["in"] == "header"}
        assert "idempotency-key" in headers, path
        assert headers["idempotency-key"].get("required", False) is False, path
        assert headers["idempotency-key"].get("description"), path
    lookup = next(
        op for method, path, op in operations if (method, path) == ("get", "/v1/volunteers")
    )
    assert [(p["in"], p["name"]) for p in lookup["parameters"]] == [("query", "number")]
    account = next(op for method, path, op in operations if path == "/v1/accounts/{volunteer_id}")
    assert ("query", "min_position") in {(p["in"], p["name"]) for p in account["parameters"]}


def test_openapi_2xx_responses_have_schemas(town: Town) -> None:
    """Every success is JSON with a schema, but the CSV report's, which is text/csv, the
    log's checkpoint, a signed note in text/plain, and a certificate's PDF."""
    without_schema = []
    for method, path, op in openapi_operations(town):
        ok = {status: r for status, r in op["responses"].items() if status.startswith("2")}
        assert ok, f"{method} {path} documents no 2xx response"
        for status, response in ok.items():
            media = "text/csv" if path.endswith(".csv") else "application/json"
            if path == "/v1/log/checkpoint":
                media = "text/plain"
            if path.endswith(".pdf"):
                media = "application/pdf"
            assert list(response.get("content", {})) == [media], (path, response)
            schema = response["content"][media].get("schema")
            if not schema:
                without_schema.append(f"{method.upper()} {path} {status}")
    assert not without_schema, without_schema


def test_openapi_documents_the_problems_of_every_operation(town: Town) -> None:
    doc = created(httpx.get(town.base_url + "/openapi.json"), 200)
    problem_schema = doc["components"]["schemas"]["ProblemOut"]
    assert {"type", "title", "status", "detail", "code"} <= set(problem_schema["required"])
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    undocumented = []
    for method, path, op in openapi_operations(town):
        if "security" not in op:
            if path in ("/healthz", "/readyz"):
                continue
            public = ("/v1/log/checkpoint", "/v1/log/p", "/v1/certificates/check")
            assert path.startswith(public), path
            expected = {"404", "422", "503"}
        else:
            expected = {"401", "403", "404", "422"}
        if method == "post":
            expected |= {"400", "409"}
        if "min_position" in {p["name"] for p in op.get("parameters", [])}:
            expected.add("503")
        for status, response in op["responses"].items():
            if status[0] in "45" and set(response.get("content", {})) != {PROBLEM}:
                undocumented.append(f"{method} {path} {status}: {response.get('content')}")
        for status in sorted(expected - set(op["responses"])):
            undocumented.append(f"{method} {path}: no {status}")
        for status in expected & set(op["responses"]):
            schema = op["responses"][status]["content"][PROBLEM]["schema"]
            assert schema == {"$ref": "#/components/schemas/ProblemOut"}, (path, status)
    assert not undocumented, undocumented


NULL = {"type": "null"}
ROLE_WORDS = ("admin", "coordinator", "desk", "auditor", "volunteer", "any role", "anyone")
FASTAPI_ID = re.compile(r".*_(get|post|put|patch|delete)$")


def test_openapi_operations_are_named_described_and_declare_their_headers(town: Town) -> None:
    """What a generated client is made of: short unique operation ids (not FastAPI's
    `get_account_v1_accounts__volunteer_id__get`), one short tag each, a summary and a
    description saying who may call it; a `default` problem; X-Request-ID on every response,
    Retry-After on a 503 and Location on a 201; optional parameters and bodies declared by
    their type alone, never as nullable."""
    doc = created(httpx.get(town.base_url + "/openapi.json"), 200)
    tags = [t["name"] for t in doc["tags"]]
    assert all(re.fullmatch(r"[a-z]+", tag) for tag in tags), tags
    faults = []
    ids = []
    for method, path, op in openapi_operations(town):
        where = f"{method.upper()} {path}"
        ids.append(op["operationId"])
        if not re.fullmatch(r"[a-z][A-Za-z0-9]*", op["operationId"]):
            faults.append(f"{where}: operation id {op['operationId']}")
        if FASTAPI_ID.match(op["operationId"]):
            faults.append(f"{where}: FastAPI's default operation id {op['operationId']}")
        if len(op.get("tags", [])) != 1 or op["tags"][0] not in tags:
            faults.append(f"{where}: tags {op.get('tags')}")
        if not op.get("summary", "").strip():
            faults.append(f"{where}: no summary")
        description = op.get("description", "")
        if "Who:" not in description:
            faults.append(f"{where}: the description does not say who may call it")
        elif not any(word in description.split("Who:")[1] for word in ROLE_WORDS):
            faults.append(f"{where}: the description names no role")
        responses = op["responses"]
        default = responses.get("default", {}).get("content", {}).get(PROBLEM, {})
        if default.get("schema") != {"$ref": "#/components/schemas/ProblemOut"}:
            faults.append(f"{where}: no default problem")
        for status, response in responses.items():
            headers = response.get("headers", {})
            if "X-Request-ID" not in headers:
                faults.append(f"{where} {status}: no X-Request-ID")
            if status in ("429", "503") and "Retry-After" not in headers:
                faults.append(f"{where} {status}: no Retry-After")
            if status == "201" and "Location" not in headers:
                faults.append(f"{where} 201: no Location")
        for parameter in op.get("parameters", []):
            if not parameter["required"] and "anyOf" in parameter["schema"]:
                faults.append(f"{where}: parameter {parameter['name']} is declared nullable")
        body = op.get("requestBody")
        if body is not None and not body.get("required"):
            schema = body["content"]["application/json"]["schema"]
            if set(schema) != {"$ref"}:
                faults.append(f"{where}: an optional body declared as {schema}")
    assert len(ids) == len(set(ids)), ids
    assert not faults, "\n".join(faults)
    optional = {
        path
        for path, item in doc["paths"].items()
        if "requestBody" in item.get("post", {}) and not item["post"]["requestBody"].get("required")
    }
    assert optional == {
        "/v1/signups/{signup_id}/cancel",
        "/v1/signups/{signup_id}/check-in",
        "/v1/signups/{signup_id}/check-out",
        "/v1/backfills/{backfill_id}/approve",
        "/v1/redemptions/{redemption_id}/cancel",
    }


def test_openapi_response_fields_always_sent_are_required(town: Town) -> None:
    """Every field of a response body is sent, null where it has no value: all are required
    in the document, and the states, kinds, categories and roles are enumerations."""
    doc = created(httpx.get(town.base_url + "/openapi.json"), 200)
    schemas = doc["components"]["schemas"]
    responses = [
        name
        for name in schemas
        if name.endswith("Out") or name.startswith("RecordPageOut") or name in ("Readiness",)
    ]
    assert len(responses) > 40, responses
    for name in responses:
        if name in ("ProblemOut", "ProblemPartOut"):  # instance and errors are not always sent
            continue
        schema = schemas[name]
        assert set(schema.get("required", [])) == set(schema["properties"]), name
        for field_name, field_schema in schema["properties"].items():
            if field_name in ("status", "kind", "category", "role", "decision", "by", "sort"):
                options = [o for o in field_schema.get("anyOf", [field_schema]) if o != NULL]
                (option,) = options
                target = option.get("$ref", "").rsplit("/", 1)[-1]
                enumerated = schemas.get(target, option)
                assert "enum" in enumerated or "const" in enumerated, (name, field_name)
    reservation = schemas["ReservationOut"]["properties"]
    # null when a desk reserved: the code is the volunteer's
    assert {o.get("type") for o in reservation["code"]["anyOf"]} == {"string", "null"}
    assert reservation["expires_at"]["format"] == "date-time"
    assert "anyOf" in schemas["CreatedOut"]["properties"]["position"]  # present, may be null


def test_every_201_answers_a_location_that_resolves(town: Town) -> None:
    """Each operation that answers 201 (all of those in the document, so that a new one
    cannot be forgotten) sends a Location, a path that a GET of the API resolves."""
    doc = created(httpx.get(town.base_url + "/openapi.json"), 200)
    creating = {
        path
        for path, item in doc["paths"].items()
        if "201" in item.get("post", {}).get("responses", {})
    }
    readable = [
        re.compile(PLACEHOLDER.sub(lambda _: "[^/]+", path) + "$")
        for path, item in doc["paths"].items()
        if "get" in item
    ]
    admin = town.admin
    answers: dict[str, httpx.Response] = {}

    def create(template: str, body: Body, **ids: str) -> Body:
        r = admin.post(template.format(**ids), body)
        answers[template] = r
        return created(r)

    org = create(
        "/v1/organisations", {"name": "新服务队", "kind": "team", "parent_id": town.street}
    )
    volunteer = create("/v1/volunteers", volunteer_body(org["id"]))["id"]
    relative = town.volunteer()
    create(
        "/v1/volunteers/{volunteer_id}/family-links",
        {"relative_id": relative, "relation": "child"},
        volunteer_id=volunteer,
    )
    activity = create("/v1/activities", activity_body(town.team))["id"]
    create(
        "/v1/activities/{activity_id}/signups", {"volunteer_id": volunteer}, activity_id=activity
    )
    signup = checked_out_signup(town, volunteer, 60)
    created(admin.post(f"/v1/signups/{signup}/verify", {"decision": "approve"}), 200)
    gift = {
        "from_volunteer_id": volunteer,
        "to_volunteer_id": relative,
        "minutes": 5,
        "kind": "gift",
    }
    create("/v1/transfers", gift)
    reward = create(
        "/v1/rewards", {"venue_id": town.venue, "name": "毛巾", "cost_minutes": 10, "stock": 3}
    )["id"]
    create("/v1/redemptions", {"volunteer_id": volunteer, "reward_id": reward})
    training = {
        "org_id": town.team,
        "title": "急救培训",
        "held_at": iso(now() - timedelta(days=1)),
        "minutes": 90,
        "volunteer_ids": [volunteer],
    }
    create("/v1/trainings", training)
    create("/v1/evaluations", {"signup_id": signup, "score": 5, "by": "organiser"})
    award = create(
        "/v1/commendations",
        {"volunteer_id": volunteer, "org_id": town.team, "title": "优秀志愿者", "reason": "热心"},
    )["id"]
    create("/v1/objections", {"award_id": award, "reason": "有异议"})
    started = now() - timedelta(days=2)
    backfill = {
        "volunteer_id": volunteer,
        "org_id": town.team,
        "category": "health",
        "started_at": iso(started),
        "ended_at": iso(started + timedelta(minutes=30)),
        "description": "义诊",
    }
    create("/v1/backfills", backfill)
    create("/v1/disputes", {"record_id": signup, "reason": "少算了"})
    today = datetime.now(UTC).date()
    period = {
        "from": (today - timedelta(days=3)).isoformat(),
        "to": (today + timedelta(days=1)).isoformat(),
    }
    create("/v1/certificates", {"volunteer_id": volunteer, "org_id": town.team} | period)

    assert set(answers) == creating
    for template, r in answers.items():
        location = r.headers.get("location")
        assert location and location.startswith("/v1/"), (template, r.headers)
        assert any(pattern.match(location) for pattern in readable), (template, location)
        found = admin.client.get(location)
        assert found.status_code == 200, (template, location, found.text)


# 7. Free text --------------------------------------------------------------------------------

CONTROL = "a\x00b"


def free_text(doc: Body, schema: Body, where: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Where a request body of `schema` holds free text: every string that is not an id, a
    moment, a date or one of an enumeration (the index 0 standing for a list's items)."""
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    for option in schema.get("anyOf", []):
        yield from free_text(doc, option, where)
    if schema.get("type") == "object":
        for name, field_schema in schema.get("properties", {}).items():
            yield from free_text(doc, field_schema, (*where, name))
    elif schema.get("type") == "array":
        yield from free_text(doc, schema["items"], (*where, "0"))
    elif schema.get("pattern") == bounds.PIN_PATTERN:
        return  # digits, not text: its pattern refuses every other character
    elif schema.get("type") == "string" and "format" not in schema and "enum" not in schema:
        yield where


def carrying(where: tuple[str, ...], value: str) -> Any:
    """A body holding `value` at `where` and nothing else."""
    if not where:
        return value
    head, *rest = where
    inner = carrying(tuple(rest), value)
    return [inner] if head == "0" else {head: inner}


def test_no_request_takes_control_characters_in_its_text(town: Town) -> None:
    """Every string of every request body, found in the OpenAPI document so that a new one
    cannot be forgotten, refuses control characters (a NUL breaks PostgreSQL text columns);
    tab, line feed and carriage return are welcome."""
    doc = created(httpx.get(town.base_url + "/openapi.json"), 200)
    volunteer = town.volunteer()
    head = town.rt.runner.head()
    checked, failures = [], []
    for path, item in doc["paths"].items():
        body = item.get("post", {}).get("requestBody")
        if body is None:
            continue
        url = PLACEHOLDER.sub(lambda _: str(uuid.uuid4()), path)
        for where in free_text(doc, body["content"]["application/json"]["schema"]):
            checked.append(f"{path} {'.'.join(where)}")
            r = town.admin.post(url, carrying(where, CONTROL))
            errors = problem_errors(r, 422, "validation-failed")
            flagged = [
                e
                for e in r.json().get("errors", [])
                if e["location"] == ["body", *where] and "control characters" in e["message"]
            ]
            if errors or not flagged:
                failures.append(f"{path} {where}: {r.status_code} {r.text[:300]}")
    assert not failures, failures
    for expected in (
        "/v1/organisations name",
        "/v1/volunteers id_document.number",
        "/v1/volunteers skills.0",
        "/v1/activities campaign",
        "/v1/signups/{signup_id}/check-in code",
        "/v1/transfers memo",
        "/v1/redemptions/{redemption_id}/fulfil code",
        "/v1/trainings title",
        "/v1/evaluations comment",
        "/v1/commendations reason",
        "/v1/objections reason",
        "/v1/awards/{award_id}/review reason",
        "/v1/backfills description",
        "/v1/backfills evidence.0",
        "/v1/disputes reason",
        "/v1/disputes/{dispute_id}/resolve reason",
    ):
        assert expected in checked, (expected, checked)
    # with a valid rest of the body, the problem names the field
    for name, value in (("title", "x\x00"), ("reason", "\x07ding")):
        body = {"volunteer_id": volunteer, "org_id": town.team, "title": "t", "reason": "r"}
        r = town.admin.post("/v1/commendations", {**body, name: value})
        assert_problem(r, 422, "validation-failed", name, "control characters")
    r = town.admin.get("/v1/volunteers", number="V\x00001")
    assert_problem(r, 422, "validation-failed", "number", "control characters")
    assert town.rt.runner.head() == head, "a refused request recorded events"

    reason = "搬家\r\n新地址:\t3号楼"
    moved = town.admin.post(
        f"/v1/volunteers/{volunteer}/transfer-membership",
        {"to_org_id": town.street, "reason": reason},
    )
    created(moved, 200)
    town.rt.runner.catch_up()
    trail = created(town.admin.get(f"/v1/volunteers/{volunteer}/audit-trail"), 200)
    assert trail["entries"][-1]["reason"] == reason


# 8. Cursors ----------------------------------------------------------------------------------


def _cursor(parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


def forged_cursors(cursor: str) -> list[str]:
    """Cursors like `cursor`, one the API gave out, but with a part out of range (integers of
    a cursor are 0 <= k < 2**63) or of another type, or a part too few or too many."""
    key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    assert isinstance(key, list) and key, key
    not_json = base64.urlsafe_b64encode(b"not json").decode().rstrip("=")
    forged = [_cursor(key[:-1]), _cursor([*key, 1]), _cursor({"key": key}), not_json]
    for i, part in enumerate(key):
        if isinstance(part, int):
            bad: list[Any] = [2**63, 2**64, 10**30, -1, True, 1.5, str(part), None]
        else:
            bad = ["x" * 101, 7, None, [part]]
        forged += [_cursor([*key[:i], value, *key[i + 1 :]]) for value in bad]
    return forged


def test_forged_cursors_are_refused_where_lists_are_paged(town: Town) -> None:
    volunteer, relative = town.volunteer(), town.volunteer()
    link_family(town, volunteer, relative)
    town.earn(volunteer, 30)
    for _ in range(2):
        gift = {"from_volunteer_id": volunteer, "to_volunteer_id": relative, "minutes": 1}
        created(town.admin.post("/v1/transfers", {**gift, "kind": "gift"}))
    town.rt.runner.catch_up()
    refused = 0
    for path in (f"/v1/accounts/{volunteer}/statement", f"/v1/volunteers/{volunteer}/audit-trail"):
        cursor = created(town.admin.get(path, limit=1), 200)["next_cursor"]
        assert cursor, path
        for forged in forged_cursors(cursor):
            r = town.admin.get(path, limit=1, cursor=forged)
            assert_problem(r, 422, "invalid-cursor", "cursor")
            refused += 1
        # Not even base64url: the OpenAPI document's pattern says so before the API reads it.
        assert_problem(town.admin.get(path, cursor="not a cursor"), 422, "validation-failed")
    assert refused > 20


# 9. Request ids, request logs, tokens ---------------------------------------------------------


def request_lines(
    logs: list[MutableMapping[str, Any]], ids: set[str]
) -> dict[str, MutableMapping[str, Any]]:
    """The request log lines of `ids`; the server logs each just after answering."""
    deadline = time.monotonic() + 5
    while not ids <= {e.get("request_id") for e in logs if e["event"] == "request"}:
        assert time.monotonic() < deadline, logs
        time.sleep(0.01)
    return {e["request_id"]: e for e in logs if e["event"] == "request"}


# Request ids a client sends: the server keeps only UUIDs.
GIVEN_ID, ORG_ID, ANON_ID, BOOM_ID = (
    str(uuid.uuid5(uuid.NAMESPACE_URL, name)) for name in ("given", "org", "anon", "boom")
)


def test_request_ids_are_kept_or_made_and_each_request_logs_one_line(town: Town) -> None:
    client = town.admin.client
    org_path = f"/v1/organisations/{town.district}"
    with structlog.testing.capture_logs([structlog.contextvars.merge_contextvars]) as logs:
        given = client.get("/healthz", headers={"X-Request-ID": GIVEN_ID})
        made = client.get("/healthz")
        too_long = client.get("/healthz", headers={"X-Request-ID": "x" * 101})
        not_uuid = client.get("/healthz", headers={"X-Request-ID": "req-given-1"})
        org = client.get(org_path, headers={"X-Request-ID": ORG_ID})
        refused = httpx.get(town.base_url + org_path, headers={"X-Request-ID": ANON_ID})
        made_ids = {
            made.headers["x-request-id"],
            too_long.headers["x-request-id"],
            not_uuid.headers["x-request-id"],
        }
        lines = request_lines(logs, {GIVEN_ID, ORG_ID, ANON_ID, *made_ids})
    assert given.headers["x-request-id"] == GIVEN_ID
    assert len({str(uuid.UUID(i)) for i in made_ids}) == 3
    assert_problem(refused, 401, "unauthenticated")
    assert refused.headers["x-request-id"] == ANON_ID
    healthz = lines[GIVEN_ID]
    assert (healthz["method"], healthz["path"], healthz["status"]) == ("GET", "/healthz", 200)
    assert isinstance(healthz["ms"], float) and healthz["ms"] >= 0
    assert org.status_code == 200 and lines[ORG_ID]["status"] == 200
    assert lines[ORG_ID]["role"] == "admin"
    assert lines[ORG_ID]["principal"].startswith("admin-")
    assert lines[ANON_ID]["status"] == 401 and "principal" not in lines[ANON_ID]


def test_an_unexpected_error_is_a_500_problem_that_keeps_the_request_id(runtime: Runtime) -> None:
    app = create_app(runtime)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    merge = [structlog.contextvars.merge_contextvars]
    with structlog.testing.capture_logs(merge) as logs, serve_app(app) as base_url:
        r = httpx.get(base_url + "/boom", headers={"X-Request-ID": BOOM_ID})
        again = httpx.get(base_url + "/healthz")
        request_lines(logs, {BOOM_ID})
    assert_problem(r, 500, "internal-error")
    assert r.headers["x-request-id"] == BOOM_ID
    assert again.status_code == 200
    failed = [e for e in logs if e["event"] == "request failed"]
    assert len(failed) == 1 and failed[0]["path"] == "/boom" and failed[0]["exc_info"]
    assert failed[0]["request_id"] == BOOM_ID


def test_tokens_are_verified_by_the_store_and_tracked_within_a_bound(runtime: Runtime) -> None:
    tokens = [runtime.tokens.create(Role.AUDITOR, f"auditor-{n}") for n in range(3)]
    store = TokenStore(runtime.db, cached=2)
    verifier = TokenVerifier(store)

    def verify(token: str) -> Actor | None:
        return asyncio.run(verifier.verify(token))

    for n, token in enumerate(tokens):
        assert verify(token) == Actor(f"auditor-{n}", Role.AUDITOR)
        assert store.remembered(token) == (True, Actor(f"auditor-{n}", Role.AUDITOR))
        assert verify(token) == Actor(f"auditor-{n}", Role.AUDITOR)  # now answered on the loop
    assert len(store) == 2
    assert verify("tb_unknown") is None and verify(tokens[0] + "x") is None
    assert len(store) == 2


def test_the_token_store_keeps_a_bounded_number_of_answers(runtime: Runtime) -> None:
    """Unknown tokens are remembered as unknown for a while, but a flood of them cannot grow
    the memory without bound; a known token is still answered after they push it out."""
    known = runtime.tokens.create(Role.AUDITOR, "auditor")
    store = TokenStore(runtime.db, cached=3)
    assert store.authenticate(known) == Actor("auditor", Role.AUDITOR)
    for n in range(10):
        assert store.authenticate(f"tb_unknown-{n}") is None
    assert len(store) == 3
    assert store.authenticate(known) == Actor("auditor", Role.AUDITOR)
    assert len(store) == 3
