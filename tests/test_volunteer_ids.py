"""Volunteer ids reveal nothing about the person: they are random, the keyed hash of the ID
document only names the claim that one volunteer holds it, and that claim's id is in no
answer. PostgreSQL refuses the published pepper; the pepper may come from a file."""

import os
import stat
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from typer.testing import CliRunner

from entrypoints.cli import app
from ledger.accounts import Account
from ledger.commands.base import Command, Created, UnitOfWork
from ledger.context import Actor, Context, Role
from ledger.identity import (
    PUBLISHED_PEPPER,
    DocumentType,
    account_id,
    document_claim_id,
    legacy_volunteer_ids,
    new_volunteer_number,
    normalise_document,
    number_claim_id,
)
from ledger.volunteers import DocumentClaim, Volunteer, VolunteerNumber
from tests.conftest import make_settings
from tests.http import Town
from timebank.pepper import PepperError
from timebank.runtime import Runtime
from timebank.settings import Settings

ADMIN = Actor("admin", Role.ADMIN)


def person(home: str, number: str, doc_type: str = "passport") -> dict[str, Any]:
    return {
        "name": "王五",
        "id_document": {"type": doc_type, "number": number},
        "phone": "13900002222",
        "birth_date": "1970-01-02",
        "party_member": False,
        "skills": [],
        "home_org_id": home,
    }


def register(town: Town, number: str, doc_type: str = "passport") -> Any:
    return town.admin.post("/v1/volunteers", person(town.team, number, doc_type))


@dataclass(frozen=True)
class LegacyRegistration(Command):
    """A registration as recorded before ids were random: the volunteer's id is the keyed
    hash of the document (with `pepper`), and no claim of the document exists."""

    number: str
    home_org_id: UUID
    pepper: bytes

    def handle(self, uow: UnitOfWork) -> Created:
        document = normalise_document(DocumentType.PASSPORT, self.number)
        volunteer_id = legacy_volunteer_ids(DocumentType.PASSPORT, document, self.pepper)[0]
        number = new_volunteer_number()
        uow.add(
            Volunteer.register(
                uow.ctx,
                volunteer_id,
                number=number,
                name="老会员",
                id_type=DocumentType.PASSPORT.value,
                id_number=document,
                phone="13900003333",
                birth_date="1950-03-04",
                party_member=False,
                skills=[],
                home_org_id=self.home_org_id,
            )
        )
        uow.add(
            VolunteerNumber.new(
                uow.ctx,
                VolunteerNumber.Claimed,
                id=number_claim_id(number),
                volunteer_id=volunteer_id,
            )
        )
        uow.add(
            Account.new(
                uow.ctx, Account.Opened, id=account_id(volunteer_id), volunteer_id=volunteer_id
            )
        )
        return Created(volunteer_id)


def test_ids_are_random_and_not_the_hash_of_the_document(town: Town) -> None:
    pepper = town.rt.service.pepper
    ids = []
    for number in ("E12345678", "E12345679"):
        r = register(town, number)
        assert r.status_code == 201, r.text
        volunteer_id = UUID(r.json()["id"])
        assert volunteer_id.version == 4
        assert volunteer_id not in legacy_volunteer_ids(DocumentType.PASSPORT, number, pepper)
        claim_id = document_claim_id(DocumentType.PASSPORT, number, pepper)
        assert volunteer_id != claim_id
        # the claim is recorded, held, and names no volunteer
        claim: Any = town.rt.app.repository.get(claim_id)
        assert isinstance(claim, DocumentClaim) and claim.held
        assert str(volunteer_id) not in str(vars(claim))
        ids.append(volunteer_id)
    assert ids[0] != ids[1]
    assert ids[0].hex[:8] != ids[1].hex[:8] and ids[0].hex[-8:] != ids[1].hex[-8:]


