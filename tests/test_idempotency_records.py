"""The responses stored for Idempotency-Keys: sealed, so that a secret they carry (the code of
a reserved reward) is not in the table while a replay still answers it; removed once older
than their life, a bounded batch a transaction, after which a retry is a new request; and a
key out of bounds is a 400 problem, its bounds declared in the OpenAPI document."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.http import Town
from timebank.runtime import EXPIRED_RESPONSES_BATCH


def stored_responses(town: Town) -> list[str]:
    with town.rt.db.read() as cur:
        cur.execute("SELECT response FROM idempotency_keys")
        return [str(row[0]) for row in cur.fetchall()]


def reward(town: Town) -> str:
    body = {
        "venue_id": town.venue,
        "name": "理发",
        "cost_minutes": 10,
        "stock": 50,
        "per_volunteer_limit": 50,
    }
    r = town.admin.post("/v1/rewards", body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def reserve(town: Town, volunteer: str, reward_id: str, key: str) -> httpx.Response:
    body = {"volunteer_id": volunteer, "reward_id": reward_id}
    return town.admin.post("/v1/redemptions", body, key=key)


def test_a_stored_reservation_hides_its_code_and_a_replay_still_answers_it(town: Town) -> None:
    volunteer = town.volunteer()
    town.earn(volunteer, 60)
    reward_id = reward(town)
    first = reserve(town, volunteer, reward_id, "reserve-1")
    assert first.status_code == 201, first.text
    code = first.json()["code"]
    assert code and len(code) >= 6
    stored = stored_responses(town)
    assert stored and not any(code in response for response in stored)
    assert not any(first.json()["id"] in response for response in stored)
    replay = reserve(town, volunteer, reward_id, "reserve-1")
    assert replay.status_code == 201
    assert replay.json() == first.json()


def test_responses_older_than_their_life_are_removed_a_batch_at_a_time(town: Town) -> None:
    for n in range(3):
        r = town.admin.post("/v1/organisations", {"name": f"区{n}", "kind": "district"}, f"k{n}")
        assert r.status_code == 201, r.text
    recorder = town.rt.recorder
    assert len(stored_responses(town)) >= 3
    now = datetime.now(UTC)
    # Within their life (24 h by default): nothing goes.
    assert town.rt.expire_idempotency_responses(now + timedelta(hours=23)) == 0
    assert recorder.expire_responses(now - timedelta(hours=1), 2) == 0
    total = len(stored_responses(town))
    # One call removes at most the batch it is given.
    assert recorder.expire_responses(now + timedelta(minutes=1), 2) == 2
    assert len(stored_responses(town)) == total - 2
    assert town.rt.expire_idempotency_responses(now + timedelta(hours=25)) == total - 2
    assert stored_responses(town) == []
    assert EXPIRED_RESPONSES_BATCH == 1000


def test_the_sweeper_removes_them_and_a_retry_after_that_is_a_new_request(town: Town) -> None:
    body: dict[str, Any] = {"name": "新区", "kind": "district"}
    first = town.admin.post("/v1/organisations", body, "make-district")
    assert first.status_code == 201, first.text
    replay = town.admin.post("/v1/organisations", body, "make-district")
    assert replay.json() == first.json()
    town.rt.sweep(datetime.now(UTC) + timedelta(hours=25))
    assert stored_responses(town) == []
    again = town.admin.post("/v1/organisations", body, "make-district")
    assert again.status_code == 201, again.text
    assert again.json()["id"] != first.json()["id"]
    assert town.admin.post("/v1/organisations", body, "make-district").json() == again.json()


def test_the_life_of_a_response_is_a_setting(town: Town) -> None:
    r = town.admin.post("/v1/organisations", {"name": "区", "kind": "district"}, "short-life")
    assert r.status_code == 201
    now = datetime.now(UTC)
    town.rt.settings.idempotency_expiry_hours = 0.5
    try:
        assert town.rt.expire_idempotency_responses(now + timedelta(minutes=20)) == 0
        assert town.rt.expire_idempotency_responses(now + timedelta(minutes=40)) >= 1
    finally:
        town.rt.settings.idempotency_expiry_hours = 24.0


def test_a_key_out_of_bounds_is_a_400_with_its_bounds_in_the_openapi(town: Town) -> None:
    for key in ("", "x" * 201):
        r = httpx.post(
            town.base_url + "/v1/tokens/00000000-0000-0000-0000-000000000000/revoke",
            headers=[*town.admin.client.headers.raw, (b"Idempotency-Key", key.encode())],
        )
        assert r.status_code == 400, r.text
        assert r.json()["code"] == "invalid-idempotency-key"
        assert r.headers["content-type"] == "application/problem+json"
    doc = httpx.get(town.base_url + "/openapi.json").json()
    (header,) = [
        p
        for p in doc["paths"]["/v1/redemptions"]["post"]["parameters"]
        if p["name"] == "Idempotency-Key"
    ]
    assert header["schema"]["minLength"] == 1 and header["schema"]["maxLength"] == 200
    assert "400" in doc["paths"]["/v1/redemptions"]["post"]["responses"]
