"""Activity completion, trainings, evaluations, commendations, objections and stars, over HTTP
on SQLite and PostgreSQL."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from ledger.activities import Activity
from ledger.awards import Award, star_award_id
from ledger.commands.recognition import ConfirmAward
from ledger.context import SYSTEM, Context, Role
from ledger.errors import Conflict
from ledger.identity import derived_id
from ledger.rules import Rules
from ledger.trainings import Evaluation, Training
from tests.conftest import make_settings
from tests.http import Town, serve
from timebank.runtime import Runtime


@contextmanager
def town_with(database_url: str, rules: Rules) -> Iterator[Town]:
    rt = Runtime(make_settings(database_url, rules=rules))
    try:
        rt.start()
        with serve(rt) as base_url:
            yield Town(rt, base_url)
    finally:
        rt.close()


def events(town: Town, cls: type) -> list[Any]:
    app = town.rt.app
    notifications = app.recorder.select_notifications(1, 100_000)
    return [e for e in map(app.mapper.to_domain_event, notifications) if isinstance(e, cls)]


def outsider(town: Town) -> str:
    """A team under another street: its coordinator is outside the town's street."""
    return town.org("服务队", "team", town.org("另一街道", "street", town.district))


def checked_out_signup(town: Town, volunteer: str, minutes: int = 45) -> str:
    activity = town.activity()["id"]
    r = town.admin.post(f"/v1/activities/{activity}/signups", {"volunteer_id": volunteer})
    assert r.status_code == 201, r.text
    sid = str(r.json()["id"])
    start = datetime.now(UTC) - timedelta(minutes=minutes + 5)
    for action, at in (("check-in", start), ("check-out", start + timedelta(minutes=minutes))):
        r = town.admin.post(f"/v1/signups/{sid}/{action}", {"at": at.isoformat()})
        assert r.status_code == 200, r.text
    return sid


def test_an_activity_is_completed_once_by_its_organiser_after_it_starts(town: Town) -> None:
    now = datetime.now(UTC)
    later = town.activity(starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=3))
    street = town.client(Role.COORDINATOR, town.street)
    r = street.post(f"/v1/activities/{later['id']}/complete", {"beneficiaries": 3})
    assert r.status_code == 409 and r.json()["code"] == "not-started"

    activity = town.activity()["id"]
    path = f"/v1/activities/{activity}/complete"
    volunteer = town.client(Role.VOLUNTEER, town.volunteer())
    assert volunteer.post(path, {"beneficiaries": 12}).status_code == 403
    other = town.client(Role.COORDINATOR, outsider(town))
    r = other.post(path, {"beneficiaries": 12})
    assert r.status_code == 403 and r.json()["code"] == "outside-scope"
    for bad in (-1, "12", None):
        assert street.post(path, {"beneficiaries": bad}).status_code == 422
    assert street.post(path, {}).status_code == 422

    r = street.post(path, {"beneficiaries": 12})
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["id"] == activity and done["status"] == "completed"
    assert done["beneficiaries"] == 12 and isinstance(done["position"], int)
    head = town.rt.runner.head()
    again = street.post(path, {"beneficiaries": 12})
    assert again.status_code == 200
    assert again.json() == {**done, "position": None}
    assert town.rt.runner.head() == head
    r = street.post(path, {"beneficiaries": 13})
    assert r.status_code == 409 and r.json()["code"] == "already-completed"

    shown = town.admin.get(f"/v1/activities/{activity}").json()
    assert (shown["completed"], shown["beneficiaries"]) == (True, 12)
    shown = town.admin.get(f"/v1/activities/{later['id']}").json()
    assert (shown["completed"], shown["beneficiaries"]) == (False, None)
    [completed] = events(town, Activity.Completed)
    assert completed.originator_id == UUID(activity) and completed.beneficiaries == 12
    assert completed.role == "coordinator"


