"""Service records, rankings, organisation reports and awards in notice, over HTTP on SQLite
and PostgreSQL, against a small hand-built town whose every figure is known.

The town (rules: 1 star at 3 h, party members owe 120 minutes a year):

    district (Town's)  ─ S1 street (population 40) ─ T1 team: a (party), b, g
                       │                            ├ T2 team: c
                       │                            └ p (party, member of S1 itself)
                       ├ S2 street ─ T3 team: d (party), e
                       └ Town's own street ─ Town's team (no members)

    act1 T1 elder_care  2024-03-10 campaign 学雷锋: a 120, b 50    completed, 30 served
    act2 T2 environment 2024-04-02:                 c 180, a 30    not completed
    act3 T3 children    2025-01-15:                 d 200, e 45    completed, 7 served
    act4 S1 culture     2024-03-20 campaign 学雷锋: d 50           completed, 100 served
    trainings: T1 2024-05-01 a, b 60 min; S1 2024-06-01 a, c 90 min; T3 2024-05-01 d 30 min
"""

import codecs
import csv
import io
import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from ledger.commands.recognition import ConfirmAward
from ledger.context import SYSTEM, Context, Role
from ledger.rules import Rules
from projections.records.tables import TABLES
from tests.conftest import make_settings
from tests.http import Api, Town, serve
from tests.test_api_contract import forged_cursors
from timebank.runtime import Runtime

RULES = Rules(star_thresholds_hours=(3, 100, 200, 300, 400), party_member_yearly_minutes=120)
SHANGHAI = ZoneInfo("Asia/Shanghai")
CAMPAIGN = "学雷锋"
CATEGORIES = [
    "elder_care",
    "disability",
    "children",
    "environment",
    "community_cleanup",
    "legal_aid",
    "health",
    "traffic",
    "culture",
    "emergency",
    "blood_donation",
    "fitness",
    "science",
    "other",
]


