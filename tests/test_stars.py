"""Stars follow corrections both ways: a correction that takes service time back below a
star's threshold revokes the star, and reaching the level again announces it again with a new
public notice. Over HTTP on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from ledger.awards import Award, star_award_id
from ledger.context import Role
from ledger.errors import Conflict
from ledger.rules import Rules
from projections.records.service_record import awards_due
from tests.http import Town
from tests.test_api_recognition import events, system_confirm, town_with


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


def served(town: Town, volunteer: str, minutes: int, hours_ago: int = 3) -> str:
    """A verified signup of `minutes` from `hours_ago`; returns the signup id."""
    start = datetime.now(UTC) - timedelta(hours=hours_ago)
    activity = town.activity(starts_at=start - timedelta(minutes=30))["id"]
    signup = ok(
        town.admin.post(f"/v1/activities/{activity}/signups", {"volunteer_id": volunteer}), 201
    )["id"]
    for action, at in (("check-in", start), ("check-out", start + timedelta(minutes=minutes))):
        ok(town.admin.post(f"/v1/signups/{signup}/{action}", {"at": at.isoformat()}))
    ok(town.admin.post(f"/v1/signups/{signup}/verify", {"decision": "approve"}))
    return str(signup)


def correct(town: Town, volunteer: str, signup: str, minutes: int) -> None:
    """The volunteer disputes the signup and its team's coordinator corrects it."""
    me = town.client(Role.VOLUNTEER, volunteer)
    dispute = ok(me.post("/v1/disputes", {"record_id": signup, "reason": "时长有误"}), 201)["id"]
    team = town.client(Role.COORDINATOR, town.team)
    body = {"decision": "correct", "minutes": minutes, "reason": "签到表为准"}
    assert ok(team.post(f"/v1/disputes/{dispute}/resolve", body))["status"] == "corrected"


def record(town: Town, volunteer: str) -> dict[str, Any]:
    town.rt.runner.catch_up()
    return ok(town.admin.get(f"/v1/volunteers/{volunteer}/record"))


def notices(town: Town, volunteer: str, **params: Any) -> dict[str, dict[str, Any]]:
    """The volunteer's awards as GET /v1/awards lists them, by id."""
    town.rt.runner.catch_up()
    items = ok(town.admin.get("/v1/awards", limit=500, **params))["items"]
    return {a["id"]: a for a in items if a["volunteer_id"] == volunteer}


def sweep(town: Town, now: datetime) -> int:
    """What the runtime's sweeper does at `now`: confirms the awards whose notice has ended."""
    town.rt.runner.catch_up()
    return town.rt.confirm_due_awards(now)


def status(town: Town, award_id: UUID) -> tuple[str, bool, int]:
    shown = ok(town.admin.get(f"/v1/awards/{award_id}"))
    return shown["status"], shown["in_notice"], shown["open_objections"]