def test_a_training_is_recorded_for_registered_volunteers_and_never_credits(town: Town) -> None:
    a, b = town.volunteer(), town.volunteer()
    coordinator = town.client(Role.COORDINATOR, town.street)
    held_at = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
    body = {
        "org_id": town.team,
        "title": "急救培训",
        "held_at": held_at.isoformat(),
        "minutes": 90,
        "volunteer_ids": [a, b],
    }
    assert town.client(Role.VOLUNTEER, a).post("/v1/trainings", body).status_code == 403
    assert town.client(Role.DESK, town.venue).post("/v1/trainings", body).status_code == 403
    other = town.client(Role.COORDINATOR, outsider(town))
    assert other.post("/v1/trainings", body).status_code == 403
    head = town.rt.runner.head()
    unknown = str(uuid.uuid4())
    r = coordinator.post("/v1/trainings", {**body, "volunteer_ids": [a, unknown]})
    assert r.status_code == 404 and r.json()["code"] == "volunteer-not-found"
    r = coordinator.post("/v1/trainings", {**body, "volunteer_ids": [a, b, a]})
    assert r.status_code == 422 and r.json()["code"] == "duplicate-participant"
    invalid: list[dict[str, Any]] = [
        {"minutes": 0},
        {"minutes": 1441},
        {"minutes": "90"},
        {"volunteer_ids": []},
        {"volunteer_ids": [str(uuid.uuid4()) for _ in range(1001)]},
        {"title": ""},
        {"held_at": "2026-03-01T10:00:00"},  # no offset
    ]
    for bad in invalid:
        assert coordinator.post("/v1/trainings", {**body, **bad}).status_code == 422, bad
    assert town.rt.runner.head() == head

    r = coordinator.post("/v1/trainings", body)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["participants"] == 2 and isinstance(created["position"], int)
    training = town.admin.get(f"/v1/trainings/{created['id']}").json()
    assert training == {
        "id": created["id"],
        "org_id": town.team,
        "title": "急救培训",
        "held_at": training["held_at"],
        "minutes": 90,
        "volunteer_ids": [a, b],
    }
    assert datetime.fromisoformat(training["held_at"]) == held_at
    assert town.client(Role.VOLUNTEER, a).get(f"/v1/trainings/{created['id']}").status_code == 200
    stranger = town.client(Role.VOLUNTEER, town.volunteer())
    assert stranger.get(f"/v1/trainings/{created['id']}").status_code == 403
    assert other.get(f"/v1/trainings/{created['id']}").status_code == 403
    assert town.admin.get(f"/v1/trainings/{uuid.uuid4()}").status_code == 404

    for volunteer in (a, b):  # training time is not service time and moves no credits
        account = town.account(volunteer)
        assert account["service_minutes"] == 0 and account["balance_minutes"] == 0
    [held] = events(town, Training.Held)
    assert held.org_id == UUID(town.team) and held.volunteer_ids == [UUID(a), UUID(b)]
    assert (held.title, held.minutes, held.held_at) == ("急救培训", 90, held_at)


