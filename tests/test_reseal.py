"""`timebank store reseal`: a store written before personal data was sealed (plaintext
registrations first, then a demo town) is moved into a new store that seals it; the new store
is served, its bytes hold none of the plaintext, its read models are the old one's and its
tokens work. `db upgrade` and every other command refuse the plaintext store."""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from typer.testing import CliRunner, Result

from entrypoints.cli import app
from entrypoints.demo import seed_demo
from ledger.commands.members import RegisterOrganisation, RegisterVolunteer
from ledger.context import Actor, Context, Role
from ledger.engine.service import LedgerService, TimebankApplication
from ledger.identity import DocumentType
from ledger.organisations import OrgKind
from ledger.volunteers import Volunteer
from tests.conftest import PG_SERVER, _pg_admin, make_settings
from tests.http import serve
from tests.test_sealing import forms, stored_bytes
from timebank.keyfiles import SecretFileError
from timebank.runtime import PLAINTEXT_STORE, Runtime, eventsourcing_env

ADMIN = Context(Actor("admin", Role.ADMIN), "plaintext", datetime.now(UTC))
PLAINTEXT_PEOPLE = (
    ("旧明文甲", "E12345678", "13900001111"),
    ("旧明文乙", "G87654321", "13900002222"),
)


@dataclass(frozen=True)
class OldStore:
    personal: set[str]  # every name, ID number and phone of its volunteers
    volunteer_id: UUID  # registered in plaintext, with a PIN and a token
    volunteer_token: str
    admin_token: str


def make_plaintext_store(url: str) -> OldStore:
    """Registrations in plaintext first (the library's own mapper, as before sealing), then a
    demo town, sealed; a token, a PIN and a snapshot beside."""
    runtime = Runtime(make_settings(url))
    try:
        made = runtime.service.execute(ADMIN, RegisterOrganisation("老城区", OrgKind.DISTRICT))
        home = UUID(made.body["id"])
        env = {k: v for k, v in eventsourcing_env(runtime.settings).items() if k != "MAPPER_TOPIC"}
        plain = LedgerService(
            TimebankApplication(env=env), runtime.settings.rules, runtime.service.pepper
        )
        try:
            ids = []
            for name, number, phone in PLAINTEXT_PEOPLE:
                command = RegisterVolunteer(
                    name, DocumentType.PASSPORT, number, phone, "1970-01-01", False, (), home
                )
                ids.append(UUID(plain.execute(ADMIN, command).body["id"]))
        finally:
            plain.close()
        town = seed_demo(runtime)
        runtime.app.take_snapshot(town.volunteer_ids[0])
        runtime.secrets.set_pin(ids[0], "135790")
        volunteer_token = runtime.tokens.create(Role.VOLUNTEER, "v-000001", ids[0])
        admin_token = runtime.tokens.create(Role.ADMIN, "ops")
        personal = {v for p in PLAINTEXT_PEOPLE for v in p}
        for volunteer_id in town.volunteer_ids:
            v: Volunteer = runtime.app.repository.get(volunteer_id)
            personal |= {v.name, v.id_number, v.phone}
    finally:
        runtime.close()
    return OldStore(personal, ids[0], volunteer_token, admin_token)


@pytest.fixture
def target_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A new, empty store of the same kind as `database_url`."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/new.db"
        return
    yield from new_pg_database()


def new_pg_database() -> Iterator[str]:
    name = f"timebank_reseal_{uuid.uuid4().hex[:12]}"
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{PG_SERVER.rsplit('/', 1)[0]}/{name}"
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def invoke(url: str, *args: str, **env: str | None) -> Result:
    return CliRunner().invoke(app, list(args), env={"TIMEBANK_DATABASE_URL": url, **env})


def reads(base_url: str, token: str, volunteer_id: UUID) -> list[Any]:
    """The volunteer's account and statement, as the API answers them with `token`."""
    headers = {"Authorization": f"Bearer {token}"}
    answers = []
    for path in (f"/v1/accounts/{volunteer_id}", f"/v1/accounts/{volunteer_id}/statement"):
        r = httpx.get(f"{base_url}{path}", headers=headers, params={"limit": 200}, timeout=10)
        assert r.status_code == 200, r.text
        answers.append(r.json())
    return answers


def served_reads(
    url: str, old: OldStore, volunteer_ids: list[UUID], plaintext_allowed: bool = False
) -> list[Any]:
    rt = Runtime(make_settings(url), plaintext_allowed=plaintext_allowed)
    try:
        rt.runner.catch_up()
        with serve(rt) as base_url:
            answers = reads(base_url, old.volunteer_token, old.volunteer_id)
            for volunteer_id in volunteer_ids:
                answers += reads(base_url, old.admin_token, volunteer_id)
    finally:
        rt.close()
    return answers


def demo_volunteers(url: str) -> list[UUID]:
    rt = Runtime(make_settings(url), plaintext_allowed=True)
    try:
        with rt.db.read() as cur:
            cur.execute("SELECT owner_id FROM tb_accounts WHERE kind = 'volunteer' LIMIT 20")
            return [UUID(r[0]) for r in cur.fetchall()]
    finally:
        rt.close()


def assert_same_log(source_url: str, target: Runtime) -> None:
    """Every event at the same position, with the same id, version, topic and state (the
    personal fields opened), timestamps included."""
    source = Runtime(make_settings(source_url), plaintext_allowed=True)
    try:
        head = source.recorder.max_notification_id()
        assert head and target.recorder.max_notification_id() == head
        after = 0
        while after < head:
            mine = source.recorder.select_notifications(after + 1, 500)
            theirs = target.recorder.select_notifications(after + 1, 500)
            assert [(n.id, n.originator_id, n.originator_version, n.topic) for n in mine] == [
                (n.id, n.originator_id, n.originator_version, n.topic) for n in theirs
            ]
            for a, b in zip(mine, theirs, strict=True):
                opened = source.app.mapper.to_domain_event(a)
                assert vars(target.app.mapper.to_domain_event(b)) == vars(opened)
            after = mine[-1].id
    finally:
        source.close()


