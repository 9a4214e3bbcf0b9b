"""/metrics in Prometheus format: requests by route template, commands by outcome, group
commit, projections and the sweeper; only with the metrics token on the API port, or on a
port of its own; and with `serve --workers N`, one scrape over every process."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import prometheus_client
import pytest
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError

from ledger.commands.exchange import ListReward, Redeem
from ledger.commands.members import RegisterOrganisation
from ledger.context import Actor, Context, Role
from ledger.organisations import OrgKind
from tests.conftest import make_settings
from tests.http import SERVER_PROCESSES, ServeProcess, Town, free_port, serve
from tests.test_rules import Ledger
from tests.test_serve_workers import wait_for_workers, worker_pids
from timebank.metrics import SECONDS_BUCKETS, Metrics
from timebank.runtime import Runtime
from timebank.settings import Settings

TOKEN = "metrics-token-0123456789"
PROBLEM = "application/problem+json"
ADMIN = Context(Actor("admin", Role.ADMIN), "metrics-test", datetime.now(UTC))
PROJECTIONS = ("balances", "audit", "records")
POSITION = "timebank_projection_position"


class Scrape:
    """One scrape, parsed: each sample by its name and labels."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples = [s for f in text_string_to_metric_families(text) for s in f.samples]

    def value(self, name: str, **labels: str) -> float | None:
        found = [s.value for s in self.samples if s.name == name and s.labels == labels]
        assert len(found) <= 1, (name, labels, found)
        return found[0] if found else None

    def labels(self, name: str, label: str) -> set[str]:
        return {s.labels[label] for s in self.samples if s.name == name}

    def total(self, name: str, **labels: str) -> float:
        return sum(
            s.value for s in self.samples if s.name == name and labels.items() <= s.labels.items()
        )