def test_a_verified_service_is_evaluated_once_by_each_side(town: Town) -> None:
    volunteer = town.volunteer()
    sid = checked_out_signup(town, volunteer)
    coordinator = town.client(Role.COORDINATOR, town.team)
    body = {"signup_id": sid, "score": 5, "by": "organiser", "comment": "细心"}
    r = coordinator.post("/v1/evaluations", body)
    assert r.status_code == 409 and r.json()["code"] == "not-verified"
    r = town.admin.post(f"/v1/signups/{sid}/verify", {"decision": "approve"})
    assert r.status_code == 200, r.text

    me = town.client(Role.VOLUNTEER, volunteer)
    assert me.post("/v1/evaluations", body).status_code == 403
    assert (
        town.client(Role.COORDINATOR, outsider(town)).post("/v1/evaluations", body).status_code
        == 403
    )
    for bad in ({"score": 0}, {"score": 6}, {"score": "5"}, {"score": 4.5}, {"by": "mayor"}):
        assert coordinator.post("/v1/evaluations", {**body, **bad}).status_code == 422, bad
    r = coordinator.post("/v1/evaluations", {**body, "signup_id": str(uuid.uuid4())})
    assert r.status_code == 404 and r.json()["code"] == "signup-not-found"

    r = coordinator.post("/v1/evaluations", body)
    assert r.status_code == 201, r.text
    given = r.json()
    assert given["id"] == str(derived_id(UUID(sid), "evaluation:organiser"))
    assert (given["signup_id"], given["volunteer_id"], given["score"], given["by"]) == (
        sid,
        volunteer,
        5,
        "organiser",
    )
    r = coordinator.post("/v1/evaluations", {**body, "score": 3})
    assert r.status_code == 409 and r.json()["code"] == "already-evaluated"
    r = coordinator.post("/v1/evaluations", {"signup_id": sid, "score": 4, "by": "beneficiary"})
    assert r.status_code == 201, r.text
    assert r.json()["id"] == str(derived_id(UUID(sid), "evaluation:beneficiary"))

    shown = me.get(f"/v1/evaluations/{given['id']}")
    assert shown.status_code == 200 and shown.json()["comment"] == "细心"
    stranger = town.client(Role.VOLUNTEER, town.volunteer())
    assert stranger.get(f"/v1/evaluations/{given['id']}").status_code == 403
    scores = {(e.by, e.score, e.comment) for e in events(town, Evaluation.Given)}
    assert scores == {("organiser", 5, "细心"), ("beneficiary", 4, "")}
    signup = town.admin.get(f"/v1/signups/{sid}").json()
    assert {e.activity_id for e in events(town, Evaluation.Given)} == {UUID(signup["activity_id"])}


