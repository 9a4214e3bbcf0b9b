"""Events and snapshots written by earlier versions still load and replay: a store whose
credits name `signup_id` and whose verifications carry no `credits` reads as before."""

import json
import sqlite3
from typing import Any
from uuid import UUID

import psycopg

from ledger.accounts import Account
from ledger.awards import Award
from ledger.identity import account_id
from ledger.organisations import Organisation
from ledger.rewards import Reward
from ledger.signups import Signup
from ledger.volunteers import DocumentClaim, Volunteer
from tests.conftest import make_settings
from tests.http import Api, Town, serve
from timebank.runtime import Runtime


def downgrade_events(rt: Runtime, topic_suffix: str, change: Any) -> int:
    """Rewrites the stored state of every event whose topic ends with `topic_suffix` as the
    earlier version wrote it."""
    table = rt.app.recorder.events_table_name  # type: ignore[attr-defined]
    url = rt.settings.database_url
    placeholder = "?" if rt.db.is_sqlite else "%s"
    if rt.db.is_sqlite:
        conn: Any = sqlite3.connect(rt.settings.store.sqlite_path)
    else:
        conn = psycopg.connect(url)
    with conn:
        rows = conn.execute(
            f"SELECT originator_id, originator_version, topic, state FROM {table}"
        ).fetchall()
        changed = 0
        for originator_id, version, topic, state in rows:
            if not topic.endswith(topic_suffix):
                continue
            event = json.loads(bytes(state))
            event.pop("class_version", None)
            change(event)
            conn.execute(
                f"UPDATE {table} SET state = {placeholder} WHERE originator_id = {placeholder} "
                f"AND originator_version = {placeholder}",
                (json.dumps(event).encode(), originator_id, version),
            )
            changed += 1
    conn.close()
    return changed


def test_credits_and_verifications_of_the_first_version_still_replay(database_url: str) -> None:
    rt = Runtime(make_settings(database_url))
    rt.start()
    with serve(rt) as base_url:
        town = Town(rt, base_url)
        volunteer = town.volunteer()
        town.earn(volunteer, 50)
    rt.close()

    def as_v1_credit(state: dict[str, Any]) -> None:
        state["signup_id"] = state.pop("source_id")

    def as_v1_verification(state: dict[str, Any]) -> None:
        del state["credits"]

    rt = Runtime(make_settings(database_url))
    try:
        assert downgrade_events(rt, "Account.ServiceCredited", as_v1_credit) == 1
        assert downgrade_events(rt, "Signup.Verified", as_v1_verification) == 1
        rt.runner.rebuild("balances")
        volunteer_id = UUID(volunteer)
        account = rt.service.load(Account, account_id(volunteer_id), "account")
        assert account.service_minutes == 50 and account.balance == 50
        with rt.db.read() as cur:
            cur.execute(
                "SELECT balance, service_minutes FROM tb_accounts WHERE owner_id = %s", (volunteer,)
            )
            assert tuple(cur.fetchone()) == (50, 50)
        signup_ids = [
            n.originator_id
            for n in rt.app.recorder.select_notifications(start=1, limit=10_000)
            if n.topic.endswith("Signup.Verified")
        ]
        signup_id = signup_ids[0]
        assert isinstance(signup_id, UUID), signup_id
        signup = rt.service.load(Signup, signup_id, "signup")
        assert signup.volunteer_id == volunteer_id and signup.credits == 50
    finally:
        rt.close()


def test_numbers_recorded_beyond_todays_bounds_no_longer_stop_the_read_models(
    database_url: str,
) -> None:
    """Before populations and per-volunteer limits were bounded, a population of 2**63 or a
    limit of 10**30 could be recorded; no read model can store them. Such events read as the
    unknown population and the unlimited reward they mean, and every read model follows."""
    rt = Runtime(make_settings(database_url))
    rt.start()
    with serve(rt) as base_url:
        town = Town(rt, base_url)
        org = town.admin.post(
            "/v1/organisations", {"name": "大社区", "kind": "district", "population": 7}
        ).json()["id"]
        reward = town.admin.post(
            "/v1/rewards",
            {
                "venue_id": town.venue,
                "name": "米",
                "cost_minutes": 5,
                "stock": 3,
                "per_volunteer_limit": 2,
            },
        ).json()["id"]
    rt.close()

    def huge_population(state: dict[str, Any]) -> None:
        if state["population"] == 7:
            state["population"] = 2**63

    def huge_limit(state: dict[str, Any]) -> None:
        state["per_volunteer_limit"] = 10**30

    rt = Runtime(make_settings(database_url))
    try:
        assert downgrade_events(rt, "Organisation.Registered", huge_population) >= 1
        assert downgrade_events(rt, "Reward.Listed", huge_limit) == 1
        rt.runner.catch_up()
        for projection in rt.runner.projections:
            rt.runner.rebuild(projection.name)
        assert rt.service.load(Organisation, UUID(org), "organisation").population is None
        assert rt.service.load(Reward, UUID(reward), "reward").per_volunteer_limit is None
        with rt.db.read() as cur:
            cur.execute("SELECT population FROM tb_rec_orgs WHERE id = %s", (org,))
            assert cur.fetchone()[0] is None
        assert rt.runner.read_positions() == {
            p.name: rt.runner.head() for p in rt.runner.projections
        }
    finally:
        rt.close()


