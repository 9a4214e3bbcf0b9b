"""A read model that cannot apply the next event is loud and does not sit still: readyz answers
503 naming it, its position and the error; `timebank projections status` shows it; it is
logged once per new error, not once per attempt; the other read models go on; and once the
cause is gone it catches up by itself, skipping nothing.

The cause here is one an operator can make: a table of the records read model renamed away
under the running service."""

import re
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from entrypoints.cli import app
from tests.http import Town

RECORDS_TABLE = "tb_rec_orgs"


def until(condition: Callable[[], Any], seconds: float = 15.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s")
        time.sleep(0.05)


def rename(town: Town, old: str, new: str) -> None:
    with town.rt.db.transaction() as cur:
        cur.execute(f'ALTER TABLE "{old}" RENAME TO "{new}"')


def test_a_stuck_read_model_is_named_by_readyz_and_status_and_recovers_alone(
    town: Town, capfd: pytest.CaptureFixture[str]
) -> None:
    before = town.rt.runner.head()
    until(lambda: town.rt.runner.position("records") >= before)
    rename(town, RECORDS_TABLE, RECORDS_TABLE + "_away")
    try:
        org = town.org("新社区", "community", town.street)
        head = town.rt.runner.head()

        def stuck() -> dict[str, Any] | None:
            r = httpx.get(town.base_url + "/readyz")
            body: dict[str, Any] = r.json()
            failing = body["projections"]["records"]["failure"]
            return body if r.status_code == 503 and failing and failing["attempts"] >= 3 else None

        ready = until(stuck)
        records = ready["projections"]["records"]
        assert records["position"] < head and records["lag"] > 0
        assert records["failure"]["position"] == records["position"]
        # The public answer names the kind of error only: its text may quote a row's values.
        assert ":" not in records["failure"]["error"] and RECORDS_TABLE not in str(ready)
        assert ready["status"] == "unavailable"
        assert any(
            p.startswith("read model records is stuck after position") for p in ready["problems"]
        )
        for other in ("balances", "audit"):  # the others follow regardless
            assert ready["projections"][other]["failure"] is None
        until(lambda: town.rt.runner.position("audit") >= head)

        status = CliRunner().invoke(
            app,
            ["projections", "status"],
            env={"TIMEBANK_DATABASE_URL": town.rt.settings.database_url},
        )
        assert status.exit_code == 1, status.output
        assert re.search(
            r"^records\s+\d+\s+\d+\s+\d+  STUCK since .* attempts: ", status.output, re.M
        )
        assert re.search(r"^audit\s+\d+\s+\d+\s+\d+  following$", status.output, re.M)
    finally:
        rename(town, RECORDS_TABLE + "_away", RECORDS_TABLE)

    until(lambda: httpx.get(town.base_url + "/readyz").status_code == 200)
    assert town.rt.runner.position("records") >= head
    report = town.admin.get(f"/v1/reports/organisations/{org}", period="2026", min_position=head)
    assert report.status_code == 200, report.text
    captured = capfd.readouterr()
    logged = captured.out + captured.err
    assert logged.count("read model stuck") == 1, logged.count("read model stuck")
    assert logged.count("read model recovered") == 1


def test_a_read_model_at_the_head_is_not_stuck(town: Town) -> None:
    """A batch whose commit went through while its answer was lost (the store stopped at that
    moment) is recorded as failing, and then has nothing left to apply: being at the head of
    the log is its recovery."""
    runner = town.rt.runner
    head = runner.head()
    until(lambda: runner.position("records") >= head)
    for _ in range(3):  # the third attempt pauses 2 s: time to see it failing
        runner.failures.failed("records", head, RuntimeError("the commit's answer was lost"))
    assert httpx.get(town.base_url + "/readyz").status_code == 503
    until(lambda: httpx.get(town.base_url + "/readyz").status_code == 200, 5)

    def recorded() -> int:
        with town.rt.db.read() as cur:
            cur.execute("SELECT count(*) FROM projection_failures")
            return int(cur.fetchone()[0])

    until(lambda: recorded() == 0, 5)