def test_a_commendation_in_notice_is_held_by_objections_and_withdrawn_on_review(
    town: Town,
) -> None:
    volunteer = town.volunteer()
    body = {"volunteer_id": volunteer, "org_id": town.team, "title": "优秀志愿者", "reason": "年度"}
    me = town.client(Role.VOLUNTEER, volunteer)
    desk = town.client(Role.DESK, town.venue)
    other = town.client(Role.COORDINATOR, outsider(town))
    r = me.post("/v1/commendations", body)
    assert r.status_code == 403 and r.json()["code"] == "forbidden-role"
    assert desk.post("/v1/commendations", body).status_code == 403
    r = other.post("/v1/commendations", body)
    assert r.status_code == 403 and r.json()["code"] == "outside-scope"
    assert town.admin.post("/v1/commendations", {**body, "reason": ""}).status_code == 422
    r = town.admin.post("/v1/commendations", {**body, "volunteer_id": str(uuid.uuid4())})
    assert r.status_code == 404

    coordinator = town.client(Role.COORDINATOR, town.street)
    before = datetime.now(UTC)
    r = coordinator.post("/v1/commendations", body)
    assert r.status_code == 201, r.text
    award = r.json()
    assert award["status"] == "in_notice" and isinstance(award["position"], int)
    ends = datetime.fromisoformat(award["notice_ends_at"])
    assert before + timedelta(days=7) <= ends <= datetime.now(UTC) + timedelta(days=7)
    shown = desk.get(f"/v1/awards/{award['id']}").json()  # any role may look
    assert shown == {
        "id": award["id"],
        "volunteer_id": volunteer,
        "org_id": town.team,
        "kind": "commendation",
        "level": None,
        "title": "优秀志愿者",
        "reason": "年度",
        "status": "in_notice",
        "notice_ends_at": shown["notice_ends_at"],
        "in_notice": True,
        "objections": 0,
        "open_objections": 0,
    }
    path = f"/v1/awards/{award['id']}"
    r = coordinator.post(f"{path}/confirm")
    assert r.status_code == 409 and r.json()["code"] == "notice-running"
    r = coordinator.post(f"{path}/review", {"decision": "confirm", "reason": "ok"})
    assert r.status_code == 409 and r.json()["code"] == "nothing-to-review"

    # Anyone may object while the notice runs: the volunteer, a desk, an auditor.
    assert me.post("/v1/objections", {"award_id": award["id"], "reason": ""}).status_code == 422
    r = me.post("/v1/objections", {"award_id": award["id"], "reason": "名不副实"})
    assert r.status_code == 201, r.text
    objection = r.json()
    assert objection["award_id"] == award["id"] and objection["status"] == "objected"
    assert objection["id"] != award["id"]
    r = desk.post("/v1/objections", {"award_id": award["id"], "reason": "时长有误"})
    assert r.status_code == 201 and r.json()["id"] != objection["id"]
    auditor = town.client(Role.AUDITOR)
    assert (
        auditor.post("/v1/objections", {"award_id": award["id"], "reason": "x"}).status_code == 201
    )
    r = me.post("/v1/objections", {"award_id": str(uuid.uuid4()), "reason": "x"})
    assert r.status_code == 404 and r.json()["code"] == "award-not-found"
    shown = me.get(path).json()
    assert (shown["status"], shown["objections"], shown["open_objections"]) == ("objected", 3, 3)
    r = coordinator.post(f"{path}/confirm")
    assert r.status_code == 409 and r.json()["code"] == "cannot-confirm"

    review = {"decision": "withdraw", "reason": "核实属实"}
    assert me.post(f"{path}/review", review).status_code == 403
    assert other.post(f"{path}/review", review).status_code == 403
    assert (
        coordinator.post(f"{path}/review", {"decision": "maybe", "reason": "x"}).status_code == 422
    )
    r = coordinator.post(f"{path}/review", review)
    assert r.status_code == 200 and r.json()["status"] == "withdrawn", r.text
    shown = me.get(path).json()
    assert (shown["status"], shown["in_notice"], shown["open_objections"]) == (
        "withdrawn",
        False,
        0,
    )
    r = me.post("/v1/objections", {"award_id": award["id"], "reason": "again"})
    assert r.status_code == 409 and r.json()["code"] == "notice-closed"
    r = coordinator.post(f"{path}/confirm")
    assert r.status_code == 409 and r.json()["code"] == "cannot-confirm"
    [announced] = [e for e in events(town, Award.Announced) if e.kind == "commendation"]
    assert (announced.volunteer_id, announced.org_id, announced.level) == (
        UUID(volunteer),
        UUID(town.team),
        None,
    )
    assert {e.reason for e in events(town, Award.Objected)} == {"名不副实", "时长有误", "x"}
    [reviewed] = events(town, Award.Reviewed)
    assert (reviewed.decision, reviewed.reason) == ("withdraw", "核实属实")


def system_confirm(town: Town, award_id: UUID, now: datetime) -> dict[str, Any]:
    """What the runtime's sweeper does for an award whose notice has ended."""
    return town.rt.service.execute(Context(SYSTEM, "sweep", now), ConfirmAward(award_id)).body


def test_a_person_objects_to_an_award_once_per_notice(town: Town) -> None:
    volunteer, objector = town.volunteer(), town.volunteer()
    body = {"volunteer_id": volunteer, "org_id": town.team, "title": "优秀志愿者", "reason": "年度"}
    award = town.admin.post("/v1/commendations", body).json()["id"]
    path = f"/v1/awards/{award}"
    first = town.client(Role.VOLUNTEER, objector)
    second_token = town.client(Role.VOLUNTEER, objector)  # the same person, another token
    auditor = town.client(Role.AUDITOR)
    assert (
        first.post("/v1/objections", {"award_id": award, "reason": "名不副实"}).status_code == 201
    )
    for api, reason in ((first, "again"), (second_token, "又一次"), (first, "名不副实")):
        r = api.post("/v1/objections", {"award_id": award, "reason": reason})
        assert r.status_code == 409, r.text
        assert r.json()["code"] == "objection-already-filed"
    assert auditor.post("/v1/objections", {"award_id": award, "reason": "x"}).status_code == 201
    r = auditor.post("/v1/objections", {"award_id": award, "reason": "y"})
    assert r.status_code == 409 and r.json()["code"] == "objection-already-filed"
    assert town.admin.get(path).json()["objections"] == 2

    # Dismissed: the notice goes on, and an objector still has had their say.
    r = town.admin.post(f"{path}/review", {"decision": "confirm", "reason": "不成立"})
    assert r.status_code == 200, r.text
    r = first.post("/v1/objections", {"award_id": award, "reason": "again"})
    assert r.status_code == 409 and r.json()["code"] == "objection-already-filed"
    assert [e.objector for e in events(town, Award.Objected)] == [
        f"volunteer:{objector}",
        f"token:{events(town, Award.Objected)[1].actor}",
    ]


