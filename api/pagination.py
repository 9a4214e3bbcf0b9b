"""Lists are paginated: at most `limit` items a page, and an opaque `next_cursor` that the
caller passes back as `cursor` for the next page. A cursor is the sort key of the last item
given, so pages stay stable while new rows arrive."""

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Query

from api.problems import ProblemError

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=1000, description="at most this many items")]
Cursor = Annotated[
    str | None, Query(max_length=500, description="`next_cursor` of the previous page")
]


def encode_cursor(key: Sequence[Any]) -> str:
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> list[Any] | None:
    """The sort key carried by a cursor, or None for the first page."""
    if cursor is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        key = None
    if not isinstance(key, list):
        raise ProblemError(422, "invalid-cursor", "the cursor is not one this API gave out")
    return key


def paginate(
    rows: Sequence[T], limit: int, key: Callable[[T], Sequence[Any]]
) -> tuple[list[T], str | None]:
    """Splits `limit + 1` fetched rows into a page and the cursor to the next one."""
    items = list(rows[:limit])
    more = len(rows) > limit
    return items, encode_cursor(key(items[-1])) if more and items else None
