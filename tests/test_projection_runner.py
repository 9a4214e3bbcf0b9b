"""The projection runner: rebuilds equal live following, blue/green swaps keep readers whole,
two runners never apply an event twice, and a runner killed mid-batch resumes cleanly."""

import contextlib
import os
import random
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from entrypoints.demo import DemoTown, seed_demo
from ledger.accounts import TransferKind
from ledger.commands.exchange import Transfer
from ledger.context import Actor, Context, Role
from ledger.errors import DomainError
from projections.catalog import all_projections
from projections.runner import ProjectionRunner
from tests.conftest import make_settings
from timebank.runtime import Runtime, open_database

Snapshot = dict[str, list[tuple[Any, ...]]]


def snapshot(rt: Runtime) -> Snapshot:
    views: Snapshot = {}
    with rt.db.read() as cur:
        for projection in rt.runner.projections:
            for table in projection.tables:
                cur.execute(f"SELECT * FROM {table}")
                views[table] = sorted((tuple(row) for row in cur.fetchall()), key=repr)
    return views


def indexes(rt: Runtime) -> set[tuple[str, str]]:
    sql = (
        "SELECT tbl_name, name FROM sqlite_master WHERE type = 'index'"
        if rt.db.is_sqlite
        else "SELECT tablename, indexname FROM pg_indexes WHERE schemaname = current_schema()"
    )
    with rt.db.read() as cur:
        cur.execute(sql)
        return {(str(table), str(name)) for table, name in cur.fetchall()}


def rebuild_all(rt: Runtime) -> None:
    for projection in rt.runner.projections:
        rt.runner.rebuild(projection.name)


@pytest.fixture
def demo(database_url: str) -> Iterator[tuple[Runtime, DemoTown]]:
    rt = Runtime(make_settings(database_url, projection_batch_size=200))
    town = seed_demo(rt)
    yield rt, town
    rt.close()


def donate_in_background(rt: Runtime, town: DemoTown, count: int) -> threading.Thread:
    """Keeps committing donations (as an admin) while the caller does something else."""
    with rt.db.read() as cur:
        cur.execute("SELECT owner_id FROM tb_accounts WHERE kind = 'volunteer' AND balance > 0")
        donors = [uuid.UUID(row[0]) for row in cur.fetchall()]
    assert donors
    rng = random.Random(7)

    def donate() -> None:
        for _ in range(count):
            ctx = Context(Actor("admin", Role.ADMIN), str(uuid.uuid4()), datetime.now(UTC))
            donor = rng.choice(donors)
            command = Transfer(donor, 1, TransferKind.DONATION, to_org_id=town.street_id)
            with contextlib.suppress(DomainError):  # that donor ran dry
                rt.service.execute(ctx, command)

    thread = threading.Thread(target=donate)
    thread.start()
    return thread


def test_a_rebuild_gives_the_rows_that_following_the_log_gave(
    demo: tuple[Runtime, DemoTown],
) -> None:
    rt, _ = demo
    rt.runner.catch_up()
    followed, indexed = snapshot(rt), indexes(rt)
    assert followed["tb_postings"], "the demo must have produced postings"
    rebuild_all(rt)
    assert snapshot(rt) == followed
    assert indexes(rt) == indexed
    assert set(rt.runner.read_positions().values()) == {rt.runner.head()}


def test_rebuilding_all_in_one_pass_gives_the_rows_that_following_the_log_gave(
    demo: tuple[Runtime, DemoTown],
) -> None:
    rt, town = demo
    rt.runner.catch_up()
    followed, indexed = snapshot(rt), indexes(rt)
    names = [p.name for p in rt.runner.projections]
    with rt.db.transaction() as cur:
        cur.executemany(
            "INSERT INTO projection_rebuilds (name, reason) VALUES (%s, 'test')",
            [(name,) for name in names],
        )
    rt.runner.start(poll_seconds=0.05)
    writer = donate_in_background(rt, town, 50)
    try:
        rt.runner.rebuild_requested()
    finally:
        writer.join()
    rt.runner.stop()
    rt.runner.catch_up()
    assert rt.runner.requested_rebuilds() == []
    assert indexes(rt) == indexed
    assert set(rt.runner.read_positions().values()) == {rt.runner.head()}
    rebuilt = snapshot(rt)
    assert len(rebuilt["tb_postings"]) > len(followed["tb_postings"])
    rebuild_all(rt)
    assert snapshot(rt) == rebuilt


