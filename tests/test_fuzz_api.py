"""Schemathesis against the served OpenAPI, with real ids, on SQLite and on PostgreSQL.

The real app is served over HTTP (uvicorn on a loopback port, as tests/http.py does) on a
store of its own, and a small world is seeded through the API: organisations (district,
street, teams, venue), volunteers, a family link, activities with signups in every state
(accepted, waitlisted, cancelled, checked in, checked out, verified), a completed activity,
a reward with redemptions reserved, handed out and cancelled, a gift, back-fills submitted
and approved, disputes open and resolved, a training, an evaluation, commendations in notice
and objected to.

Schemathesis (its CLI, in a subprocess, with the configuration this module writes) then
tests every operation of /openapi.json as one role at a time: an admin, a coordinator of the
district, a volunteer. Every id parameter (path, query and body field) is drawn from the real
ids of its kind nine times in ten (schemathesis' dictionaries), so that requests reach the
handlers instead of stopping at 404; `min_position` only takes positions the read models have
reached (a later one is a documented 503, which GETs may answer); volunteer numbers, periods
and codes are real too. tests/fuzz_hooks.py now and then puts an integer beyond 64 bits in a
body. The checks: no 5xx, every status code documented, every body valid against the
documented schema, every content type the documented one; and after each run every read
model has followed the log to its head (a value the API accepted but a read model cannot
hold stops it).

Bounded: the fuzzing phase runs `MAX_EXAMPLES` cases per operation and role, derandomized
(schemathesis' deterministic mode); the coverage phase (every boundary and negative case the
schema defines, about 2,300 requests whatever the role) runs once, as the admin on SQLite: it
tests request validation, which does not depend on the store. About two minutes in all.
TIMEBANK_FUZZ_EXAMPLES and TIMEBANK_FUZZ_CHECKS (e.g. `all`, which adds
positive_data_acceptance: constraints the API keeps but the schema does not document) widen
a run by hand.
"""

import base64
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ledger.context import Role
from tests.conftest import PG_SERVER, make_settings
from tests.http import SERVER_PROCESSES, Api, Town, serve
from timebank.runtime import Runtime

pytestmark = SERVER_PROCESSES

ROOT = Path(__file__).resolve().parents[1]
MAX_EXAMPLES = int(os.environ.get("TIMEBANK_FUZZ_EXAMPLES", "5"))
RUN_TIMEOUT = 300  # seconds: a hung run fails instead of holding CI
# TIMEBANK_FUZZ_CHECKS=all (less those that need several tokens) also reports documented
# constraints the API does not keep and the reverse (positive_data_acceptance and friends).
CHECKS = os.environ.get(
    "TIMEBANK_FUZZ_CHECKS",
    "not_a_server_error,status_code_conformance,response_schema_conformance,"
    "content_type_conformance",
)
EXCLUDED_CHECKS = "ignored_auth,object_level_authorization,response_headers_conformance"
# Share of generated values of an id parameter that are drawn from the real ids.
REAL_ID_PROBABILITY = 0.9
ROLES = ("admin", "coordinator", "volunteer")
COVERAGE = ("sqlite", "admin")  # the one run that also goes through the coverage phase
# A read given a min_position the read models have not reached waits this long, then answers
# 503 (documented): the fuzzer's positions beyond the log are answered quickly.
READ_WAIT = 0.1


# The world -----------------------------------------------------------------------------------


