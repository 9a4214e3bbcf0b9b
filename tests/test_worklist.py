"""The worklist view over HTTP, on both stores: an organisation subtree's organisations,
activities, signups by status (the verification queue), back-fills and disputes, each
listed for the subtree and nothing else, paged, and refused outside the caller's scope."""

from datetime import UTC, datetime, timedelta
from typing import Any

from ledger.context import Role
from tests.http import Api, Town


def walk(api: Api, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a list, one a page."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        answer = api.get(path, limit=1, **({"cursor": cursor} if cursor else {}), **params)
        assert answer.status_code == 200, answer.text
        items += answer.json()["items"]
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            return items


def checked_out(town: Town, activity: str, volunteer: str, minutes: int) -> str:
    signup = town.admin.post(f"/v1/activities/{activity}/signups", {"volunteer_id": volunteer})
    assert signup.status_code == 201, signup.text
    signup_id = str(signup.json()["id"])
    start = datetime.now(UTC) - timedelta(minutes=minutes + 5)
    for action, at in (("check-in", start), ("check-out", start + timedelta(minutes=minutes))):
        r = town.admin.post(f"/v1/signups/{signup_id}/{action}", {"at": at.isoformat()})
        assert r.status_code == 200, r.text
    return signup_id


def test_a_subtree_lists_what_it_has_to_do_and_nothing_else(town: Town) -> None:
    other_street = town.org("另一街道", "street", town.district)
    other_team = town.org("另一服务队", "team", other_street)
    nested = town.org("小分队", "team", town.team)
    ours = town.activity()
    theirs = town.activity(org=other_team)
    volunteers = [town.volunteer() for _ in range(3)]
    queue = [checked_out(town, ours["id"], v, 30 + i) for i, v in enumerate(volunteers)]
    elsewhere = checked_out(town, theirs["id"], town.volunteer(other_team), 20)
    waiting = town.admin.post(
        f"/v1/activities/{ours['id']}/signups", {"volunteer_id": town.volunteer(nested)}
    )
    assert waiting.status_code == 201
    coordinator = town.client(Role.COORDINATOR, town.street)
    town.rt.runner.catch_up()

    roots = walk(town.client(Role.AUDITOR), "/v1/organisations")
    assert town.district in {o["id"] for o in roots} and {o["depth"] for o in roots} == {0}
    assert all(o["parent_id"] is None for o in roots)
    assert coordinator.get("/v1/organisations").status_code == 403
    orgs = walk(coordinator, f"/v1/organisations/{town.street}/subtree")
    assert [(o["name"], o["depth"]) for o in orgs] == [("街道", 0), ("服务队", 1), ("小分队", 2)]

    activities = walk(coordinator, f"/v1/organisations/{town.street}/activities")
    assert [a["id"] for a in activities] == [ours["id"]]
    assert activities[0]["accepted"] == 4 and activities[0]["status"] == "published"

    listed = walk(coordinator, f"/v1/organisations/{town.street}/signups", status="checked_out")
    assert [s["id"] for s in listed] == queue  # the first checked out first
    assert listed[0]["minutes"] == 30 and listed[0]["activity_title"] == "陪伴老人"
    assert all(s["volunteer_number"] for s in listed)
    assert elsewhere not in {
        s["id"] for s in walk(town.admin, f"/v1/organisations/{town.street}/signups")
    }

    verified = town.admin.post(
        f"/v1/signups/{queue[0]}/verify", {"decision": "adjust", "minutes": 25, "reason": "早退"}
    )
    assert verified.status_code == 200, verified.text
    after = coordinator.get(
        f"/v1/organisations/{town.street}/signups",
        status="verified",
        min_position=verified.json()["position"],
    ).json()["items"]
    assert [(s["id"], s["minutes"]) for s in after] == [(queue[0], 25)]

    outsider = town.client(Role.COORDINATOR, other_street)
    for path in ("subtree", "activities", "signups", "backfills", "disputes"):
        refused = outsider.get(f"/v1/organisations/{town.street}/{path}")
        assert refused.status_code == 403, (path, refused.text)
        assert refused.json()["code"] == "outside-scope"
    assert (
        town.client(Role.AUDITOR).get(f"/v1/organisations/{town.street}/signups").status_code == 200
    )
    assert (
        outsider.get(f"/v1/organisations/{town.street}/signups", status="lost").status_code == 422
    )


def test_back_fills_and_disputes_are_listed_with_their_status(town: Town) -> None:
    volunteer = town.volunteer()
    submitter = town.client(Role.COORDINATOR, town.team)
    now = datetime.now(UTC)
    submitted = submitter.post(
        "/v1/backfills",
        {
            "volunteer_id": volunteer,
            "org_id": town.team,
            "category": "elder_care",
            "started_at": (now - timedelta(days=2, hours=2)).isoformat(),
            "ended_at": (now - timedelta(days=2)).isoformat(),
            "description": "陪老人看病",
        },
    )
    assert submitted.status_code == 201, submitted.text
    backfill = str(submitted.json()["id"])
    town.rt.runner.catch_up()
    listed = walk(submitter, f"/v1/organisations/{town.team}/backfills", status="submitted")
    assert [(b["id"], b["minutes"], b["status"]) for b in listed] == [(backfill, 120, "submitted")]
    assert listed[0]["submitted_by"].startswith("coordinator-")

    approved = town.client(Role.COORDINATOR, town.street).post(f"/v1/backfills/{backfill}/approve")
    assert approved.status_code == 200, approved.text
    own = town.client(Role.VOLUNTEER, volunteer)
    opened = own.post("/v1/disputes", {"record_id": backfill, "reason": "少算了半小时"})
    assert opened.status_code == 201, opened.text
    dispute = str(opened.json()["id"])
    town.rt.runner.catch_up()
    assert walk(submitter, f"/v1/organisations/{town.team}/backfills", status="submitted") == []
    disputes = walk(submitter, f"/v1/organisations/{town.team}/disputes", status="open")
    assert [(d["id"], d["source_id"], d["previous_minutes"]) for d in disputes] == [
        (dispute, backfill, 120)
    ]
    resolved = submitter.post(
        f"/v1/disputes/{dispute}/resolve",
        {"decision": "correct", "minutes": 150, "reason": "核对签到表"},
    )
    assert resolved.status_code == 200, resolved.text
    town.rt.runner.catch_up()
    assert walk(submitter, f"/v1/organisations/{town.team}/disputes", status="open") == []
    assert [b["minutes"] for b in walk(submitter, f"/v1/organisations/{town.team}/backfills")] == [
        150
    ]
