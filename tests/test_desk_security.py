"""Only the people who should: a desk moves a volunteer's credits only with the volunteer's
own proof (their PIN, or the redemption code only they are shown), codes and PINs cannot be
guessed (counted per caller and per target in the store, 429 past the limit), and a
volunteer's own check-in and check-out take the server's clock. Over HTTP, on both stores."""

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import structlog.testing

from ledger.context import Role
from tests.conftest import make_settings
from tests.http import Api, Town, serve
from timebank.runtime import Runtime

PROBLEM = "application/problem+json"
PIN = "482913"


def problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body: dict[str, Any] = r.json()
    assert body["code"] == code, body
    return body


def ok(r: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    return body


def reward(town: Town, venue: str, cost: int = 30, stock: int = 10) -> str:
    body = {"venue_id": venue, "name": "理发", "cost_minutes": cost, "stock": stock}
    return str(ok(town.admin.post("/v1/rewards", body), 201)["id"])


def locked_out(r: httpx.Response) -> None:
    problem(r, 429, "too-many-attempts")
    assert 0 < int(r.headers["retry-after"]) <= 15 * 60


# Presence and consent at the desk ------------------------------------------------------------


def test_a_desk_cannot_drain_a_volunteer_of_another_organisation_who_takes_no_part(
    town: Town,
) -> None:
    """The attack: a desk at one venue reserved for a volunteer of another organisation,
    was answered the code and fulfilled with it. Now every way a desk could move the
    volunteer's credits without them is refused, and the balance stays whole."""
    other_street = town.org("另一街道", "street", town.district)
    other_team = town.org("另一服务队", "team", other_street)
    victim = town.volunteer(other_team, "王五")
    town.earn(victim, 300)
    far_venue = town.org("远处兑换点", "venue", town.district)
    prize = reward(town, far_venue, cost=300, stock=5)
    desk = town.client(Role.DESK, far_venue)
    reserve = {"volunteer_id": victim, "reward_id": prize}

    problem(desk.post("/v1/redemptions", reserve), 403, "pin-required")
    problem(desk.post("/v1/redemptions", {**reserve, "pin": PIN}), 409, "pin-not-set")
    me = town.client(Role.VOLUNTEER, victim)
    ok(me.post(f"/v1/volunteers/{victim}/pin", {"pin": PIN}))
    problem(desk.post("/v1/redemptions", {**reserve, "pin": "000000"}), 403, "wrong-pin")

    # A reservation the volunteer made themself: its code is theirs; the desk never sees it,
    # and without it (or the PIN) the desk cannot hand the reward out.
    mine = ok(me.post("/v1/redemptions", {**reserve, "reward_id": reward(town, far_venue)}), 201)
    assert mine["code"]
    assert ok(desk.get(f"/v1/redemptions/{mine['id']}"))["code"] is None
    fulfil = f"/v1/redemptions/{mine['id']}/fulfil"
    problem(desk.post(fulfil, {}), 422, "validation-failed")
    problem(desk.post(fulfil, {"code": "AAAAAAAA"}), 409, "wrong-code")
    problem(desk.post(fulfil, {"pin": "111111"}), 403, "wrong-pin")

    account = town.account(victim)
    assert (account["available_minutes"], account["spent_minutes"]) == (270, 0)
    assert account["reserved_minutes"] == 30  # the volunteer's own reservation, held


def test_a_desk_with_the_volunteer_at_the_counter_reserves_and_hands_out(town: Town) -> None:
    volunteer = town.volunteer()
    town.earn(volunteer, 120)
    prize = reward(town, town.venue)
    desk = town.client(Role.DESK, town.venue)
    me = town.client(Role.VOLUNTEER, volunteer)
    assert ok(me.post(f"/v1/volunteers/{volunteer}/pin", {"pin": PIN}))["pin_set"] is True

    # With the PIN the volunteer types: reserved, but the code is not answered to the desk.
    held = ok(
        desk.post("/v1/redemptions", {"volunteer_id": volunteer, "reward_id": prize, "pin": PIN}),
        201,
    )
    assert held["status"] == "reserved" and held["code"] is None
    assert ok(me.get(f"/v1/redemptions/{held['id']}"))["code"]  # the volunteer sees it
    assert ok(desk.get(f"/v1/redemptions/{held['id']}"))["code"] is None
    done = ok(desk.post(f"/v1/redemptions/{held['id']}/fulfil", {"pin": PIN}))
    assert (done["status"], done["minutes"]) == ("fulfilled", 30)

    # Reserved by the volunteer, handed out against the code the volunteer shows.
    mine = ok(me.post("/v1/redemptions", {"volunteer_id": volunteer, "reward_id": prize}), 201)
    done = ok(desk.post(f"/v1/redemptions/{mine['id']}/fulfil", {"code": mine["code"].lower()}))
    assert done["status"] == "fulfilled"
    assert town.account(volunteer)["spent_minutes"] == 60


def test_who_may_set_a_pin_and_what_the_log_keeps_of_it(town: Town) -> None:
    volunteer = town.volunteer()
    town.earn(volunteer, 60)
    path = f"/v1/volunteers/{volunteer}/pin"
    coordinator = town.client(Role.COORDINATOR, town.team)  # of the home organisation
    other_street = town.org("另一街道", "street", town.district)
    for outsider in (
        town.client(Role.COORDINATOR, other_street),
        town.client(Role.VOLUNTEER, town.volunteer()),
        town.client(Role.DESK, town.venue),
        town.client(Role.AUDITOR),
    ):
        assert outsider.post(path, {"pin": PIN}).status_code == 403
    for bad in ("12345", "1234567", "12345a", "１２３４５６", 123456):
        problem(coordinator.post(path, {"pin": bad}), 422, "validation-failed")

    # A coordinator sets a first PIN for a volunteer without a phone; the volunteer changes it.
    ok(coordinator.post(path, {"pin": "135790"}))
    me = town.client(Role.VOLUNTEER, volunteer)
    last = ok(me.post(path, {"pin": PIN}))
    desk = town.client(Role.DESK, town.venue)
    body = {"volunteer_id": volunteer, "reward_id": reward(town, town.venue)}
    problem(desk.post("/v1/redemptions", {**body, "pin": "135790"}), 403, "wrong-pin")
    ok(desk.post("/v1/redemptions", {**body, "pin": PIN}), 201)

    # The log says who set a PIN, never the PIN or its hash; the table keeps a slow hash.
    trail = ok(
        town.admin.get(
            f"/v1/volunteers/{volunteer}/audit-trail", min_position=last["position"], limit=200
        )
    )
    pin_events = [e for e in trail["entries"] if e["event_type"] == "Volunteer.PinSet"]
    assert [e["role"] for e in pin_events] == ["coordinator", "volunteer"]
    with town.rt.db.read() as cur:
        cur.execute("SELECT pin_hash FROM tb_volunteer_pins WHERE volunteer_id = %s", (volunteer,))
        (stored,) = cur.fetchone()
    assert stored.startswith("scrypt$") and PIN not in stored
    raw = json.dumps(trail)
    assert PIN not in raw and "135790" not in raw and stored.split("$")[-1] not in raw


# Codes cannot be guessed ---------------------------------------------------------------------


def signed_up(town: Town, volunteer: str) -> tuple[str, str]:
    """A signup of the volunteer for an activity under way, and its check-in code."""
    activity = town.activity()
    signup = ok(
        town.admin.post(f"/v1/activities/{activity['id']}/signups", {"volunteer_id": volunteer}),
        201,
    )["id"]
    return str(signup), str(activity["check_in_code"])


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_guessing_a_check_in_code_is_locked_out_and_logged(town: Town) -> None:
    volunteer = town.volunteer()
    signup, code = signed_up(town, volunteer)
    me = town.client(Role.VOLUNTEER, volunteer)
    check_in = f"/v1/signups/{signup}/check-in"
    with structlog.testing.capture_logs() as logs:
        for _ in range(5):
            problem(me.post(check_in, {"code": wrong(code)}), 403, "wrong-check-in-code")
        locked_out(me.post(check_in, {"code": code}))  # even the right code, until later
    refused = [e for e in logs if e["event"] == "code guess refused"]
    assert len(refused) == 5
    assert {(e["target_kind"], e["target_id"]) for e in refused} == {("check-in-code", signup)}
    assert all(e["principal"] and e["role"] == "volunteer" for e in refused)
    assert [e for e in logs if e["event"] == "code guess locked out"]
    assert code not in repr(logs) and wrong(code) not in repr(logs)
    # A coordinator still checks the volunteer in on their behalf (no code is tried).
    coordinator = town.client(Role.COORDINATOR, town.team)
    assert ok(coordinator.post(check_in))["status"] == "checked_in"


def test_wrong_codes_and_pins_count_per_target_and_per_caller(town: Town) -> None:
    volunteer = town.volunteer()
    town.earn(volunteer, 300)
    me = town.client(Role.VOLUNTEER, volunteer)
    ok(me.post(f"/v1/volunteers/{volunteer}/pin", {"pin": PIN}))
    prize = reward(town, town.venue)
    first, second, third = (
        ok(me.post("/v1/redemptions", {"volunteer_id": volunteer, "reward_id": prize}), 201)
        for _ in range(3)
    )

    # Per target: wrong codes by two desks add up; a third desk with the right code waits.
    a, b, c = (town.client(Role.DESK, town.venue) for _ in range(3))
    for desk in (a, a, a, b, b):
        problem(
            desk.post(f"/v1/redemptions/{first['id']}/fulfil", {"code": "ZZZZ"}), 409, "wrong-code"
        )
    locked_out(c.post(f"/v1/redemptions/{first['id']}/fulfil", {"code": first["code"]}))
    ok(c.post(f"/v1/redemptions/{second['id']}/fulfil", {"code": second["code"]}))

    # Per caller: one desk's wrong codes spread over targets lock that desk out anywhere.
    d = town.client(Role.DESK, town.venue)
    for _ in range(5):
        problem(
            d.post(f"/v1/redemptions/{third['id']}/fulfil", {"pin": "000000"}), 403, "wrong-pin"
        )
    locked_out(d.post(f"/v1/redemptions/{third['id']}/fulfil", {"code": third["code"]}))

    # The volunteer's PIN is a target too: five wrong PINs (by d above) lock it for everyone.
    e = town.client(Role.DESK, town.venue)
    locked_out(
        e.post("/v1/redemptions", {"volunteer_id": volunteer, "reward_id": prize, "pin": PIN})
    )
    ok(e.post(f"/v1/redemptions/{third['id']}/fulfil", {"code": third["code"]}))


@contextmanager
def served(rt: Runtime) -> Iterator[Town]:
    with serve(rt) as base_url:
        yield Town(rt, base_url)


def test_the_counts_hold_across_processes_and_end_with_the_window(database_url: str) -> None:
    """Two runtimes on one store stand for two HTTP worker processes: what one counts, the
    other refuses; once the window has passed, the right code is taken again."""
    settings = make_settings(database_url, guess_window_seconds=3)
    first = Runtime(settings)
    second = Runtime(settings, migrate=False)
    try:
        first.start()
        with served(first) as town, serve(second) as other_url:
            volunteer = town.volunteer()
            signup, code = signed_up(town, volunteer)
            token = town.rt.tokens.create(Role.VOLUNTEER, "me-on-two", uuid.UUID(volunteer))
            here, there = Api(town.base_url, token), Api(other_url, token)
            path = f"/v1/signups/{signup}/check-in"
            for api in (here, there, here, there, here):
                problem(api.post(path, {"code": wrong(code)}), 403, "wrong-check-in-code")
            r = there.post(path, {"code": code})
            problem(r, 429, "too-many-attempts")
            assert 1 <= int(r.headers["retry-after"]) <= 3
            time.sleep(int(r.headers["retry-after"]) + 0.2)
            assert ok(there.post(path, {"code": code}))["status"] == "checked_in"
    finally:
        second.close()
        first.close()


# A volunteer's own time is the server's -------------------------------------------------------


def test_a_volunteer_checks_in_and_out_at_the_servers_time(town: Town) -> None:
    volunteer = town.volunteer()
    signup, code = signed_up(town, volunteer)
    me = town.client(Role.VOLUNTEER, volunteer)
    now = datetime.now(UTC)
    back_dated = (now - timedelta(hours=6, minutes=30)).isoformat()
    problem(
        me.post(f"/v1/signups/{signup}/check-in", {"code": code, "at": back_dated}),
        422,
        "time-not-now",
    )
    ahead = (now + timedelta(minutes=4)).isoformat()
    problem(
        me.post(f"/v1/signups/{signup}/check-in", {"code": code, "at": ahead}), 422, "time-not-now"
    )

    # Within the tolerance, the server's clock is what is recorded.
    nearly = now - timedelta(minutes=1)
    body = ok(me.post(f"/v1/signups/{signup}/check-in", {"code": code, "at": nearly.isoformat()}))
    at = datetime.fromisoformat(body["at"])
    assert at > nearly + timedelta(seconds=50) and body["time_given_by_coordinator"] is False
    problem(
        me.post(f"/v1/signups/{signup}/check-out", {"code": code, "at": back_dated}),
        422,
        "time-not-now",
    )
    out = ok(me.post(f"/v1/signups/{signup}/check-out", {"code": code}))
    assert out["minutes"] == 0 and out["time_given_by_coordinator"] is False
    shown = ok(town.admin.get(f"/v1/signups/{signup}"))
    assert shown["check_in_time_given_by_coordinator"] is False
    assert shown["check_out_time_given_by_coordinator"] is False


def test_a_coordinators_given_time_is_marked_on_the_event_and_the_signup(town: Town) -> None:
    volunteer = town.volunteer()
    signup, _ = signed_up(town, volunteer)
    coordinator = town.client(Role.COORDINATOR, town.team)
    start = datetime.now(UTC) - timedelta(minutes=90)
    given = ok(coordinator.post(f"/v1/signups/{signup}/check-in", {"at": start.isoformat()}))
    assert datetime.fromisoformat(given["at"]) == start and given["time_given_by_coordinator"]
    now = ok(coordinator.post(f"/v1/signups/{signup}/check-out"))
    assert now["time_given_by_coordinator"] is False and now["minutes"] == 90
    shown = ok(town.admin.get(f"/v1/signups/{signup}"))
    assert shown["check_in_time_given_by_coordinator"] is True
    assert shown["check_out_time_given_by_coordinator"] is False
    trail = ok(
        town.admin.get(f"/v1/volunteers/{volunteer}/audit-trail", min_position=now["position"])
    )
    (checked_in,) = [e for e in trail["entries"] if e["event_type"] == "Signup.CheckedIn"]
    assert checked_in["role"] == "coordinator" and checked_in["details"]["time_given"] is True


def test_a_pin_is_never_answered(town: Town) -> None:
    volunteer = town.volunteer()
    me = town.client(Role.VOLUNTEER, volunteer)
    assert PIN not in me.post(f"/v1/volunteers/{volunteer}/pin", {"pin": PIN}).text
    assert PIN not in town.admin.get(f"/v1/volunteers/{volunteer}").text