def test_reseal_moves_a_plaintext_store_into_a_sealed_one(
    database_url: str, target_url: str
) -> None:
    old = make_plaintext_store(database_url)
    result = invoke(database_url, "store", "reseal", "--to", target_url)
    assert result.exit_code == 0, result.output
    assert "Every read model of the new store equals the old store's." in result.output
    for table in ("tb_accounts", "tb_account_entries", "tb_audit_trail", "tb_open_check_ins"):
        assert any(
            line.startswith(table) and line.endswith("matches")
            for line in result.output.splitlines()
        ), result.output
    assert "DIFFERS" not in result.output
    assert "Copied: tb_tokens: 2 rows" in result.output
    assert "Copied: tb_volunteer_pins: 1 rows" in result.output

    # Served as it is, without plaintext anywhere in its bytes.
    target = Runtime(make_settings(target_url))
    try:
        assert_same_log(database_url, target)
        stored = stored_bytes(target, target_url)
        assert sorted(s for s in old.personal if any(f in stored for f in forms(s))) == []
        plain: Volunteer = target.app.repository.get(old.volunteer_id)
        assert plain.name == PLAINTEXT_PEOPLE[0][0]  # sealed, and opened again
        assert target.secrets.pin_matches(old.volunteer_id, "135790")
    finally:
        target.close()

    # The same answers, to the same tokens, over HTTP.
    volunteers = demo_volunteers(database_url)
    assert len(volunteers) > 5
    before = served_reads(database_url, old, volunteers, plaintext_allowed=True)
    after = served_reads(target_url, old, volunteers)
    assert after == before


def test_db_upgrade_and_every_command_refuse_a_plaintext_store(database_url: str) -> None:
    make_plaintext_store(database_url)
    upgrade = invoke(database_url, "db", "upgrade")
    assert upgrade.exit_code == 1, upgrade.output
    assert "Event store: tables ready" in upgrade.stdout  # migrated first
    assert PLAINTEXT_STORE in upgrade.stderr and "Traceback" not in upgrade.output
    for args in (["token", "list"], ["projections", "status"]):
        refused = invoke(database_url, *args)
        assert refused.exit_code == 1, refused.output
        assert PLAINTEXT_STORE in refused.stderr and "Traceback" not in refused.output
    # serve in a process of its own: it sets up the logging of the whole process.
    served = subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "serve", "--port", "0"],
        env=os.environ | {"TIMEBANK_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert served.returncode == 1, served.stderr
    assert PLAINTEXT_STORE in served.stderr and "Traceback" not in served.stderr


def test_reseal_refuses_a_target_that_is_not_empty(database_url: str, target_url: str) -> None:
    make_plaintext_store(database_url)
    rt = Runtime(make_settings(target_url))
    try:
        rt.service.execute(ADMIN, RegisterOrganisation("新城区", OrgKind.DISTRICT))
    finally:
        rt.close()
    refused = invoke(database_url, "store", "reseal", "--to", target_url)
    assert refused.exit_code == 2, refused.output
    assert "log is not empty" in refused.stderr and "start again" in refused.stderr
    itself = invoke(database_url, "store", "reseal", "--to", database_url)
    assert itself.exit_code == 2 and "names the store itself" in itself.stderr


def test_reseal_from_sqlite_into_postgresql_with_a_master_key_of_its_own(
    tmp_path: Path,
) -> None:
    source = f"sqlite:///{tmp_path}/old.db"
    old = make_plaintext_store(source)
    new_key = tmp_path / "new.masterkey"
    new_key.write_text("n" * 40)
    databases = new_pg_database()
    target_url = next(databases)
    try:
        result = invoke(
            source, "store", "reseal", "--to", target_url, "--master-key-file", str(new_key)
        )
        assert result.exit_code == 0, result.output
        assert "Every read model of the new store equals the old store's." in result.output
        with pytest.raises(SecretFileError, match="does not open"):
            Runtime(make_settings(target_url))  # the old store's master key
        target = Runtime(make_settings(target_url, master_key_file=new_key))
        try:
            stored = stored_bytes(target, target_url)
            assert not [s for s in old.personal if any(f in stored for f in forms(s))]
        finally:
            target.close()
    finally:
        next(databases, None)


def test_a_sqlite_target_is_given_the_generated_pepper_of_the_old_store(
    tmp_path: Path,
) -> None:
    source = f"sqlite:///{tmp_path}/old.db"
    rt = Runtime(make_settings(source, id_pepper=None))  # a pepper generated beside it
    rt.close()
    pepper = Path(f"{tmp_path}/old.db.pepper")
    assert pepper.exists()
    target = f"sqlite:///{tmp_path}/new.db"
    result = invoke(source, "store", "reseal", "--to", target, TIMEBANK_ID_PEPPER=None)
    assert result.exit_code == 0, result.output
    assert Path(f"{tmp_path}/new.db.pepper").read_bytes() == pepper.read_bytes()
    (tmp_path / "other.db.pepper").write_text("another pepper")
    other = f"sqlite:///{tmp_path}/other.db"
    refused = invoke(source, "store", "reseal", "--to", other, TIMEBANK_ID_PEPPER=None)
    assert refused.exit_code == 2, refused.output
    assert "same pepper" in refused.stderr
