"""Lists are paginated: at most `limit` items a page, and an opaque `next_cursor` that the
caller passes back as `cursor` for the next page. A cursor is the sort key of the last item
given, so pages stay stable while new rows arrive."""

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from ledger.errors import Invalid

T = TypeVar("T")

MAX_KEY = 2**63  # integers of a key are positions, minutes and the like: BIGINT, not negative
MAX_TEXT = 100  # strings of a key are ids, dates and ISO times


def encode_cursor(key: Sequence[Any]) -> str:
    raw = json.dumps([str(k) if isinstance(k, UUID) else k for k in key], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _part(value: Any, kind: type) -> Any:
    """One part of a key as `kind` (int, str or UUID), or None when it is not one."""
    if kind is int:
        return value if type(value) is int and 0 <= value < MAX_KEY else None
    if type(value) is not str or len(value) > MAX_TEXT:
        return None
    if kind is UUID:
        try:
            return UUID(value)
        except ValueError:
            return None
    return value if kind is str else None


def decode_cursor(cursor: str | None, shape: tuple[type, ...]) -> tuple[Any, ...] | None:
    """The sort key carried by a cursor, one part of each type of `shape` (int, str or UUID),
    or None for the first page; Invalid (invalid-cursor) for anything else."""
    if cursor is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        key = None
    parts = (
        tuple(_part(value, kind) for value, kind in zip(key, shape, strict=True))
        if isinstance(key, list) and len(key) == len(shape)
        else (None,)
    )
    if any(part is None for part in parts):
        raise Invalid("invalid-cursor", "the cursor is not one this API gave out")
    return parts


def paginate(
    rows: Sequence[T], limit: int, key: Callable[[T], Sequence[Any]]
) -> tuple[list[T], str | None]:
    """Splits `limit + 1` fetched rows into a page and the cursor to the next one."""
    items = list(rows[:limit])
    more = len(rows) > limit
    return items, encode_cursor(key(items[-1])) if more and items else None


@dataclass(frozen=True)
class Page:
    """The page a list request asks for: `limit` items after `cursor`."""

    limit: int
    cursor: str | None

    def after(self, shape: tuple[type, ...]) -> tuple[Any, ...] | None:
        return decode_cursor(self.cursor, shape)

    def of(
        self, rows: Sequence[T], key: Callable[[T], Sequence[Any]]
    ) -> tuple[list[T], str | None]:
        return paginate(rows, self.limit, key)
