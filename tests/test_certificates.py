"""Certificates of service over HTTP, on both stores: what one holds, who may issue and
read it, the public check, superseded after a correction, the service record, erasure, and
the bundle whose proofs check against a signed checkpoint."""

import base64
import hashlib
import json
import struct
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from ledger import bounds
from ledger.certificates import (
    ALPHABET,
    Certificate,
    Holder,
    Period,
    ServiceLine,
    certificate_content,
    certificate_id,
    new_number,
    normalise_number,
)
from ledger.commands.members import RegisterOrganisation
from ledger.context import Actor, Context, Role
from ledger.errors import Invalid
from ledger.organisations import OrgKind
from ledger.volunteers import ERASED
from tests.http import Api, Town
from timebank import merkle
from timebank.bundles import CheckpointPending, checkpoint_for
from timebank.checkpoints import verify_note
from timebank.runtime import Runtime

ZONE = ZoneInfo("Asia/Shanghai")  # the default rules' time zone


def today() -> str:
    return datetime.now(ZONE).date().isoformat()


def period(days_back: int = 3) -> dict[str, str]:
    first = (datetime.now(ZONE) - timedelta(days=days_back)).date().isoformat()
    return {"from": first, "to": today()}


def digest_of(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def ok(r: Any, status: int = 200) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    return body


def backfill(town: Town, volunteer: str, minutes: int, approver: Api) -> str:
    """A back-fill of `minutes` by the team, submitted by the admin, approved by another."""
    start = datetime.now(UTC) - timedelta(hours=5)
    body = {
        "volunteer_id": volunteer,
        "org_id": town.team,
        "category": "health",
        "started_at": start.isoformat(),
        "ended_at": (start + timedelta(minutes=minutes)).isoformat(),
        "description": "义诊",
    }
    made = ok(town.admin.post("/v1/backfills", body), 201)["id"]
    ok(approver.post(f"/v1/backfills/{made}/approve", {}))
    return str(made)


def signup_of(town: Town, volunteer: str) -> str:
    record = ok(town.admin.get(f"/v1/volunteers/{volunteer}/record", min_position=head(town)))
    (service,) = [s for s in record["services"] if s["source_kind"] == "signup"]
    return str(service["source_id"])


def head(town: Town) -> int:
    town.rt.runner.catch_up()
    return int(town.rt.runner.head())


def issue(api: Api, volunteer: str, org: str, **extra: Any) -> Any:
    return api.post(
        "/v1/certificates", {"volunteer_id": volunteer, "org_id": org} | period() | extra
    )


def leaf_state(leaf: bytes) -> dict[str, Any]:
    """The stored state inside leaf bytes (docs/log-format.md)."""
    (topic_length,) = struct.unpack(">I", leaf[24:28])
    at = 28 + topic_length
    (state_length,) = struct.unpack(">I", leaf[at : at + 4])
    state: dict[str, Any] = json.loads(leaf[at + 4 : at + 4 + state_length])
    return state


def test_a_certificate_lists_what_the_organisation_recorded_and_checks(town: Town) -> None:
    coordinator = town.client(Role.COORDINATOR, town.team)
    street = town.client(Role.COORDINATOR, town.street)
    volunteer = town.volunteer(name="张三丰")
    town.earn(volunteer, 90)
    filled = backfill(town, volunteer, 30, street)
    # Service another organisation recorded is not the team's to certify.
    elsewhere = town.activity(org=town.street, starts_at=datetime.now(UTC) - timedelta(hours=3))
    signup = ok(
        town.admin.post(f"/v1/activities/{elsewhere['id']}/signups", {"volunteer_id": volunteer}),
        201,
    )["id"]
    at = datetime.now(UTC) - timedelta(minutes=170)
    ok(town.admin.post(f"/v1/signups/{signup}/check-in", {"at": at.isoformat()}))
    ok(
        town.admin.post(
            f"/v1/signups/{signup}/check-out", {"at": (at + timedelta(minutes=20)).isoformat()}
        )
    )
    ok(town.admin.post(f"/v1/signups/{signup}/verify", {"decision": "approve"}))

    assert issue(town.client(Role.COORDINATOR, town.venue), volunteer, town.team).status_code == 403
    assert issue(town.client(Role.VOLUNTEER, volunteer), volunteer, town.team).status_code == 403
    made = ok(issue(coordinator, volunteer, town.team, purpose="升学"), 201)
    assert made["total_minutes"] == 120 and made["services"] == 2
    number = made["number"]
    assert normalise_number(number.lower().replace("-", "")) == number
    assert number.startswith("TB-") and all(c in ALPHABET for c in number[3:17].replace("-", ""))

    cert = ok(town.admin.get(f"/v1/certificates/{made['id']}", min_position=made["position"]))
    content = cert["content"]
    assert cert["status"] == "valid" and cert["digest"] == made["digest"] == digest_of(content)
    profile = ok(town.admin.get(f"/v1/volunteers/{volunteer}"))
    assert content["volunteer"]["name"] == "张三丰"
    assert content["volunteer"]["volunteer_number"] == profile["volunteer_number"]
    masked = content["volunteer"]["id_number_masked"]
    assert "*" in masked and masked != profile["id_document"]["number"]
    assert content["issuer"] == {"org_id": town.team, "name": "服务队"}
    assert content["purpose"] == "升学" and content["issued_on"] == today()
    assert sorted((s["minutes"], s["backfill"]) for s in content["services"]) == [
        (30, True),
        (90, False),
    ]
    assert {s["source_id"] for s in content["services"] if s["backfill"]} == {filled}
    assert content["total_minutes"] == 120

    # Readers: the volunteer themself, the issuer and above, auditors; nobody else.
    assert (
        town.client(Role.VOLUNTEER, volunteer).get(f"/v1/certificates/{made['id']}").status_code
        == 200
    )
    assert town.client(Role.AUDITOR).get(f"/v1/certificates/{made['id']}").status_code == 200
    other = town.volunteer()
    assert (
        town.client(Role.VOLUNTEER, other).get(f"/v1/certificates/{made['id']}").status_code == 403
    )
    assert (
        town.client(Role.COORDINATOR, town.venue).get(f"/v1/certificates/{made['id']}").status_code
        == 403
    )
    unknown = "00000000-0000-4000-8000-000000000000"
    assert town.admin.get(f"/v1/certificates/{unknown}.pdf").status_code == 404
    assert (
        town.client(Role.VOLUNTEER, other).get(f"/v1/certificates/{made['id']}.pdf").status_code
        == 403
    )

    # The public check: no token, the name masked, a mistyped number finds nothing.
    anonymous = Api(town.base_url, "")
    anonymous.client.headers.pop("Authorization")
    checked = ok(anonymous.get("/v1/certificates/check", number=number.lower().replace("-", "")))
    assert checked["number"] == number and checked["status"] == "valid"
    assert checked["volunteer_name"] == "张**" and checked["digest"] == made["digest"]
    assert checked["issuer"]["name"] == "服务队" and checked["total_minutes"] == 120
    assert "张三丰" not in json.dumps(checked, ensure_ascii=False)
    body = number[3:17].replace("-", "")
    typo = "TB-" + ("1" if body[0] != "1" else "2") + body[1:] + number[-2:]
    assert anonymous.get("/v1/certificates/check", number=typo).status_code in (404, 422)
    assert anonymous.get("/v1/certificates/check", number="TB-nonsense").status_code == 422

    # The service record lists it.
    record = ok(town.admin.get(f"/v1/volunteers/{volunteer}/record"))
    assert [
        (c["id"], c["number"], c["total_minutes"], c["status"]) for c in record["certificates"]
    ] == [(made["id"], number, 120, "valid")]

    # The bundle: each event is in the tree of a checkpoint the log's key signed.
    bundle = ok(
        town.client(Role.VOLUNTEER, volunteer).get(
            f"/v1/certificates/{made['id']}/bundle", consistent_with=1
        )
    )
    assert bundle["content"] == content
    key = town.rt.log_tree.key
    checkpoint = verify_note(bundle["checkpoint"], key.name, key.public_key)
    assert len(bundle["evidence"]) == 2
    for event in [bundle["certificate_event"], *bundle["evidence"]]:
        leaf = base64.b64decode(event["leaf"])
        proof = [base64.b64decode(p) for p in event["inclusion_proof"]]
        assert merkle.verify_inclusion(
            event["leaf_index"],
            checkpoint.tree_size,
            merkle.leaf_hash(leaf),
            proof,
            checkpoint.root,
        )
    state = leaf_state(base64.b64decode(bundle["certificate_event"]["leaf"]))
    assert state["digest"] == made["digest"] and state["number"] == number
    (consistency,) = bundle["consistency"]
    assert consistency["first"] == 1 and consistency["second"] == checkpoint.tree_size


def test_a_correction_of_a_listed_service_supersedes_the_certificate(town: Town) -> None:
    coordinator = town.client(Role.COORDINATOR, town.team)
    volunteer = town.volunteer()
    town.earn(volunteer, 60)
    made = ok(issue(coordinator, volunteer, town.team), 201)
    dispute = ok(
        town.admin.post(
            "/v1/disputes", {"record_id": signup_of(town, volunteer), "reason": "少算了"}
        ),
        201,
    )["id"]
    resolved = ok(
        coordinator.post(
            f"/v1/disputes/{dispute}/resolve",
            {"decision": "correct", "minutes": 75, "reason": "核实"},
        )
    )
    cert = ok(town.admin.get(f"/v1/certificates/{made['id']}", min_position=resolved["position"]))
    assert cert["status"] == "superseded" and cert["content"]["total_minutes"] == 60
    again = ok(issue(coordinator, volunteer, town.team), 201)
    assert again["total_minutes"] == 75
    fresh = ok(town.admin.get(f"/v1/certificates/{again['id']}", min_position=again["position"]))
    assert fresh["status"] == "valid"
    bundle = ok(town.admin.get(f"/v1/certificates/{again['id']}/bundle"))
    assert len(bundle["evidence"]) == 2  # the credit, then its correction
    assert [
        leaf_state(base64.b64decode(e["leaf"])).get("corrected_minutes") for e in bundle["evidence"]
    ] == [None, 75]


def test_nothing_recorded_in_the_period_is_no_certificate(town: Town) -> None:
    volunteer = town.volunteer()
    r = issue(town.client(Role.COORDINATOR, town.team), volunteer, town.team)
    assert r.status_code == 422 and r.json()["code"] == "no-services"
    r = town.admin.post(
        "/v1/certificates",
        {"volunteer_id": volunteer, "org_id": town.team, "from": "2026-02-01", "to": "2026-01-01"},
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid-period"


def test_an_erased_volunteer_gets_no_certificate_and_theirs_read_erased(town: Town) -> None:
    coordinator = town.client(Role.COORDINATOR, town.team)
    volunteer = town.volunteer(name="王小明")
    town.earn(volunteer, 45)
    made = ok(issue(coordinator, volunteer, town.team, purpose="求职"), 201)
    ok(town.admin.post(f"/v1/volunteers/{volunteer}/erase", {"reason": "本人申请注销"}))
    r = issue(coordinator, volunteer, town.team)
    assert r.status_code == 409 and r.json()["code"] == "volunteer-erased"
    cert = ok(town.admin.get(f"/v1/certificates/{made['id']}", min_position=head(town)))
    holder = cert["content"]["volunteer"]
    assert holder["name"] == ERASED and holder["id_number_masked"] == ERASED
    assert cert["content"]["purpose"] == ERASED and cert["digest"] == made["digest"]
    assert cert["content"]["total_minutes"] == 45


def test_a_number_is_refused_unless_its_check_character_holds() -> None:
    with pytest.raises(Invalid):
        normalise_number("TB-0000-0000-0000-X")
    with pytest.raises(Invalid):
        normalise_number("TB-OOOO-0000-0000-0")  # O is not Crockford's


def test_a_certificate_lists_at_most_its_bound_of_services() -> None:
    ctx = Context(Actor("coordinator", Role.COORDINATOR), "request", datetime.now(UTC))
    number = new_number()
    holder = Holder("张三", "1101**********1234", "12345678901", uuid4())
    day = date(2026, 3, 2)
    lines = [
        ServiceLine(uuid4(), day, "陪伴老人", "elder_care", 30, False)
        for _ in range(bounds.CERTIFICATE_SERVICES + 1)
    ]
    period = Period(day, day).check()

    def content(count: int) -> dict[str, Any]:
        return certificate_content(
            certificate_id(number),
            number,
            holder,
            uuid4(),
            "服务队",
            period,
            None,
            lines[:count],
            day,
        )

    issued = Certificate.issue(ctx, uuid4(), content(bounds.CERTIFICATE_SERVICES))
    assert issued.total_minutes == 30 * bounds.CERTIFICATE_SERVICES
    with pytest.raises(Invalid) as refused:
        Certificate.issue(ctx, uuid4(), content(bounds.CERTIFICATE_SERVICES + 1))
    assert refused.value.code == "too-many-services"
    with pytest.raises(Invalid) as refused:
        Certificate.issue(ctx, uuid4(), content(0))
    assert refused.value.code == "no-services"


def test_a_bundle_waits_for_a_checkpoint_that_covers_its_events(runtime: Runtime) -> None:
    """The tree builder is not running here: with no time to build, no checkpoint covers the
    event (a 503 over HTTP); with time, the tree is built on and a checkpoint signed."""
    ctx = Context(Actor("admin", Role.ADMIN), "request", datetime.now(UTC))
    made = runtime.service.execute(ctx, RegisterOrganisation("区", OrgKind.DISTRICT)).body
    with pytest.raises(CheckpointPending):
        checkpoint_for(runtime.log_tree, [made["position"]], wait_seconds=0)
    checkpoint, (index,) = checkpoint_for(runtime.log_tree, [made["position"]], wait_seconds=30)
    assert checkpoint.tree_size > index
    key = runtime.log_tree.key
    assert verify_note(checkpoint.note, key.name, key.public_key).tree_size == checkpoint.tree_size
