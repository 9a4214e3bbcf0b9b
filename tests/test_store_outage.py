"""While PostgreSQL is down, the service fails fast and says so, and it comes back by itself:

- /readyz answers within a second whatever the database does (stopped, or frozen so that
  connections hang), with 503 and the reason, and never a negative lag; /healthz stays up;
- commands and reads answer 503 store-unavailable with Retry-After, the first ones within the
  connection timeout and the rest at once, never a 500 and never a hang;
- once the database is back, the same process serves again (commands, reads, projections)
  without a restart.

The database is a private cluster of this module's (tests/pg_cluster.py), stopped, started,
frozen and thawed under the running service."""

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import make_settings
from tests.http import Town, serve
from tests.pg_cluster import PgCluster, pg_cluster  # noqa: F401 (the fixture)
from timebank.runtime import Runtime

READY_SECONDS = 1.0  # /readyz answers within this, whatever the database does
# A request under way when the database stops may wait for a connection once per store it
# reaches (the event store and the read models: 2 s each by default) before its 503.
FAIL_FAST_SECONDS = 5.0


@pytest.fixture
def town_on_cluster(pg_cluster: PgCluster) -> Iterator[tuple[Town, PgCluster]]:  # noqa: F811
    url = pg_cluster.create_database(f"outage_{time.monotonic_ns()}")
    rt = Runtime(make_settings(url))
    rt.start()
    try:
        with serve(rt) as base_url:
            yield Town(rt, base_url), pg_cluster
    finally:
        if not pg_cluster.running:
            pg_cluster.start()
        if pg_cluster.paused:
            pg_cluster.resume()
        rt.close()


def timed(call: Any) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def readyz(town: Town) -> tuple[httpx.Response, float]:
    return timed(lambda: httpx.get(town.base_url + "/readyz", timeout=10))


def until(condition: Any, seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        assert time.monotonic() < deadline, f"not within {seconds} s"
        time.sleep(0.05)
    return value


def assert_refused_fast(town: Town, volunteer: str, limit: float) -> None:
    for call in (
        lambda: town.admin.post("/v1/organisations", {"name": "新区", "kind": "district"}),
        lambda: town.admin.get(f"/v1/accounts/{volunteer}"),
        lambda: town.admin.get(f"/v1/volunteers/{volunteer}"),
    ):
        r, seconds = timed(call)
        assert r.status_code == 503, r.text
        assert r.json()["code"] == "store-unavailable" and r.headers["Retry-After"] == "1"
        assert seconds < limit, seconds


def assert_unavailable_at_once(town: Town) -> None:
    r, seconds = readyz(town)
    body = r.json()
    assert r.status_code == 503 and seconds < READY_SECONDS, (r.status_code, seconds)
    assert body["store"]["available"] is False and "the store does not answer" in body["problems"]
    assert all(p["lag"] is None or p["lag"] >= 0 for p in body["projections"].values())
    assert httpx.get(town.base_url + "/healthz").status_code == 200


def assert_serving_again(town: Town, volunteer: str) -> None:
    until(lambda: readyz(town)[0].status_code == 200, 15)
    org = town.admin.post("/v1/organisations", {"name": "又一区", "kind": "district"})
    assert org.status_code == 201, org.text
    town.earn(volunteer, 30)
    account = town.admin.get(f"/v1/accounts/{volunteer}", min_position=town.rt.runner.head())
    assert account.status_code == 200, account.text
    assert account.json()["available_minutes"] >= 30


def test_a_stopped_database_is_refused_fast_and_served_again_without_a_restart(
    town_on_cluster: tuple[Town, PgCluster],
) -> None:
    town, cluster = town_on_cluster
    volunteer = town.volunteer()
    assert readyz(town)[0].status_code == 200

    cluster.stop("immediate")
    first, seconds = timed(lambda: town.admin.get(f"/v1/accounts/{volunteer}"))
    assert first.status_code == 503 and seconds < FAIL_FAST_SECONDS, (first.text, seconds)
    until(lambda: readyz(town)[0].status_code == 503, 3)
    assert_unavailable_at_once(town)
    assert_refused_fast(town, volunteer, 0.5)  # known down: refused without a try

    cluster.start()
    assert_serving_again(town, volunteer)


def test_a_frozen_database_is_reported_at_once_and_served_again(
    town_on_cluster: tuple[Town, PgCluster],
) -> None:
    town, cluster = town_on_cluster
    volunteer = town.volunteer()
    cluster.pause()  # connections are accepted by the kernel, and nothing ever answers
    until(lambda: readyz(town)[0].status_code == 503, 4)
    for _ in range(3):
        assert_unavailable_at_once(town)
    assert_refused_fast(town, volunteer, 0.5)

    cluster.resume()
    assert_serving_again(town, volunteer)
