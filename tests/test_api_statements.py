"""Statements over HTTP, on SQLite and PostgreSQL: every posting touching an account with the
running balance after it, the balance as of a past moment, record-time ranges and pages."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

from alembic import command

import migrations
from ledger.context import Role
from projections.balances.queries import volunteer_account_row
from tests.conftest import make_settings
from tests.http import Api, Town, serve
from timebank.runtime import Runtime


def served(town: Town, volunteer: str, minutes: int, hours_ago: int = 0) -> str:
    """A signup checked in and out `minutes` apart, ending `hours_ago` hours ago, and
    approved; returns its id."""
    start = datetime.now(UTC) - timedelta(hours=hours_ago, minutes=minutes + 5)
    activity = town.activity(starts_at=start - timedelta(minutes=10))["id"]
    r = town.admin.post(f"/v1/activities/{activity}/signups", {"volunteer_id": volunteer})
    assert r.status_code == 201, r.text
    signup = str(r.json()["id"])
    for action, at in (("check-in", start), ("check-out", start + timedelta(minutes=minutes))):
        r = town.admin.post(f"/v1/signups/{signup}/{action}", {"at": at.isoformat()})
        assert r.status_code == 200, r.text
    r = town.admin.post(f"/v1/signups/{signup}/verify", {"decision": "approve"})
    assert r.status_code == 200 and r.json()["credited_minutes"] == minutes, r.text
    return signup


def statement(client: Api, volunteer: str, **params: Any) -> dict[str, Any]:
    r = client.get(f"/v1/accounts/{volunteer}/statement", **params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def full_statement(town: Town, volunteer: str, **params: Any) -> dict[str, Any]:
    town.rt.runner.catch_up()
    return statement(town.admin, volunteer, limit=1000, **params)


def summary(entries: list[dict[str, Any]]) -> list[tuple[str, int, int]]:
    return [(e["kind"], e["amount_minutes"], e["balance_minutes"]) for e in entries]


def test_running_balance_across_credits_gifts_donations_and_a_redemption(town: Town) -> None:
    volunteer, relative = town.volunteer(), town.volunteer()
    first = served(town, volunteer, 120, hours_ago=5)
    town.admin.post(
        f"/v1/volunteers/{volunteer}/family-links", {"relative_id": relative, "relation": "child"}
    )
    gift = {
        "from_volunteer_id": volunteer,
        "to_volunteer_id": relative,
        "minutes": 30,
        "kind": "gift",
        "memo": "生日",
    }
    gift_id = town.admin.post("/v1/transfers", gift).json()["id"]
    donation = {
        "from_volunteer_id": volunteer,
        "to_org_id": town.team,
        "minutes": 10,
        "kind": "donation",
    }
    assert town.admin.post("/v1/transfers", donation).status_code == 201
    second = served(town, volunteer, 50)
    reward = town.admin.post(
        "/v1/rewards", {"venue_id": town.venue, "name": "大米", "cost_minutes": 20, "stock": 5}
    ).json()["id"]
    desk = town.client(Role.DESK, town.venue)
    me = town.client(Role.VOLUNTEER, volunteer)  # reserves; shows the code at the desk
    reserved = me.post(
        "/v1/redemptions", {"volunteer_id": volunteer, "reward_id": reward, "quantity": 2}
    ).json()
    # A reservation only holds credits: it posts nothing until handed over.
    held = full_statement(town, volunteer)
    assert [e["kind"] for e in held["entries"]] == ["service", "gift", "donation", "service"]
    r = desk.post(f"/v1/redemptions/{reserved['id']}/fulfil", {"code": reserved["code"]})
    assert r.status_code == 200, r.text

    s = statement(town.admin, volunteer, min_position=r.json()["position"])
    assert s["volunteer_id"] == volunteer
    assert summary(s["entries"]) == [
        ("service", 120, 120),
        ("gift", -30, 90),
        ("donation", -10, 80),
        ("service", 50, 130),
        ("redemption", -40, 90),
    ]
    assert (s["opening_balance"], s["closing_balance"]) == (0, 90)
    assert s["next_cursor"] is None and s["as_of"] is None and s["balance_as_of"] is None
    service, gifted, donated, _, redeemed = s["entries"]
    assert service["counterparty"] == f"issuance:{town.team}"
    assert service["reference"] == first and s["entries"][3]["reference"] == second
    assert (gifted["counterparty"], gifted["memo"]) == (f"volunteer:{relative}", "生日")
    assert gifted["posting_id"] == gift_id
    assert donated["counterparty"] == f"pool:{town.team}"
    assert redeemed["counterparty"] == f"venue:{town.venue}"
    assert redeemed["reference"] == reserved["id"]
    positions = [e["position"] for e in s["entries"]]
    assert positions == sorted(positions)
    for e in s["entries"]:
        recorded, occurred = (datetime.fromisoformat(e[k]) for k in ("recorded_at", "occurred_at"))
        assert recorded.utcoffset() == occurred.utcoffset() == timedelta(0)
        assert abs(recorded - occurred) < timedelta(seconds=5)
    account = town.account(volunteer)
    assert s["closing_balance"] == account["balance_minutes"] == 90

    # The other side of each posting is an entry of the other account.
    other = statement(town.admin, relative)
    assert summary(other["entries"]) == [("gift", 30, 30)]
    assert other["entries"][0]["counterparty"] == f"volunteer:{volunteer}"
    assert other["entries"][0]["posting_id"] == gift_id


def test_balance_as_of_past_moments_and_record_time_ranges(town: Town) -> None:
    volunteer, relative = town.volunteer(), town.volunteer()
    town.admin.post(
        f"/v1/volunteers/{volunteer}/family-links", {"relative_id": relative, "relation": "spouse"}
    )
    before_all = datetime.now(UTC)
    served(town, volunteer, 60)
    for minutes in (5, 7, 11):
        gift = {
            "from_volunteer_id": volunteer,
            "to_volunteer_id": relative,
            "minutes": minutes,
            "kind": "gift",
        }
        assert town.admin.post("/v1/transfers", gift).status_code == 201
    entries = full_statement(town, volunteer)["entries"]
    assert summary(entries) == [
        ("service", 60, 60),
        ("gift", -5, 55),
        ("gift", -7, 48),
        ("gift", -11, 37),
    ]
    moments = [datetime.fromisoformat(e["recorded_at"]) for e in entries]
    assert moments == sorted(moments) and len(set(moments)) == 4

    def balance_as_of(moment: datetime) -> int:
        s = statement(town.admin, volunteer, as_of=moment.isoformat())
        assert datetime.fromisoformat(s["as_of"]) == moment
        return int(s["balance_as_of"])

    assert balance_as_of(before_all) == 0
    assert balance_as_of(moments[0] - timedelta(microseconds=1)) == 0
    assert balance_as_of(moments[0]) == 60  # recorded at that very moment: included
    assert balance_as_of(moments[1] - timedelta(microseconds=1)) == 60
    assert balance_as_of(moments[2]) == 48
    assert balance_as_of(moments[3] + timedelta(days=1)) == 37
    # Another offset names the same moment.
    shifted = moments[1].astimezone(timezone(timedelta(hours=8)))
    assert balance_as_of(shifted) == 55

    # from is inclusive, to exclusive; the opening balance is the one before the range.
    s = statement(
        town.admin, volunteer, **{"from": moments[1].isoformat(), "to": moments[3].isoformat()}
    )
    assert summary(s["entries"]) == [("gift", -5, 55), ("gift", -7, 48)]
    assert (s["opening_balance"], s["closing_balance"]) == (60, 48)
    s = statement(town.admin, volunteer, to=moments[0].isoformat())
    assert s["entries"] == [] and (s["opening_balance"], s["closing_balance"]) == (0, 0)
    later = (moments[3] + timedelta(seconds=1)).isoformat()
    s = statement(town.admin, volunteer, **{"from": later})
    assert s["entries"] == [] and (s["opening_balance"], s["closing_balance"]) == (37, 37)

    r = town.admin.get(
        f"/v1/accounts/{volunteer}/statement",
        **{"from": moments[2].isoformat(), "to": moments[1].isoformat()},
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid-period"
    r = town.admin.get(f"/v1/accounts/{volunteer}/statement", as_of="2026-01-01T00:00:00")
    assert r.status_code == 422  # a moment needs its offset
    # moments outside the calendar the ledger keeps (2000 to 2099) are refused, not a 500
    for name in ("from", "to", "as_of"):
        for extreme in ("9999-12-31T23:59:59-10:00", "0001-01-01T00:00:00+05:00"):
            r = town.admin.get(f"/v1/accounts/{volunteer}/statement", **{name: extreme})
            assert r.status_code == 422, r.text
            assert r.json()["code"] == "validation-failed" and name in r.json()["detail"]


def test_pages_stitch_into_the_whole_statement(town: Town) -> None:
    volunteer, relative = town.volunteer(), town.volunteer()
    town.admin.post(
        f"/v1/volunteers/{volunteer}/family-links", {"relative_id": relative, "relation": "parent"}
    )
    served(town, volunteer, 100)
    for minutes in range(1, 7):
        gift = {
            "from_volunteer_id": volunteer,
            "to_volunteer_id": relative,
            "minutes": minutes,
            "kind": "gift",
        }
        assert town.admin.post("/v1/transfers", gift).status_code == 201
    whole = full_statement(town, volunteer)["entries"]
    assert len(whole) == 7 and whole[-1]["balance_minutes"] == 100 - 21

    stitched: list[dict[str, Any]] = []
    cursor, closing = None, 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = statement(town.admin, volunteer, **params)
        assert len(page["entries"]) <= 2
        assert page["opening_balance"] == closing  # each page opens where the last closed
        closing = page["closing_balance"]
        stitched += page["entries"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert stitched == whole
    assert closing == whole[-1]["balance_minutes"]

    # A cursor past the end gives an empty page at the closing balance.
    last = statement(town.admin, volunteer, limit=7)
    assert last["next_cursor"] is None
    penultimate = statement(town.admin, volunteer, limit=6)
    tail = statement(town.admin, volunteer, limit=6, cursor=penultimate["next_cursor"])
    assert tail["entries"] == whole[6:] and tail["opening_balance"] == whole[5]["balance_minutes"]

    r = town.admin.get(f"/v1/accounts/{volunteer}/statement", cursor="not-a-cursor")
    assert r.status_code == 422 and r.json()["code"] == "invalid-cursor"


def test_a_correction_shows_the_reversal_and_the_recredit(town: Town) -> None:
    volunteer = town.volunteer()
    signup = served(town, volunteer, 90)
    r = town.admin.post("/v1/disputes", {"record_id": signup, "reason": "left early"})
    assert r.status_code == 201, r.text
    dispute = r.json()["id"]
    r = town.admin.post(
        f"/v1/disputes/{dispute}/resolve",
        {"decision": "correct", "minutes": 60, "reason": "sign-in sheet shows 60"},
    )
    assert r.status_code == 200, r.text

    s = statement(town.admin, volunteer, min_position=r.json()["position"])
    assert summary(s["entries"]) == [
        ("service", 90, 90),  # the original stays
        ("reversal", -90, 0),
        ("service", 60, 60),
    ]
    original, reversal, recredit = s["entries"]
    assert reversal["position"] == recredit["position"] > original["position"]
    assert {e["reference"] for e in s["entries"]} == {signup}
    assert reversal["counterparty"] == recredit["counterparty"] == f"issuance:{town.team}"
    account = town.account(volunteer)
    assert account["balance_minutes"] == s["closing_balance"] == 60
    assert account["service_minutes"] == 60
    assert (account["earned_minutes"], account["spent_minutes"]) == (60, 0)  # spent nothing

    # Pages may split the two entries of one event.
    first = statement(town.admin, volunteer, limit=2)
    rest = statement(town.admin, volunteer, limit=2, cursor=first["next_cursor"])
    assert first["entries"] + rest["entries"] == s["entries"]
    assert rest["opening_balance"] == 0


def test_who_may_read_a_statement(town: Town) -> None:
    volunteer, stranger = town.volunteer(), town.volunteer()
    served(town, volunteer, 30)
    town.rt.runner.catch_up()
    other_street = town.org("另一街道", "street", town.district)
    allowed = [
        town.client(Role.VOLUNTEER, volunteer),
        town.client(Role.COORDINATOR, town.street),
        town.client(Role.DESK, town.venue),
        town.client(Role.AUDITOR),
    ]
    for client in allowed:
        assert summary(statement(client, volunteer)["entries"]) == [("service", 30, 30)]
    for client in (
        town.client(Role.VOLUNTEER, stranger),
        town.client(Role.COORDINATOR, other_street),
    ):
        r = client.get(f"/v1/accounts/{volunteer}/statement")
        assert r.status_code == 403, r.text
    r = town.admin.get("/v1/accounts/00000000-0000-4000-8000-000000000000/statement")
    assert r.status_code == 404


def test_a_store_upgraded_from_before_statements_gets_them_by_replay(database_url: str) -> None:
    def whole_statement(rt: Runtime, volunteer: str | None = None) -> tuple[str, Any]:
        rt.start()
        with serve(rt) as base_url:
            town = Town(rt, base_url)
            if volunteer is None:
                volunteer = town.volunteer()
                served(town, volunteer, 40)
            return volunteer, full_statement(town, volunteer)["entries"]

    rt = Runtime(make_settings(database_url))
    volunteer, entries = whole_statement(rt)
    rt.close()
    assert summary(entries) == [("service", 40, 40)]

    config = migrations.alembic_config(make_settings(database_url).store.sqlalchemy_url)
    command.downgrade(config, "0001")
    migrations.upgrade(make_settings(database_url).store.sqlalchemy_url)
    rt = Runtime(make_settings(database_url))
    try:
        assert rt.runner.requested_rebuilds() == ["balances"]
        row = volunteer_account_row(rt.db, UUID(volunteer))
        assert row is not None and row.balance_minutes == 40, "the old view keeps serving meanwhile"
        rt.runner.rebuild_requested()
        assert rt.runner.requested_rebuilds() == []
        assert whole_statement(rt, volunteer) == (volunteer, entries)
    finally:
        rt.close()
