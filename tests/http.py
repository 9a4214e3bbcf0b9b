"""The real app served by uvicorn on a free loopback port (in this process, or `timebank
serve` in a subprocess), and a small client for tests."""

import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from api.app import create_app
from api.serving import server_config
from ledger.context import Role
from timebank.runtime import Runtime

# Tests that start `timebank serve` processes (each with its own PostgreSQL pools) run one
# after another on one pytest-xdist worker: two at once could take more connections than a
# default server allows (100).
SERVER_PROCESSES = pytest.mark.xdist_group("server-processes")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(rt: Runtime) -> Iterator[str]:
    with serve_app(create_app(rt)) as base_url:
        yield base_url


@contextmanager
def serve_app(app: FastAPI) -> Iterator[str]:
    port = free_port()
    settings = app.state.runtime.settings
    server = uvicorn.Server(server_config(app, settings, "127.0.0.1", port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class ServeProcess:
    """`timebank serve` in a subprocess; its output is collected by a thread. `port`: the
    port of a server this one replaces (by default a free one)."""

    def __init__(
        self, url: str, cwd: Path, *args: str, port: int | None = None, **env: str
    ) -> None:
        self.port = port or free_port()
        self.lines: list[str] = []
        env = os.environ | {"TIMEBANK_DATABASE_URL": url, "PYTHONUNBUFFERED": "1"} | env
        command = [sys.executable, "-m", "entrypoints.cli", "serve", "--host", "127.0.0.1"]
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port), *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        stdout = self.process.stdout
        self._reader = threading.Thread(target=lambda: self.lines.extend(stdout), daemon=True)
        self._reader.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def find(self, pattern: str, timeout: float = 5) -> re.Match[str]:
        """The first match in the output, waiting a little for the reader thread."""
        deadline = time.monotonic() + timeout
        while (found := re.search(pattern, self.output)) is None:
            if time.monotonic() > deadline:
                pytest.fail(f"no {pattern!r} in the output of serve:\n{self.output}")
            time.sleep(0.05)
        return found

    def wait_healthy(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"serve exited with {self.process.returncode}:\n{self.output}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        pytest.fail(f"serve did not answer /healthz within {timeout} s:\n{self.output}")

    def kill(self) -> None:
        """SIGKILL: the process ends at once, whatever it was doing."""
        self.process.kill()
        self.process.wait(timeout=10)
        self._reader.join(timeout=5)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._reader.join(timeout=5)


class Api:
    """Calls the API as one token holder; asserts nothing, returns httpx responses."""

    def __init__(self, base_url: str, token: str) -> None:
        # Tests share one client between threads. httpcore 1.0 closes an idle pooled connection
        # once the pool holds more than max_keepalive_connections, even one another thread has
        # just been given (EBADF there): with keep-alive equal to the pool size it never does.
        self.client = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
        )

    def post(self, path: str, body: Any = None, key: str | None = None) -> httpx.Response:
        headers = {"Idempotency-Key": key} if key else {}
        return self.client.post(path, json=body, headers=headers)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.client.get(path, params=params)

    def close(self) -> None:
        self.client.close()


class Town:
    """Builds a small town over HTTP with the admin's token and hands out scoped clients."""

    def __init__(self, rt: Runtime, base_url: str) -> None:
        self.rt = rt
        self.base_url = base_url
        self.admin = self.client(Role.ADMIN)
        self.district = self.org("区", "district")
        self.street = self.org("街道", "street", self.district)
        self.team = self.org("服务队", "team", self.street)
        self.venue = self.org("兑换点", "venue", self.district)

    def client(self, role: Role, scope: str | None = None) -> Api:
        name = f"{role.value}-{uuid.uuid4().hex[:8]}"
        token = self.rt.tokens.create(role, name, uuid.UUID(scope) if scope else None)
        return Api(self.base_url, token)

    def org(self, name: str, kind: str, parent: str | None = None) -> str:
        r = self.admin.post("/v1/organisations", {"name": name, "kind": kind, "parent_id": parent})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def volunteer(self, org: str | None = None, name: str = "李四") -> str:
        body = {
            "name": name,
            "id_document": {"type": "passport", "number": uuid.uuid4().hex[:12]},
            "phone": "13900001111",
            "birth_date": "1980-05-06",
            "party_member": False,
            "skills": ["driving"],
            "home_org_id": org or self.team,
        }
        r = self.admin.post("/v1/volunteers", body)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def activity(
        self, capacity: int = 10, org: str | None = None, **times: datetime
    ) -> dict[str, Any]:
        now = datetime.now(UTC)
        body = {
            "org_id": org or self.team,
            "title": "陪伴老人",
            "category": "elder_care",
            "location": "敬老院",
            "starts_at": times.get("starts_at", now - timedelta(hours=2)).isoformat(),
            "ends_at": times.get("ends_at", now + timedelta(hours=1)).isoformat(),
            "capacity": capacity,
        }
        r = self.admin.post("/v1/activities", body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def earn(self, volunteer: str, minutes: int) -> None:
        """Signs up, checks in and out `minutes` apart, and approves."""
        now = datetime.now(UTC)
        activity = self.activity(starts_at=now - timedelta(minutes=minutes + 60))
        signup = self.admin.post(
            f"/v1/activities/{activity['id']}/signups", {"volunteer_id": volunteer}
        ).json()["id"]
        start = now - timedelta(minutes=minutes + 5)
        for action, at in (("check-in", start), ("check-out", start + timedelta(minutes=minutes))):
            r = self.admin.post(f"/v1/signups/{signup}/{action}", {"at": at.isoformat()})
            assert r.status_code == 200, r.text
        r = self.admin.post(f"/v1/signups/{signup}/verify", {"decision": "approve"})
        assert r.status_code == 200 and r.json()["credited_minutes"] == minutes, r.text

    def account(self, volunteer: str) -> dict[str, Any]:
        self.rt.runner.catch_up()
        r = self.admin.get(f"/v1/accounts/{volunteer}")
        assert r.status_code == 200, r.text
        return dict(r.json())
