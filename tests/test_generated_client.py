"""A client generated from the OpenAPI document by openapi-python-client works as generated:
the real app is served, its /openapi.json turned into a Python package in a temporary
folder, and a short real flow runs through the typed client alone (on SQLite and on
PostgreSQL), from registering an organisation to handing a reward out."""

import importlib
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http import HTTPStatus
from types import ModuleType
from typing import Any
from uuid import UUID

import httpx
import pytest

from ledger.context import Role
from tests.conftest import make_settings
from tests.http import serve
from timebank.runtime import Runtime

PACKAGE = "timebank_client"
# No post hooks: formatting the generated code would only cost time. A certificate's PDF is
# bytes to a client, as the generator reads application/octet-stream.
CONFIG = (
    f"package_name_override: {PACKAGE}\npost_hooks: []\n"
    "content_type_overrides:\n  application/pdf: application/octet-stream\n"
)
GENERATE_SECONDS = 60  # about 3 s here
REQUEST_SECONDS = 10


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The package generated from the document the real app serves, imported."""
    folder = tmp_path_factory.mktemp("client")
    rt = Runtime(make_settings(f"sqlite:///{folder}/openapi.db"))
    try:
        with serve(rt) as base_url:
            document = httpx.get(f"{base_url}/openapi.json", timeout=REQUEST_SECONDS)
    finally:
        rt.close()
    assert document.status_code == 200, document.text
    (folder / "openapi.json").write_bytes(document.content)
    (folder / "config.yml").write_text(CONFIG)
    started = time.monotonic()
    generate = ["--path", str(folder / "openapi.json"), "--output-path", str(folder / PACKAGE)]
    options = ["--meta", "none", "--config", str(folder / "config.yml")]
    done = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", *generate, *options],
        capture_output=True,
        text=True,
        timeout=GENERATE_SECONDS,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    # it names what it could not generate (an operation, a model) as a warning
    assert "Warning" not in output, output
    print(f"client generated in {time.monotonic() - started:.1f} s")
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


class Generated:
    """The generated package: its models and its operations, by tag and operation."""

    def __init__(self, package: ModuleType, base_url: str) -> None:
        self.package = package
        self.base_url = base_url
        self.models = importlib.import_module(f"{PACKAGE}.models")

    def op(self, tag: str, name: str) -> Any:
        return importlib.import_module(f"{PACKAGE}.api.{tag}.{name}")

    def client(self, token: str) -> Any:
        return self.package.AuthenticatedClient(
            base_url=self.base_url,
            token=token,
            timeout=httpx.Timeout(REQUEST_SECONDS),
            raise_on_unexpected_status=True,
        )


def token(rt: Runtime, role: Role, scope: UUID | None = None) -> str:
    return rt.tokens.create(role, f"{role.value}-{uuid.uuid4().hex[:8]}", scope)


def test_a_generated_client_runs_a_whole_flow(runtime: Runtime, generated: ModuleType) -> None:
    runtime.start()
    with serve(runtime) as base_url:
        run_flow(runtime, Generated(generated, base_url))


def run_flow(rt: Runtime, gen: Generated) -> None:
    m, op = gen.models, gen.op
    admin = gen.client(token(rt, Role.ADMIN))

    # an admin registers a district, a team below it, a venue and a volunteer
    made = op("organisations", "register_organisation").sync_detailed(
        client=admin, body=m.OrganisationIn(name="区", kind=m.OrgKind.DISTRICT)
    )
    assert made.status_code == HTTPStatus.CREATED
    district = made.parsed
    assert isinstance(district, m.CreatedOut) and isinstance(district.id, UUID)
    assert made.headers["location"] == f"/v1/organisations/{district.id}"
    register_org = op("organisations", "register_organisation").sync
    team = register_org(
        client=admin,
        body=m.OrganisationIn(name="服务队", kind=m.OrgKind.TEAM, parent_id=district.id),
    ).id
    venue = register_org(
        client=admin,
        body=m.OrganisationIn(name="兑换点", kind=m.OrgKind.VENUE, parent_id=district.id),
    ).id
    org = op("organisations", "get_organisation").sync(org_id=team, client=admin)
    assert isinstance(org, m.OrganisationOut) and org.kind is m.OrgKind.TEAM
    assert org.path == [district.id, team] and org.population is None
    registered = op("volunteers", "register_volunteer").sync(
        client=admin,
        body=m.VolunteerIn(
            name="李四",
            id_document=m.IdDocument(type_=m.DocumentType.PASSPORT, number=uuid.uuid4().hex[:12]),
            phone="13900001111",
            birth_date=date(1980, 5, 6),
            home_org_id=team,
        ),
        idempotency_key="register-li-si",
    )
    assert isinstance(registered, m.VolunteerCreatedOut) and registered.volunteer_number
    volunteer_id = registered.id

    # a coordinator of the team publishes an activity
    coordinator = gen.client(token(rt, Role.COORDINATOR, team))
    volunteer = gen.client(token(rt, Role.VOLUNTEER, volunteer_id))
    now = datetime.now(UTC)

    def publish(title: str) -> Any:
        published = op("activities", "publish_activity").sync(
            client=coordinator,
            body=m.ActivityIn(
                org_id=team,
                title=title,
                category=m.Category.ELDER_CARE,
                starts_at=now - timedelta(hours=2),
                ends_at=now + timedelta(hours=1),
                capacity=10,
            ),
        )
        assert isinstance(published, m.ActivityCreatedOut), published
        return published

    activity = publish("陪伴老人")

    # the volunteer signs up, checks in with the code (a body) and out (also a body)
    signup = op("signups", "sign_up").sync(
        activity_id=activity.id, client=volunteer, body=m.SignupIn(volunteer_id=volunteer_id)
    )
    assert isinstance(signup, m.SignupOut) and signup.status is m.SignupStatus.ACCEPTED
    checked_in = op("signups", "check_in").sync(
        signup_id=signup.id,
        client=volunteer,
        body=m.AttendanceIn(code=activity.check_in_code),
    )
    assert isinstance(checked_in, m.CheckInOut), checked_in
    assert checked_in.status is m.SignupStatus.CHECKED_IN
    assert checked_in.time_given_by_coordinator is False  # the server's clock
    checked_out = op("signups", "check_out").sync(
        signup_id=signup.id,
        client=volunteer,
        body=m.AttendanceIn(code=activity.check_in_code),
    )
    assert isinstance(checked_out, m.CheckOutOut) and checked_out.minutes == 0, checked_out

    # on the volunteer's behalf the coordinator checks in and out of another with no body,
    # and cancels a third signup with no body
    other = publish("助老服务")
    second = op("signups", "sign_up").sync(
        activity_id=other.id, client=coordinator, body=m.SignupIn(volunteer_id=volunteer_id)
    )
    present = op("signups", "check_in").sync(signup_id=second.id, client=coordinator)
    assert isinstance(present, m.CheckInOut) and present.status is m.SignupStatus.CHECKED_IN
    left = op("signups", "check_out").sync(signup_id=second.id, client=coordinator)
    assert isinstance(left, m.CheckOutOut) and left.status is m.SignupStatus.CHECKED_OUT
    third = op("signups", "sign_up").sync(
        activity_id=publish("社区清洁").id,
        client=coordinator,
        body=m.SignupIn(volunteer_id=volunteer_id),
    )
    cancelled = op("signups", "cancel_signup").sync(signup_id=third.id, client=coordinator)
    assert isinstance(cancelled, m.SignupOut) and cancelled.status is m.SignupStatus.CANCELLED

    # the coordinator verifies the first (the hour the volunteer served, by an adjustment:
    # they checked in and out just now); a back-fill is approved (no body) by a second person
    verified = op("signups", "verify_signup").sync(
        signup_id=signup.id,
        client=coordinator,
        body=m.VerifyIn(decision=m.Decision.ADJUST, minutes=60, reason="签到晚了"),
    )
    assert isinstance(verified, m.VerificationOut), verified
    assert (verified.status, verified.credited_minutes) == (m.SignupStatus.VERIFIED, 60)
    yesterday = now - timedelta(days=1)
    backfill = op("backfills", "submit_backfill").sync(
        client=coordinator,
        body=m.BackfillIn(
            volunteer_id=volunteer_id,
            org_id=team,
            category=m.Category.HEALTH,
            started_at=yesterday,
            ended_at=yesterday + timedelta(minutes=45),
            description="义诊",
        ),
    )
    assert (
        isinstance(backfill, m.BackfillStateOut) and backfill.status is m.BackfillStatus.SUBMITTED
    )
    approved = op("backfills", "approve_backfill").sync(backfill_id=backfill.id, client=admin)
    assert isinstance(approved, m.BackfillStateOut), approved
    assert (approved.status, approved.credited_minutes) == (m.BackfillStatus.APPROVED, 45)
    assert isinstance(approved.position, int)

    # the volunteer reads their balance as of their last credit
    account = op("accounts", "get_account").sync(
        volunteer_id=volunteer_id, client=volunteer, min_position=approved.position
    )
    assert isinstance(account, m.AccountOut), account
    assert (account.available_minutes, account.service_minutes) == (105, 105)

    # a reward at the venue, reserved by the volunteer and handed out by the venue's desk
    reward = op("rewards", "list_reward").sync(
        client=admin, body=m.RewardIn(venue_id=venue, name="理发券", cost_minutes=30, stock=5)
    )
    assert isinstance(reward, m.CreatedOut), reward
    reserved = op("redemptions", "redeem").sync(
        client=volunteer, body=m.RedemptionIn(volunteer_id=volunteer_id, reward_id=reward.id)
    )
    assert isinstance(reserved, m.ReservationOut), reserved
    assert reserved.status is m.RedemptionStatus.RESERVED and reserved.code
    assert reserved.expires_at > now and reserved.minutes == 30
    desk = gen.client(token(rt, Role.DESK, venue))
    fulfil = op("redemptions", "fulfil_redemption").sync
    handed = fulfil(redemption_id=reserved.id, client=desk, body=m.FulfilIn(code=reserved.code))
    assert isinstance(handed, m.FulfilmentOut), handed
    assert (handed.status, handed.minutes) == (m.RedemptionStatus.FULFILLED, 30)

    # a refusal comes back as the problem model
    again = fulfil(redemption_id=reserved.id, client=desk, body=m.FulfilIn(code=reserved.code))
    assert isinstance(again, m.ProblemOut), again
    assert (again.status, again.code) == (409, "redemption-fulfilled")
    assert again.type_ == "urn:timebank:problem:redemption-fulfilled"
    missing = op("volunteers", "get_volunteer").sync(volunteer_id=uuid.uuid4(), client=volunteer)
    assert isinstance(missing, m.ProblemOut) and missing.status == 404, missing

    # the organisation report as CSV
    report = op("reports", "get_organisation_report_csv").sync(
        org_id=team, client=coordinator, period=str(now.year), min_position=handed.position
    )
    # with the byte-order mark that spreadsheet programs need to read it as UTF-8
    assert isinstance(report, str) and report.startswith("\ufeffsection,key,value"), report