def scrape(url: str, token: str | None = TOKEN) -> Scrape:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = httpx.get(url, headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain"), r.headers
    return Scrape(r.text)


def eventually(check: Callable[[], Scrape | None], timeout: float = 20) -> Scrape:
    deadline = time.monotonic() + timeout
    while (found := check()) is None:
        assert time.monotonic() < deadline, "the metrics did not get there in time"
        time.sleep(0.1)
    return found


@pytest.fixture
def metered(database_url: str) -> Iterator[Town]:
    """The town of tests.http with a metrics token set."""
    rt = Runtime(make_settings(database_url, metrics_token=TOKEN))
    try:
        rt.start()
        with serve(rt) as base_url:
            yield Town(rt, base_url)
    finally:
        rt.close()


# The API port -------------------------------------------------------------------------------


def test_a_scrape_counts_requests_by_route_template_and_commands_by_outcome(
    metered: Town,
) -> None:
    town = metered
    first, second = town.volunteer(), town.volunteer()
    for volunteer in (first, second, first):
        assert town.admin.get(f"/v1/accounts/{volunteer}").status_code == 200
    overdraft = {"from_volunteer_id": first, "to_volunteer_id": second, "minutes": 5}
    refused = town.admin.post("/v1/transfers", overdraft | {"kind": "exchange"})
    assert refused.status_code == 409, refused.text
    assert town.admin.get(f"/v1/no-such-thing/{first}").status_code == 404
    assert town.admin.client.request("PROPFIND", f"/v1/accounts/{first}").status_code == 405
    assert httpx.get(town.base_url + "/docs").status_code == 200

    metrics = scrape(town.base_url + "/metrics")

    requests = "timebank_http_requests_total"
    account = "/v1/accounts/{volunteer_id}"
    assert metrics.value(requests, method="GET", route=account, status="200") == 3
    assert metrics.value(requests, method="POST", route="/v1/volunteers", status="201") == 2
    assert metrics.value(requests, method="POST", route="/v1/transfers", status="409") == 1
    assert metrics.value(requests, method="GET", route="unmatched", status="404") == 1
    assert metrics.value(requests, method="other", route=account, status="405") == 1
    assert metrics.value(requests, method="GET", route="/docs", status="200") == 1
    # Labelled by template, never by the path called: no series names a volunteer.
    routes = metrics.labels(requests, "route")
    assert not any(first in route or second in route for route in routes), routes
    templates = set(httpx.get(town.base_url + "/openapi.json").json()["paths"])
    assert routes <= templates | {"/docs", "unmatched"}, routes - templates
    duration = "timebank_http_request_duration_seconds"
    assert metrics.value(f"{duration}_count", method="GET", route=account) == 3
    assert metrics.value(f"{duration}_bucket", method="GET", route=account, le="+Inf") == 3
    assert 0 < (metrics.value(f"{duration}_sum", method="GET", route=account) or 0) < 30

    commands = "timebank_commands_total"
    assert metrics.value(commands, command="RegisterVolunteer", outcome="ok", kind="") == 2
    assert metrics.value(commands, command="Transfer", outcome="refused", kind="conflict") == 1
    assert metrics.value(commands, command="RegisterOrganisation", outcome="ok", kind="") == 4
    assert metrics.value("timebank_command_duration_seconds_count", command="Transfer") == 1
    ok = metrics.total(commands, outcome="ok")
    transactions = metrics.value("timebank_group_commit_transactions_total")
    assert transactions is not None and 0 < transactions <= ok
    assert metrics.value("timebank_group_commit_batch_commands_count") == transactions
    assert metrics.value("timebank_group_commit_batch_commands_sum") == ok  # each written once
    assert metrics.value("timebank_http_processes") == 1


def test_a_replayed_command_is_counted_as_such(metered: Town) -> None:
    town = metered
    body = {"name": "街道二", "kind": "street", "parent_id": town.district}
    for _ in range(2):
        assert town.admin.post("/v1/organisations", body, key="street-2").status_code == 201
    metrics = scrape(town.base_url + "/metrics")
    commands = "timebank_commands_total"
    assert metrics.value(commands, command="RegisterOrganisation", outcome="replayed", kind="") == 1


def test_the_metrics_on_the_api_port_need_the_metrics_token(metered: Town) -> None:
    url = metered.base_url + "/metrics"
    api_token = metered.rt.tokens.create(Role.ADMIN, "not-for-metrics")
    for headers, code in [
        ({}, "unauthenticated"),
        ({"Authorization": "Bearer"}, "unauthenticated"),
        ({"Authorization": f"Basic {TOKEN}"}, "unauthenticated"),
        ({"Authorization": "Bearer wrong-token-0123456789"}, "invalid-token"),
        ({"Authorization": f"Bearer {TOKEN[:-1]}"}, "invalid-token"),
        ({"Authorization": f"Bearer {api_token}"}, "invalid-token"),
    ]:
        r = httpx.get(url, headers=headers)
        assert r.status_code == 401, (headers, r.text)
        assert r.headers["content-type"] == PROBLEM
        assert r.headers["www-authenticate"] == "Bearer"
        assert r.json()["code"] == code and r.json()["status"] == 401
        assert "timebank_" not in r.text
    assert httpx.get(url, headers={"Authorization": f"bearer {TOKEN}"}).status_code == 200


def test_without_a_metrics_token_the_api_port_has_no_metrics(town: Town) -> None:
    for headers in ({}, {"Authorization": f"Bearer {TOKEN}"}):
        r = httpx.get(town.base_url + "/metrics", headers=headers)
        assert r.status_code == 404, r.text
        assert r.headers["content-type"] == PROBLEM
        assert r.json()["code"] == "not-found"
    doc = httpx.get(town.base_url + "/openapi.json").json()
    assert "/metrics" not in doc["paths"]


def test_a_scraper_asking_for_openmetrics_gets_it(metered: Town) -> None:
    headers = {
        "Authorization": f"Bearer {TOKEN}",
        "Accept": "application/openmetrics-text;version=1.0.0,text/plain;q=0.5",
    }
    r = httpx.get(metered.base_url + "/metrics", headers=headers)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/openmetrics-text")
    assert r.text.rstrip().endswith("# EOF")


# A port of its own, and what the serving process samples -------------------------------------


def test_a_port_of_its_own_serves_the_metrics_without_a_token(database_url: str) -> None:
    port = free_port()
    rt = Runtime(make_settings(database_url, metrics_port=port))
    try:
        rt.start(poll_seconds=0.05)
        body = rt.service.execute(ADMIN, RegisterOrganisation("区", OrgKind.DISTRICT)).body
        position = int(body["position"])
        url = f"http://127.0.0.1:{port}/metrics"

        def caught_up() -> Scrape | None:
            metrics = scrape(url, token=None)
            positions = [metrics.value(POSITION, projection=name) for name in PROJECTIONS]
            return metrics if positions == [position] * 3 else None

        metrics = eventually(caught_up)
        assert metrics.value("timebank_log_head_position") == position
        for name in PROJECTIONS:
            assert metrics.value("timebank_projection_lag_events", projection=name) == 0
            assert metrics.value("timebank_projection_batch_failures_total", projection=name) == 0
        assert metrics.value("process_resident_memory_bytes")  # one process: the usual ones too
        with serve(rt) as base_url:  # no metrics token: the API port has none
            assert httpx.get(base_url + "/metrics").status_code == 404
    finally:
        rt.close()
    with pytest.raises(httpx.ConnectError):  # the listener stops with the runtime
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)