def test_a_correction_revokes_confirmed_stars_and_reaching_them_again_renews_them(
    database_url: str,
) -> None:
    with town_with(database_url, Rules(star_thresholds_hours=(1, 2), notice_days=0)) as town:
        volunteer = town.volunteer()
        star1, star2 = (star_award_id(UUID(volunteer), level) for level in (1, 2))
        first = served(town, volunteer, 120)
        assert sweep(town, datetime.now(UTC)) == 2
        totals = record(town, volunteer)["totals"]
        assert (totals["stars"], totals["confirmed_stars"]) == (2, 2)

        correct(town, volunteer, first, 30)
        for star in (star1, star2):
            assert status(town, star) == ("revoked", False, 0)
        revoked = events(town, Award.Revoked)
        assert [(e.originator_id, e.reason) for e in revoked] == [
            (star1, "service time corrected below 1 h"),
            (star2, "service time corrected below 2 h"),
        ]
        shown = record(town, volunteer)
        assert shown["totals"]["service_minutes"] == 30
        assert (shown["totals"]["stars"], shown["totals"]["confirmed_stars"]) == (0, 0)
        by_id = {a["id"]: a for a in shown["awards"]}
        assert {by_id[str(s)]["status"] for s in (star1, star2)} == {"revoked"}
        assert all(by_id[str(s)]["decided_at"] is not None for s in (star1, star2))
        assert set(notices(town, volunteer, status="revoked")) == {str(star1), str(star2)}
        assert notices(town, volunteer, status="confirmed") == {}

        later = datetime.now(UTC) + timedelta(days=30)
        assert not {star1, star2} & set(awards_due(town.rt.db, later))
        assert sweep(town, later) == 0
        r = town.admin.post(f"/v1/awards/{star1}/confirm")
        assert r.status_code == 409 and r.json()["code"] == "cannot-confirm"
        me = town.client(Role.VOLUNTEER, volunteer)
        r = me.post("/v1/objections", {"award_id": str(star1), "reason": "x"})
        assert r.status_code == 409 and r.json()["code"] == "notice-closed"
        assert status(town, star1)[0] == "revoked"

        second = served(town, volunteer, 40, hours_ago=6)  # 70 minutes: the first level again
        assert status(town, star1)[0] == "in_notice"
        assert status(town, star2)[0] == "revoked"
        [renewed] = events(town, Award.Renewed)
        assert renewed.originator_id == star1
        assert renewed.reason == "reached 1 h of service"
        listed = notices(town, volunteer)
        assert listed[str(star1)]["status"] == "in_notice"
        assert listed[str(star1)]["decided_at"] is None
        assert datetime.fromisoformat(listed[str(star1)]["notice_ends_at"]) == (
            renewed.notice_ends_at
        )
        assert record(town, volunteer)["totals"]["confirmed_stars"] == 0
        assert sweep(town, datetime.now(UTC)) == 1
        assert status(town, star1)[0] == "confirmed"
        totals = record(town, volunteer)["totals"]
        assert (totals["stars"], totals["confirmed_stars"]) == (1, 1)

        correct(town, volunteer, second, 100)  # corrected up: 130 minutes, the second again
        assert status(town, star2)[0] == "in_notice"
        assert [e.originator_id for e in events(town, Award.Renewed)] == [star1, star2]
        assert len(events(town, Award.Announced)) == 2  # each level is announced once
        assert sweep(town, datetime.now(UTC)) == 1
        totals = record(town, volunteer)["totals"]
        assert (totals["stars"], totals["confirmed_stars"]) == (2, 2)

        before = record(town, volunteer)
        town.rt.runner.rebuild("records")
        assert record(town, volunteer) | {"position": None} == before | {"position": None}


def test_a_star_revoked_during_its_notice_drops_its_objections_and_gets_a_new_notice(
    database_url: str,
) -> None:
    with town_with(database_url, Rules(star_thresholds_hours=(1, 2), notice_days=7)) as town:
        volunteer = town.volunteer()
        star = star_award_id(UUID(volunteer), 1)
        signup = served(town, volunteer, 60)
        first_notice = ok(town.admin.get(f"/v1/awards/{star}"))["notice_ends_at"]
        me = town.client(Role.VOLUNTEER, volunteer)
        ok(me.post("/v1/objections", {"award_id": str(star), "reason": "时长存疑"}), 201)
        assert status(town, star) == ("objected", True, 1)

        correct(town, volunteer, signup, 30)
        assert status(town, star) == ("revoked", False, 0)
        assert notices(town, volunteer, status="revoked").keys() == {str(star)}
        after_notice = datetime.now(UTC) + timedelta(days=8)
        with pytest.raises(Conflict) as refused:
            system_confirm(town, star, after_notice)
        assert refused.value.code == "cannot-confirm"
        assert sweep(town, after_notice) == 0
        r = town.client(Role.COORDINATOR, town.team).post(
            f"/v1/awards/{star}/review", {"decision": "confirm", "reason": "ok"}
        )
        assert r.status_code == 409 and r.json()["code"] == "nothing-to-review"

        renewed_at = datetime.now(UTC)
        served(town, volunteer, 45, hours_ago=6)  # 75 minutes
        shown = ok(town.admin.get(f"/v1/awards/{star}"))
        assert (shown["status"], shown["in_notice"], shown["objections"]) == ("in_notice", True, 1)
        notice_ends = datetime.fromisoformat(shown["notice_ends_at"])
        assert notice_ends >= renewed_at + timedelta(days=7)
        assert notice_ends > datetime.fromisoformat(first_notice)
        [listed] = notices(town, volunteer, status="in_notice").values()
        assert datetime.fromisoformat(listed["notice_ends_at"]) == notice_ends
        assert (listed["decided_at"], listed["objections"]) == (None, 1)

        assert sweep(town, datetime.now(UTC)) == 0  # the new notice runs
        with pytest.raises(Conflict) as refused:
            system_confirm(town, star, notice_ends - timedelta(seconds=1))
        assert refused.value.code == "notice-running"
        assert sweep(town, after_notice) == 1
        assert status(town, star)[0] == "confirmed"
        totals = record(town, volunteer)["totals"]
        assert (totals["service_minutes"], totals["confirmed_stars"]) == (75, 1)
