"""No log line of `timebank serve` carries a bearer token, an ID number, a phone number or a
volunteer's name: a whole HTTP scenario, good and bad requests with those values in bodies,
paths, query strings and headers, and then a search of everything the process wrote."""

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from stdnum.cn import ric

from ledger.context import Role
from tests.conftest import make_settings
from tests.http import Api, ServeProcess, Town
from timebank.runtime import Runtime


def resident_id(birth: str, serial: str) -> str:
    body = f"110105{birth}{serial}"
    return body + ric.calc_check_digit(body + "0")  # it ignores the last character


NAMES = ("欧阳娜娜", "Zhang Xiuying")
RESIDENT_IDS = (resident_id("19491231", "002"), resident_id("19800506", "117"))
PASSPORT = "E98765432"
PHONES = ("13812345678", "15987654321")


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[tuple[ServeProcess, Runtime]]:
    server = ServeProcess(database_url, tmp_path)
    try:
        server.wait_healthy()
        rt = Runtime(make_settings(database_url))
        try:
            yield server, rt
        finally:
            rt.close()
    finally:
        server.stop()


def token_of(api: Api) -> str:
    return str(api.client.headers["authorization"]).removeprefix("Bearer ")


def register(town: Town, name: str, doc_type: str, number: str, phone: str) -> str:
    body = {
        "name": name,
        "id_document": {"type": doc_type, "number": number},
        "phone": phone,
        "birth_date": "1980-05-06",
        "party_member": False,
        "skills": ["driving"],
        "home_org_id": town.team,
    }
    r = town.admin.post("/v1/volunteers", body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_no_log_line_carries_a_token_an_id_number_a_phone_or_a_name(
    served: tuple[ServeProcess, Runtime],
) -> None:
    server, rt = served
    town = Town(rt, server.base)
    first = register(town, NAMES[0], "resident_id", RESIDENT_IDS[0], PHONES[0])
    second = register(town, NAMES[1], "passport", PASSPORT, PHONES[1])
    town.earn(first, 60)
    me = town.client(Role.VOLUNTEER, first)
    secrets = [*NAMES, *RESIDENT_IDS, PASSPORT, *PHONES, token_of(town.admin), token_of(me)]

    # A donation, a reward and its redemption, the volunteer's own reads.
    donation = {"from_volunteer_id": first, "to_org_id": town.team, "minutes": 10}
    r = town.admin.post("/v1/transfers", {**donation, "kind": "donation"})
    assert r.status_code == 201, r.text
    reward = {"venue_id": town.venue, "name": "理发", "cost_minutes": 10, "stock": 5}
    r = town.admin.post("/v1/rewards", reward)
    assert r.status_code == 201, r.text
    r = town.admin.post("/v1/redemptions", {"volunteer_id": first, "reward_id": r.json()["id"]})
    assert r.status_code == 201, r.text
    assert me.get(f"/v1/volunteers/{first}").status_code == 200
    assert town.admin.get(f"/v1/volunteers/{second}").status_code == 200

    # Refused requests that carry the values: in a body a validation error could echo, the
    # same person registered twice, a path, a query string, a request id, a token.
    again = {
        "name": NAMES[0],
        "id_document": {"type": "resident_id", "number": RESIDENT_IDS[0]},
        "phone": PHONES[0],
        "birth_date": "1980-05-06",
        "party_member": False,
        "skills": ["driving"],
        "home_org_id": town.team,
    }
    assert town.admin.post("/v1/volunteers", again).status_code == 409
    bad = {**again, "birth_date": NAMES[1], "phone": [PHONES[1]], "home_org_id": PASSPORT}
    assert town.admin.post("/v1/volunteers", bad).status_code == 422
    broken = town.admin.client.post(
        "/v1/volunteers", content=f'{{"name": "{NAMES[0]}", "phone": {PHONES[0]}'
    )
    assert broken.status_code in (400, 422)
    for path in (
        f"/v1/volunteers/{RESIDENT_IDS[1]}",
        f"/v1/volunteers/{NAMES[0]}/record",
        f"/v1/accounts/{PHONES[1]}",
        f"/v1/{NAMES[1]}/{PASSPORT}",
    ):
        assert town.admin.get(path).status_code in (404, 422), path
    query = {"name": NAMES[1], "id_number": RESIDENT_IDS[1], "phone": PHONES[1]}
    town.admin.get("/v1/volunteers", **query)
    town.admin.get(f"/v1/accounts/{first}/statement", **query)
    base = server.base
    for token in (token_of(me) + "x", f"tb_{RESIDENT_IDS[0]}{PHONES[0]}", PHONES[1]):
        r = httpx.get(f"{base}/v1/volunteers/{first}", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401
    r = httpx.get(f"{base}/healthz", headers={"X-Request-ID": RESIDENT_IDS[1]})
    assert r.headers["x-request-id"] != RESIDENT_IDS[1]
    marker = str(uuid.uuid4())
    assert me.client.get("/healthz", headers={"X-Request-ID": marker}).status_code == 200
    server.find(marker)
    server.stop()

    output = server.output
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line["event"] == "request"]
    assert len(requests) >= 20  # the scenario was logged, line by line
    assert {"method", "path", "status", "ms", "request_id"} <= requests[-1].keys()
    assert any(line.get("principal") and line.get("role") == "volunteer" for line in requests)
    assert [s for s in secrets if s in output] == []


TOKEN = "tb_" + "Zk3" * 10
SCRIPT = r"""
import logging, sqlite3, sys
import psycopg, structlog
from api.logging import configure_logging

url, name, resident, phone, token = sys.argv[1:]
configure_logging("info")
log = structlog.get_logger("timebank.test")
row = (1, name, phone, resident)
table = "CREATE TABLE t (id INT, name TEXT, phone TEXT CHECK (length(phone) < 5), doc TEXT)"
try:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute(table)
            conn.execute("INSERT INTO t VALUES (?, ?, ?, ?)", row)
    else:
        with psycopg.connect(url.replace("+psycopg", "")) as conn:
            conn.execute(table)
            conn.execute("INSERT INTO t VALUES (%s, %s, %s, %s)", row)
except Exception as e:
    log.exception("the store refused a row", error=str(e))
    logging.getLogger("psycopg").error("the store refused: %s", e, exc_info=True)
try:
    raise ValueError(f"no volunteer {resident} with phone {phone} and token {token}")
except ValueError:
    log.exception("a lookup failed")
    logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
log.warning(
    "fields",
    name=name, phone=phone, pin="123456", token=token, authorization=f"Bearer {token}",
    id_document={"type": "resident_id", "number": resident},
    found={"phone": phone, "note": f"call {phone}", "ids": [resident]},
    principal="admin-1", path="/v1/volunteers/" + resident,
)
"""


def test_tracebacks_stdlib_records_and_fields_are_scrubbed(
    database_url: str, tmp_path: Path
) -> None:
    """The scrubbing itself, in a process configured as `timebank` configures every process:
    an error of the store quoting the row it refused (a name among its values), an exception
    whose message carries an ID number, a phone and a token, through structlog and through a
    stdlib logger (psycopg, uvicorn), and fields named like secrets, nested ones included."""
    url = database_url
    if url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path}/scratch.db"
    args = [url, NAMES[0], RESIDENT_IDS[0], PHONES[0], TOKEN]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    lines = {line["event"]: line for line in map(json.loads, done.stderr.splitlines())}
    refused = lines["the store refused a row"]
    assert "Traceback" in refused["exception"] and refused["error"]
    assert "Traceback" in lines["the store refused: " + refused["error"]]["exception"]
    failed = lines["a lookup failed"]
    assert "ValueError: no volunteer *** with phone *** and token ***" in failed["exception"]
    assert "ValueError" in lines["Exception in ASGI application"]["exception"]
    fields = lines["fields"]
    assert fields["found"] == {"note": "call ***", "ids": ["***"]}
    assert fields["path"] == "/v1/volunteers/***" and fields["principal"] == "admin-1"
    assert not {"name", "phone", "pin", "token", "authorization", "id_document"} & fields.keys()
    assert [s for s in (*args[1:], "123456") if s in done.stderr] == []
