"""Property test: a projection leaves the same tables whether the log reaches it one event at
a time, all in one batch, or cut into batches anywhere.

Random histories come from the read-model oracle's generator (every command of the service,
refusals included). After each one, the whole log is applied by fresh projections into
tables of their own: event by event, in one batch, and in batches of drawn sizes; each must
equal the others and the live tables the runner followed the log into."""

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from projections.base import Projection, ProjectionCursor
from projections.catalog import all_projections
from projections.runner import apply_events
from tests.conftest import make_settings
from tests.test_read_models_match_the_log import RULES, History
from timebank.runtime import Runtime

Tables = dict[str, list[tuple[Any, ...]]]
Batch = list[tuple[Any, int]]

SETTINGS = settings(
    max_examples=12,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def rt(database_url: str) -> Iterator[Runtime]:
    runtime = Runtime(make_settings(database_url, rules=RULES))
    try:
        yield runtime
    finally:
        runtime.close()


def the_log(rt: Runtime) -> list[tuple[Any, int]]:
    recorder, mapper = rt.app.recorder, rt.app.mapper
    log: list[tuple[Any, int]] = []
    while batch := recorder.select_notifications(start=len(log) + 1, limit=1000):
        log += [(mapper.to_domain_event(n), n.id) for n in batch]
    assert [position for _, position in log] == list(range(1, len(log) + 1))
    return log


def rows(rt: Runtime, projection: Projection, suffix: str = "") -> Tables:
    tables: Tables = {}
    with rt.db.read() as cur:
        for table in projection.tables:
            cur.execute(f'SELECT * FROM "{table}{suffix}"')
            tables[table] = sorted((tuple(row) for row in cur.fetchall()), key=repr)
    return tables


def apply_in_batches(
    rt: Runtime, name: str, log: Sequence[tuple[Any, int]], sizes: Sequence[int], suffix: str
) -> Tables:
    """Applies the log with a fresh projection into new tables, in batches of the given
    sizes (the last one repeated), all in one transaction; returns the tables."""
    projection = next(p for p in all_projections(RULES) if p.name == name)
    events = [(event, position) for event, position in log if _follows(projection, event)]
    batches: list[Batch] = []
    while events:
        size = sizes[min(len(batches), len(sizes) - 1)]
        batches.append(events[:size])
        events = events[size:]
    with rt.db.transaction() as cur:
        for table in projection.tables:
            cur.execute(f'DROP TABLE IF EXISTS "{table}{suffix}"')
        rt.db.create_shadows(cur, projection.tables, suffix)
        target = ProjectionCursor(cur, projection, suffix)
        for batch in batches:
            apply_events(projection, target, batch)
    return rows(rt, projection, suffix)


def _follows(projection: Projection, event: Any) -> bool:
    return f"{type(event).__module__}:{type(event).__qualname__}" in projection.topics


@SETTINGS
@given(data=st.data())
def test_batches_of_any_size_leave_the_same_tables(rt: Runtime, data: st.DataObject) -> None:
    History(rt, data).play(data.draw(st.integers(15, 30), label="steps"))
    rt.runner.catch_up()
    log = the_log(rt)
    sizes = data.draw(st.lists(st.integers(1, 60), min_size=1, max_size=20), label="sizes")
    for projection in rt.runner.projections:
        live = rows(rt, projection)
        one_by_one = apply_in_batches(rt, projection.name, log, [1], "__one")
        assert one_by_one == live, f"{projection.name}: event by event differs from following"
        whole = apply_in_batches(rt, projection.name, log, [len(log)], "__all")
        assert whole == one_by_one, f"{projection.name}: one batch differs from event by event"
        drawn = apply_in_batches(rt, projection.name, log, sizes, "__drawn")
        assert drawn == one_by_one, f"{projection.name}: batches of {sizes} differ"
