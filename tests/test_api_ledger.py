"""The whole path over HTTP, on SQLite and PostgreSQL: registration to a reward handed over."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from ledger.base import LedgerAggregate
from ledger.context import Role
from ledger.rules import Rules
from ledger.volunteers import Volunteer
from tests.http import Town


def signup(town: Town, activity: str, volunteer: str) -> dict[str, object]:
    r = town.admin.post(f"/v1/activities/{activity}/signups", {"volunteer_id": volunteer})
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_registration_to_reward_handed_over(town: Town) -> None:
    parent, child = town.volunteer(name="王芳"), town.volunteer(name="王小明")
    town.earn(child, 150)
    assert town.account(child)["available_minutes"] == 150
    assert town.account(child)["service_minutes"] == 150

    r = town.admin.post(
        f"/v1/volunteers/{child}/family-links", {"relative_id": parent, "relation": "child"}
    )
    assert r.status_code == 201, r.text
    gift = {"from_volunteer_id": child, "to_volunteer_id": parent, "minutes": 60, "kind": "gift"}
    r = town.admin.post("/v1/transfers", gift)
    assert r.status_code == 201, r.text
    assert r.json()["debit_account"] == f"volunteer:{child}"

    r = town.admin.post(
        "/v1/rewards",
        {"venue_id": town.venue, "name": "大米", "cost_minutes": 30, "stock": 5},
    )
    reward = r.json()["id"]
    desk = town.client(Role.DESK, town.venue)
    parent_token = town.client(Role.VOLUNTEER, parent)  # reserves; shows the code at the desk
    body = {"volunteer_id": parent, "reward_id": reward, "quantity": 2}
    r = parent_token.post("/v1/redemptions", body)
    assert r.status_code == 201, r.text
    redemption = r.json()
    assert redemption["status"] == "reserved" and len(redemption["code"]) == 8
    assert town.account(parent)["reserved_minutes"] == 60
    assert town.account(parent)["available_minutes"] == 0

    r = desk.post(f"/v1/redemptions/{redemption['id']}/fulfil", {"code": redemption["code"]})
    assert r.status_code == 200 and r.json()["status"] == "fulfilled", r.text
    r = desk.post(f"/v1/redemptions/{redemption['id']}/fulfil", {"code": redemption["code"]})
    assert r.status_code == 409 and r.json()["code"] == "redemption-fulfilled"

    parent_account = town.account(parent)
    assert parent_account["available_minutes"] == 0
    assert parent_account["reserved_minutes"] == 0
    assert parent_account["spent_minutes"] == 60
    assert parent_account["service_minutes"] == 0  # spending or receiving never adds service
    child_account = town.account(child)
    assert child_account["available_minutes"] == 90
    assert child_account["service_minutes"] == 150  # spending never lowers service time
    assert town.admin.get(f"/v1/rewards/{reward}").json()["stock"] == 3


def test_capacity_and_waitlist_hold_under_200_concurrent_signups(town: Town) -> None:
    activity = town.activity(capacity=50)["id"]
    volunteers = [town.volunteer() for _ in range(200)]
    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(
            pool.map(
                lambda v: town.admin.post(
                    f"/v1/activities/{activity}/signups", {"volunteer_id": v}
                ),
                volunteers,
            )
        )
    assert [r.status_code for r in responses] == [201] * 200, {r.text for r in responses}
    statuses = [r.json()["status"] for r in responses]
    assert statuses.count("accepted") == 50
    assert statuses.count("waitlisted") == 150
    details = town.admin.get(f"/v1/activities/{activity}").json()
    assert (details["accepted"], details["waitlisted"]) == (50, 150)

    again = town.admin.post(f"/v1/activities/{activity}/signups", {"volunteer_id": volunteers[0]})
    assert again.status_code == 409 and again.json()["code"] == "already-signed-up"

    # The first waitlisted (in order of the log) is promoted when an accepted seat frees up.
    waitlisted = sorted(
        (r.json() for r in responses if r.json()["status"] == "waitlisted"),
        key=lambda s: s["position"],
    )
    accepted = next(r.json() for r in responses if r.json()["status"] == "accepted")
    r = town.admin.post(f"/v1/signups/{accepted['id']}/cancel", {"reason": "ill"})
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    promoted = town.admin.get(f"/v1/signups/{waitlisted[0]['id']}").json()
    assert promoted["status"] == "accepted"
    assert town.admin.get(f"/v1/signups/{waitlisted[1]['id']}").json()["status"] == "waitlisted"
    assert town.admin.get(f"/v1/activities/{activity}").json()["accepted"] == 50


def test_verified_signup_is_credited_once_however_often_verify_is_retried(town: Town) -> None:
    volunteer = town.volunteer()
    activity = town.activity()["id"]
    sid = signup(town, activity, volunteer)["id"]
    start = datetime.now(UTC) - timedelta(minutes=100)
    town.admin.post(f"/v1/signups/{sid}/check-in", {"at": start.isoformat()})
    town.admin.post(
        f"/v1/signups/{sid}/check-out", {"at": (start + timedelta(minutes=90)).isoformat()}
    )
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(
                lambda _: town.admin.post(f"/v1/signups/{sid}/verify", {"decision": "approve"}),
                range(16),
            )
        )
    assert {r.status_code for r in results} == {200}
    assert sum(r.json()["credited_minutes"] for r in results) == 90
    assert town.account(volunteer)["earned_minutes"] == 90
    other = town.admin.post(
        f"/v1/signups/{sid}/verify", {"decision": "adjust", "minutes": 30, "reason": "late"}
    )
    assert other.status_code == 409 and other.json()["code"] == "already-verified"
    assert town.account(volunteer)["earned_minutes"] == 90


def test_adjust_and_reject_need_reasons_and_credit_accordingly(town: Town) -> None:
    a, b = town.volunteer(), town.volunteer()
    activity = town.activity()["id"]
    signups = [signup(town, activity, v)["id"] for v in (a, b)]
    start = datetime.now(UTC) - timedelta(minutes=60)
    for sid in signups:
        town.admin.post(f"/v1/signups/{sid}/check-in", {"at": start.isoformat()})
        town.admin.post(
            f"/v1/signups/{sid}/check-out", {"at": (start + timedelta(minutes=45)).isoformat()}
        )
    r = town.admin.post(f"/v1/signups/{signups[0]}/verify", {"decision": "adjust", "minutes": 30})
    assert r.status_code == 422 and r.json()["code"] == "reason-required"
    r = town.admin.post(
        f"/v1/signups/{signups[0]}/verify", {"decision": "adjust", "minutes": 30, "reason": "break"}
    )
    assert r.json()["credited_minutes"] == 30
    r = town.admin.post(f"/v1/signups/{signups[1]}/verify", {"decision": "reject"})
    assert r.status_code == 422
    r = town.admin.post(
        f"/v1/signups/{signups[1]}/verify", {"decision": "reject", "reason": "absent"}
    )
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert town.account(a)["service_minutes"] == 30
    assert town.account(b)["service_minutes"] == 0


def test_redemption_beyond_balance_or_stock_is_409_and_changes_nothing(town: Town) -> None:
    volunteer = town.volunteer()
    town.earn(volunteer, 70)
    reward = town.admin.post(
        "/v1/rewards",
        {
            "venue_id": town.venue,
            "name": "理发",
            "cost_minutes": 40,
            "stock": 2,
            "per_volunteer_limit": 2,
        },
    ).json()["id"]
    head = town.rt.runner.head()
    r = town.admin.post(
        "/v1/redemptions", {"volunteer_id": volunteer, "reward_id": reward, "quantity": 3}
    )
    assert r.status_code == 409 and r.json()["code"] == "insufficient-stock"
    r = town.admin.post(
        "/v1/redemptions", {"volunteer_id": volunteer, "reward_id": reward, "quantity": 2}
    )
    assert r.status_code == 409 and r.json()["code"] == "insufficient-balance"
    assert r.headers["content-type"] == "application/problem+json"
    assert town.rt.runner.head() == head
    assert town.account(volunteer)["available_minutes"] == 70
    assert town.admin.get(f"/v1/rewards/{reward}").json()["stock"] == 2

    first = town.admin.post(
        "/v1/redemptions", {"volunteer_id": volunteer, "reward_id": reward}
    ).json()
    r = town.admin.post(f"/v1/redemptions/{first['id']}/cancel", {"reason": "changed my mind"})
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert town.account(volunteer)["available_minutes"] == 70
    assert town.admin.get(f"/v1/rewards/{reward}").json()["stock"] == 2
    r = town.admin.post(f"/v1/redemptions/{first['id']}/fulfil", {"code": first["code"]})
    assert r.status_code == 409 and r.json()["code"] == "redemption-cancelled"


def test_gifts_go_only_to_linked_family_and_never_overdraw(town: Town) -> None:
    giver, stranger, sibling = town.volunteer(), town.volunteer(), town.volunteer()
    town.earn(giver, 30)
    gift = {"from_volunteer_id": giver, "to_volunteer_id": stranger, "minutes": 10, "kind": "gift"}
    r = town.admin.post("/v1/transfers", gift)
    assert r.status_code == 403 and r.json()["code"] == "not-family"
    town.admin.post(
        f"/v1/volunteers/{giver}/family-links", {"relative_id": sibling, "relation": "sibling"}
    )
    r = town.admin.post("/v1/transfers", {**gift, "to_volunteer_id": sibling, "minutes": 31})
    assert r.status_code == 409 and r.json()["code"] == "insufficient-balance"
    r = town.admin.post("/v1/transfers", {**gift, "to_volunteer_id": sibling, "minutes": 30})
    assert r.status_code == 201
    donation = {
        "from_volunteer_id": sibling,
        "to_org_id": town.team,
        "minutes": 5,
        "kind": "donation",
    }
    assert town.admin.post("/v1/transfers", donation).status_code == 201
    assert town.account(giver)["available_minutes"] == 0
    assert town.account(sibling)["available_minutes"] == 25
    # The sibling sees the giver as a sibling too.
    family = town.admin.get(f"/v1/volunteers/{sibling}").json()["family"]
    assert family == [{"relative_id": giver, "relation": "sibling"}]


def test_volunteer_checks_in_with_the_code_at_most_three_times_a_day(town: Town) -> None:
    volunteer = town.volunteer()
    me = town.client(Role.VOLUNTEER, volunteer)
    # A volunteer's own check-ins take the server's clock: all four on one day of the rules'
    # time zone, unless the run starts in the last minute of a day (then wait for the next).
    local_now = datetime.now(ZoneInfo(Rules().timezone))
    if (local_now.hour, local_now.minute) == (23, 59):
        time.sleep(61 - local_now.second)
    activities = [town.activity() for _ in range(4)]
    sids = []
    for activity in activities:
        r = me.post(f"/v1/activities/{activity['id']}/signups", {"volunteer_id": volunteer})
        assert r.status_code == 201, r.text
        sids.append(r.json()["id"])
    r = me.post(
        f"/v1/signups/{sids[0]}/check-in",
        {"code": "000000" if activities[0]["check_in_code"] != "000000" else "111111"},
    )
    assert r.status_code == 403 and r.json()["code"] == "wrong-check-in-code"
    for i in range(3):
        r = me.post(f"/v1/signups/{sids[i]}/check-in", {"code": activities[i]["check_in_code"]})
        assert r.status_code == 200, r.text
        # An open interval elsewhere blocks another check-in until checked out.
        if i == 0:
            blocked = me.post(
                f"/v1/signups/{sids[1]}/check-in", {"code": activities[1]["check_in_code"]}
            )
            assert blocked.status_code == 409 and blocked.json()["code"] == "overlapping-service"
        r = me.post(f"/v1/signups/{sids[i]}/check-out", {"code": activities[i]["check_in_code"]})
        assert r.status_code == 200, r.text
    r = me.post(f"/v1/signups/{sids[3]}/check-in", {"code": activities[3]["check_in_code"]})
    assert r.status_code == 409 and r.json()["code"] == "check-in-limit"


def test_overlapping_intervals_are_refused_at_check_out(town: Town) -> None:
    volunteer = town.volunteer()
    now = datetime.now(UTC)
    a, b = town.activity()["id"], town.activity()["id"]
    sa, sb = signup(town, a, volunteer)["id"], signup(town, b, volunteer)["id"]
    town.admin.post(f"/v1/signups/{sa}/check-in", {"at": (now - timedelta(minutes=60)).isoformat()})
    town.admin.post(
        f"/v1/signups/{sa}/check-out", {"at": (now - timedelta(minutes=30)).isoformat()}
    )
    r = town.admin.post(
        f"/v1/signups/{sb}/check-in", {"at": (now - timedelta(minutes=45)).isoformat()}
    )
    assert r.status_code == 409 and r.json()["code"] == "overlapping-service"
    r = town.admin.post(
        f"/v1/signups/{sb}/check-in", {"at": (now - timedelta(minutes=90)).isoformat()}
    )
    assert r.status_code == 200
    r = town.admin.post(
        f"/v1/signups/{sb}/check-out", {"at": (now - timedelta(minutes=20)).isoformat()}
    )
    assert r.status_code == 409 and r.json()["code"] == "overlapping-service"
    r = town.admin.post(
        f"/v1/signups/{sb}/check-out", {"at": (now - timedelta(minutes=61)).isoformat()}
    )
    assert r.status_code == 200 and r.json()["minutes"] == 29


def test_membership_transfer_keeps_history_and_moves_scope(town: Town) -> None:
    volunteer = town.volunteer()
    other_team = town.org("第二服务队", "team", town.street)
    r = town.admin.post(
        f"/v1/volunteers/{volunteer}/transfer-membership",
        {"to_org_id": other_team, "reason": "moved"},
    )
    assert r.status_code == 200 and r.json()["home_org_id"] == other_team
    assert town.admin.get(f"/v1/volunteers/{volunteer}").json()["home_org_id"] == other_team
    r = town.admin.post(
        f"/v1/volunteers/{volunteer}/transfer-membership",
        {"to_org_id": other_team, "reason": "again"},
    )
    assert r.status_code == 409 and r.json()["code"] == "already-member"
    r = town.admin.post(
        f"/v1/volunteers/{volunteer}/transfer-membership", {"to_org_id": town.venue, "reason": "x"}
    )
    assert r.status_code == 422


AUDIT_REQUEST_ID = "0b1e5c64-7d1f-4c39-9a57-3a3d2f6f1e01"


def logged_events(town: Town) -> list[LedgerAggregate.Event]:
    app = town.rt.app
    events: list[LedgerAggregate.Event] = []
    for notification in app.recorder.select_notifications(1, 10_000):
        event = app.mapper.to_domain_event(notification)
        assert isinstance(event, LedgerAggregate.Event), event
        events.append(event)
    return events


def test_a_request_id_that_is_not_a_uuid_never_reaches_an_event(town: Town) -> None:
    volunteer = town.volunteer()
    chosen = [
        "11010519491231002X",  # an ID number
        "zhang san 13812345678",
        "0b1e5c64-7d1f-4c39-9a57-3a3d2f6f1e0",  # one digit short
        "",
    ]
    returned = set()
    for n, value in enumerate(chosen):
        r = town.admin.client.post(
            f"/v1/volunteers/{volunteer}/transfer-membership",
            json={"to_org_id": town.org(f"队{n}", "team", town.street), "reason": "搬家"},
            headers={"X-Request-ID": value},
        )
        assert r.status_code == 200, r.text
        made = r.headers["x-request-id"]
        assert made != value and str(uuid.UUID(made)) == made
        returned.add(made)
    assert len(returned) == len(chosen)
    ids = {e.request_id for e in logged_events(town)}
    assert returned <= ids
    for value in chosen[:3]:
        assert value not in ids


def test_every_event_records_who_in_which_role_when_and_the_request_id(town: Town) -> None:
    volunteer = town.volunteer()
    coordinator = town.client(Role.COORDINATOR, town.team)
    r = coordinator.client.post(
        f"/v1/volunteers/{volunteer}/transfer-membership",
        json={"to_org_id": town.org("新队", "team", town.street), "reason": "搬家"},
        headers={"X-Request-ID": AUDIT_REQUEST_ID},
    )
    assert r.status_code == 200, r.text
    assert r.headers["x-request-id"] == AUDIT_REQUEST_ID
    app = town.rt.app
    events: list[LedgerAggregate.Event] = []
    for notification in app.recorder.select_notifications(1, 10_000):
        event = app.mapper.to_domain_event(notification)
        assert isinstance(event, LedgerAggregate.Event), event
        events.append(event)
    assert events and all(e.actor and e.role and e.request_id and e.occurred_at for e in events)
    ours = [e for e in events if e.request_id == AUDIT_REQUEST_ID]
    assert len(ours) == 1
    transfer = ours[0]
    assert isinstance(transfer, Volunteer.MembershipTransferred), transfer
    assert transfer.role == "coordinator" and transfer.actor.startswith("coordinator-")
    assert transfer.reason == "搬家"
    assert abs((transfer.occurred_at - transfer.timestamp).total_seconds()) < 5