def test_a_star_is_confirmed_only_after_its_notice_and_once_objections_are_dismissed(
    database_url: str,
) -> None:
    with town_with(database_url, Rules(star_thresholds_hours=(1, 2, 10))) as town:
        volunteer = town.volunteer()
        town.earn(volunteer, 120)  # crosses two levels at once
        star1, star2 = (star_award_id(UUID(volunteer), level) for level in (1, 2))
        assert town.admin.get(f"/v1/awards/{star_award_id(UUID(volunteer), 3)}").status_code == 404
        me = town.client(Role.VOLUNTEER, volunteer)
        shown = me.get(f"/v1/awards/{star1}").json()
        assert (shown["kind"], shown["level"], shown["status"]) == ("star", 1, "in_notice")
        assert shown["org_id"] == town.team and shown["volunteer_id"] == volunteer
        assert "name" not in shown and "李四" not in str(shown)
        assert me.get(f"/v1/awards/{star2}").json()["level"] == 2
        assert len(events(town, Award.Announced)) == 2

        coordinator = town.client(Role.COORDINATOR, town.team)
        r = coordinator.post(f"/v1/awards/{star1}/confirm")
        assert r.status_code == 409 and r.json()["code"] == "notice-running"
        now = datetime.now(UTC)
        with pytest.raises(Conflict) as refused:
            system_confirm(town, star1, now)
        assert refused.value.code == "notice-running"

        r = me.post("/v1/objections", {"award_id": str(star1), "reason": "时长存疑"})
        assert r.status_code == 201, r.text
        after_notice = now + timedelta(days=8)
        with pytest.raises(Conflict) as refused:
            system_confirm(town, star1, after_notice)  # not while an objection is open
        assert refused.value.code == "cannot-confirm"
        r = coordinator.post(
            f"/v1/awards/{star1}/review", {"decision": "confirm", "reason": "已核实"}
        )
        assert r.status_code == 200 and r.json()["status"] == "in_notice", r.text
        r = coordinator.post(f"/v1/awards/{star1}/confirm")
        assert r.status_code == 409 and r.json()["code"] == "notice-running"

        confirmed = system_confirm(town, star1, after_notice)
        assert confirmed["status"] == "confirmed" and isinstance(confirmed["position"], int)
        assert system_confirm(town, star1, after_notice)["position"] is None  # already final
        shown = me.get(f"/v1/awards/{star1}").json()
        assert (shown["status"], shown["objections"], shown["open_objections"]) == (
            "confirmed",
            1,
            0,
        )
        assert me.get(f"/v1/awards/{star2}").json()["status"] == "in_notice"
        [event] = events(town, Award.Confirmed)
        assert event.originator_id == star1 and event.role == "system"


