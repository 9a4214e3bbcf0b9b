"""The text forms read models store: moments as fixed-width UTC text, audit details as
sorted JSON. Both are written by orjson where it can, and must match the standard forms."""

import json
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.audit.projection import DETAILS, LEFT_OUT, details
from projections.db import utc_text

zones = st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(-timedelta(hours=5))])


# Within years the domain accepts: at datetime's own ends an offset moves a moment out of range.
@settings(max_examples=500, deadline=None)
@given(st.datetimes(datetime(1900, 1, 1), datetime(9000, 1, 1), timezones=zones))
def test_moments_are_fixed_width_utc_iso_text(moment: datetime) -> None:
    text = utc_text(moment)
    assert text == moment.astimezone(UTC).isoformat(timespec="microseconds")
    assert len(text) == len("2026-11-26T08:00:00.000000+00:00")


fields = st.dictionaries(
    st.text(max_size=8).filter(lambda k: k not in LEFT_OUT),
    st.recursive(
        st.text()
        | st.integers()
        | st.booleans()
        | st.none()
        | st.uuids()
        | st.datetimes(timezones=zones),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
        ),
        max_leaves=8,
    ),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(fields)
def test_audit_details_are_the_standard_sorted_json(state: dict[str, Any]) -> None:
    try:
        expected = DETAILS.encode(state)
        expected.encode()
    except UnicodeEncodeError:  # a lone surrogate cannot be stored either way
        return
    assert details(SimpleNamespace(**state)) == expected
    json.loads(expected)