def test_projection_lag_is_never_negative(runtime: Runtime) -> None:
    metrics = runtime.metrics
    value = metrics.registry.get_sample_value
    lag = "timebank_projection_lag_events"
    # Positions that came after the head they are compared with still give no negative lag.
    metrics.sample(lambda: {"balances": 12}, lambda: 10)
    assert value(lag, {"projection": "balances"}) == 0
    # Sampled while commands are written and applied, the positions are read before the head:
    # the lag is what it should be, and never had to be held at 0.
    runtime.runner.start(poll_seconds=0.01)
    stop = threading.Event()
    seen: list[tuple[float, float, float]] = []

    def sample() -> None:
        while not stop.is_set():
            metrics.sample(runtime.runner.read_positions, runtime.runner.head)
            head = value("timebank_log_head_position") or 0
            for name in PROJECTIONS:
                labels = {"projection": name}
                seen.append((head, value(POSITION, labels) or 0, value(lag, labels) or 0))

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        for n in range(40):
            runtime.service.execute(ADMIN, RegisterOrganisation(f"区{n}", OrgKind.DISTRICT))
    finally:
        stop.set()
        sampler.join()
    assert seen and all(lag == head - position >= 0 for head, position, lag in seen)


def test_a_failing_projection_is_counted_and_its_lag_grows(metered: Town) -> None:
    town = metered
    volunteer = town.volunteer()
    town.account(volunteer)
    with town.rt.db.transaction() as cur:  # the balances read model is broken under it
        cur.execute("DROP TABLE tb_postings")
    town.earn(volunteer, 30)
    url = town.base_url + "/metrics"

    def failed() -> Scrape | None:
        metrics = scrape(url)
        lag = metrics.value("timebank_projection_lag_events", projection="balances") or 0
        records = metrics.value("timebank_projection_lag_events", projection="records")
        failures = "timebank_projection_batch_failures_total"
        if metrics.value(failures, projection="balances") and lag > 0 and records == 0:
            return metrics
        return None

    metrics = eventually(failed)
    assert metrics.value("timebank_projection_batch_failures_total", projection="records") == 0


