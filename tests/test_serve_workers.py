"""`timebank serve --workers N` on PostgreSQL: N HTTP worker processes under uvicorn's
supervisor, the projections and the sweeper in the serving process, and the workers keeping
up with the read models' positions; and what the bench sees of such a server."""

import gc
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from pydantic import ValidationError

from bench.client import ApiClient
from bench.database import create_store, drop_store
from bench.load import RequestFailed
from bench.server import WORKERS, Server
from entrypoints.worker import create_worker_app
from ledger.commands.members import RegisterOrganisation
from ledger.context import Actor, Context, Role
from ledger.organisations import OrgKind
from tests.conftest import PG_SERVER, make_settings
from tests.http import SERVER_PROCESSES, ServeProcess, free_port
from timebank.runtime import Runtime
from timebank.settings import Settings

pytestmark = SERVER_PROCESSES

ADMIN = Context(Actor("test", Role.ADMIN), "workers-test", datetime.now(UTC))


@pytest.fixture
def pg_url() -> Iterator[str]:
    name = f"timebank_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_SERVER, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{PG_SERVER.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(PG_SERVER, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def admin_token(pg_url: str) -> str:
    rt = Runtime(make_settings(pg_url))
    try:
        return rt.tokens.create(Role.ADMIN, "admin")
    finally:
        rt.close()


def worker_pids(server: ServeProcess) -> set[int]:
    """The serving process's children that uvicorn spawned as HTTP workers."""
    pid = server.process.pid
    children: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        children |= {int(c) for c in (task / "children").read_text().split()}
    return {c for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()}


def wait_for_workers(server: ServeProcess, count: int, timeout: float = 30) -> set[int]:
    deadline = time.monotonic() + timeout
    while len(pids := worker_pids(server)) != count:
        if time.monotonic() > deadline:
            pytest.fail(f"{len(pids)} workers, not {count}:\n{server.output}")
        time.sleep(0.1)
    return pids


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class Client:
    """A new connection per request, so that requests spread over the workers."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.headers = {"Authorization": f"Bearer {token}"}

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = httpx.post(self.base + path, json=body, headers=self.headers, timeout=30)
        assert r.status_code in (200, 201), r.text
        return dict(r.json())

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        r = httpx.get(self.base + path, params=params, headers=self.headers, timeout=30)
        assert r.status_code == 200, r.text
        return dict(r.json())


def earn(api: Client, team: str, volunteer: str, minutes: int) -> int:
    """Signs the volunteer up, checks in and out, verifies; returns the last position."""
    now = datetime.now(UTC)
    activity = api.post(
        "/v1/activities",
        {
            "org_id": team,
            "title": "陪伴老人",
            "category": "elder_care",
            "location": "敬老院",
            "starts_at": (now - timedelta(minutes=minutes + 60)).isoformat(),
            "ends_at": (now + timedelta(hours=1)).isoformat(),
            "capacity": 10,
        },
    )
    signup = api.post(f"/v1/activities/{activity['id']}/signups", {"volunteer_id": volunteer})
    start = now - timedelta(minutes=minutes + 5)
    api.post(f"/v1/signups/{signup['id']}/check-in", {"at": start.isoformat()})
    end = start + timedelta(minutes=minutes)
    api.post(f"/v1/signups/{signup['id']}/check-out", {"at": end.isoformat()})
    verified = api.post(f"/v1/signups/{signup['id']}/verify", {"decision": "approve"})
    return int(verified["position"])


def register(api: Client, team: str, n: int) -> str:
    body = {
        "name": f"志愿者{n}",
        "id_document": {"type": "passport", "number": f"W{n:08d}"},
        "phone": "13900001111",
        "birth_date": "1980-05-06",
        "party_member": False,
        "skills": [],
        "home_org_id": team,
    }
    return str(api.post("/v1/volunteers", body)["id"])


@pytest.mark.parametrize("workers", [1, 2])
def test_workers_answer_commands_and_the_read_models_catch_up(
    pg_url: str, admin_token: str, tmp_path: Path, workers: int
) -> None:
    server = ServeProcess(pg_url, tmp_path, "--workers", str(workers))
    try:
        server.wait_healthy()
        pid = server.process.pid
        server.find(rf"Workers: {workers} HTTP processes; projections and sweeper in {pid}")
        assert len(wait_for_workers(server, workers)) == workers
        api = Client(server.base, admin_token)
        district = api.post("/v1/organisations", {"name": "区", "kind": "district"})["id"]
        team = api.post("/v1/organisations", {"name": "队", "kind": "team", "parent_id": district})[
            "id"
        ]
        volunteers = [register(api, team, n) for n in range(4)]
        for volunteer in volunteers:
            earn(api, team, volunteer, 60)

        def send(n: int) -> int:
            sender, recipient = volunteers[n % 4], volunteers[(n + 1) % 4]
            body = {"from_volunteer_id": sender, "to_volunteer_id": recipient, "minutes": 1}
            return int(api.post("/v1/transfers", body | {"kind": "exchange"})["position"])

        with ThreadPoolExecutor(8) as pool:
            positions = list(pool.map(send, range(40)))
        last = max(positions)
        for volunteer in volunteers:  # each sent 10 minutes and received 10
            account = api.get(f"/v1/accounts/{volunteer}", min_position=last)
            assert account["available_minutes"] == 60, account
            assert account["position"] >= last, account
        ready = api.get("/readyz")
        assert ready["status"] == "ready" and set(ready["projections"]) == {
            "balances",
            "audit",
            "records",
            "attendance",
            "certificates",
            "rewards",
            "worklist",
        }
        assert ready["store"]["available"] and ready["store"]["log_head"] >= last
    finally:
        server.stop()
    assert server.process.returncode == 0, server.output


def test_a_worker_that_dies_is_replaced_and_a_stop_ends_them_all(
    pg_url: str, admin_token: str, tmp_path: Path
) -> None:
    server = ServeProcess(pg_url, tmp_path, "--workers", "2")
    try:
        server.wait_healthy()
        first = wait_for_workers(server, 2)
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while (now := worker_pids(server)) == first or len(now) != 2:
            assert time.monotonic() < deadline, server.output
            time.sleep(0.1)
        assert victim not in now
        api = Client(server.base, admin_token)
        for n in range(6):  # both the survivor and the replacement answer
            api.post("/v1/organisations", {"name": f"区{n}", "kind": "district"})
    finally:
        server.stop()
    assert server.process.returncode == 0, server.output
    assert not any(alive(pid) for pid in now)


SERVE_WITH_BROKEN_WORKERS = """
import os, sys, typer
from entrypoints.cli.serve import serve_with_workers
from timebank.runtime import Runtime
from timebank.settings import Settings