def test_with_no_notice_period_an_award_is_closed_to_objections_and_confirmable(
    database_url: str,
) -> None:
    with town_with(database_url, Rules(star_thresholds_hours=(1,), notice_days=0)) as town:
        volunteer = town.volunteer()
        town.earn(volunteer, 60)
        star = star_award_id(UUID(volunteer), 1)
        shown = town.admin.get(f"/v1/awards/{star}").json()
        assert (shown["status"], shown["in_notice"]) == ("in_notice", False)
        me = town.client(Role.VOLUNTEER, volunteer)
        r = me.post("/v1/objections", {"award_id": str(star), "reason": "too late"})
        assert r.status_code == 409 and r.json()["code"] == "notice-closed"
        r = me.post(f"/v1/awards/{star}/confirm")
        assert r.status_code == 403
        r = town.client(Role.COORDINATOR, outsider(town)).post(f"/v1/awards/{star}/confirm")
        assert r.status_code == 403 and r.json()["code"] == "outside-scope"

        coordinator = town.client(Role.COORDINATOR, town.street)
        r = coordinator.post(f"/v1/awards/{star}/confirm")
        assert r.status_code == 200 and r.json()["status"] == "confirmed", r.text
        r = coordinator.post(f"/v1/awards/{star}/confirm")
        assert r.status_code == 200 and r.json()["position"] is None

        body = {
            "volunteer_id": volunteer,
            "org_id": town.team,
            "title": "优秀志愿者",
            "reason": "年度",
        }
        commendation = coordinator.post("/v1/commendations", body).json()
        r = town.admin.post(f"/v1/awards/{commendation['id']}/confirm")
        assert r.status_code == 200 and r.json()["status"] == "confirmed", r.text


def test_trainings_and_commendations_reach_only_members_of_the_coordinators_subtree(
    town: Town,
) -> None:
    street = town.client(Role.COORDINATOR, town.street)
    team = town.client(Role.COORDINATOR, town.team)
    elsewhere = outsider(town)
    inside, outside, other_outside = town.volunteer(), town.volunteer(elsewhere), town.volunteer()
    r = town.admin.post(
        f"/v1/volunteers/{other_outside}/transfer-membership",
        {"to_org_id": elsewhere, "reason": "moved house"},
    )
    assert r.status_code == 200, r.text  # the current home organisation is what counts
    at_street = town.volunteer(town.street)  # above the team coordinator's subtree
    body = {
        "org_id": town.team,
        "title": "急救培训",
        "held_at": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
        "minutes": 60,
        "volunteer_ids": [inside, outside],
    }
    head = town.rt.runner.head()
    r = street.post("/v1/trainings", body)
    assert r.status_code == 403 and r.json()["code"] == "outside-scope", r.text
    assert outside in r.json()["detail"] and inside not in r.json()["detail"]
    r = street.post("/v1/trainings", {**body, "volunteer_ids": [outside, inside, other_outside]})
    assert r.status_code == 403 and r.json()["code"] == "outside-scope"
    assert outside in r.json()["detail"] and other_outside in r.json()["detail"]
    r = street.post("/v1/trainings", {**body, "volunteer_ids": [outside, str(uuid.uuid4())]})
    assert r.status_code == 404 and r.json()["code"] == "volunteer-not-found"
    r = team.post("/v1/trainings", {**body, "volunteer_ids": [inside, at_street]})
    assert r.status_code == 403 and at_street in r.json()["detail"]

    commendation = {"volunteer_id": outside, "org_id": town.team, "title": "优秀", "reason": "年度"}
    r = street.post("/v1/commendations", commendation)
    assert r.status_code == 403 and r.json()["code"] == "outside-scope", r.text
    assert outside in r.json()["detail"]
    r = team.post("/v1/commendations", {**commendation, "volunteer_id": at_street})
    assert r.status_code == 403 and at_street in r.json()["detail"]
    assert town.rt.runner.head() == head  # nothing was recorded

    r = street.post("/v1/trainings", {**body, "volunteer_ids": [inside, at_street]})
    assert r.status_code == 201 and r.json()["participants"] == 2, r.text
    r = street.post("/v1/commendations", {**commendation, "volunteer_id": at_street})
    assert r.status_code == 201, r.text
    r = town.admin.post("/v1/trainings", {**body, "volunteer_ids": [inside, outside]})
    assert r.status_code == 201, r.text  # an admin's scope is the whole city
    assert town.admin.post("/v1/commendations", commendation).status_code == 201
    assert len(events(town, Training.Held)) == 2
    commended = [e.volunteer_id for e in events(town, Award.Announced)]
    assert commended == [UUID(at_street), UUID(outside)]
