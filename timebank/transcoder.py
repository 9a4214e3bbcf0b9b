"""The event library's JSON format, written and read with orjson.

Stored events keep exactly the format of the library's `JSONTranscoder` (a value JSON has
no type for is an object `{"_type_": name, "_data_": encoded}`), so a store written by
either reads with the other. orjson parses and writes JSON several times faster than the
standard library; the values it would write in a form of its own (ids, moments) are
wrapped before it sees them. What it would not treat exactly as the library does (floats,
which it may write or read differently at the edges; integers beyond 64 bits; a type
without a transcoding) goes the library's way, with the library's errors."""

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder, Transcoding, UUIDAsHex

PLAIN = frozenset({str, int, bool, type(None)})
TYPE, DATA = "_type_", "_data_"
# The library's own transcodings, minus their argument checks.
FAST_DECODERS: dict[type[Transcoding], Callable[[Any], Any]] = {
    UUIDAsHex: UUID,
    DatetimeAsISO: datetime.fromisoformat,
}


class _NotPlain(Exception):
    """A value orjson would not write or read exactly as the library's encoder does."""


class OrjsonTranscoder(JSONTranscoder):
    def __init__(self) -> None:
        super().__init__()
        self._decoders: dict[str, Callable[[Any], Any]] = {}

    def register(self, transcoding: Transcoding) -> None:
        super().register(transcoding)
        fast = FAST_DECODERS.get(type(transcoding))
        self._decoders[transcoding.name] = fast or transcoding.decode

    def encode(self, obj: Any) -> bytes:
        try:
            return orjson.dumps(self._wrap(obj))
        except (_NotPlain, orjson.JSONEncodeError):
            return super().encode(obj)

    def decode(self, data: bytes) -> Any:
        try:
            parsed = orjson.loads(data)
            if type(parsed) is dict:
                return self._unwrap(parsed)
        except (_NotPlain, orjson.JSONDecodeError):
            pass
        return super().decode(data)

    def _wrap(self, value: Any) -> Any:
        kind = type(value)
        if kind in PLAIN:
            return value
        if kind is dict:
            if not all(type(key) is str for key in value):
                raise _NotPlain
            return {key: self._wrap(item) for key, item in value.items()}
        if kind is list or kind is tuple:
            return [self._wrap(item) for item in value]
        if isinstance(value, str | int):
            return value  # an enum or other subclass: both write it as its plain value
        transcoding = self.types.get(kind)
        if transcoding is None:
            raise _NotPlain
        return {TYPE: transcoding.name, DATA: self._wrap(transcoding.encode(value))}

    def _unwrap(self, obj: dict[str, Any]) -> Any:
        """`obj` with every wrapped value in it decoded (in place), itself included."""
        for key, value in obj.items():
            kind = type(value)
            if kind is dict:
                obj[key] = self._unwrap(value)
            elif kind is list:
                obj[key] = self._unwrap_list(value)
            elif kind is float:
                raise _NotPlain
        if len(obj) == 2 and TYPE in obj and DATA in obj:
            decoder = self._decoders.get(obj[TYPE])
            return self._decode_obj(obj) if decoder is None else decoder(obj[DATA])
        return obj

    def _unwrap_list(self, values: list[Any]) -> list[Any]:
        unwrapped = []
        for value in values:
            kind = type(value)
            if kind is dict:
                value = self._unwrap(value)
            elif kind is list:
                value = self._unwrap_list(value)
            elif kind is float:
                raise _NotPlain
            unwrapped.append(value)
        return unwrapped
