"""Commands on a contended aggregate (an activity in a signup rush) build on the changes of
the ones before them while those are still being committed; none is answered before what it
built on is committed, and if that fails, the commands built on it are run again rather than
written on top of a state that was never written. Commands also decide on aggregates kept in
memory: one that rests on a version another process has moved is run again on fresh state."""

import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from uuid import UUID

import psycopg
import pytest
from eventsourcing.postgres import PostgresApplicationRecorder

from ledger.accounts import TransferKind
from ledger.activities import Activity, Category
from ledger.commands.attendance import PublishActivity, SignUp
from ledger.commands.base import Command
from ledger.commands.exchange import Transfer
from ledger.commands.members import LinkFamily, RegisterOrganisation, RegisterVolunteer
from ledger.context import Actor, Context, Role
from ledger.engine.service import LedgerService
from ledger.errors import DomainError
from ledger.identity import DocumentType
from ledger.organisations import OrgKind
from ledger.volunteers import Relation
from timebank.runtime import Runtime, open_application

ADMIN = Actor("admin", Role.ADMIN)
SETTLE = 0.5  # seconds for the commands to reach the writer while it is held


def run(service: LedgerService, command: Command) -> dict[str, object]:
    return service.execute(Context(ADMIN, str(uuid.uuid4()), datetime.now(UTC)), command).body


def created(service: LedgerService, command: Command) -> UUID:
    return UUID(str(run(service, command)["id"]))


def team(service: LedgerService) -> UUID:
    district = created(service, RegisterOrganisation("区", OrgKind.DISTRICT))
    street = created(service, RegisterOrganisation("街道", OrgKind.STREET, district))
    return created(service, RegisterOrganisation("服务队", OrgKind.TEAM, street))


def volunteers(service: LedgerService, home: UUID, count: int) -> list[UUID]:
    return [
        created(
            service,
            RegisterVolunteer(
                "王五",
                DocumentType.PASSPORT,
                uuid.uuid4().hex[:12],
                "13900001111",
                "1980-05-06",
                False,
                (),
                home,
            ),
        )
        for _ in range(count)
    ]


def activity(service: LedgerService, org: UUID, capacity: int) -> UUID:
    starts = datetime.now(UTC) + timedelta(days=1)
    return created(
        service,
        PublishActivity(
            org, "抢报", Category.OTHER, "广场", starts, starts + timedelta(hours=2), capacity
        ),
    )


@contextmanager
def writer_held(rt: Runtime) -> Iterator[None]:
    """Holds the event table's write lock, as a long transaction of another writer would:
    commands decide and queue, and the group writer waits, until the block ends."""
    store = rt.settings.store
    if store.is_sqlite:
        conn = sqlite3.connect(store.sqlite_path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.rollback()
            conn.close()
        return
    recorder = rt.app.recorder
    assert isinstance(recorder, PostgresApplicationRecorder)
    with psycopg.connect(store.libpq_conninfo) as pg:
        pg.execute(f"LOCK TABLE {recorder.events_table_name} IN EXCLUSIVE MODE")
        try:
            yield
        finally:
            pg.rollback()


def seats_in_the_log(rt: Runtime, activity_id: UUID) -> list[tuple[int, str]]:
    """(version, volunteer id) of each seat taken in the activity, from its stored events."""
    return [
        (e.originator_version, str(e.volunteer_id))
        for e in rt.app.events.get(activity_id)
        if isinstance(e, Activity.SeatTaken)
    ]


def sign_up_all(rt: Runtime, activity_id: UUID, first: UUID, others: list[UUID]) -> dict[UUID, str]:
    """Signs `first` up, then the others, all while the writer is held."""
    service = rt.service
    with ThreadPoolExecutor(len(others) + 1) as pool:
        futures: dict[UUID, Future[dict[str, object]]] = {}
        with writer_held(rt):
            futures[first] = pool.submit(run, service, SignUp(activity_id, first))
            time.sleep(SETTLE)
            for volunteer in others:
                futures[volunteer] = pool.submit(run, service, SignUp(activity_id, volunteer))
            time.sleep(SETTLE)
        return {v: str(f.result()["status"]) for v, f in futures.items()}


def assert_seats_match(rt: Runtime, activity_id: UUID, statuses: dict[UUID, str]) -> None:
    """One seat per volunteer, in an unbroken run of versions, and every answer is the
    activity's: the accepted are the first `capacity` seats taken."""
    seats = seats_in_the_log(rt, activity_id)
    assert [version for version, _ in seats] == list(range(2, len(statuses) + 2))
    assert sorted(v for _, v in seats) == sorted(str(v) for v in statuses)
    stored = rt.service.load(Activity, activity_id, "activity")
    assert {UUID(e[1]) for e in stored.accepted} == {
        v for v, status in statuses.items() if status == "accepted"
    }
    assert [v for _, v in seats[: stored.capacity]] == [e[1] for e in stored.accepted]
    assert len(stored.accepted) == min(stored.capacity, len(statuses))


def run_in_another_process(runtime: Runtime, command: Command) -> None:
    """Runs the command through a service of its own, as another process would."""
    app = open_application(runtime.settings, runtime.keys)
    service = LedgerService(app, runtime.settings.rules, runtime.service.pepper)
    try:
        run(service, command)
    finally:
        service.close()
        app.close()


def test_signups_to_one_activity_build_on_each_other_while_the_first_commits(
    runtime: Runtime,
) -> None:
    service = runtime.service
    home = team(service)
    people = volunteers(service, home, 12)
    rush = activity(service, home, capacity=5)
    before = service.committer.transactions
    statuses = sign_up_all(runtime, rush, people[0], people[1:])
    assert Counter(statuses.values()) == {"accepted": 5, "waitlisted": 7}
    assert service.committer.transactions - before <= 3, "the signups should share transactions"
    assert_seats_match(runtime, rush, statuses)


def test_commands_built_on_a_refused_one_are_run_again_not_written_on_top(
    runtime: Runtime,
) -> None:
    """Another process moves the first signer's volunteer record after this process has
    kept it, so the first signup is refused when the writer gets to it; the signups that
    built on its seat must not be written as they were decided: they are run again."""
    service = runtime.service
    home = team(service)
    people = volunteers(service, home, 9)
    first, relative, others = people[0], people[1], people[2:]
    rush = activity(service, home, capacity=3)
    run_in_another_process(runtime, LinkFamily(first, relative, Relation.SIBLING))
    retried = service.committer.retried
    statuses = sign_up_all(runtime, rush, first, others)
    assert service.committer.retried - retried >= 1 + len(others)
    assert Counter(statuses.values()) == {"accepted": 3, "waitlisted": 5}
    assert_seats_match(runtime, rush, statuses)


def test_a_refusal_resting_on_a_version_another_process_moved_is_decided_again(
    runtime: Runtime,
) -> None:
    """A gift goes to family only: this process keeps the giver as having none, another
    process links the family, and the gift is decided on the link (and then refused only
    because the giver has no credits)."""
    service = runtime.service
    giver, relative = volunteers(service, team(service), 2)
    gift = Transfer(giver, 1, TransferKind.GIFT, to_volunteer_id=relative)
    with pytest.raises(DomainError) as before:
        run(service, gift)
    assert before.value.code == "not-family"
    run_in_another_process(runtime, LinkFamily(giver, relative, Relation.SPOUSE))
    with pytest.raises(DomainError) as after:
        run(service, gift)
    assert after.value.code == "insufficient-balance"