def test_no_answer_shows_the_claim_of_the_document(town: Town) -> None:
    body = register(town, "G87654321").json()
    claim_id = str(document_claim_id(DocumentType.PASSPORT, "G87654321", town.rt.service.pepper))
    town.rt.runner.catch_up()
    answers = [
        town.admin.get(f"/v1/volunteers/{body['id']}"),
        town.admin.get("/v1/volunteers", number=body["volunteer_number"]),
        town.admin.get(f"/v1/volunteers/{body['id']}/audit-trail"),
        register(town, "G87654321"),  # the refused duplicate
    ]
    assert [r.status_code for r in answers] == [200, 200, 200, 409]
    for r in answers:
        assert claim_id not in r.text and claim_id.replace("-", "") not in r.text
    with town.rt.db.read() as cur:
        cur.execute("SELECT aggregate_id, details FROM tb_audit_trail")
        assert all(claim_id not in str(row) for row in cur.fetchall())


def test_a_document_registered_the_legacy_way_cannot_register_again(town: Town) -> None:
    ctx = Context(ADMIN, str(uuid.uuid4()), datetime.now(UTC))
    for number, pepper in (("K11112222", town.rt.service.pepper), ("K33334444", PUBLISHED_PEPPER)):
        legacy = town.rt.service.execute(
            ctx, LegacyRegistration(number, UUID(town.team), pepper)
        ).body["id"]
        head = town.rt.runner.head()
        r = register(town, number.lower())  # written differently, the same document
        assert r.status_code == 409, r.text
        assert r.json()["code"] == "duplicate-volunteer"
        assert str(legacy) not in r.text
        assert town.rt.runner.head() == head, "a duplicate registration recorded events"
    assert register(town, "K55556666").status_code == 201


def test_the_next_resident_id_is_another_person(town: Town) -> None:
    first = register(town, "11010519491231002X", "resident_id")
    second = register(town, "110105194912310038", "resident_id")
    assert (first.status_code, second.status_code) == (201, 201), second.text
    assert UUID(first.json()["id"]).version == UUID(second.json()["id"]).version == 4
    assert register(town, "11010519491231002x", "resident_id").status_code == 409


def test_postgresql_refuses_the_default_pepper(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite generates a pepper of its own (next test)")
    monkeypatch.delenv("TIMEBANK_ID_PEPPER", raising=False)
    for pepper in (None, PUBLISHED_PEPPER.decode()):
        with pytest.raises(PepperError, match="TIMEBANK_ID_PEPPER or TIMEBANK_ID_PEPPER_FILE"):
            Runtime(Settings(database_url=database_url, id_pepper=pepper))
    for command in (["serve"], ["db", "upgrade"]):
        result = CliRunner().invoke(
            app, command, env={"TIMEBANK_DATABASE_URL": database_url, "TIMEBANK_ID_PEPPER": None}
        )
        assert result.exit_code == 2, result.output
        assert "TIMEBANK_ID_PEPPER or TIMEBANK_ID_PEPPER_FILE" in result.output


def test_sqlite_generates_a_pepper_beside_its_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TIMEBANK_ID_PEPPER", raising=False)
    url = f"sqlite:///{tmp_path}/timebank.db"
    peppers = []
    for _ in range(2):
        rt = Runtime(Settings(database_url=url))
        peppers.append(rt.service.pepper)
        rt.close()
    path = tmp_path / "timebank.db.pepper"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert peppers[0] == peppers[1] == path.read_bytes().strip()
    assert len(peppers[0]) >= 32 and peppers[0] != PUBLISHED_PEPPER
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_the_pepper_is_read_from_a_file(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TIMEBANK_ID_PEPPER", raising=False)
    path = tmp_path / "pepper"
    path.write_text("a pepper from a file, with a newline\n")
    os.chmod(path, 0o600)
    with pytest.raises(ValueError, match="not both"):
        Settings(database_url=database_url, id_pepper="x", id_pepper_file=path)
    rt = Runtime(make_settings(database_url, id_pepper_file=path))
    try:
        assert rt.service.pepper == b"a pepper from a file, with a newline"
    finally:
        rt.close()
    with pytest.raises(PepperError, match="cannot read the id pepper"):
        Runtime(make_settings(database_url, id_pepper_file=tmp_path / "missing"))