def test_sweeper_runs_are_counted_with_what_they_did(runtime: Runtime) -> None:
    ledger = Ledger(runtime)
    volunteer = ledger.volunteer()
    ledger.earn(volunteer, 50)
    reward = uuid.UUID(str(ledger.run(ListReward(ledger.venue, "茶叶", 20, 1))["id"]))
    ledger.run(Redeem(volunteer, reward))
    runtime.runner.catch_up()
    later = datetime.now(UTC) + timedelta(days=3)
    runtime.sweep(later)
    runtime.sweep(later)  # the read model still lists it: run again, it finds it done
    with runtime.db.transaction() as cur:
        cur.execute("DROP TABLE tb_redemptions")
    runtime.sweep(later)
    value = runtime.metrics.registry.get_sample_value
    assert value("timebank_sweeper_runs_total") == 3
    assert value("timebank_sweeper_expired_redemptions_total") == 1
    assert value("timebank_sweeper_confirmed_awards_total") == 0
    assert value("timebank_sweeper_failures_total") == 1
    expire = {"command": "ExpireRedemption", "outcome": "ok", "kind": ""}
    assert value("timebank_commands_total", expire) == 2


# Several processes -------------------------------------------------------------------------


def stale_metrics(directory: Path) -> None:
    """What a server that ran earlier with this directory left in it."""
    directory.mkdir()
    stale = MmapedDict(str(directory / "counter_999999.db"))  # type: ignore[no-untyped-call]
    name, labels = "timebank_http_requests", ["method", "route", "status"]
    key = mmap_key(name, f"{name}_total", labels, ["GET", "/", "200"], "")
    stale.write_value(key, 1000.0, 0.0)  # type: ignore[no-untyped-call]
    stale.close()  # type: ignore[no-untyped-call]


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
@SERVER_PROCESSES
def test_one_scrape_adds_up_the_workers_and_the_serving_process(
    database_url: str, tmp_path: Path
) -> None:
    rt = Runtime(make_settings(database_url))  # migrates the store
    try:
        admin = rt.tokens.create(Role.ADMIN, "admin")
    finally:
        rt.close()
    directory = tmp_path / "metrics"
    stale_metrics(directory)
    port = free_port()
    server = ServeProcess(
        database_url,
        tmp_path,
        "--workers",
        "1",
        TIMEBANK_METRICS_TOKEN=TOKEN,
        TIMEBANK_METRICS_PORT=str(port),
        TIMEBANK_METRICS_DIR=str(directory),
    )
    try:
        server.wait_healthy()
        (worker,) = wait_for_workers(server, 1)
        server.find(rf"Metrics: http://127\.0\.0\.1:{port}/metrics")
        headers = {"Authorization": f"Bearer {admin}"}
        r = httpx.post(
            server.base + "/v1/organisations",
            json={"name": "区", "kind": "district"},
            headers=headers,
        )
        assert r.status_code == 201, r.text
        org, position = r.json()["id"], r.json()["position"]
        for _ in range(2):
            r = httpx.get(f"{server.base}/v1/organisations/{org}", headers=headers)
            assert r.status_code == 200

        def caught_up(url: str, token: str | None) -> Callable[[], Scrape | None]:
            def check() -> Scrape | None:
                metrics = scrape(url, token)
                applied = [metrics.value(POSITION, projection=p) or 0 for p in PROJECTIONS]
                return metrics if min(applied) >= position else None

            return check

        for metrics in (
            eventually(caught_up(server.base + "/metrics", TOKEN)),  # served by the worker
            eventually(caught_up(f"http://127.0.0.1:{port}/metrics", None)),  # serving process
        ):
            requests = "timebank_http_requests_total"
            route = "/v1/organisations/{org_id}"
            assert metrics.value(requests, method="GET", route=route, status="200") == 2
            assert metrics.value(requests, method="GET", route="/", status="200") is None
            commands = "timebank_commands_total"
            assert (
                metrics.value(commands, command="RegisterOrganisation", outcome="ok", kind="") == 1
            )
            assert (metrics.value("timebank_log_head_position") or 0) >= position
            for name in PROJECTIONS:
                assert (metrics.value("timebank_projection_lag_events", projection=name) or 0) >= 0
            assert metrics.value("timebank_http_processes") == 1
            assert "pid" not in {k for s in metrics.samples for k in s.labels}

        os.kill(worker, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while worker_pids(server) in (set(), {worker}):
            assert time.monotonic() < deadline, server.output
            time.sleep(0.1)
        server.wait_healthy()
        metrics = scrape(f"http://127.0.0.1:{port}/metrics", None)
        assert metrics.value("timebank_http_processes") == 1  # the dead worker's gauge is gone
        requests = "timebank_http_requests_total"
        route = "/v1/organisations/{org_id}"
        assert metrics.value(requests, method="GET", route=route, status="200") == 2  # kept
    finally:
        server.stop()
    assert server.process.returncode == 0, server.output


def test_serve_shares_a_fresh_directory_between_its_processes_and_removes_it() -> None:
    script = textwrap.dedent(
        """
        import os, sys
        from timebank.metrics import MULTIPROCESS_DIR, Metrics, process_mode
        from timebank.settings import Settings

        settings = Settings(database_url="postgresql://u@h/db", workers=2)
        with process_mode(settings):
            directory = os.environ[MULTIPROCESS_DIR]
            metrics = Metrics(["balances"])
            metrics.serving_http()
            assert metrics.directory == directory and os.listdir(directory), directory
        assert not os.path.exists(directory)
        with process_mode(Settings(database_url="sqlite:///x.db")):
            assert MULTIPROCESS_DIR not in os.environ
        print("ok")
        """
    )
    env = os.environ | {"PROMETHEUS_MULTIPROC_DIR": "/nonexistent"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stdout + done.stderr


def test_the_command_line_imports_prometheus_client_only_once_it_knows_the_mode() -> None:
    script = "import sys, entrypoints.cli, api.app; print('prometheus_client' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.stdout.strip() == "False", done.stdout + done.stderr


def test_the_metrics_token_is_a_secret_of_some_length() -> None:
    settings = Settings(metrics_token=TOKEN)
    assert TOKEN not in repr(settings) and settings.metrics_token is not None
    with pytest.raises(ValidationError):
        Settings(metrics_token="short")
    assert Settings().metrics_token is None and Settings().metrics_port is None
    assert Settings().metrics_host == "127.0.0.1"


def test_metrics_of_one_runtime_are_its_own() -> None:
    first, second = Metrics(["balances"]), Metrics(["balances"])
    first.projection_failed("balances")
    sample = "timebank_projection_batch_failures_total"
    assert first.registry.get_sample_value(sample, {"projection": "balances"}) == 1
    assert second.registry.get_sample_value(sample, {"projection": "balances"}) == 0


def test_requests_counted_on_the_loop_add_up_as_observing_each_would() -> None:
    metrics = Metrics()
    series = metrics.requests().series("GET", "/v1/x", "200")
    reference = prometheus_client.Histogram(
        "reference", "", buckets=SECONDS_BUCKETS, registry=prometheus_client.CollectorRegistry()
    )
    durations = [0.0004, 0.001, 0.0031, 0.2, 0.2, 7.5, 31.0]
    for n, seconds in enumerate(durations):
        series(seconds)
        reference.observe(seconds)
        if n % 3 == 0:
            metrics.flush()
    metrics.flush()
    metrics.flush()  # nothing new: nothing added
    labels = {"method": "GET", "route": "/v1/x"}
    value = metrics.registry.get_sample_value
    assert value("timebank_http_requests_total", labels | {"status": "200"}) == len(durations)
    assert value("timebank_http_request_duration_seconds_sum", labels) == pytest.approx(
        sum(durations)
    )
    expected = {
        s.labels["le"]: s.value
        for family in reference.collect()
        for s in family.samples
        if s.name == "reference_bucket"
    }
    assert len(expected) == len(SECONDS_BUCKETS) + 1 and expected["+Inf"] == len(durations)
    for le, count in expected.items():
        assert value("timebank_http_request_duration_seconds_bucket", labels | {"le": le}) == count