def test_responses_stored_with_their_position_in_the_body_still_replay(database_url: str) -> None:
    """Responses to idempotency keys stored before the position had a column of its own
    carried it in their body: a retry with such a key answers as the first time."""
    rt = Runtime(make_settings(database_url))
    rt.start()
    with serve(rt) as base_url:
        town = Town(rt, base_url)
        body = {"name": "老社区", "kind": "district"}
        first = town.admin.client.post(
            "/v1/organisations", json=body, headers={"Idempotency-Key": "before"}
        )
        assert first.status_code == 201, first.text
        answer = first.json()
        placeholder = "?" if rt.db.is_sqlite else "%s"
        conn: Any = (
            sqlite3.connect(rt.settings.store.sqlite_path)
            if rt.db.is_sqlite
            else psycopg.connect(rt.settings.database_url)
        )
        with conn:
            conn.execute(
                f"UPDATE idempotency_keys SET response = {placeholder}, position = NULL",
                (json.dumps(answer),),
            )
        conn.close()
        again = town.admin.client.post(
            "/v1/organisations", json=body, headers={"Idempotency-Key": "before"}
        )
        assert again.status_code == 201 and again.json() == answer, again.text
    rt.close()


def test_objections_recorded_before_objectors_were_named_still_count_once(
    database_url: str,
) -> None:
    """Objections recorded before v2 name no objector: each counts as its token's, so that
    token cannot object again during the notice."""
    rt = Runtime(make_settings(database_url))
    rt.start()
    with serve(rt) as base_url:
        town = Town(rt, base_url)
        body = {"volunteer_id": town.volunteer(), "org_id": town.team, "title": "t", "reason": "r"}
        award = town.admin.post("/v1/commendations", body).json()["id"]
        r = town.admin.post("/v1/objections", {"award_id": award, "reason": "名不副实"})
        assert r.status_code == 201, r.text
    rt.close()

    def as_v1(state: dict[str, Any]) -> None:
        del state["objector"]

    rt = Runtime(make_settings(database_url))
    rt.start()
    try:
        assert downgrade_events(rt, "Award.Objected", as_v1) == 1
        loaded = rt.service.load(Award, UUID(award), "award")
        assert loaded.objections_filed == 1 and len(loaded.objectors) == 1
        (objector,) = loaded.objectors
        assert objector.startswith("token:admin-")
        with serve(rt) as base_url:
            town.admin = Api(base_url, town.admin.client.headers["Authorization"].split()[1])
            r = town.admin.post("/v1/objections", {"award_id": award, "reason": "again"})
            assert r.status_code == 409 and r.json()["code"] == "objection-already-filed"
    finally:
        rt.close()


