"""Every test that takes `runtime` or `database_url` runs on a real SQLite file and on a
real, freshly created PostgreSQL database."""

import os
import secrets
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from playwright.sync_api import Browser

from tests.browser import chromium, screenshot_dir
from tests.http import Town, serve
from timebank.checkpoints import create_key_file
from timebank.runtime import Runtime
from timebank.settings import Settings

# PostgreSQL refuses to start without a pepper of its own; every process the tests start
# (CLI commands, `serve`, workers) inherits this one, so all of them agree on it.
TEST_PEPPER = "timebank-tests-pepper"
os.environ.setdefault("TIMEBANK_ID_PEPPER", TEST_PEPPER)
# Nor without a master key file: one for the whole run, which its processes inherit too.
if "TIMEBANK_MASTER_KEY_FILE" not in os.environ:
    _key_dir = tempfile.mkdtemp(prefix="timebank-test-keys-")
    with open(os.path.join(_key_dir, "master.key"), "w") as _key_file:
        _key_file.write(secrets.token_urlsafe(32))
    os.environ["TIMEBANK_MASTER_KEY_FILE"] = _key_file.name
# Nor without a key that signs the log's checkpoints.
if "TIMEBANK_SIGNING_KEY_FILE" not in os.environ:
    _signing_dir = tempfile.mkdtemp(prefix="timebank-test-signing-")
    _signing_path = Path(_signing_dir, "signing.key")
    create_key_file(_signing_path, "timebank.example/log")
    os.environ["TIMEBANK_SIGNING_KEY_FILE"] = str(_signing_path)
PG_SERVER = os.environ.get("TIMEBANK_TEST_PG_URL", "postgresql://root@127.0.0.1:5432/test")


def _pg_admin() -> psycopg.Connection:
    return psycopg.connect(PG_SERVER, autocommit=True)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('store')}/timebank.db"
        return
    name = f"timebank_test_{uuid.uuid4().hex[:12]}"
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_SERVER.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_settings(database_url: str, **overrides: object) -> Settings:
    if "id_pepper_file" not in overrides:
        overrides.setdefault("id_pepper", os.environ["TIMEBANK_ID_PEPPER"])
    return Settings(database_url=database_url, expiry_sweep_seconds=3600, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def runtime(database_url: str) -> Iterator[Runtime]:
    rt = Runtime(make_settings(database_url))
    try:
        yield rt
    finally:
        rt.close()


@pytest.fixture
def town(runtime: Runtime) -> Iterator[Town]:
    runtime.start()
    with serve(runtime) as base_url:
        yield Town(runtime, base_url)


@pytest.fixture
def sqlite_town(tmp_path: Path) -> Iterator[Town]:
    """A town on an SQLite file of its own, served over HTTP (the pages' browser tests)."""
    rt = Runtime(make_settings(f"sqlite:///{tmp_path}/timebank.db"))
    try:
        rt.start()
        with serve(rt) as base_url:
            yield Town(rt, base_url)
    finally:
        rt.close()


# The pages' browser tests: one Chromium and one screenshot folder per test module.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return screenshot_dir(tmp_path_factory)
