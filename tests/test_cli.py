"""The `timebank` command line on real stores: in process with CliRunner, and `serve` as a
real subprocess."""

import io
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import segno
from typer.testing import CliRunner, Result

from entrypoints.cli import app
from ledger.commands.members import RegisterOrganisation, RegisterVolunteer
from ledger.context import Actor, Context, Role
from ledger.identity import DocumentType
from ledger.organisations import OrgKind
from tests.conftest import make_settings
from tests.http import ServeProcess
from timebank.checkpoints import load_signing_key
from timebank.runtime import Runtime

ADMIN = Context(Actor("test", Role.ADMIN), "cli-test", datetime.now(UTC))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/timebank.db"


def invoke(url: str, *args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"TIMEBANK_DATABASE_URL": url})


def seed_scopes(url: str) -> dict[str, uuid.UUID]:
    rt = Runtime(make_settings(url))
    try:
        run = rt.service.execute
        district = uuid.UUID(
            run(ADMIN, RegisterOrganisation("西湖区", OrgKind.DISTRICT)).body["id"]
        )
        venue = uuid.UUID(
            run(ADMIN, RegisterOrganisation("兑换点", OrgKind.VENUE, district)).body["id"]
        )
        volunteer = RegisterVolunteer(
            "张三",
            DocumentType.PASSPORT,
            "E12345678",
            "13812345678",
            "1980-01-01",
            False,
            (),
            district,
        )
        volunteer_id = uuid.UUID(run(ADMIN, volunteer).body["id"])
    finally:
        rt.close()
    return {"org": district, "venue": venue, "volunteer": volunteer_id}


def authenticate(url: str, token: str) -> Actor | None:
    rt = Runtime(make_settings(url))
    try:
        return rt.tokens.authenticate(token)
    finally:
        rt.close()


def test_db_upgrade_migrates_then_reports_up_to_date(sqlite_url: str) -> None:
    first = invoke(sqlite_url, "db", "upgrade")
    assert first.exit_code == 0, first.output
    assert "upgraded from empty to revision" in first.output
    assert "Event store: tables ready" in first.output
    again = invoke(sqlite_url, "db", "upgrade")
    assert again.exit_code == 0, again.output
    assert "already at revision" in again.output


