"""A venue's rewards with the stock left (GET /v1/rewards?venue_id=): the rewards view
counts the stock as the Reward aggregate does after reserve, cancel, expiry and hand-out,
pages in listing order, and answers only the venue's desk, its coordinators, auditors and
admins (the full matrix is in test_authorization_matrix.py)."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from ledger.context import Role
from tests.http import Town


def listed(town: Town, venue: str, **params: Any) -> dict[str, Any]:
    town.rt.runner.catch_up()
    r = town.admin.get("/v1/rewards", venue_id=venue, **params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def stocks(town: Town, venue: str) -> dict[str, int]:
    """The stock the view serves, checked against the Reward aggregate's own."""
    served = {item["id"]: item["stock"] for item in listed(town, venue)["items"]}
    for reward_id, stock in served.items():
        assert town.rt.queries.aggregates.reward(uuid.UUID(reward_id)).stock == stock, reward_id
    return served


def test_the_stock_follows_reservations_cancellations_expiry_and_hand_outs(town: Town) -> None:
    volunteer = town.volunteer()
    town.earn(volunteer, 120)
    other_venue = town.org("另一兑换点", "venue", town.district)

    def reward(name: str, cost: int, stock: int, venue: str = town.venue, **more: Any) -> str:
        body = {"venue_id": venue, "name": name, "cost_minutes": cost, "stock": stock, **more}
        r = town.admin.post("/v1/rewards", body)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def reserve(reward_id: str) -> dict[str, Any]:
        r = town.admin.post("/v1/redemptions", {"volunteer_id": volunteer, "reward_id": reward_id})
        assert r.status_code == 201, r.text
        return dict(r.json())

    tea = reward("茶叶", 20, 3, per_volunteer_limit=2)
    towel = reward("毛巾", 10, 1)
    reward("别处的米", 5, 9, venue=other_venue)
    first = listed(town, town.venue)
    assert first["venue_id"] == town.venue and first["next_cursor"] is None
    assert [
        (i["name"], i["cost_minutes"], i["stock"], i["per_volunteer_limit"]) for i in first["items"]
    ] == [
        ("茶叶", 20, 3, 2),
        ("毛巾", 10, 1, None),
    ]

    cancelled, handed_out, expiring = reserve(tea), reserve(tea), reserve(towel)
    assert stocks(town, town.venue) == {tea: 1, towel: 0}
    r = town.admin.post(f"/v1/redemptions/{cancelled['id']}/cancel", {"reason": "changed mind"})
    assert r.status_code == 200, r.text
    assert stocks(town, town.venue) == {tea: 2, towel: 0}
    r = town.admin.post(f"/v1/redemptions/{handed_out['id']}/fulfil", {"code": handed_out["code"]})
    assert r.status_code == 200, r.text
    assert stocks(town, town.venue) == {tea: 2, towel: 0}  # handed out: gone for good
    town.rt.runner.catch_up()
    assert town.rt.expire_overdue(datetime.now(UTC) + timedelta(days=2)) == 1
    assert stocks(town, town.venue) == {tea: 2, towel: 1}
    assert expiring["id"]

    # Paging: one at a time, in listing order; read-your-writes with min_position.
    page = listed(town, town.venue, limit=1)
    assert [i["id"] for i in page["items"]] == [tea] and page["next_cursor"]
    rest = listed(town, town.venue, limit=1, cursor=page["next_cursor"])
    assert [i["id"] for i in rest["items"]] == [towel] and rest["next_cursor"] is None
    made = reward("肥皂", 5, 4)
    fresh = town.admin.post("/v1/redemptions", {"volunteer_id": volunteer, "reward_id": made})
    waited = town.admin.get(
        "/v1/rewards", venue_id=town.venue, min_position=fresh.json()["position"]
    ).json()
    assert {i["name"]: i["stock"] for i in waited["items"]}["肥皂"] == 3
    assert waited["position"] >= fresh.json()["position"]


def test_who_may_list_and_what_is_refused(town: Town) -> None:
    town.admin.post(
        "/v1/rewards", {"venue_id": town.venue, "name": "茶叶", "cost_minutes": 20, "stock": 3}
    )
    town.rt.runner.catch_up()
    for role, scope in (
        (Role.DESK, town.venue),
        (Role.AUDITOR, None),
        (Role.COORDINATOR, town.venue),
    ):
        r = town.client(role, scope).get("/v1/rewards", venue_id=town.venue)
        assert r.status_code == 200 and [i["name"] for i in r.json()["items"]] == ["茶叶"], r.text
    other_desk = town.client(Role.DESK, town.org("另一兑换点", "venue", town.district))
    r = other_desk.get("/v1/rewards", venue_id=town.venue)
    assert r.status_code == 403 and r.json()["type"].endswith("outside-scope"), r.text
    assert town.admin.get("/v1/rewards", venue_id=str(uuid.uuid4())).status_code == 404
    r = town.admin.get("/v1/rewards", venue_id=town.street)
    assert r.status_code == 422 and r.json()["type"].endswith("not-a-venue"), r.text
    for bad in ({"venue_id": "x"}, {}, {"venue_id": town.venue, "limit": 0}):
        assert town.admin.get("/v1/rewards", **bad).status_code == 422
    r = town.admin.get("/v1/rewards", venue_id=town.venue, cursor="Zm9v")
    assert r.status_code == 422 and r.json()["type"].endswith("invalid-cursor"), r.text