def test_family_links_recorded_before_consent_and_volunteer_snapshots_still_load(
    database_url: str,
) -> None:
    """Links recorded before consent existed are confirmed links; a volunteer's snapshot
    taken before family requests existed (v1) loads with none pending."""
    rt = Runtime(make_settings(database_url))
    rt.start()
    with serve(rt) as base_url:
        town = Town(rt, base_url)
        a, b = town.volunteer(), town.volunteer()
        r = town.admin.post(
            f"/v1/volunteers/{a}/family-links", {"relative_id": b, "relation": "child"}
        )
        assert r.status_code == 201 and r.json()["status"] == "confirmed", r.text
    rt.app.take_snapshot(UUID(a))
    rt.close()

    rt = Runtime(make_settings(database_url))
    try:
        table = rt.app.snapshots.recorder.events_table_name  # type: ignore[union-attr]
        placeholder = "?" if rt.db.is_sqlite else "%s"
        if rt.db.is_sqlite:
            conn: Any = sqlite3.connect(rt.settings.store.sqlite_path)
        else:
            conn = psycopg.connect(rt.settings.database_url)
        with conn:
            rows = conn.execute(
                f"SELECT originator_version, state FROM {table} WHERE originator_id = "
                f"{placeholder}",
                (UUID(a).hex if rt.db.is_sqlite else UUID(a),),
            ).fetchall()
            assert rows, "no snapshot taken"
            for version, state in rows:
                snapshot = json.loads(bytes(state))
                snapshot["state"].pop("family_requests")
                snapshot["state"].pop("class_version", None)
                snapshot.pop("class_version", None)
                conn.execute(
                    f"UPDATE {table} SET state = {placeholder} WHERE originator_version = "
                    f"{placeholder}",
                    (json.dumps(snapshot).encode(), version),
                )
        conn.close()
        volunteer = rt.service.load(Volunteer, UUID(a), "volunteer")
        assert volunteer.family == {b: "child"} and volunteer.family_requests == {}
    finally:
        rt.close()


def test_attendance_recorded_before_the_time_was_marked_reads_as_unknown(
    database_url: str,
) -> None:
    """Check-ins (v2) and check-outs (v1) recorded before `time_given` read with it unknown
    (None): whether a coordinator gave their time was not noted then."""
    rt = Runtime(make_settings(database_url))
    rt.start()
    with serve(rt) as base_url:
        town = Town(rt, base_url)
        volunteer = town.volunteer()
        town.earn(volunteer, 40)
    rt.close()

    def as_v2_check_in(state: dict[str, Any]) -> None:
        del state["time_given"]
        state["class_version"] = 2

    def as_v1_check_out(state: dict[str, Any]) -> None:
        del state["time_given"]

    rt = Runtime(make_settings(database_url))
    try:
        assert downgrade_events(rt, "Signup.CheckedIn", as_v2_check_in) == 1
        assert downgrade_events(rt, "Signup.CheckedOut", as_v1_check_out) == 1
        (signup_id,) = [
            n.originator_id
            for n in rt.app.recorder.select_notifications(start=1, limit=10_000)
            if n.topic.endswith("Signup.CheckedIn")
        ]
        assert isinstance(signup_id, UUID)
        signup = rt.service.load(Signup, signup_id, "signup")
        assert signup.checked_in_at is not None and signup.measured_minutes == 40
        assert (signup.check_in_time_given, signup.check_out_time_given) == (None, None)
        for projection in rt.runner.projections:
            rt.runner.rebuild(projection.name)
    finally:
        rt.close()


def test_claims_of_documents_that_named_their_volunteer_still_hold_and_are_released(
    database_url: str,
) -> None:
    """Claims recorded before version 2 named the volunteer (the stored event keeps it); they
    load without it, still refuse a second registration, and an erasure releases them."""
    rt = Runtime(make_settings(database_url))
    rt.start()
    with serve(rt) as base_url:
        town = Town(rt, base_url)
        volunteer = town.volunteer()
    rt.close()

    def as_v1_claim(state: dict[str, Any]) -> None:
        state["volunteer_id"] = volunteer

    assert downgrade_events(rt, "DocumentClaim.Claimed", as_v1_claim) == 1
    rt = Runtime(make_settings(database_url))
    rt.start()
    try:
        with serve(rt) as base_url:
            town = Town(rt, base_url)
            claims = [
                n
                for n in rt.app.recorder.select_notifications(start=1, limit=10_000)
                if n.topic.endswith("DocumentClaim.Claimed")
            ]
            claim: Any = rt.app.repository.get(UUID(str(claims[0].originator_id)))
            assert isinstance(claim, DocumentClaim) and claim.held
            assert not hasattr(claim, "volunteer_id")
            shown = town.admin.get(f"/v1/volunteers/{volunteer}").json()
            body = {
                "name": "王五",
                "id_document": shown["id_document"],
                "phone": "13900001111",
                "birth_date": "1980-05-06",
                "home_org_id": town.team,
            }
            assert town.admin.post("/v1/volunteers", body).status_code == 409
            erased = town.admin.post(f"/v1/volunteers/{volunteer}/erase", {"reason": "注销"})
            assert erased.status_code == 200, erased.text
            assert town.admin.post("/v1/volunteers", body).status_code == 201
    finally:
        rt.close()
