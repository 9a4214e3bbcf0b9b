"""The orjson transcoder writes and reads exactly the event library's JSON format."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import Any

import pytest
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from timebank.transcoder import OrjsonTranscoder


def with_transcodings(transcoder: JSONTranscoder) -> JSONTranscoder:
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return transcoder


class Colour(StrEnum):
    RED = "red"
    BLUE = "蓝"


class Level(IntEnum):
    LOW = 1
    HIGH = 2**40


LIBRARY = with_transcodings(JSONTranscoder())
ORJSON = with_transcodings(OrjsonTranscoder())

moments = st.datetimes(
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(-timedelta(hours=5))])
)
scalars = (
    st.text()
    | st.integers()  # beyond 64 bits too
    | st.floats()  # NaN and infinities too
    | st.booleans()
    | st.none()
    | st.uuids()
    | moments
    | st.decimals(allow_nan=False)
    | st.sampled_from(Colour)
    | st.sampled_from(Level)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
states = st.dictionaries(st.text(max_size=12), values, max_size=8)


def same(a: Any, b: Any) -> bool:
    """Equal, with NaN equal to itself."""
    return repr(a) == repr(b)


@settings(max_examples=300, deadline=None)
@given(states)
def test_writes_the_librarys_bytes(state: dict[str, Any]) -> None:
    try:
        expected = LIBRARY.encode(state)
    except UnicodeEncodeError:  # a lone surrogate: neither can write it
        with pytest.raises(UnicodeEncodeError):
            ORJSON.encode(state)
        return
    assert ORJSON.encode(state) == expected


@settings(max_examples=300, deadline=None)
@given(states)
def test_reads_what_the_library_wrote(state: dict[str, Any]) -> None:
    try:
        stored = LIBRARY.encode(state)
    except UnicodeEncodeError:
        return
    assert same(ORJSON.decode(stored), LIBRARY.decode(stored))


def test_an_unregistered_type_fails_as_in_the_library() -> None:
    with pytest.raises(TranscodingNotRegisteredError):
        ORJSON.encode({"at": datetime.now(UTC).date()})
    with pytest.raises(TranscodingNotRegisteredError):
        ORJSON.decode(b'{"x":{"_type_":"unknown","_data_":"1"}}')


def test_decimals_and_big_integers_round_trip() -> None:
    state = {"amount": Decimal("1.10"), "big": 2**70, "small": -(2**63), "ratio": 0.1}
    assert ORJSON.decode(ORJSON.encode(state)) == state
