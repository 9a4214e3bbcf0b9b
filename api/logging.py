"""JSON logs through structlog; every line of a request carries its request id, and no line
carries a bearer token, an ID number, a phone number or a person's name.

structlog's own loggers render and write their lines directly (the request line is written
for every request: going through the stdlib's logging machinery cost three times as much);
lines from stdlib loggers (uvicorn, alembic, psycopg) get the same fields, the same scrubbing
and the same renderer.

Personal data is kept out in two layers: the code logs no request body, query string or
client-chosen header (the request line names the path only when its ids are UUIDs, and the
request id only when it is one), and `scrub`, the last processor before rendering, removes
fields named like secrets and masks what looks like a token, an ID number or a phone in every
text, the rendered traceback included."""

import logging
import re
import sys
import threading
from collections.abc import Mapping
from typing import Any

import structlog

_write_lock = threading.Lock()

# Fields that hold a secret or a person's data whatever their value: dropped from the line.
SECRET_FIELDS = frozenset(
    {
        "authorization",
        "token",
        "pin",
        "code",
        "password",
        "secret",
        "cookie",
        "id_document",
        "id_number",
        "phone",
        "name",
        "birth_date",
        "body",
        "query",
        "query_string",
        "headers",
    }
)
MASK = "***"
# Fields the processors above write from the code's own values: not worth a search.
OURS = frozenset({"timestamp", "level", "logger"})
TOKEN = re.compile(r"tb_[A-Za-z0-9_-]{20,}")
# A run of seven or more digits: a mobile number (11), a resident ID number (15, or 17 and a
# check character), a passport's digits. `_number` keeps the runs that are part of a word, a
# UUID or a timestamp.
DIGITS = re.compile(r"\d{7,}[Xx]?")
GLUED = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_:.")
LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
# The values PostgreSQL quotes back from a row in an error (`Key (col)=(value)`, `Failing row
# contains (...)`): any of them may be a name.
ROW_VALUES = re.compile(r"(?<=\)=\()[^\n]*?(?=\)(?: already exists| is not present|\.|\n|$))")
FAILING_ROW = re.compile(r"(?<=Failing row contains \()[^\n]*(?=\))")


def _number(match: re.Match[str]) -> str:
    text, start, end = match.string, match.start(), match.end()
    if end < len(text) and text[end] in GLUED and text[end] != ".":
        return match[0]  # part of a word or a UUID: ids and hashes, not a person's number
    letters = start
    while letters > 0 and text[letters - 1] in LETTERS:
        letters -= 1
    if start - letters > 2 or (letters > 0 and text[letters - 1] in GLUED):
        return match[0]
    return MASK  # alone, or after one or two letters (a passport: E12345678 -> E***)


def mask(text: str) -> str:
    """`text` with tokens, long numbers and quoted row values masked; the same object when
    there is nothing to mask (the usual case, and the cheap one)."""
    text = DIGITS.sub(_number, text)
    if "tb_" in text:
        text = TOKEN.sub(MASK, text)
    if ")=(" in text:
        text = ROW_VALUES.sub(MASK, text)
    if "Failing row contains (" in text:
        text = FAILING_ROW.sub(MASK, text)
    return text


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in value.items() if str(k).lower() not in SECRET_FIELDS}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_clean(v) for v in value]
    return mask(str(value))  # rendered as text anyway (its repr could carry anything)


def scrub(_: Any, __: str, event_dict: structlog.types.EventDict) -> structlog.types.EventDict:
    """The last processor before rendering (after `format_exc_info`, so the traceback is text
    by then): drops the fields named like secrets and masks personal values in the others.
    Keys starting with `_` are ProcessorFormatter's own (the stdlib record), never rendered."""
    if not SECRET_FIELDS.isdisjoint(event_dict):
        for key in SECRET_FIELDS.intersection(event_dict):
            del event_dict[key]
    for key, value in event_dict.items():
        if isinstance(value, str):
            if key not in OURS:
                event_dict[key] = mask(value)
        elif not (value is None or isinstance(value, (bool, int, float)) or key[:1] == "_"):
            event_dict[key] = _clean(value)
    return event_dict


class LineLogger:
    """Writes each rendered line to standard error. It carries the name it was asked for, so
    that each line says which logger wrote it."""

    def __init__(self, name: str = "") -> None:
        self.name = name

    def msg(self, message: str) -> None:
        with _write_lock:
            sys.stderr.write(message + "\n")

    debug = info = warning = error = critical = exception = msg


def configure_logging(level: str = "info") -> None:
    root = logging.getLogger()
    root.setLevel(level.upper())
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        scrub,  # last: it sees the traceback as text and every field a processor added
    ]
    render = structlog.processors.JSONRenderer(ensure_ascii=False)
    structlog.configure(
        processors=[*shared, render],
        logger_factory=LineLogger,
        wrapper_class=structlog.make_filtering_bound_logger(root.level),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, render],
            foreign_pre_chain=shared,
        )
    )
    root.handlers[:] = [handler]
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # The request middleware logs requests, without the query string uvicorn's line carries.
    logging.getLogger("uvicorn.access").disabled = True