rt = Runtime(Settings(database_url=sys.argv[1], workers=1))
os.environ["TIMEBANK_DATABASE_URL"] = sys.argv[2]  # what the worker will open
try:
    serve_with_workers(rt, "127.0.0.1", int(sys.argv[3]))
except typer.Exit as e:
    sys.exit(e.exit_code)
finally:
    rt.close()
"""


def test_a_worker_that_cannot_start_stops_serve_with_exit_1(pg_url: str) -> None:
    missing = pg_url.rsplit("/", 1)[0] + f"/timebank_missing_{uuid.uuid4().hex[:8]}"
    command = [sys.executable, "-c", SERVE_WITH_BROKEN_WORKERS, pg_url, missing]
    done = subprocess.run(
        [*command, str(free_port())], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "an HTTP worker cannot open the store" in done.stderr
    assert "an HTTP worker could not start" in done.stderr


def test_commands_of_a_worker_runtime_are_followed_by_the_projections_elsewhere(
    pg_url: str,
) -> None:
    """What a worker does in-process: the projections run in another runtime (the serving
    process), and the worker's positions follow the store."""
    serving = Runtime(make_settings(pg_url))
    worker = Runtime(make_settings(pg_url), migrate=False)
    try:
        serving.start(poll_seconds=0.05)
        worker.follow_positions()
        body = worker.service.execute(ADMIN, RegisterOrganisation("区", OrgKind.DISTRICT)).body
        position = int(body["position"])
        assert worker.runner.wait_for("records", position, timeout=5)
        deadline = time.monotonic() + 5
        while worker.runner.position("balances") < position:
            assert time.monotonic() < deadline, worker.runner.positions
            time.sleep(0.02)
    finally:
        worker.close()
        serving.close()


def test_a_worker_starts_with_its_startup_heap_out_of_the_collectors_sight(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a worker loaded to start lives as long as it does: full collections skip it."""
    Runtime(make_settings(pg_url)).close()  # the serving process migrates the store
    monkeypatch.setenv("TIMEBANK_DATABASE_URL", pg_url)
    gc.unfreeze()
    try:
        app = create_worker_app()
        frozen = gc.get_freeze_count()
        app.state.runtime.close()
    finally:
        gc.unfreeze()
    assert frozen > 10_000


def test_workers_need_postgresql() -> None:
    assert Settings(database_url="sqlite:///x.db").workers == 0
    assert Settings(database_url="postgresql://u@h/db", workers=3).workers == 3
    with pytest.raises(ValidationError, match="needs PostgreSQL"):
        Settings(database_url="sqlite:///x.db", workers=1)
    with pytest.raises(ValidationError):
        Settings(database_url="postgresql://u@h/db", workers=-1)


# What the bench sees of such a server --------------------------------------------------------


def test_the_bench_runs_one_worker_on_postgresql_and_measures_its_memory(tmp_path: Path) -> None:
    store = create_store(PG_SERVER)
    server = Server(store, tmp_path / "api.log")
    try:
        server.start()
        (worker,) = server.api_pids()
        assert worker != server.pid and server.workers == WORKERS == 1
        rss, peak = server.rss_mb(), server.peak_rss_mb()
        assert rss is not None and peak is not None and 20 < rss <= peak < 1000
        token = Runtime(make_settings(store.url), migrate=False)
        try:
            admin = token.tokens.create(Role.ADMIN, "bench-admin")
        finally:
            token.close()
        api = ApiClient(server.base_url, admin)
        try:
            created = api.post("/v1/organisations", {"name": "区", "kind": "district"})
            assert api.get(f"/v1/organisations/{created['id']}")["name"] == "区"
            with pytest.raises(RequestFailed) as refused:
                api.post("/v1/organisations", {"name": "", "kind": "district"})
            assert refused.value.code == "422 validation-failed"
        finally:
            api.close()
    finally:
        server.stop()
        drop_store(store)
    assert server.process is not None and server.process.returncode == 0


def test_the_bench_client_reconnects_when_the_server_closed_an_idle_connection() -> None:
    """A server that closes each connection after one answer, as one whose keep-alive
    timeout has passed does."""
    answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"
    listener = socket.create_server(("127.0.0.1", 0))
    closed = threading.Event()

    def serve_two() -> None:
        for _ in range(2):
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(answer)
            closed.set()

    thread = threading.Thread(target=serve_two, daemon=True)
    thread.start()
    api = ApiClient(f"http://127.0.0.1:{listener.getsockname()[1]}", "token")
    try:
        assert api.get("/first") == {}
        assert closed.wait(5)
        time.sleep(0.05)  # the close reaches the client's socket
        assert api.get("/second") == {}
    finally:
        api.close()
        listener.close()
    thread.join(timeout=5)