@dataclass
class World:
    """The ids the fuzzer draws from, by kind, and a token per role."""

    ids: dict[str, list[str]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    head: int = 0

    def add(self, kind: str, value: str) -> str:
        self.ids.setdefault(kind, []).append(value)
        return value


def post(client: Api, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    r = client.post(path, body)
    assert r.status_code == status, f"POST {path}: {r.status_code} {r.text}"
    return dict(r.json())


def created(client: Api, path: str, body: dict[str, Any]) -> dict[str, Any]:
    return post(client, path, body, 201)


def ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


def seed(town: Town) -> World:
    world = World()
    admin = town.admin
    now = datetime.now(UTC)
    for org in (town.district, town.street, town.team, town.venue):
        world.add("org", org)
    body = {"name": "二队", "kind": "team", "parent_id": town.street, "population": 300}
    second_team = world.add("org", created(admin, "/v1/organisations", body)["id"])
    volunteers = [town.volunteer(name=f"志愿者{n}") for n in range(5)]
    volunteers.append(town.volunteer(second_team, name="王五"))
    for v in volunteers:
        world.add("volunteer", v)
        world.add("number", admin.get(f"/v1/volunteers/{v}").json()["volunteer_number"])
    v1, v2, v3, v4, v5, v6 = volunteers
    created(admin, f"/v1/volunteers/{v1}/family-links", {"relative_id": v2, "relation": "spouse"})

    # Activities and signups in every state.
    served = town.activity(capacity=4)
    world.add("activity", served["id"])
    world.add("code", served["check_in_code"])
    signups: dict[str, str] = {}
    for state, v in (("verified", v1), ("checked_out", v2), ("checked_in", v3), ("accepted", v4)):
        path = f"/v1/activities/{served['id']}/signups"
        signups[state] = world.add("signup", created(admin, path, {"volunteer_id": v})["id"])
    path = f"/v1/activities/{served['id']}/signups"
    waitlisted = created(admin, path, {"volunteer_id": v5})
    assert waitlisted["status"] == "waitlisted"
    world.add("signup", waitlisted["id"])
    start = now - timedelta(minutes=100)
    for state in ("verified", "checked_out", "checked_in"):
        post(admin, f"/v1/signups/{signups[state]}/check-in", {"at": start.isoformat()})
    for state in ("verified", "checked_out"):
        end = (start + timedelta(minutes=90)).isoformat()
        post(admin, f"/v1/signups/{signups[state]}/check-out", {"at": end})
    post(admin, f"/v1/signups/{signups['verified']}/verify", {"decision": "approve"})
    tomorrow = town.activity(
        capacity=2, starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=1, hours=2)
    )
    world.add("activity", tomorrow["id"])
    path = f"/v1/activities/{tomorrow['id']}/signups"
    cancelled = world.add("signup", created(admin, path, {"volunteer_id": v6})["id"])
    post(admin, f"/v1/signups/{cancelled}/cancel", {"reason": "cannot come"})
    completed = town.activity(starts_at=now - timedelta(days=2), ends_at=now - timedelta(hours=46))
    world.add("activity", completed["id"])
    post(admin, f"/v1/activities/{completed['id']}/complete", {"beneficiaries": 12})
    town.earn(v6, 300)

    # Credits moving: a gift, a reward, redemptions in every state.
    body = {"from_volunteer_id": v1, "to_volunteer_id": v2, "minutes": 10, "kind": "gift"}
    created(admin, "/v1/transfers", body | {"memo": "生日"})
    body = {"venue_id": town.venue, "name": "大米", "cost_minutes": 5, "stock": 50}
    reward = world.add("reward", created(admin, "/v1/rewards", body)["id"])
    for then in ("reserved", "fulfilled", "cancelled"):
        body = {"volunteer_id": v6, "reward_id": reward, "quantity": 1}
        redemption = created(admin, "/v1/redemptions", body)
        rid = world.add("redemption", redemption["id"])
        world.add("code", redemption["code"])
        if then == "fulfilled":
            post(admin, f"/v1/redemptions/{rid}/fulfil", {"code": redemption["code"]})
        elif then == "cancelled":
            post(admin, f"/v1/redemptions/{rid}/cancel", {"reason": "不要了"})

    # Corrections: back-fills submitted and approved (by a second coordinator), disputes.
    maker = town.client(Role.COORDINATOR, town.district)
    checker = town.client(Role.COORDINATOR, town.district)

    def backfill(hours: int, category: str, approve: bool) -> str:
        body = {
            "volunteer_id": v4,
            "org_id": town.team,
            "category": category,
            "started_at": ago(hours=hours),
            "ended_at": ago(hours=hours - 1),
            "description": "补录",
            "evidence": ["签到表.jpg"],
        }
        backfill = world.add("backfill", created(maker, "/v1/backfills", body)["id"])
        if approve:
            post(checker, f"/v1/backfills/{backfill}/approve", {})
            world.add("record", backfill)
        return backfill

    backfill(30, "elder_care", approve=False)
    backfill(40, "elder_care", approve=True)
    corrected = backfill(60, "health", approve=True)
    world.add("record", signups["verified"])
    me = town.client(Role.VOLUNTEER, v1)
    body = {"record_id": signups["verified"], "reason": "少了"}
    world.add("dispute", created(me, "/v1/disputes", body)["id"])
    body = {"record_id": corrected, "reason": "多了"}
    resolved = world.add("dispute", created(maker, "/v1/disputes", body)["id"])
    body = {"decision": "correct", "minutes": 40, "reason": "核实"}
    post(checker, f"/v1/disputes/{resolved}/resolve", body)

    # Recognition: a training, an evaluation, commendations in notice and objected to.
    body = {
        "org_id": town.team,
        "title": "急救培训",
        "held_at": ago(days=3),
        "minutes": 90,
        "volunteer_ids": [v1, v2],
    }
    world.add("training", created(admin, "/v1/trainings", body)["id"])
    body = {"signup_id": signups["verified"], "score": 5, "by": "organiser", "comment": "认真"}
    world.add("evaluation", created(admin, "/v1/evaluations", body)["id"])
    for v in (v1, v6):
        body = {"volunteer_id": v, "org_id": town.team, "title": "优秀志愿者", "reason": "表现突出"}
        world.add("award", created(admin, "/v1/commendations", body)["id"])
    created(me, "/v1/objections", {"award_id": world.ids["award"][-1], "reason": "有异议"})
    # A certificate of v1's service: its id, and its number beside the volunteer numbers.
    today = datetime.now(UTC).date()
    body = {
        "volunteer_id": v1,
        "org_id": town.team,
        "from": (today - timedelta(days=30)).isoformat(),
        "to": (today + timedelta(days=1)).isoformat(),
    }
    certificate = created(admin, "/v1/certificates", body)
    world.add("certificate", certificate["id"])
    world.add("number", certificate["number"])

    world.ids["period"] = [f"{now:%Y}", f"{now:%Y-%m}", "campaign:学雷锋"]
    world.head = town.rt.runner.head()
    town.rt.runner.catch_up()
    world.tokens = {
        "admin": token(town, Role.ADMIN),
        "coordinator": token(town, Role.COORDINATOR, town.district),
        "volunteer": token(town, Role.VOLUNTEER, v1),
    }
    return world


def token(town: Town, role: Role, scope: str | None = None) -> str:
    return town.rt.tokens.create(
        role, f"fuzz-{role.value}-{uuid.uuid4().hex[:6]}", uuid.UUID(scope) if scope else None
    )


# The store and the server, one per module and store --------------------------------------------


@dataclass
class Served:
    store: str
    base_url: str
    world: World
    rt: Runtime


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    name = f"timebank_test_{uuid.uuid4().hex[:12]}"
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('fuzz')}/timebank.db"
    else:
        with psycopg.connect(PG_SERVER, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"{PG_SERVER.rsplit('/', 1)[0]}/{name}"
    rt = Runtime(make_settings(url, read_wait_seconds=READ_WAIT))
    try:
        rt.start()
        with serve(rt) as base_url:
            town = Town(rt, base_url)
            yield Served(request.param, base_url, seed(town), rt)
    finally:
        rt.close()
        if request.param == "postgres":
            with psycopg.connect(PG_SERVER, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# The configuration ----------------------------------------------------------------------------

# Which dictionary each parameter draws from: path and query parameters by name, body fields by
# their path (`[*]` for every item of a list).
BINDINGS = {
    "volunteer_id": "volunteer",
    "body.volunteer_id": "volunteer",
    "body.from_volunteer_id": "volunteer",
    "body.to_volunteer_id": "volunteer",
    "body.relative_id": "volunteer",
    "body.volunteer_ids[*]": "volunteer",
    "org_id": "org",
    "body.org_id": "org",
    "body.to_org_id": "org",
    "body.parent_id": "org",
    "body.home_org_id": "org",
    "body.venue_id": "org",
    "activity_id": "activity",
    "body.activity_id": "activity",
    "signup_id": "signup",
    "body.signup_id": "signup",
    "body.record_id": "record",
    "reward_id": "reward",
    "body.reward_id": "reward",
    "redemption_id": "redemption",
    "backfill_id": "backfill",
    "dispute_id": "dispute",
    "training_id": "training",
    "evaluation_id": "evaluation",
    "award_id": "award",
    "body.award_id": "award",
    "certificate_id": "certificate",
    "body.code": "code",
    "number": "number",
    "period": "period",
}


def toml_value(value: Any) -> str:
    """JSON's strings, numbers and arrays are TOML's too."""
    return json.dumps(value, ensure_ascii=False)


def config(world: World, role: str) -> str:
    lines = [f"headers = {{ Authorization = {toml_value('Bearer ' + world.tokens[role])} }}", ""]
    lines.append("[parameters]")
    for key, kind in BINDINGS.items():
        lines.append(
            f"{toml_value(key)} = {{ dictionary = {toml_value(kind)}, "
            f"probability = {REAL_ID_PROBABILITY} }}"
        )
    # Read-your-writes waits: only positions the read models have reached (a later one waits,
    # then answers 503 by design).
    lines.append('"min_position" = { dictionary = "position", probability = 1.0 }')
    lines.append("")
    # ... and a position beyond the log (a negative case may carry one) is a documented 503.
    lines.append("[[operations]]")
    lines.append('include-method = "GET"')
    lines.append('checks.not_a_server_error.expected-statuses = ["2xx", "3xx", "4xx", "503"]')
    lines.append("")
    # The coverage phase's requests with undocumented methods all meet the same 405 handler.
    lines.append("[phases.coverage]")
    lines.append("unexpected-methods = []")
    lines.append("")
    dictionaries = world.ids | {"position": [0, 1, world.head]}
    for kind, values in sorted(dictionaries.items()):
        lines.append(f"[dictionaries.{kind}]")
        lines.append(f"values = {toml_value(values)}")
        lines.append("")
    return "\n".join(lines)


# The run -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    operation: str
    check: str
    title: str
    message: str
    request: str  # what was sent: method, URL and body
    status: int | None
    response: str  # the problem's code and detail, or the start of the body

    @property
    def key(self) -> tuple[str, str, str, str]:
        """Distinct failures: by operation, check, and what the answer or the check says."""
        return (self.operation, self.check, self.title, self.response or self.message)

    def __str__(self) -> str:
        return (
            f"{self.operation} [{self.check}] {self.title}\n"
            f"      sent:     {self.request[:600]}\n"
            f"      answered: {self.status} {self.response[:400]}"
            + (f"\n      check:    {self.message[:400]}" if self.message else "")
        )


class FuzzFindings(AssertionError):
    """Schemathesis found failures (and the harness itself worked)."""


def run_schemathesis(served: Served, role: str, directory: Path) -> tuple[list[Failure], str]:
    (directory / "schemathesis.toml").write_text(config(served.world, role))
    report = directory / "events.ndjson"
    command = [
        sys.executable, "-m", "schemathesis.cli",
        "--config-file", str(directory / "schemathesis.toml"),
        "run", f"{served.base_url}/openapi.json",
        "--checks", CHECKS,
        *(["--exclude-checks", EXCLUDED_CHECKS] if CHECKS == "all" else []),
        "--max-examples", str(MAX_EXAMPLES),
        "--generation-deterministic",
        "--continue-on-failure",
        "--phases", "coverage,fuzzing" if (served.store, role) == COVERAGE else "fuzzing",
        "--workers", "1",
        "--request-timeout", "10",
        "--report", "ndjson", "--report-ndjson-path", str(report),
        "--no-color",
    ]  # fmt: skip
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
        cwd=directory,
        env=os.environ | {"SCHEMATHESIS_HOOKS": "tests.fuzz_hooks", "PYTHONPATH": str(ROOT)},
    )
    output = done.stdout + done.stderr
    (directory / "schemathesis.out").write_text(output)
    if done.returncode not in (0, 1) or not report.exists():
        pytest.fail(f"schemathesis ended with {done.returncode}:\n{output[-5000:]}")
    return failures_in(report), output


def failures_in(report: Path) -> list[Failure]:
    """The distinct failures in the run's events (see `Failure.key`)."""
    found: dict[tuple[str, str, str, str], Failure] = {}
    for line in report.read_text().splitlines():
        scenario = json.loads(line).get("ScenarioFinished")
        if scenario is None:
            continue
        recorder = scenario["recorder"]
        for case_id, checks in recorder.get("checks", {}).items():
            for check in checks:
                if check.get("status") != "failure":
                    continue
                failure = (check.get("failure_info") or {}).get("failure") or {}
                interaction = recorder.get("interactions", {}).get(case_id) or {}
                response = interaction.get("response") or {}
                found_one = Failure(
                    operation=str(recorder.get("label", "?")),
                    check=str(check.get("name", "?")),
                    title=str(failure.get("title", "?")),
                    message=str(failure.get("message", "")).strip(),
                    request=describe_request(interaction.get("request") or {}),
                    status=response.get("status_code"),
                    response=describe_response(response),
                )
                found.setdefault(found_one.key, found_one)
    return sorted(found.values(), key=lambda f: f.key)


def _text(payload: Any) -> str:
    if isinstance(payload, dict) and "$base64" in payload:
        return base64.b64decode(payload["$base64"]).decode(errors="replace")
    return "" if payload is None else str(payload)


def describe_request(request: dict[str, Any]) -> str:
    body = _text(request.get("body"))
    text = f"{request.get('method', '?')} {request.get('uri', '?')}"
    return f"{text} {body}" if body else text


def describe_response(response: dict[str, Any]) -> str:
    """A problem's code, its fields in error and its detail; else the start of the body."""
    text = _text(response.get("content") or response.get("body"))
    try:
        problem = json.loads(text)
    except ValueError:
        return text[:200]
    if not isinstance(problem, dict) or "code" not in problem:
        return text[:200]
    fields = sorted({".".join(map(str, e["location"])) for e in problem.get("errors", [])})
    where = f" {fields}" if fields else ""
    return f"{problem['code']}{where}: {problem.get('detail', '')}"


def wait_until_caught_up(rt: Runtime, timeout: float = 10) -> None:
    """The read models follow the log to its head: none stopped on what the fuzzer wrote."""
    head = rt.runner.head()
    deadline = time.monotonic() + timeout
    while min((positions := rt.runner.read_positions()).values()) < head:
        if time.monotonic() > deadline:
            raise FuzzFindings(
                f"the read models stopped short of the log's head {head}: {positions}"
            )
        time.sleep(0.05)


@pytest.mark.parametrize("role", ROLES)
def test_schemathesis_finds_nothing(served: Served, role: str, tmp_path: Path) -> None:
    started = time.monotonic()
    failures, output = run_schemathesis(served, role, tmp_path)
    elapsed = time.monotonic() - started
    print(f"{served.store} as {role}: {len(failures)} distinct failures in {elapsed:.1f} s")
    print(output[output.rfind("SUMMARY") :] if "SUMMARY" in output else output[-3000:])
    if failures:
        raise FuzzFindings(f"{len(failures)} distinct failures:\n" + "\n".join(map(str, failures)))
    wait_until_caught_up(served.rt)