def test_readers_see_the_whole_old_view_until_the_new_one_replaces_it(
    demo: tuple[Runtime, DemoTown],
) -> None:
    rt, town = demo
    rt.runner.catch_up()
    accounts_before = snapshot(rt)["tb_accounts"]
    rt.runner.start(poll_seconds=0.05)
    writer = donate_in_background(rt, town, 150)
    seen: list[tuple[int, int]] = []

    def look(position: int, head: int) -> None:
        with rt.db.read() as cur:
            cur.execute("SELECT count(*), coalesce(sum(balance), 0) FROM tb_accounts")
            accounts, total = cur.fetchone()
        seen.append((int(accounts), int(total)))

    try:
        rt.runner.rebuild("balances", look)
    finally:
        writer.join()
    rt.runner.stop()
    rt.runner.catch_up()
    assert len(seen) > 1, "the rebuild should have taken several batches"
    before = len(accounts_before)
    assert all(accounts >= before and total == 0 for accounts, total in seen), seen
    after_swap = snapshot(rt)
    rebuild_all(rt)
    assert snapshot(rt) == after_swap


def test_two_runners_at_once_apply_each_event_exactly_once(
    demo: tuple[Runtime, DemoTown],
) -> None:
    rt, _ = demo
    databases = [open_database(rt.settings) for _ in range(2)]
    runners = [
        ProjectionRunner(rt.app, db, all_projections(rt.settings.rules), batch_size=50)
        for db in databases
    ]
    threads = [threading.Thread(target=runner.catch_up) for runner in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for db in databases:
        db.close()
    together = snapshot(rt)
    rebuild_all(rt)
    assert snapshot(rt) == together


KILLED_RUNNER = textwrap.dedent(
    """
    import os, signal, sys
    from projections import runner
    from tests.conftest import make_settings
    from timebank.runtime import Runtime

    calls = 0

    def dies_at_its_call(method):
        def counted(self, *args):
            global calls
            calls += 1
            if calls == int(sys.argv[2]):
                os.kill(os.getpid(), signal.SIGKILL)
            return method(self, *args)

        return counted

    for name in ("execute", "executemany", "insert", "select_in"):
        method = getattr(runner.ProjectionCursor, name)
        setattr(runner.ProjectionCursor, name, dies_at_its_call(method))
    Runtime(make_settings(sys.argv[1], projection_batch_size=100)).runner.catch_up()
    """
)


def test_a_runner_killed_mid_batch_resumes_with_nothing_lost_or_doubled(
    demo: tuple[Runtime, DemoTown],
) -> None:
    rt, _ = demo
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_RUNNER, rt.settings.database_url, "400"],
        cwd=os.path.dirname(os.path.dirname(__file__)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -9, killed.stderr
    positions = rt.runner.read_positions()
    assert 0 < min(positions.values()) < rt.runner.head(), positions
    rt.runner.catch_up()
    resumed = snapshot(rt)
    rebuild_all(rt)
    assert snapshot(rt) == resumed


def test_a_projection_may_not_touch_tables_that_are_not_its_own(
    demo: tuple[Runtime, DemoTown],
) -> None:
    rt, _ = demo
    balances = rt.runner.projection("balances")
    intruder = type(
        "Intruder",
        (),
        {
            "name": "intruder",
            "topics": balances.topics,
            "tables": ("tb_postings",),
            "apply": lambda self, cur, event, position: cur.execute("DELETE FROM tb_accounts"),
        },
    )()
    runner = ProjectionRunner(rt.app, rt.db, [intruder])
    with pytest.raises(RuntimeError, match="tb_accounts"):
        runner.catch_up()
    assert runner.read_positions() == {"intruder": 0}


def test_a_failing_projection_holds_back_no_other(demo: tuple[Runtime, DemoTown]) -> None:
    rt, _ = demo
    balances = rt.runner.projection("balances")

    def fail(cur: Any, event: Any, position: int) -> None:
        raise ValueError("cannot apply")

    broken = type(
        "Broken",
        (),
        {"name": "broken", "topics": balances.topics, "tables": (), "apply": staticmethod(fail)},
    )()
    runner = ProjectionRunner(rt.app, rt.db, [broken, balances], batch_size=100)
    head = rt.runner.head()
    for _ in range(head // 100 + 1):
        with pytest.raises(ValueError, match="cannot apply"):
            runner.process_batch()
    assert runner.read_positions() == {"broken": 0, "balances": head}
