"""Personal data is sealed at rest under a key of the volunteer it belongs to: the store's
bytes (the SQLite file, a pg_dump) hold no name, ID number or phone of anyone; a destroyed
key leaves the events loading, their personal fields erased; a sealed field cannot be moved,
altered or opened with another master key; a store written before sealing is not served."""

import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest
from cryptography.exceptions import InvalidTag
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from entrypoints.demo import seed_demo
from ledger.commands.members import RegisterOrganisation, RegisterVolunteer
from ledger.context import Actor, Context, Role
from ledger.engine.service import LedgerService, TimebankApplication
from ledger.identity import DocumentType
from ledger.organisations import OrgKind
from ledger.privacy import ERASED
from ledger.volunteers import Volunteer
from tests.conftest import make_settings
from timebank.keyfiles import SecretFileError
from timebank.runtime import PlaintextStore, Runtime, eventsourcing_env
from timebank.sealing import is_sealed

ADMIN = Actor("admin", Role.ADMIN)


def stored_bytes(rt: Runtime, database_url: str) -> bytes:
    """Everything the store keeps on disk, as bytes: the SQLite files, or a pg_dump."""
    if rt.settings.store.is_sqlite:
        path = Path(rt.settings.store.sqlite_path)
        return b"".join(p.read_bytes() for p in path.parent.glob(f"{path.name}*"))
    dump = subprocess.run(
        ["pg_dump", "--data-only", database_url], check=True, capture_output=True, timeout=120
    )
    return dump.stdout


def forms(text: str) -> list[bytes]:
    """The ways a text may sit in a store: UTF-8, and JSON's \\u escapes."""
    escaped = text.encode("ascii", "backslashreplace").replace(b"\\u", b"\\\\u")
    return [text.encode(), escaped, text.encode("unicode_escape")]


def volunteer(rt: Runtime, volunteer_id: UUID) -> Volunteer:
    found: Volunteer = rt.app.repository.get(volunteer_id)
    return found


def test_a_full_scenario_leaves_no_personal_data_in_the_stored_bytes(
    runtime: Runtime, database_url: str
) -> None:
    town = seed_demo(runtime)
    runtime.runner.catch_up()
    runtime.app.take_snapshot(town.volunteer_ids[0])  # snapshots are sealed too
    people = [volunteer(runtime, v) for v in town.volunteer_ids]
    secrets = {p.name for p in people} | {p.id_number for p in people} | {p.phone for p in people}
    assert all(secret and secret != ERASED for secret in secrets)
    stored = stored_bytes(runtime, database_url)
    found = sorted(s for s in secrets if any(form in stored for form in forms(s)))
    assert found == []


def test_a_destroyed_key_erases_the_fields_and_the_events_still_load(
    runtime: Runtime, database_url: str
) -> None:
    town = seed_demo(runtime)
    first, second = town.volunteer_ids[:2]
    kept = volunteer(runtime, second)
    runtime.app.take_snapshot(first)
    assert runtime.keys.destroy(first) is True
    assert runtime.keys.destroy(first) is False
    assert runtime.keys.destroyed(first)
    reopened = Runtime(make_settings(database_url))
    try:
        erased: Volunteer = reopened.app.repository.get(first)  # from the snapshot
        assert (erased.name, erased.id_number, erased.phone) == (ERASED, ERASED, ERASED)
        events = list(reopened.app.events.get(first))
        assert events[0].name == ERASED  # type: ignore[attr-defined]
        other: Volunteer = reopened.app.repository.get(second)
        assert (other.name, other.id_number) == (kept.name, kept.id_number)
        # Every read model rebuilt from the log without the key: nothing stops on it.
        names = [p.name for p in reopened.runner.projections]
        reopened.runner.rebuild_together(names)
    finally:
        reopened.close()


def stored_registration(rt: Runtime, volunteer_id: UUID) -> StoredEvent:
    recorded = rt.recorder.select_events(volunteer_id, lte=1)
    assert recorded and recorded[0].topic == get_topic(Volunteer.Registered)
    return recorded[0]


