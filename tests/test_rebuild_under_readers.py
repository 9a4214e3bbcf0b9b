"""Blue/green rebuilds of every read model while readers go through every view, over and over:
no reader ever fails (no deadlock between the swap and a join, no table missing for an
instant), and every answer is one a finished view gives."""

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any
from uuid import UUID

from projections.audit.queries import audit_trail
from projections.balances.queries import statement, volunteer_account_row
from projections.periods import parse_period
from projections.records.rankings import RankingSort, team_ranking, volunteer_ranking
from projections.records.report import organisation_report
from projections.records.service_record import awards, service_record
from tests.http import Town

REBUILDS = 6
READERS = 4


def views(town: Town, volunteers: list[str]) -> list[Callable[[], Any]]:
    """A call of every query function, each joining what its view joins."""
    db, year = town.rt.db, parse_period(str(datetime.now(UTC).year))
    district, street = UUID(town.district), UUID(town.street)
    calls: list[Callable[[], Any]] = [
        lambda: team_ranking(db, district, year, "team"),
        lambda: team_ranking(db, district, year, "street", RankingSort.PER_CAPITA),
        lambda: volunteer_ranking(db, street, year, None, 50),
        lambda: organisation_report(db, district, year, 60),
        lambda: awards(db, district, None, None, 50),
    ]
    for text in volunteers:
        vid = UUID(text)
        calls += [
            partial(volunteer_account_row, db, vid),
            partial(statement, db, vid, 50),
            partial(audit_trail, db, "volunteer", vid, 50),
            partial(service_record, db, vid),
        ]
    return calls


def test_rebuilds_never_fail_a_reader(town: Town) -> None:
    volunteers = [town.volunteer() for _ in range(3)]
    for minutes, vid in zip((30, 45, 60), volunteers, strict=True):
        town.earn(vid, minutes)
    town.rt.runner.catch_up()
    calls = views(town, volunteers)
    errors: list[BaseException] = []
    reads = [0]
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            for call in calls:
                try:
                    call()
                    reads[0] += 1
                except BaseException as e:  # everything a reader could see
                    errors.append(e)

    readers = [threading.Thread(target=read) for _ in range(READERS)]
    for reader in readers:
        reader.start()
    started = time.monotonic()
    try:
        names = [p.name for p in town.rt.runner.projections]
        for _ in range(REBUILDS):
            town.rt.runner.rebuild_together(names)
    finally:
        stop.set()
        for reader in readers:
            reader.join(timeout=30)
    assert not errors, f"{len(errors)} failed reads, first: {errors[0]!r}"
    assert reads[0] > REBUILDS * len(calls), reads[0]
    assert time.monotonic() - started < 120
    account = volunteer_account_row(town.rt.db, UUID(volunteers[0]))
    assert account is not None and account.service_minutes == 30