def test_token_create_prints_a_token_that_authenticates(database_url: str) -> None:
    scopes = seed_scopes(database_url)
    cases = [
        (Role.ADMIN, None, None),
        (Role.AUDITOR, None, None),
        (Role.COORDINATOR, "--org", scopes["org"]),
        (Role.DESK, "--venue", scopes["venue"]),
        (Role.VOLUNTEER, "--volunteer", scopes["volunteer"]),
    ]
    for role, option, scope in cases:
        args = ["token", "create", "--role", role.value, "--name", f"{role.value}-1"]
        if option is not None:
            args += [option, str(scope)]
        result = invoke(database_url, *args)
        assert result.exit_code == 0, result.output
        token = result.output.strip().splitlines()[-1]
        assert token == result.stdout.strip(), "the token is alone on stdout"
        assert re.fullmatch(r"tb_[A-Za-z0-9_-]{20,}", token)
        assert authenticate(database_url, token) == Actor(f"{role.value}-1", role, scope)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "coordinator"], "needs --org"),
        (["--role", "desk"], "needs --venue"),
        (["--role", "volunteer", "--org", str(uuid.uuid4())], "needs --volunteer"),
        (["--role", "admin", "--org", str(uuid.uuid4())], "takes no scope"),
        (["--role", "system"], "unknown role"),
        (["--role", "boss"], "unknown role"),
        (["--role", "coordinator", "--org", str(uuid.uuid4())], "organisation-not-found"),
    ],
)
def test_token_create_refuses_bad_requests_with_exit_2(
    sqlite_url: str, args: list[str], message: str
) -> None:
    result = invoke(sqlite_url, "token", "create", "--name", "x", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def test_token_create_draws_the_token_as_a_qr_on_stderr_for_a_tablet(sqlite_url: str) -> None:
    scopes = seed_scopes(sqlite_url)
    args = ["token", "create", "--role", "coordinator", "--org", str(scopes["org"])]
    plain = invoke(sqlite_url, *args, "--name", "desk-pc")
    drawn = invoke(sqlite_url, *args, "--name", "tablet", "--qr")
    assert drawn.exit_code == 0, drawn.output
    token = drawn.stdout.strip()
    assert re.fullmatch(r"tb_[A-Za-z0-9_-]{20,}", token), "stdout stays the token alone"
    expected = io.StringIO()
    segno.make(token, error="m").terminal(out=expected, compact=True)
    assert expected.getvalue() in drawn.stderr  # the QR of this very token
    assert "\u2588" not in plain.stderr and "\u2580" not in plain.stderr  # only when asked


def test_token_create_refuses_a_desk_outside_a_venue_and_a_duplicate_name(
    sqlite_url: str,
) -> None:
    scopes = seed_scopes(sqlite_url)
    desk = invoke(sqlite_url, "token", "create", "--role", "desk", "--venue", str(scopes["org"]),
                  "--name", "d")  # fmt: skip
    assert desk.exit_code == 2 and "not a venue" in desk.stderr
    assert invoke(sqlite_url, "token", "create", "--role", "admin", "--name", "ops").exit_code == 0
    duplicate = invoke(sqlite_url, "token", "create", "--role", "admin", "--name", "ops")
    assert duplicate.exit_code == 2
    assert "already exists" in duplicate.stderr and "Traceback" not in duplicate.output


def test_projections_status_shows_lag_and_rebuild_replaces_the_view(sqlite_url: str) -> None:
    seed_scopes(sqlite_url)
    rt = Runtime(make_settings(sqlite_url))
    head = rt.runner.head()
    rt.close()
    assert head > 0

    status = invoke(sqlite_url, "projections", "status")
    assert status.exit_code == 0, status.output
    assert re.search(rf"^balances\s+0\s+{head}\s+{head}  following$", status.output, re.M), (
        status.output
    )
    assert f"log head: {head}" in status.output
    assert re.search(rf"^log tree\s+0\s+{head}\s+{head}  following$", status.output, re.M)

    rt = Runtime(make_settings(sqlite_url))
    rt.log_tree.catch_up()
    rt.log_tree.sign_checkpoint()
    rt.close()
    signed = invoke(sqlite_url, "projections", "status")
    assert re.search(rf"^log tree\s+{head}\s+{head}\s+0  following$", signed.output, re.M)
    assert f"log tree: {head} leaves, the latest checkpoint signs {head}" in signed.output

    rebuild = invoke(sqlite_url, "projections", "rebuild", "balances")
    assert rebuild.exit_code == 0, rebuild.output
    assert f"balances: rebuilt to position {head}" in rebuild.output
    after = invoke(sqlite_url, "projections", "status")
    assert re.search(rf"^balances\s+{head}\s+{head}\s+0  following$", after.output, re.M), (
        after.output
    )

    unknown = invoke(sqlite_url, "projections", "rebuild", "nope")
    assert unknown.exit_code == 2 and "unknown projection" in unknown.stderr


# serve ---------------------------------------------------------------------------------------


@pytest.fixture
def servers() -> Iterator[list[ServeProcess]]:
    started: list[ServeProcess] = []
    yield started
    for server in started:
        server.stop()


def test_serve_demo_seeds_once_and_prints_a_working_admin_token(
    tmp_path: Path, sqlite_url: str, servers: list[ServeProcess]
) -> None:
    first = ServeProcess(sqlite_url, tmp_path, "--demo")
    servers.append(first)
    first.wait_healthy()
    token = first.find(r"Admin token \(demo-admin-1\): (tb_\S+)")
    district = first.find(r"Demo district \S+: ([0-9a-f-]{36})")
    first.find(re.escape(f"{first.base}/docs"))
    headers = {"Authorization": f"Bearer {token[1]}"}
    org = httpx.get(f"{first.base}/v1/organisations/{district[1]}", headers=headers, timeout=10)
    assert org.status_code == 200, org.text
    assert org.json()["name"] == "西湖区"
    first.stop()

    # A second start finds the town already there and still hands out a new admin token.
    second = ServeProcess(sqlite_url, tmp_path, "--demo")
    servers.append(second)
    second.wait_healthy()
    again = second.find(r"Admin token \(demo-admin-2\): (tb_\S+)")
    assert again[1] != token[1]
    second.find("already has events")
    headers = {"Authorization": f"Bearer {again[1]}"}
    org = httpx.get(f"{second.base}/v1/organisations/{district[1]}", headers=headers, timeout=10)
    assert org.status_code == 200, org.text


def test_serve_with_workers_refuses_sqlite_before_starting(sqlite_url: str) -> None:
    result = invoke(sqlite_url, "serve", "--workers", "1")
    assert result.exit_code == 2, result.output
    assert "needs PostgreSQL" in result.stderr and "Traceback" not in result.output
    negative = invoke(sqlite_url, "serve", "--workers", "-1")
    assert negative.exit_code == 2 and "Traceback" not in negative.output


def json_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_serve_logs_a_json_line_per_request_at_its_level(
    tmp_path: Path, sqlite_url: str, servers: list[ServeProcess]
) -> None:
    server = ServeProcess(sqlite_url, tmp_path)
    servers.append(server)
    server.wait_healthy()
    r = httpx.get(
        f"{server.base}/healthz",
        headers={"X-Request-ID": "5b0a1c2e-0000-4000-8000-00000000001a"},
        timeout=10,
    )
    assert r.headers["x-request-id"] == "5b0a1c2e-0000-4000-8000-00000000001a"
    server.find('"5b0a1c2e-0000-4000-8000-00000000001a"')
    server.stop()
    lines = json_lines(server.output)
    request = next(
        line for line in lines if line.get("request_id") == "5b0a1c2e-0000-4000-8000-00000000001a"
    )
    assert request["event"] == "request" and request["logger"] == "timebank.http"
    assert (request["level"], request["method"], request["path"]) == ("info", "GET", "/healthz")
    assert request["status"] == 200 and "timestamp" in request
    started = next(line for line in lines if line["event"].startswith("Started server process"))
    assert (started["logger"], started["level"]) == ("uvicorn.error", "info")

    quiet = ServeProcess(sqlite_url, tmp_path, TIMEBANK_LOG_LEVEL="warning")
    servers.append(quiet)
    quiet.wait_healthy()
    httpx.get(
        f"{quiet.base}/healthz",
        headers={"X-Request-ID": "5b0a1c2e-0000-4000-8000-00000000002b"},
        timeout=10,
    )
    quiet.stop()
    assert "5b0a1c2e-0000-4000-8000-00000000002b" not in quiet.output and not json_lines(
        quiet.output
    )


def test_a_database_url_that_is_not_a_url_is_refused_with_exit_2() -> None:
    result = invoke("not a url", "db", "upgrade")
    assert result.exit_code == 2, result.output
    assert "TIMEBANK_DATABASE_URL is not a URL" in result.stderr
    assert "Traceback" not in result.output


def test_commands_started_together_on_a_new_store_all_succeed(database_url: str) -> None:
    """Each command brings the schema up to date when it opens the store; two at once on a
    new store must not trip over each other (they take turns under the schema lock)."""
    env = {**os.environ, "TIMEBANK_DATABASE_URL": database_url}
    commands = [
        [sys.executable, "-m", "entrypoints.cli", "token", "create", "--role", "admin", "--name", n]
        for n in ("first", "second")
    ] + [[sys.executable, "-m", "entrypoints.cli", "db", "upgrade"]]
    running = [
        subprocess.Popen(c, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for c in commands
    ]
    for process in running:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    listed = invoke(database_url, "projections", "status")
    assert listed.exit_code == 0, listed.output


def test_keys_create_writes_a_private_key_and_prints_its_verifier_key(tmp_path: Path) -> None:
    path = tmp_path / "signing.key"
    result = CliRunner().invoke(
        app, ["keys", "create", str(path)], env={"TIMEBANK_LOG_ORIGIN": "town.test/log"}
    )
    assert result.exit_code == 0, result.output
    name, key_id, encoded = result.output.strip().split("+", 2)  # base64 may hold a "+"
    assert name == "town.test/log" and len(bytes.fromhex(key_id)) == 4
    assert os.stat(path).st_mode & 0o777 == 0o600
    settings = make_settings(
        f"sqlite:///{tmp_path}/t.db", signing_key_file=path, log_origin="town.test/log"
    )
    key, generated = load_signing_key(settings)
    assert not generated and key.verifier_key == f"{name}+{key_id}+{encoded}"
    again = CliRunner().invoke(app, ["keys", "create", str(path)])
    assert again.exit_code == 2 and "never overwritten" in again.output