def test_a_sealed_field_is_bound_to_its_volunteer_and_field(runtime: Runtime) -> None:
    town = seed_demo(runtime)
    first, second = town.volunteer_ids[:2]
    transcoder = runtime.app.mapper.transcoder
    one = transcoder.decode(stored_registration(runtime, first).state)
    other = transcoder.decode(stored_registration(runtime, second).state)
    assert all(is_sealed(one[f]) for f in ("name", "id_number", "phone", "birth_date"))
    swapped = [
        {**one, "name": other["name"]},  # another volunteer's name
        {**one, "name": one["phone"]},  # the same volunteer's phone as the name
    ]
    for state in swapped:
        forged = StoredEvent(first, 1, get_topic(Volunteer.Registered), transcoder.encode(state))
        with pytest.raises(InvalidTag):
            runtime.app.mapper.to_domain_event(forged)


def test_another_master_key_opens_nothing(
    runtime: Runtime, database_url: str, tmp_path: Path
) -> None:
    seed_demo(runtime)
    runtime.close()
    other_key = tmp_path / "other.key"
    other_key.write_text("x" * 40)
    with pytest.raises(SecretFileError, match="does not open"):
        Runtime(make_settings(database_url, master_key_file=other_key))


def test_postgresql_needs_a_master_key_and_sqlite_makes_one(
    database_url: str, tmp_path: Path
) -> None:
    short = tmp_path / "short.key"
    short.write_text("too short")
    with pytest.raises(SecretFileError, match="too short"):
        Runtime(make_settings(database_url, master_key_file=short))
    saved = os.environ.pop("TIMEBANK_MASTER_KEY_FILE")
    try:
        settings = make_settings(database_url)
        if settings.store.is_sqlite:
            Runtime(settings).close()
            made = Path(f"{settings.store.sqlite_path}.masterkey")
            assert made.stat().st_mode & 0o777 == 0o600
        else:
            with pytest.raises(SecretFileError, match="TIMEBANK_MASTER_KEY_FILE"):
                Runtime(settings)
    finally:
        os.environ["TIMEBANK_MASTER_KEY_FILE"] = saved


def test_a_store_written_before_sealing_is_not_served(database_url: str) -> None:
    runtime = Runtime(make_settings(database_url))
    try:
        ctx = Context(ADMIN, "plaintext", datetime.now(UTC))
        made = runtime.service.execute(ctx, RegisterOrganisation("老城区", OrgKind.DISTRICT))
        home = UUID(made.body["id"])
        env = {k: v for k, v in eventsourcing_env(runtime.settings).items() if k != "MAPPER_TOPIC"}
        plain_app = TimebankApplication(env=env)  # the library's mapper: no sealing
        plain = LedgerService(plain_app, runtime.settings.rules, runtime.service.pepper)
        try:
            plain.execute(
                ctx,
                RegisterVolunteer(
                    name="旧明文",
                    id_type=DocumentType.PASSPORT,
                    id_number="E12345678",
                    phone="13900001111",
                    birth_date="1970-01-01",
                    party_member=False,
                    skills=(),
                    home_org_id=home,
                ),
            )
        finally:
            plain.close()
        seed_demo(runtime)  # sealed registrations after it do not make it any less so
    finally:
        runtime.close()
    with pytest.raises(PlaintextStore, match="timebank store reseal"):
        Runtime(make_settings(database_url))
    Runtime(make_settings(database_url), plaintext_allowed=True).close()


def test_a_key_is_looked_up_inside_a_transaction_of_the_same_thread(runtime: Runtime) -> None:
    """A rebuild's swap decodes the last events inside its transaction; a data key no longer
    in memory is then read on the same connection (SQLite: one per thread)."""
    town = seed_demo(runtime)
    stored = stored_registration(runtime, town.volunteer_ids[0])
    with runtime.db.transaction():
        runtime.keys._cache.clear()
        opened = runtime.app.mapper.to_domain_event(stored)
    assert opened.name == volunteer(runtime, town.volunteer_ids[0]).name  # type: ignore[attr-defined]
