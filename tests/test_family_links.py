"""A family link needs the relative's consent: asked for, it waits (recorded on the asker
only) until the relative or a coordinator of their home organisation confirms it, and only a
confirmed link lets hours be given. Over HTTP, on both stores."""

from typing import Any
from uuid import UUID

from ledger.context import Role
from tests.http import Api, Town


def events_of(town: Town, volunteer: str) -> list[str]:
    """The topics of the events recorded on a volunteer's aggregate."""
    return [
        n.topic.rsplit(".", 1)[-1]
        for n in town.rt.app.recorder.select_notifications(1, 100_000)
        if n.originator_id == UUID(volunteer)
    ]


def ask(api: Api, volunteer: str, relative: str, relation: str = "sibling") -> dict[str, Any]:
    r = api.post(
        f"/v1/volunteers/{volunteer}/family-links", {"relative_id": relative, "relation": relation}
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def gift(api: Api, sender: str, recipient: str) -> int:
    body = {"from_volunteer_id": sender, "to_volunteer_id": recipient, "minutes": 5, "kind": "gift"}
    return api.post("/v1/transfers", body).status_code


def family(town: Town, volunteer: str) -> tuple[list[Any], list[Any]]:
    shown = town.admin.get(f"/v1/volunteers/{volunteer}").json()
    return shown["family"], shown["family_requests"]


def test_a_link_asked_by_a_volunteer_waits_for_the_relatives_consent(town: Town) -> None:
    other_team = town.org("西湖队", "team", town.org("西湖街道", "street", town.district))
    asker, relative = town.volunteer(), town.volunteer(other_team)
    town.earn(asker, 30)
    me = town.client(Role.VOLUNTEER, asker)
    before = events_of(town, relative)

    pending = ask(me, asker, relative)
    assert (pending["id"], pending["relation"], pending["status"]) == (
        relative,
        "sibling",
        "pending",
    )
    assert isinstance(pending["position"], int)
    assert ask(me, asker, relative) == {**pending, "position": None}  # nothing new recorded
    assert events_of(town, relative) == before  # nothing lands on the relative's record
    assert family(town, asker) == ([], [{"relative_id": relative, "relation": "sibling"}])
    assert family(town, relative) == ([], [])
    r = me.post(
        "/v1/transfers",
        {"from_volunteer_id": asker, "to_volunteer_id": relative, "minutes": 5, "kind": "gift"},
    )
    assert r.status_code == 403 and r.json()["code"] == "not-family"

    confirm = f"/v1/volunteers/{relative}/family-links/{asker}/confirm"
    refusals = [
        (me, 403, "not-yourself"),  # the asker cannot consent for the relative
        (town.client(Role.VOLUNTEER, town.volunteer(other_team)), 403, "not-yourself"),
        (town.client(Role.COORDINATOR, town.team), 403, "outside-scope"),  # the asker's
        (town.client(Role.DESK, town.venue), 403, "outside-scope"),
        (town.client(Role.AUDITOR), 403, "outside-scope"),
    ]
    for api, status, code in refusals:
        r = api.post(confirm)
        assert r.status_code == status and r.json()["code"] == code, r.text

    them = town.client(Role.VOLUNTEER, relative)
    r = them.post(confirm)
    assert r.status_code == 200, r.text
    assert (r.json()["id"], r.json()["relation"], r.json()["status"]) == (
        asker,
        "sibling",
        "confirmed",
    )
    assert family(town, asker) == ([{"relative_id": relative, "relation": "sibling"}], [])
    assert family(town, relative) == ([{"relative_id": asker, "relation": "sibling"}], [])
    assert gift(me, asker, relative) == 201
    r = them.post(confirm)
    assert r.status_code == 409 and r.json()["code"] == "no-family-request"


def test_the_relatives_coordinator_may_answer_and_a_declined_request_links_nothing(
    town: Town,
) -> None:
    other_street = town.org("西湖街道", "street", town.district)
    other_team = town.org("西湖队", "team", other_street)
    asker, relative, third = town.volunteer(), town.volunteer(other_team), town.volunteer()
    me = town.client(Role.VOLUNTEER, asker)
    theirs = town.client(Role.COORDINATOR, other_street)  # above the relative's home

    ask(me, asker, relative, "parent")
    r = theirs.post(f"/v1/volunteers/{relative}/family-links/{asker}/decline")
    assert r.status_code == 200 and r.json()["status"] == "declined", r.text
    assert family(town, asker) == ([], []) and family(town, relative) == ([], [])
    assert events_of(town, relative) == ["Registered"]
    r = theirs.post(f"/v1/volunteers/{relative}/family-links/{asker}/confirm")
    assert r.status_code == 409 and r.json()["code"] == "no-family-request"

    ask(me, asker, relative, "parent")
    r = theirs.post(f"/v1/volunteers/{relative}/family-links/{asker}/confirm")
    assert r.status_code == 200 and r.json()["relation"] == "child", r.text
    assert family(town, relative) == ([{"relative_id": asker, "relation": "child"}], [])

    # A coordinator of both homes (here the district's), or an admin, links at once.
    linked = ask(town.client(Role.COORDINATOR, town.district), asker, third, "spouse")
    assert linked["status"] == "confirmed"
    assert {"relative_id": asker, "relation": "spouse"} in family(town, third)[0]
    # The asker's own coordinator may ask, but not consent for a relative elsewhere.
    fourth = town.volunteer(other_team)
    pending = ask(town.client(Role.COORDINATOR, town.team), asker, fourth, "grandchild")
    assert pending["status"] == "pending"


def test_crossed_requests_are_consent_from_both_sides(town: Town) -> None:
    a, b = town.volunteer(), town.volunteer()
    assert ask(town.client(Role.VOLUNTEER, a), a, b, "parent")["status"] == "pending"
    assert ask(town.client(Role.VOLUNTEER, b), b, a, "child")["status"] == "confirmed"
    assert family(town, a) == ([{"relative_id": b, "relation": "parent"}], [])
    assert family(town, b) == ([{"relative_id": a, "relation": "child"}], [])


def test_a_volunteer_cannot_ask_for_someone_else(town: Town) -> None:
    a, b, c = town.volunteer(), town.volunteer(), town.volunteer()
    r = town.client(Role.VOLUNTEER, c).post(
        f"/v1/volunteers/{a}/family-links", {"relative_id": b, "relation": "sibling"}
    )
    assert r.status_code == 403 and r.json()["code"] == "not-yourself"
    assert family(town, a) == ([], [])
