"""Audit trails over HTTP, on SQLite and PostgreSQL: every event concerning a volunteer, an
activity or a redemption, with who did it, in which role, when, why and in which request."""

import importlib
import json
import pkgutil
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

import ledger
from ledger.base import LedgerAggregate
from ledger.catalog import AGGREGATES
from ledger.context import Role
from projections.audit.projection import UNTRAILED, AuditProjection, event_classes
from projections.base import topic
from tests.http import Api, Town


class Named(Api):
    """A client whose principal name is known, to find it in the trail."""

    def __init__(self, town: Town, role: Role, scope: str | None = None) -> None:
        self.name = f"{role.value}-{uuid.uuid4().hex[:8]}"
        token = town.rt.tokens.create(role, self.name, uuid.UUID(scope) if scope else None)
        super().__init__(town.base_url, token)

    def send(self, path: str, body: Any, label: str) -> httpx.Response:
        r = self.client.post(path, json=body, headers={"X-Request-ID": request_id(label)})
        assert r.status_code in (200, 201), r.text
        assert r.headers["x-request-id"] == request_id(label)
        return r


def request_id(label: str) -> str:
    """The UUID a test's request sends as X-Request-ID (the server keeps only UUIDs)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, label))


def trail(client: Api, path: str, **params: Any) -> dict[str, Any]:
    r = client.get(path, limit=1000, **params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def by_request(entries: list[dict[str, Any]], label: str) -> list[dict[str, Any]]:
    return [e for e in entries if e["request_id"] == request_id(label)]


def types(entries: list[dict[str, Any]]) -> list[str]:
    return [e["event_type"] for e in entries]


def test_every_step_of_a_signup_is_in_the_volunteer_and_activity_trails(town: Town) -> None:
    coordinator = Named(town, Role.COORDINATOR, town.team)
    volunteer = town.volunteer()
    me = Named(town, Role.VOLUNTEER, volunteer)
    now = datetime.now(UTC)
    published = coordinator.send(
        "/v1/activities",
        {
            "org_id": town.team,
            "title": "清扫社区",
            "category": "community_cleanup",
            "starts_at": (now - timedelta(hours=2)).isoformat(),
            "ends_at": (now + timedelta(hours=1)).isoformat(),
            "capacity": 5,
        },
        "req-publish",
    ).json()
    activity, code = published["id"], published["check_in_code"]
    signup = me.send(
        f"/v1/activities/{activity}/signups", {"volunteer_id": volunteer}, "req-signup"
    ).json()["id"]
    # The volunteer checks in at the server's time; the coordinator gives the check-out's.
    checked_in_at = me.send(f"/v1/signups/{signup}/check-in", {"code": code}, "req-in").json()
    start = datetime.fromisoformat(checked_in_at["at"])
    coordinator.send(
        f"/v1/signups/{signup}/check-out",
        {"at": (start + timedelta(minutes=2)).isoformat()},
        "req-out",
    )
    verified = coordinator.send(
        f"/v1/signups/{signup}/verify",
        {"decision": "adjust", "minutes": 60, "reason": "到得晚"},
        "req-verify",
    ).json()

    mine = trail(
        town.admin,
        f"/v1/volunteers/{volunteer}/audit-trail",
        **{"min_position": verified["position"]},
    )
    assert mine["subject_kind"] == "volunteer" and mine["subject_id"] == volunteer
    entries = mine["entries"]
    positions = [e["position"] for e in entries]
    assert positions == sorted(set(positions))
    assert types(entries)[:3] == [
        "Volunteer.Registered",
        "VolunteerNumber.Claimed",
        "Account.Opened",
    ]
    assert by_request(entries, "req-publish") == []  # publishing concerns the activity only
    steps = {
        "req-signup": (me.name, "volunteer", {"Signup.Requested"}),
        "req-in": (
            me.name,
            "volunteer",
            {"Signup.CheckedIn", "Timesheet.Started", "Timesheet.IntervalOpened"},
        ),
        "req-out": (
            coordinator.name,
            "coordinator",
            {"Signup.CheckedOut", "Timesheet.IntervalClosed"},
        ),
        "req-verify": (
            coordinator.name,
            "coordinator",
            {"Signup.Verified", "Account.ServiceCredited"},
        ),
    }
    for label, (actor, role, expected) in steps.items():
        step = by_request(entries, label)
        assert set(types(step)) == expected, label
        assert {(e["actor"], e["role"]) for e in step} == {(actor, role)}
        for e in step:
            occurred = datetime.fromisoformat(e["occurred_at"])
            recorded = datetime.fromisoformat(e["recorded_at"])
            assert abs(recorded - occurred) < timedelta(seconds=5)
            assert e["aggregate_version"] >= 1
    (verify,) = [e for e in entries if e["event_type"] == "Signup.Verified"]
    assert verify["reason"] == "到得晚" and verify["aggregate_id"] == signup
    assert verify["details"]["decision"] == "adjust" and verify["details"]["minutes"] == 60
    assert "reason" not in verify["details"] and "actor" not in verify["details"]
    (checked_in,) = [e for e in entries if e["event_type"] == "Signup.CheckedIn"]
    assert checked_in["reason"] is None
    assert datetime.fromisoformat(checked_in["details"]["at"]) == start
    (credit,) = [e for e in entries if e["event_type"] == "Account.ServiceCredited"]
    assert credit["details"]["service_minutes"] == 60
    assert credit["details"]["source_id"] == signup

    theirs = trail(town.admin, f"/v1/activities/{activity}/audit-trail")
    entries = theirs["entries"]
    assert types(by_request(entries, "req-publish")) == ["Activity.Published"]
    assert set(types(by_request(entries, "req-signup"))) == {
        "Activity.SeatTaken",
        "Signup.Requested",
    }
    assert types(by_request(entries, "req-in")) == ["Signup.CheckedIn"]
    assert types(by_request(entries, "req-out")) == ["Signup.CheckedOut"]
    assert types(by_request(entries, "req-verify")) == ["Signup.Verified"]
    (publish,) = by_request(entries, "req-publish")
    assert publish["actor"] == coordinator.name and publish["details"]["title"] == "清扫社区"
    # The check-in code is a secret: it is in no trail.
    assert "check_in_code" not in publish["details"]
    for path in (
        f"/v1/activities/{activity}/audit-trail",
        f"/v1/volunteers/{volunteer}/audit-trail",
    ):
        assert code not in json.dumps(trail(town.admin, path)["entries"])


def test_a_redemption_trail_from_reservation_to_hand_over(town: Town) -> None:
    volunteer = town.volunteer()
    town.earn(volunteer, 90)
    reward = town.admin.post(
        "/v1/rewards", {"venue_id": town.venue, "name": "理发", "cost_minutes": 30, "stock": 9}
    ).json()["id"]
    assert town.admin.post(f"/v1/volunteers/{volunteer}/pin", {"pin": "246810"}).is_success
    desk = Named(town, Role.DESK, town.venue)
    body = {"volunteer_id": volunteer, "reward_id": reward, "pin": "246810"}
    reserved = desk.send("/v1/redemptions", body, "req-reserve").json()
    redemption = reserved["id"]
    code = town.admin.get(f"/v1/redemptions/{redemption}").json()["code"]
    fulfilled = desk.send(
        f"/v1/redemptions/{redemption}/fulfil", {"pin": "246810"}, "req-fulfil"
    ).json()

    t = trail(
        town.admin,
        f"/v1/redemptions/{redemption}/audit-trail",
        **{"min_position": fulfilled["position"]},
    )
    entries = t["entries"]
    assert set(types(by_request(entries, "req-reserve"))) == {
        "Redemption.Reserved",
        "Reward.StockReserved",
        "Account.CreditsHeld",
    }
    assert set(types(by_request(entries, "req-fulfil"))) == {
        "Redemption.Fulfilled",
        "Account.HoldSettled",
    }
    assert len(entries) == 5
    assert {(e["actor"], e["role"]) for e in entries} == {(desk.name, "desk")}
    (reserve,) = [e for e in entries if e["event_type"] == "Redemption.Reserved"]
    assert reserve["details"]["minutes"] == 30 and reserve["details"]["reward_id"] == reward
    assert "code" not in reserve["details"]
    assert code not in json.dumps(entries) and "246810" not in json.dumps(entries)
    (settled,) = [e for e in entries if e["event_type"] == "Account.HoldSettled"]
    assert settled["details"]["posting"]["credit"] == f"venue:{town.venue}"

    # A cancellation records its reason; the release is in the trail too.
    second = desk.send("/v1/redemptions", body, "req-reserve-2").json()
    cancelled = desk.send(
        f"/v1/redemptions/{second['id']}/cancel", {"reason": "不要了"}, "req-cancel"
    ).json()
    t = trail(
        town.admin,
        f"/v1/redemptions/{second['id']}/audit-trail",
        **{"min_position": cancelled["position"]},
    )
    cancel = {e["event_type"]: e for e in by_request(t["entries"], "req-cancel")}
    assert set(cancel) == {"Redemption.Cancelled", "Account.HoldReleased", "Reward.StockReleased"}
    assert cancel["Redemption.Cancelled"]["reason"] == "不要了"
    assert cancel["Account.HoldReleased"]["reason"] == "cancelled"

    # The volunteer's trail has the redemption and the account's side, not the reward's stock.
    mine = types(trail(town.admin, f"/v1/volunteers/{volunteer}/audit-trail")["entries"])
    assert mine.count("Redemption.Reserved") == 2 and "Redemption.Fulfilled" in mine
    assert "Account.HoldSettled" in mine and "Redemption.Cancelled" in mine
    assert not any(kind.startswith("Reward.") for kind in mine)


def test_personal_data_stays_out_of_the_trail(town: Town) -> None:
    body = {
        "name": "欧阳明月",
        "id_document": {"type": "passport", "number": "E98765432"},
        "phone": "13987654321",
        "birth_date": "1961-07-15",
        "party_member": True,
        "skills": ["nursing"],
        "home_org_id": town.team,
    }
    r = town.admin.post("/v1/volunteers", body)
    assert r.status_code == 201, r.text
    volunteer, number = r.json()["id"], r.json()["volunteer_number"]
    t = trail(
        town.admin,
        f"/v1/volunteers/{volunteer}/audit-trail",
        **{"min_position": r.json()["position"]},
    )
    raw = json.dumps(t, ensure_ascii=False)
    # Not even the year and month of birth (the year alone turns up in random ids and times).
    for secret in ("欧阳明月", "E98765432", "13987654321", "1961-07-15", "1961-07"):
        assert secret not in raw
    (registered,) = [e for e in t["entries"] if e["event_type"] == "Volunteer.Registered"]
    assert registered["details"]["number"] == number
    assert registered["details"]["home_org_id"] == town.team
    assert not {"name", "id_number", "phone", "birth_date"} & set(registered["details"])


def test_corrections_and_the_record_land_in_the_trails(town: Town) -> None:
    volunteer = town.volunteer()
    activity = town.activity()["id"]
    signup = town.admin.post(
        f"/v1/activities/{activity}/signups", {"volunteer_id": volunteer}
    ).json()["id"]
    start = datetime.now(UTC) - timedelta(minutes=100)
    town.admin.post(f"/v1/signups/{signup}/check-in", {"at": start.isoformat()})
    town.admin.post(
        f"/v1/signups/{signup}/check-out", {"at": (start + timedelta(minutes=90)).isoformat()}
    )
    assert (
        town.admin.post(f"/v1/signups/{signup}/verify", {"decision": "approve"}).status_code == 200
    )
    me = Named(town, Role.VOLUNTEER, volunteer)
    dispute = me.send("/v1/disputes", {"record_id": signup, "reason": "我早走了"}, "req-dispute")
    coordinator = Named(town, Role.COORDINATOR, town.team)
    coordinator.send(
        f"/v1/disputes/{dispute.json()['id']}/resolve",
        {"decision": "correct", "minutes": 45, "reason": "按签到表"},
        "req-resolve",
    )
    coordinator.send(
        "/v1/evaluations", {"signup_id": signup, "score": 5, "by": "organiser"}, "req-evaluate"
    )
    coordinator.send(f"/v1/activities/{activity}/complete", {"beneficiaries": 12}, "req-complete")
    coordinator.send(
        "/v1/trainings",
        {
            "org_id": town.team,
            "title": "急救培训",
            "held_at": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
            "minutes": 120,
            "volunteer_ids": [volunteer, town.volunteer()],
        },
        "req-training",
    )
    award = coordinator.send(
        "/v1/commendations",
        {
            "volunteer_id": volunteer,
            "org_id": town.team,
            "title": "优秀志愿者",
            "reason": "长期服务",
        },
        "req-commend",
    ).json()["id"]
    last = Named(town, Role.VOLUNTEER, town.volunteer()).send(
        "/v1/objections", {"award_id": award, "reason": "有异议"}, "req-object"
    )

    backfill = coordinator.send(
        "/v1/backfills",
        {
            "volunteer_id": volunteer,
            "org_id": town.team,
            "activity_id": activity,
            "started_at": (datetime.now(UTC) - timedelta(days=2, hours=2)).isoformat(),
            "ended_at": (datetime.now(UTC) - timedelta(days=2)).isoformat(),
            "description": "补录: 搬运物资",
            "evidence": ["签到表.jpg"],
        },
        "req-backfill",
    ).json()["id"]
    checker = Named(town, Role.COORDINATOR, town.street)
    approved = checker.send(f"/v1/backfills/{backfill}/approve", {}, "req-approve")
    last = max(last, approved, key=lambda r: int(r.json()["position"]))
    mine = trail(
        town.admin,
        f"/v1/volunteers/{volunteer}/audit-trail",
        **{"min_position": last.json()["position"]},
    )["entries"]
    assert set(types(by_request(mine, "req-dispute"))) == {"Dispute.Opened"}
    resolved = {e["event_type"]: e for e in by_request(mine, "req-resolve")}
    assert {"Dispute.Resolved", "Signup.Corrected", "Account.ServiceCorrected"} <= set(resolved)
    assert resolved["Dispute.Resolved"]["reason"] == "按签到表"
    corrected = resolved["Account.ServiceCorrected"]["details"]
    assert (corrected["previous_minutes"], corrected["corrected_minutes"]) == (90, 45)
    # The original verification stays beside its correction.
    assert types(mine).index("Signup.Verified") < types(mine).index("Signup.Corrected")
    assert types(by_request(mine, "req-evaluate")) == ["Evaluation.Given"]
    assert types(by_request(mine, "req-training")) == ["Training.Held"]
    assert types(by_request(mine, "req-commend")) == ["Award.Announced"]
    (objected,) = by_request(mine, "req-object")
    assert objected["event_type"] == "Award.Objected" and objected["reason"] == "有异议"
    assert objected["role"] == "volunteer"
    assert by_request(mine, "req-complete") == []
    (submitted,) = by_request(mine, "req-backfill")
    assert submitted["event_type"] == "Backfill.Submitted"
    assert submitted["details"]["evidence"] == ["签到表.jpg"]
    approval = {e["event_type"]: e for e in by_request(mine, "req-approve")}
    assert {"Backfill.Approved", "Account.ServiceCredited"} <= set(approval)
    assert approval["Backfill.Approved"]["actor"] == checker.name

    theirs = trail(town.admin, f"/v1/activities/{activity}/audit-trail")["entries"]
    assert types(by_request(theirs, "req-resolve")) == ["Signup.Corrected"]
    assert types(by_request(theirs, "req-evaluate")) == ["Evaluation.Given"]
    assert types(by_request(theirs, "req-backfill")) == ["Backfill.Submitted"]
    assert types(by_request(theirs, "req-approve")) == ["Backfill.Approved"]
    (completed,) = by_request(theirs, "req-complete")
    assert completed["event_type"] == "Activity.Completed"
    assert completed["details"] == {"beneficiaries": 12}
    assert by_request(theirs, "req-training") == by_request(theirs, "req-commend") == []


def test_who_may_read_which_trail(town: Town) -> None:
    volunteer, other = town.volunteer(), town.volunteer()
    town.earn(volunteer, 60)
    town.earn(other, 60)
    activity = town.activity()["id"]
    reward = town.admin.post(
        "/v1/rewards", {"venue_id": town.venue, "name": "书", "cost_minutes": 10, "stock": 9}
    ).json()["id"]
    redemptions = {
        v: town.admin.post("/v1/redemptions", {"volunteer_id": v, "reward_id": reward}).json()["id"]
        for v in (volunteer, other)
    }
    town.rt.runner.catch_up()
    own = f"/v1/volunteers/{volunteer}/audit-trail"
    activity_trail = f"/v1/activities/{activity}/audit-trail"
    own_redemption = f"/v1/redemptions/{redemptions[volunteer]}/audit-trail"
    other_trail = f"/v1/volunteers/{other}/audit-trail"
    other_redemption = f"/v1/redemptions/{redemptions[other]}/audit-trail"
    everything = (own, activity_trail, own_redemption, other_trail, other_redemption)
    other_street = town.org("别的街道", "street", town.district)
    other_venue = town.org("别的兑换点", "venue", town.district)
    cases: list[tuple[Api, set[str]]] = [
        (town.admin, set(everything)),
        (town.client(Role.AUDITOR), set(everything)),
        (town.client(Role.COORDINATOR, town.street), {own, activity_trail, other_trail}),
        (town.client(Role.COORDINATOR, town.district), set(everything)),
        (town.client(Role.COORDINATOR, town.venue), {own_redemption, other_redemption}),
        (town.client(Role.COORDINATOR, other_street), set()),
        (town.client(Role.VOLUNTEER, volunteer), {own, own_redemption}),
        # the desk of the venue sees its redemptions' trails, not the volunteers'
        (town.client(Role.DESK, town.venue), {own_redemption, other_redemption}),
        (town.client(Role.DESK, other_venue), set()),
    ]
    for client, allowed in cases:
        for path in everything:
            r = client.get(path)
            assert r.status_code == (200 if path in allowed else 403), (path, r.text)
    missing = "00000000-0000-4000-8000-000000000000"
    for kind in ("volunteers", "activities", "redemptions"):
        r = town.admin.get(f"/v1/{kind}/{missing}/audit-trail")
        assert r.status_code == 404, r.text
    # An activity id is no volunteer.
    assert town.admin.get(f"/v1/volunteers/{activity}/audit-trail").status_code == 404


def test_trail_pages_stitch_together(town: Town) -> None:
    volunteer = town.volunteer()
    town.earn(volunteer, 30)
    town.rt.runner.catch_up()
    path = f"/v1/volunteers/{volunteer}/audit-trail"
    whole = trail(town.admin, path)["entries"]
    assert len(whole) >= 8
    stitched: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        r = town.admin.get(path, **params)
        assert r.status_code == 200 and len(r.json()["entries"]) <= 3
        stitched += r.json()["entries"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert stitched == whole
    r = town.admin.get(path, cursor="bm9wZQ")
    assert r.status_code == 422 and r.json()["code"] == "invalid-cursor"


def ledger_aggregates() -> list[type[LedgerAggregate]]:
    """Every aggregate class of the domain package, found by importing all its modules."""
    for module in pkgutil.iter_modules(ledger.__path__):
        importlib.import_module(f"{ledger.__name__}.{module.name}")
    found: list[type[LedgerAggregate]] = []
    pending: list[type[LedgerAggregate]] = [LedgerAggregate]
    while pending:
        for sub in pending.pop().__subclasses__():
            found.append(sub)
            pending.append(sub)
    return found


def test_the_catalog_lists_every_aggregate_of_the_ledger() -> None:
    assert sorted(map(topic, AGGREGATES)) == sorted(map(topic, ledger_aggregates()))


def test_the_trail_subscribes_to_every_event_of_the_ledger() -> None:
    topics = AuditProjection().topics
    trailed = [a for a in ledger_aggregates() if a not in UNTRAILED]
    assert topics == {topic(cls) for a in trailed for cls in event_classes(a)}
    # the id of a document's claim is a keyed hash of the document: no trail shows it
    assert "ledger.volunteers:DocumentClaim.Claimed" not in topics
    for name in (
        "ledger.volunteers:Volunteer.Registered",
        "ledger.volunteers:VolunteerNumber.Claimed",
        "ledger.signups:Signup.CheckedIn",
        "ledger.accounts:Account.ServiceCorrected",
        "ledger.backfills:Backfill.Approved",
        "ledger.disputes:Dispute.Resolved",
        "ledger.trainings:Training.Held",
        "ledger.trainings:Evaluation.Given",
        "ledger.awards:Award.Objected",
        "ledger.activities:Activity.Completed",
    ):
        assert name in topics
    # Not the generic bases eventsourcing gives each aggregate.
    assert not any(t.endswith((".Event", ".Created")) for t in topics)