@pytest.fixture
def town(database_url: str) -> Iterator[Town]:
    rt = Runtime(make_settings(database_url, rules=RULES))
    rt.start()
    try:
        with serve(rt) as base_url:
            yield Town(rt, base_url)
    finally:
        rt.close()


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def problem(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == f"urn:timebank:problem:{code}", r.text


def local(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 9, tzinfo=SHANGHAI)


@dataclass
class World:
    town: Town
    ids: dict[str, str] = field(default_factory=dict)
    signups: dict[tuple[str, str], str] = field(default_factory=dict)
    slots: dict[str, Iterator[int]] = field(default_factory=dict)
    position: int = 0

    def __getattr__(self, name: str) -> str:
        try:
            ids: dict[str, str] = self.__dict__["ids"]
            return ids[name]
        except KeyError:
            raise AttributeError(name) from None

    def post(self, path: str, body: Any, api: Api | None = None, status: int = 200) -> Any:
        result = ok((api or self.town.admin).post(path, body), status)
        self.position = max(self.position, result.get("position") or 0)
        return result

    def org(self, name: str, kind: str, parent: str, population: int | None = None) -> None:
        body = {"name": name, "kind": kind, "parent_id": parent, "population": population}
        self.ids[name] = self.post("/v1/organisations", body, status=201)["id"]

    def volunteer(self, name: str, org: str, party: bool = False) -> None:
        body = {
            "name": "张三",
            "id_document": {"type": "passport", "number": uuid.uuid4().hex[:12]},
            "phone": "13900001111",
            "birth_date": "1980-05-06",
            "party_member": party,
            "skills": [],
            "home_org_id": org,
        }
        result = self.post("/v1/volunteers", body, status=201)
        self.ids[name] = result["id"]
        self.ids[name + "_number"] = result["volunteer_number"]

    def activity(
        self, name: str, org: str, category: str, starts: datetime, campaign: str | None = None
    ) -> None:
        body = {
            "org_id": org,
            "title": f"活动 {name}",
            "category": category,
            "location": "社区",
            "starts_at": starts.isoformat(),
            "ends_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
            "capacity": 20,
            "campaign": campaign,
        }
        self.ids[name] = self.post("/v1/activities", body, status=201)["id"]

    def serve(self, volunteer: str, activity: str, minutes: int) -> None:
        """Signs up, checks in and out `minutes` apart on a day of its own, and approves."""
        slot = next(self.slots.setdefault(volunteer, itertools.count(1)))
        v, a = self.ids[volunteer], self.ids[activity]
        signup = self.post(f"/v1/activities/{a}/signups", {"volunteer_id": v}, status=201)["id"]
        start = datetime.now(UTC) - timedelta(days=slot, hours=1)
        self.post(f"/v1/signups/{signup}/check-in", {"at": start.isoformat()})
        end = start + timedelta(minutes=minutes)
        self.post(f"/v1/signups/{signup}/check-out", {"at": end.isoformat()})
        verified = self.post(f"/v1/signups/{signup}/verify", {"decision": "approve"})
        assert verified["credited_minutes"] == minutes
        self.signups[volunteer, activity] = signup

    def training(self, org: str, held: datetime, minutes: int, *volunteers: str) -> None:
        body = {
            "org_id": org,
            "title": "急救培训",
            "held_at": held.isoformat(),
            "minutes": minutes,
            "volunteer_ids": [self.ids[v] for v in volunteers],
        }
        self.post("/v1/trainings", body, status=201)

    def get(self, path: str, api: Api | None = None, /, **params: Any) -> Any:
        return ok((api or self.town.admin).get(path, min_position=self.position, **params))


def build(town: Town, services: bool = True) -> World:
    w = World(town)
    w.org("S1", "street", town.district, population=40)
    w.org("T1", "team", w.S1)
    w.org("T2", "team", w.S1)
    w.org("S2", "street", town.district)
    w.org("T3", "team", w.S2)
    w.volunteer("a", w.T1, party=True)
    w.volunteer("b", w.T1)
    w.volunteer("g", w.T1)
    w.volunteer("c", w.T2)
    w.volunteer("p", w.S1, party=True)
    w.volunteer("d", w.T3, party=True)
    w.volunteer("e", w.T3)
    if not services:
        return w
    w.activity("act1", w.T1, "elder_care", local(2024, 3, 10), CAMPAIGN)
    w.activity("act2", w.T2, "environment", local(2024, 4, 2))
    w.activity("act3", w.T3, "children", local(2025, 1, 15))
    w.activity("act4", w.S1, "culture", local(2024, 3, 20), CAMPAIGN)
    for volunteer, activity, minutes in (
        ("a", "act1", 120),
        ("b", "act1", 50),
        ("c", "act2", 180),
        ("a", "act2", 30),
        ("d", "act3", 200),
        ("e", "act3", 45),
        ("d", "act4", 50),
    ):
        w.serve(volunteer, activity, minutes)
    for activity, served in (("act1", 30), ("act3", 7), ("act4", 100)):
        w.post(f"/v1/activities/{w.ids[activity]}/complete", {"beneficiaries": served})
    w.training(w.T1, local(2024, 5, 1), 60, "a", "b")
    w.training(w.S1, local(2024, 6, 1), 90, "a", "c")
    w.training(w.T3, local(2024, 5, 1), 30, "d")
    return w


def teams(
    w: World, org: str, period: str, **params: Any
) -> list[tuple[str, int, int, Any, int, Any]]:
    page = w.get("/v1/rankings/teams", org_id=org, period=period, **params)
    names = {w.ids[n]: n for n in ("S1", "S2", "T1", "T2", "T3")}
    names |= {w.town.team: "team", w.town.street: "street"}
    return [
        (
            names[t["org_id"]],
            t["total_minutes"],
            t["members"],
            t["per_capita_minutes"],
            t["rank"],
            t["per_capita_rank"],
        )
        for t in page["items"]
    ]


def org_id(w: World, name: str) -> str:
    return {"team": w.town.team, "street": w.town.street}.get(name) or w.ids[name]


def volunteers(w: World, org: str, period: str, limit: int = 100) -> list[tuple[str, int, int]]:
    """(name, minutes, rank) in ranking order, read page by page."""
    names = {w.ids[n]: n for n in "abcdegp"}
    found, cursor = [], None
    while True:
        params: dict[str, Any] = {"org_id": org, "period": period, "limit": limit}
        if cursor:
            params["cursor"] = cursor
        page = w.get("/v1/rankings/volunteers", **params)
        assert len(page["items"]) <= limit
        for item in page["items"]:
            assert item["volunteer_number"] == w.ids[names[item["volunteer_id"]] + "_number"]
            found.append((names[item["volunteer_id"]], item["minutes"], item["rank"]))
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def by_id(w: World, *names: str) -> list[str]:
    """The names ordered by volunteer id: how equal minutes are listed."""
    return sorted(names, key=lambda n: w.ids[n])


def report(w: World, org: str, period: str, api: Api | None = None) -> dict[str, Any]:
    result: dict[str, Any] = w.get(f"/v1/reports/organisations/{org}", api, period=period)
    return result


def categories(result: dict[str, Any]) -> dict[str, int]:
    listed = {c["category"]: c["minutes"] for c in result["service_minutes_by_category"]}
    assert list(listed)[: len(CATEGORIES)] == CATEGORIES
    return {name: minutes for name, minutes in listed.items() if minutes}


def party(
    result: dict[str, Any], w: World
) -> tuple[str, int, int, int, list[str], list[tuple[str, int]]]:
    """Year, party members, how many meet the duty and how many not, who meets it and who does
    not (with their minutes)."""
    compliance = result["party_members"]
    names = {w.ids[n]: n for n in "abcdegp"}
    meeting = [m for m in compliance["meeting"] if m["minutes"] >= compliance["required_minutes"]]
    assert len(meeting) == len(compliance["meeting"]) == compliance["met"], compliance
    missing = [(names[m["volunteer_id"]], m["minutes"]) for m in compliance["not_meeting"]]
    return (
        compliance["year"],
        compliance["registered"],
        compliance["met"],
        compliance["not_met"],
        sorted(names[m["volunteer_id"]] for m in meeting),
        sorted(missing),
    )


# Rankings and the organisation report ------------------------------------------------------


def test_rankings_by_total_and_per_capita_per_year_month_and_campaign(town: Town) -> None:
    w = build(town)
    district = town.district
    # member attribution: d's 50 minutes at S1's act4 count for T3, d's home
    assert teams(w, district, "2024") == [
        ("T1", 200, 3, 66, 1, 2),
        ("T2", 180, 1, 180, 2, 1),
        ("T3", 50, 2, 25, 3, 3),
        ("team", 0, 0, None, 4, None),
    ]
    assert teams(w, district, "2024", sort="per_capita") == [
        ("T2", 180, 1, 180, 2, 1),
        ("T1", 200, 3, 66, 1, 2),
        ("T3", 50, 2, 25, 3, 3),
        ("team", 0, 0, None, 4, None),
    ]
    march = teams(w, district, "2024-03")
    assert march[:2] == [("T1", 170, 3, 56, 1, 1), ("T3", 50, 2, 25, 2, 2)]
    assert march[2:] == sorted(
        [("T2", 0, 1, 0, 3, 3), ("team", 0, 0, None, 3, None)], key=lambda t: org_id(w, t[0])
    )
    assert teams(w, district, "2025") == [
        ("T3", 245, 2, 122, 1, 1),
        *sorted(
            [("T1", 0, 3, 0, 2, 2), ("T2", 0, 1, 0, 2, 2), ("team", 0, 0, None, 2, None)],
            key=lambda t: org_id(w, t[0]),
        ),
    ]
    assert teams(w, district, f"campaign:{CAMPAIGN}")[:2] == [
        ("T1", 170, 3, 56, 1, 1),
        ("T3", 50, 2, 25, 2, 2),
    ]
    assert teams(w, w.S1, "2024") == [("T1", 200, 3, 66, 1, 2), ("T2", 180, 1, 180, 2, 1)]
    assert teams(w, district, "2024", kind="street") == [
        ("S1", 380, 5, 76, 1, 1),
        ("S2", 50, 2, 25, 2, 2),
        ("street", 0, 0, None, 3, None),
    ]
    # paginated: each page continues where the last stopped, ranks unchanged
    first = w.get("/v1/rankings/teams", org_id=district, period="2024", sort="per_capita", limit=2)
    second = w.get(
        "/v1/rankings/teams",
        org_id=district,
        period="2024",
        sort="per_capita",
        limit=2,
        cursor=first["next_cursor"],
    )
    assert second["next_cursor"] is None
    order = [t["org_id"] for t in first["items"] + second["items"]]
    assert order == [w.T2, w.T1, w.T3, town.team]
    assert [t["per_capita_rank"] for t in second["items"]] == [3, None]

    # volunteers: most minutes first, equal minutes share a rank and are listed by id
    b, d = by_id(w, "b", "d")
    expected = [("c", 180, 1), ("a", 150, 2), (b, 50, 3), (d, 50, 3)]
    assert volunteers(w, district, "2024") == expected
    assert volunteers(w, district, "2024", limit=1) == expected
    assert volunteers(w, district, "2024", limit=3) == expected
    assert volunteers(w, w.S1, "2024") == [("c", 180, 1), ("a", 150, 2), ("b", 50, 3)]
    assert volunteers(w, w.S2, "2024") == [("d", 50, 1)]
    assert volunteers(w, w.T3, "2025-01") == [("d", 200, 1), ("e", 45, 2)]
    assert volunteers(w, district, f"campaign:{CAMPAIGN}") == [
        ("a", 120, 1),
        (b, 50, 2),
        (d, 50, 2),
    ]
    assert volunteers(w, district, "2023") == []
    assert volunteers(w, district, "campaign:nothing") == []


def test_organisation_report_counts_the_whole_subtree_and_its_csv_agrees(town: Town) -> None:
    w = build(town)
    s1 = report(w, w.S1, "2024")
    assert (s1["org_id"], s1["name"], s1["kind"], s1["period"]) == (w.S1, "S1", "street", "2024")
    assert (s1["registered_volunteers"], s1["active_volunteers"]) == (5, 3)
    assert (s1["population"], s1["registration_ratio"]) == (40, "0.1250")
    assert (s1["activities_held"], s1["beneficiaries"]) == (2, 130)  # act2 is not completed
    # organiser attribution: what S1's subtree recorded, whoever served (d is S2's)
    assert categories(s1) == {"elder_care": 170, "environment": 210, "culture": 50}
    assert s1["total_service_minutes"] == 430
    assert s1["member_service_minutes"] == 380  # what S1's members served
    assert (s1["trainings_held"], s1["training_participants"]) == (2, 3)
    assert party(s1, w) == ("2024", 2, 1, 1, ["a"], [("p", 0)])
    assert s1["party_members"]["required_minutes"] == 120
    assert s1["position"] >= w.position

    march = report(w, w.S1, "2024-03")
    assert (march["active_volunteers"], march["activities_held"], march["beneficiaries"]) == (
        2,
        2,
        130,
    )
    assert categories(march) == {"elder_care": 170, "culture": 50}
    assert (march["member_service_minutes"], march["trainings_held"]) == (170, 0)
    assert party(march, w) == ("2024", 2, 1, 1, ["a"], [("p", 0)])

    campaign = report(w, w.S1, f"campaign:{CAMPAIGN}")
    assert (campaign["activities_held"], campaign["beneficiaries"]) == (2, 130)
    assert categories(campaign) == {"elder_care": 170, "culture": 50}
    assert (campaign["trainings_held"], campaign["training_participants"]) == (0, 0)
    assert party(campaign, w)[0] == "2024"  # the year of the campaign
    assert report(w, w.S1, "campaign:nothing")["party_members"] is None

    s2 = report(w, w.S2, "2024")
    assert (s2["registered_volunteers"], s2["active_volunteers"]) == (2, 1)
    assert (s2["population"], s2["registration_ratio"]) == (None, None)
    assert (s2["activities_held"], s2["total_service_minutes"]) == (0, 0)
    assert s2["member_service_minutes"] == 50
    assert (s2["trainings_held"], s2["training_participants"]) == (1, 1)
    assert party(s2, w) == ("2024", 1, 0, 1, [], [("d", 50)])
    s2_2025 = report(w, w.S2, "2025")
    assert (s2_2025["activities_held"], s2_2025["beneficiaries"]) == (1, 7)
    assert categories(s2_2025) == {"children": 245}
    assert party(s2_2025, w) == ("2025", 1, 1, 0, ["d"], [])

    whole = report(w, town.district, "2024")
    assert (whole["registered_volunteers"], whole["active_volunteers"]) == (7, 4)
    assert (whole["activities_held"], whole["beneficiaries"]) == (2, 130)
    assert whole["total_service_minutes"] == whole["member_service_minutes"] == 430
    assert (whole["trainings_held"], whole["training_participants"]) == (3, 4)
    assert party(whole, w) == ("2024", 3, 1, 2, ["a"], [("d", 50), ("p", 0)])
    team = report(w, w.T1, "2024")
    assert (team["registered_volunteers"], team["registration_ratio"]) == (3, None)
    assert categories(team) == {"elder_care": 170}

    # the CSV says the same as the JSON, row by row
    for org in (w.S1, town.district, w.S2):
        data = report(w, org, "2024")
        r = town.admin.get(f"/v1/reports/organisations/{org}.csv", period="2024")
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "text/csv; charset=utf-8"
        # UTF-8 with a byte-order mark, for spreadsheet programs to show Chinese
        assert r.content.startswith(codecs.BOM_UTF8)
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert rows[0] == ["section", "key", "value"]
        assert all(len(row) == 3 for row in rows)
        assert csv_as_report(rows[1:]) == comparable(data, w)
        # every figure of the JSON, a new one too, has its row
        assert csv_scalars(rows, "report") == json_scalars(data)
        assert csv_scalars(rows, "party_members") == json_scalars(data["party_members"])
        # the CSV is at .csv alone: the JSON report is JSON whatever the Accept header says
        asked = town.admin.client.get(
            f"/v1/reports/organisations/{org}",
            params={"period": "2024"},
            headers={"Accept": "text/csv"},
        )
        assert asked.headers["content-type"] == "application/json"
        assert asked.json() == data


def csv_as_report(rows: list[list[str]]) -> dict[str, Any]:
    values = {(section, key): value for section, key, value in rows}
    assert len(values) == len(rows), "one row per metric"
    return {
        "org_id": values["report", "org_id"],
        "name": values["report", "name"],
        "period": values["report", "period"],
        "registered": int(values["report", "registered_volunteers"]),
        "active": int(values["report", "active_volunteers"]),
        "population": values["report", "population"] or None,
        "ratio": values["report", "registration_ratio"] or None,
        "held": int(values["report", "activities_held"]),
        "beneficiaries": int(values["report", "beneficiaries"]),
        "categories": {
            k: int(v) for (s, k), v in values.items() if s == "service_minutes_by_category"
        },
        "total": int(values["report", "total_service_minutes"]),
        "members": int(values["report", "member_service_minutes"]),
        "trainings": (
            int(values["report", "trainings_held"]),
            int(values["report", "training_participants"]),
        ),
        "party": (
            values["party_members", "year"],
            int(values["party_members", "registered"]),
            int(values["party_members", "met"]),
            int(values["party_members", "not_met"]),
            {k: int(v) for (s, k), v in values.items() if s == "party_members.meeting"},
            {k: int(v) for (s, k), v in values.items() if s == "party_members.not_meeting"},
        ),
    }


def csv_scalars(rows: list[list[str]], section: str) -> dict[str, str]:
    return {key: value for s, key, value in rows if s == section}


def json_scalars(data: dict[str, Any]) -> dict[str, str]:
    """Every value of the JSON report that is no list or object, as the CSV writes it."""
    return {
        key: "" if value is None else str(value)
        for key, value in data.items()
        if not isinstance(value, list | dict)
    }


def comparable(data: dict[str, Any], w: World) -> dict[str, Any]:
    party = data["party_members"]
    return {
        "org_id": data["org_id"],
        "name": data["name"],
        "period": data["period"],
        "registered": data["registered_volunteers"],
        "active": data["active_volunteers"],
        "population": None if data["population"] is None else str(data["population"]),
        "ratio": data["registration_ratio"],
        "held": data["activities_held"],
        "beneficiaries": data["beneficiaries"],
        "categories": {c["category"]: c["minutes"] for c in data["service_minutes_by_category"]},
        "total": data["total_service_minutes"],
        "members": data["member_service_minutes"],
        "trainings": (data["trainings_held"], data["training_participants"]),
        "party": (
            party["year"],
            party["registered"],
            party["met"],
            party["not_met"],
            {m["volunteer_number"]: m["minutes"] for m in party["meeting"]},
            {m["volunteer_number"]: m["minutes"] for m in party["not_meeting"]},
        ),
    }


# Changes over time ------------------------------------------------------------------------


def test_transfers_move_attribution_from_then_on_and_corrections_change_totals(
    town: Town,
) -> None:
    w = build(town)
    # b moves from T1 (S1) to T3 (S2), then serves again for T1's organisation
    w.post(f"/v1/volunteers/{w.b}/transfer-membership", {"to_org_id": w.T3, "reason": "搬家"})
    w.activity("act5", w.T1, "elder_care", local(2024, 7, 1))
    w.serve("b", "act5", 40)
    assert teams(w, town.district, "2024")[:3] == [
        ("T1", 200, 2, 100, 1, 2),  # b's earlier 50 minutes stay with T1
        ("T2", 180, 1, 180, 2, 1),
        ("T3", 90, 3, 30, 3, 3),
    ]
    assert volunteers(w, w.S2, "2024") == [("d", 50, 1), ("b", 40, 2)]
    assert volunteers(w, w.S1, "2024") == [("c", 180, 1), ("a", 150, 2), ("b", 50, 3)]
    s1 = report(w, w.S1, "2024")
    assert (s1["registered_volunteers"], s1["registration_ratio"]) == (4, "0.1000")
    assert categories(s1)["elder_care"] == 210  # organiser attribution: T1 recorded it

    # c moves to T3, then disputes act2 (180 minutes); the correction to 100 is attributed
    # like the credit it corrects: to T2
    w.post(f"/v1/volunteers/{w.c}/transfer-membership", {"to_org_id": w.T3, "reason": "搬家"})
    c_self = town.client(Role.VOLUNTEER, w.c)
    signup = w.signups["c", "act2"]
    dispute = w.post("/v1/disputes", {"record_id": signup, "reason": "少记了"}, c_self, 201)
    resolution = {"decision": "correct", "minutes": 100, "reason": "签到表只有100分钟"}
    w.post(f"/v1/disputes/{dispute['id']}/resolve", resolution)
    assert teams(w, town.district, "2024")[:3] == [
        ("T1", 200, 2, 100, 1, 1),
        ("T2", 100, 0, None, 2, None),  # its only member left
        ("T3", 90, 4, 22, 3, 2),
    ]
    assert volunteers(w, w.S1, "2024") == [("a", 150, 1), ("c", 100, 2), ("b", 50, 3)]
    s1 = report(w, w.S1, "2024")
    assert categories(s1) == {"elder_care": 210, "environment": 130, "culture": 50}
    assert s1["total_service_minutes"] == 390
    record = w.get(f"/v1/volunteers/{w.c}/record")
    assert record["totals"]["service_minutes"] == 100
    assert record["totals"]["stars"] == 0  # below 3 h again
    [service] = record["services"]
    assert (service["source_id"], service["minutes"], service["original_minutes"]) == (
        signup,
        100,
        180,
    )
    assert (service["corrections"], service["credits"], service["source_kind"]) == (
        1,
        100,
        "signup",
    )
    [correction] = record["corrections"]
    assert correction["dispute_id"] == dispute["id"]
    assert (correction["previous_minutes"], correction["corrected_minutes"]) == (180, 100)
    assert correction["reason"] == "签到表只有100分钟"
    assert correction["requested_reason"] == "少记了"

    # a back-fill approved by a second coordinator counts on the date the service began
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(days=20)
    body = {
        "volunteer_id": w.e,
        "org_id": w.T3,
        "category": "legal_aid",
        "started_at": started.isoformat(),
        "ended_at": (started + timedelta(minutes=60)).isoformat(),
        "description": "法律咨询",
    }
    backfill = w.post("/v1/backfills", body, status=201)["id"]
    w.post(f"/v1/backfills/{backfill}/approve", {}, town.client(Role.ADMIN))
    month = started.astimezone(SHANGHAI).strftime("%Y-%m")
    assert volunteers(w, w.S2, month) == [("e", 60, 1)]
    assert categories(report(w, w.S2, month)) == {"legal_aid": 60}
    services = w.get(f"/v1/volunteers/{w.e}/record")["services"]
    assert [(s["source_kind"], s["title"], s["minutes"]) for s in services] == [
        ("backfill", "法律咨询", 60),
        ("signup", "活动 act3", 45),
    ]
    assert services[0]["service_date"] == started.astimezone(SHANGHAI).date().isoformat()

    # rebuilding the view from the log gives the same rows as following it live
    town.rt.runner.catch_up()
    before = dump(town.rt)
    town.rt.runner.rebuild("records")
    assert dump(town.rt) == before


def dump(rt: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with rt.db.read() as cur:
        for table in TABLES:
            cur.execute(f"SELECT * FROM {table}")
            tables[table] = sorted((tuple(row) for row in cur.fetchall()), key=repr)
    return tables


# The service record and awards ----------------------------------------------------------------


def test_service_record_and_awards_in_notice(town: Town) -> None:
    w = build(town)
    w.post(
        "/v1/evaluations",
        {"signup_id": w.signups["a", "act1"], "score": 5, "by": "organiser", "comment": "认真"},
        status=201,
    )
    body = {"volunteer_id": w.a, "org_id": w.T1, "title": "优秀志愿者", "reason": "长期服务"}
    commendation = w.post("/v1/commendations", body, status=201)["id"]

    record = w.get(f"/v1/volunteers/{w.a}/record")
    assert (record["volunteer_id"], record["volunteer_number"]) == (w.a, w.a_number)
    assert record["home_org_id"] == w.T1
    assert record["totals"] == {
        "service_minutes": 150,
        "training_minutes": 150,
        "stars": 0,
        "confirmed_stars": 0,
    }
    assert [
        (s["title"], s["org_name"], s["category"], s["service_date"], s["minutes"])
        for s in record["services"]
    ] == [
        ("活动 act2", "T2", "environment", "2024-04-02", 30),
        ("活动 act1", "T1", "elder_care", "2024-03-10", 120),
    ]
    assert record["services"][1]["campaign"] == CAMPAIGN
    assert record["corrections"] == [] and record["certificates"] == []
    assert [(t["org_name"], t["minutes"]) for t in record["trainings"]] == [("S1", 90), ("T1", 60)]
    [evaluation] = record["evaluations"]
    assert (evaluation["score"], evaluation["by"], evaluation["comment"]) == (
        5,
        "organiser",
        "认真",
    )
    assert evaluation["activity_title"] == "活动 act1"
    [award] = record["awards"]
    assert (award["id"], award["kind"], award["status"]) == (
        commendation,
        "commendation",
        "in_notice",
    )
    for pii in ("张三", "13900001111", "1980-05-06"):
        assert pii not in str(record)

    # stars: c and d reached 3 h and were put into notice at their home organisations
    objector = town.client(Role.VOLUNTEER, w.b)
    w.post("/v1/objections", {"award_id": commendation, "reason": "不属实"}, objector, 201)
    c_star = w.get("/v1/awards", org_id=w.T2)["items"]
    assert [(x["volunteer_id"], x["kind"], x["level"], x["status"]) for x in c_star] == [
        (w.c, "star", 1, "in_notice")
    ]
    later = Context(SYSTEM, "test-sweep", datetime.now(UTC) + timedelta(days=RULES.notice_days + 1))
    confirmed = town.rt.service.execute(later, ConfirmAward(uuid.UUID(c_star[0]["id"])))
    w.position = max(w.position, confirmed.position or 0)
    c_record = w.get(f"/v1/volunteers/{w.c}/record")
    assert c_record["totals"]["stars"] == c_record["totals"]["confirmed_stars"] == 1
    assert c_record["awards"][0]["status"] == "confirmed"

    def listed(**params: Any) -> list[tuple[str, str]]:
        names = {w.ids[n]: n for n in "abcdegp"}
        found, cursor = [], None
        while True:
            page = w.get("/v1/awards", **params, **({"cursor": cursor} if cursor else {}))
            found += [(names[x["volunteer_id"]], x["status"]) for x in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                return found

    newest_first = [("a", "objected"), ("d", "in_notice"), ("c", "confirmed")]
    assert listed(org_id=town.district) == newest_first
    assert listed(org_id=town.district, limit=1) == newest_first
    assert listed() == newest_first
    assert listed(org_id=w.S1) == [("a", "objected"), ("c", "confirmed")]
    assert listed(org_id=w.S2) == [("d", "in_notice")]
    assert listed(status="objected") == [("a", "objected")]
    assert listed(org_id=w.S2, status="confirmed") == []
    w.post(f"/v1/awards/{commendation}/review", {"decision": "withdraw", "reason": "核实不符"})
    assert listed(status="withdrawn") == [("a", "withdrawn")]
    anyone = town.client(Role.VOLUNTEER, w.e)
    assert len(w.get("/v1/awards", anyone, org_id=town.district)["items"]) == 3


LISTS = ("services", "corrections", "trainings", "evaluations", "awards")


def walk(w: World, path: str, limit: int, cursor: str | None = None) -> list[dict[str, Any]]:
    """Every item of a paged list, read `limit` at a time from `cursor` on."""
    items: list[dict[str, Any]] = []
    while True:
        page = w.get(path, limit=limit, **({"cursor": cursor} if cursor else {}))
        assert len(page["items"]) <= limit
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def test_every_list_of_a_service_record_pages(town: Town) -> None:
    w = build(town, services=False)
    g_self = town.client(Role.VOLUNTEER, w.g)
    w.activity("act1", w.T1, "elder_care", local(2024, 3, 10))
    w.activity("act2", w.T1, "elder_care", local(2024, 7, 1))
    w.activity("act3", w.T1, "culture", local(2024, 7, 1))  # the same service date as act2
    w.activity("act4", w.T1, "health", local(2024, 9, 1))
    for activity in ("act1", "act2", "act3", "act4"):
        w.serve("g", activity, 20)
    for activity in ("act2", "act3", "act4"):
        signup = w.signups["g", activity]
        dispute = w.post("/v1/disputes", {"record_id": signup, "reason": "少记"}, g_self, 201)
        resolution = {"decision": "correct", "minutes": 25, "reason": "补记"}
        w.post(f"/v1/disputes/{dispute['id']}/resolve", resolution)
        evaluation = {"signup_id": signup, "score": 4, "by": "organiser", "comment": activity}
        w.post("/v1/evaluations", evaluation, status=201)
        commendation = {"volunteer_id": w.g, "org_id": w.T1, "title": "表扬", "reason": activity}
        w.post("/v1/commendations", commendation, status=201)
        w.training(w.T1, local(2024, 8, 1), 30, "g")  # three at one moment: listed by id
    w.training(w.T1, local(2024, 10, 1), 45, "g")
    record = f"/v1/volunteers/{w.g}/record"
    whole = w.get(record, limit=1000)
    assert whole["list_limit"] == 1000
    assert whole["next_cursors"] == dict.fromkeys(LISTS)
    assert {name: len(whole[name]) for name in LISTS} == {
        "services": 4,
        "corrections": 3,
        "trainings": 4,
        "evaluations": 3,
        "awards": 3,
    }
    services = [(s["service_date"], s["title"]) for s in whole["services"]]
    assert services == [
        ("2024-09-01", "活动 act4"),
        ("2024-07-01", "活动 act3"),  # credited after act2
        ("2024-07-01", "活动 act2"),
        ("2024-03-10", "活动 act1"),
    ]
    same_moment = [t["training_id"] for t in whole["trainings"][1:]]
    assert same_moment == sorted(same_moment) and whole["trainings"][0]["minutes"] == 45
    assert whole["totals"]["service_minutes"] == 20 + 3 * 25

    first = w.get(record, limit=2)
    assert first["list_limit"] == 2 and first["totals"] == whole["totals"]
    for name in LISTS:
        assert first[name] == whole[name][:2], name
        path = f"{record}/{name}"
        for limit in (1, 2, 3, 100):
            assert walk(w, path, limit) == whole[name], (name, limit)
        # the record's cursor continues the list where the record stopped
        assert first["next_cursors"][name] is not None
        assert first[name] + walk(w, path, 2, first["next_cursors"][name]) == whole[name]
        # the same readers as the record's
        problem(town.client(Role.VOLUNTEER, w.b).get(path), 403, "outside-scope")
        problem(town.client(Role.DESK, town.venue).get(path), 403, "outside-scope")
        assert ok(town.client(Role.COORDINATOR, w.S1).get(path))["volunteer_id"] == w.g
        assert ok(g_self.get(path, limit=1))["items"] == whole[name][:1]
        problem(
            town.admin.get(f"/v1/volunteers/{uuid.uuid4()}/record/{name}"),
            404,
            "volunteer-not-found",
        )
        for forged in forged_cursors(first["next_cursors"][name]):
            problem(town.admin.get(path, cursor=forged), 422, "invalid-cursor")
    # a cursor of one list is no cursor of another
    problem(
        town.admin.get(f"{record}/awards", cursor=first["next_cursors"]["services"]),
        422,
        "invalid-cursor",
    )
    assert town.admin.get(f"{record}/certificates").status_code == 404

    # a volunteer the view has not reached yet has an empty record, every list complete
    newcomer = w.get(f"/v1/volunteers/{town.volunteer()}/record")
    assert newcomer["next_cursors"] == dict.fromkeys(LISTS)
    assert all(newcomer[name] == [] for name in LISTS)


def test_forged_cursors_are_refused_by_rankings_and_awards(town: Town) -> None:
    w = build(town)
    for path, params in (
        ("/v1/rankings/teams", {"org_id": town.district, "period": "2024"}),
        ("/v1/rankings/teams", {"org_id": town.district, "period": "2024", "sort": "per_capita"}),
        ("/v1/rankings/volunteers", {"org_id": town.district, "period": "2024"}),
        ("/v1/awards", {}),
    ):
        cursor = w.get(path, limit=1, **params)["next_cursor"]
        assert cursor, path
        for forged in forged_cursors(cursor):
            problem(town.admin.get(path, limit=1, cursor=forged, **params), 422, "invalid-cursor")


# Who may read what; periods ---------------------------------------------------------------


def test_who_may_read_records_and_reports_and_which_periods_exist(town: Town) -> None:
    w = build(town, services=False)
    admin, missing = town.admin, str(uuid.uuid4())
    record = f"/v1/volunteers/{w.a}/record"
    for api in (
        town.client(Role.VOLUNTEER, w.a),
        town.client(Role.COORDINATOR, w.T1),
        town.client(Role.COORDINATOR, w.S1),
        town.client(Role.AUDITOR),
        admin,
    ):
        assert ok(api.get(record))["volunteer_id"] == w.a
    for api in (
        town.client(Role.VOLUNTEER, w.b),
        town.client(Role.COORDINATOR, w.T2),
        town.client(Role.COORDINATOR, w.S2),
        town.client(Role.DESK, town.venue),
    ):
        problem(api.get(record), 403, "outside-scope")
    problem(admin.get(f"/v1/volunteers/{missing}/record"), 404, "volunteer-not-found")

    path = f"/v1/reports/organisations/{w.S1}"
    for api in (town.client(Role.COORDINATOR, w.S1), town.client(Role.AUDITOR), admin):
        assert ok(api.get(path, period="2024"))["org_id"] == w.S1
        assert api.get(path + ".csv", period="2024").status_code == 200
    assert ok(
        town.client(Role.COORDINATOR, w.S1).get(f"/v1/reports/organisations/{w.T1}", period="2024")
    )
    for api in (
        town.client(Role.COORDINATOR, w.S2),  # a sibling subtree
        town.client(Role.COORDINATOR, w.T1),  # below the organisation
        town.client(Role.VOLUNTEER, w.a),
        town.client(Role.DESK, town.venue),
    ):
        problem(api.get(path, period="2024"), 403, "outside-scope")
        problem(api.get(path + ".csv", period="2024"), 403, "outside-scope")
    problem(
        admin.get(f"/v1/reports/organisations/{missing}", period="2024"),
        404,
        "organisation-not-found",
    )

    # rankings and notices are public to every role, not to the anonymous
    for api in (town.client(Role.VOLUNTEER, w.e), town.client(Role.DESK, town.venue)):
        assert ok(api.get("/v1/rankings/teams", org_id=w.S1, period="2024"))["items"]
        assert ok(api.get("/v1/rankings/volunteers", org_id=w.S1, period="2024"))["items"] == []
        assert ok(api.get("/v1/awards"))["items"] == []
    problem(
        httpx.get(town.base_url + "/v1/rankings/teams", params={"org_id": w.S1, "period": "2024"}),
        401,
        "unauthenticated",
    )
    problem(
        admin.get("/v1/rankings/teams", org_id=missing, period="2024"),
        404,
        "organisation-not-found",
    )

    reads: tuple[tuple[str, dict[str, str]], ...] = (
        ("/v1/rankings/teams", {"org_id": w.S1}),
        ("/v1/rankings/volunteers", {"org_id": w.S1}),
        (path, {}),
        (path + ".csv", {}),
    )
    for bad in (
        *("24", "2024-13", "2024-3", "2024-03-01", "campaign:", "campaign:  ", "Q1", ""),
        *("2024\x00", "campaign:\x00", f"campaign:{CAMPAIGN}\x00", "campaign:a\x1fb"),
    ):
        for url, params in reads:  # the document's pattern refuses them all
            problem(admin.get(url, period=bad, **params), 422, "validation-failed")
    for url, params in reads[:2]:
        problem(admin.get(url, period="2024", cursor="nonsense", **params), 422, "invalid-cursor")
    problem(admin.get("/v1/awards", cursor="WzEsMl0"), 422, "invalid-cursor")
    problem(admin.get("/v1/awards", status="pending"), 422, "validation-failed")
    assert ok(admin.get("/v1/awards", status="revoked"))["items"] == []
    for url, params in reads[:3]:
        ok(admin.get(url, period="2026-12", **params))
        ok(admin.get(url, period=f"campaign:{CAMPAIGN}", **params))
