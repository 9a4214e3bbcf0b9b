"""RFC 9457 problem details for every error, with a stable `type` per error code."""

import re
import sqlite3
from typing import Any

import psycopg
from eventsourcing import persistence
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger import bounds
from ledger.engine.recorder import StoreUnavailable
from ledger.errors import DomainError, Kind, TooManyAttempts
from ledger.text import PRINTABLE_PATTERN
from projections.reads import Lagging

MEDIA_TYPE = "application/problem+json"
STATUS = {
    Kind.INVALID: 422,
    Kind.NOT_FOUND: 404,
    Kind.FORBIDDEN: 403,
    Kind.CONFLICT: 409,
    Kind.TOO_MANY: 429,
}
TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Content too large",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


HTTP_CODES = {404: "not-found", 405: "method-not-allowed", 413: "body-too-large"}


def type_uri(code: str) -> str:
    return f"urn:timebank:problem:{code}"


def problem(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {
        "type": type_uri(code),
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


# What a store that does not answer raises: the drivers' connection errors (a pool's timeout
# among them), the event library's, and SQLite's (a database locked past its busy timeout).
STORE_ERRORS = (
    psycopg.OperationalError,
    persistence.OperationalError,
    persistence.InterfaceError,
    sqlite3.OperationalError,
    StoreUnavailable,
)


def store_unavailable(
    detail: str = "the database does not answer right now; retry shortly",
) -> JSONResponse:
    return problem(503, "store-unavailable", detail, {"Retry-After": "1"})


class ProblemError(Exception):
    """An HTTP-level refusal (authentication, lagging read model) raised by the API layer."""

    def __init__(
        self, status: int, code: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.headers = status, code, detail, headers


def _message(error: Any) -> str:
    """A validation error in words: pydantic's, but for the pattern of printable text
    (ledger/text.py), which would otherwise be quoted back as a regular expression."""
    if (
        error.get("type") == "string_pattern_mismatch"
        and error.get("ctx", {}).get("pattern") == PRINTABLE_PATTERN
    ):
        return (
            "must not contain control characters, bidirectional ones included (tab and line "
            "breaks may), and must be blank or show a visible character"
        )
    if (
        error.get("type") == "string_pattern_mismatch"
        and error.get("ctx", {}).get("pattern") == bounds.PIN_PATTERN
    ):
        return f"must be exactly {bounds.PIN_DIGITS} digits"
    return str(error.get("msg", ""))


def allowed_methods(request: Request) -> list[str]:
    """Every method the API answers at the request's path, as its OpenAPI document lists them
    (FastAPI's routers nest, and Starlette's 405 names only the first route's)."""
    paths = request.app.openapi()["paths"]
    found: set[str] = set()
    for template, item in paths.items():
        if re.fullmatch(PATH_PARAMETER.sub("[^/]+", re.escape(template)), request.url.path):
            found |= {method.upper() for method in item}
    return sorted(found)


PATH_PARAMETER = re.compile(r"\\\{[^}]+\\\}")  # a {name} of a path, as re.escape writes it


def install(app: FastAPI) -> None:
    """Answers every error as a problem (api/openapi.py documents them)."""

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        headers = None
        if isinstance(exc, TooManyAttempts):
            headers = {"Retry-After": str(exc.retry_after_seconds)}
        return problem(STATUS[exc.kind], exc.code, exc.detail, headers, instance=request.url.path)

    @app.exception_handler(Lagging)
    async def lagging(request: Request, exc: Lagging) -> JSONResponse:
        headers = {"Retry-After": "1"}
        return problem(503, "projection-lagging", exc.detail, headers, instance=request.url.path)

    @app.exception_handler(ProblemError)
    async def problem_error(request: Request, exc: ProblemError) -> JSONResponse:
        return problem(exc.status, exc.code, exc.detail, exc.headers, instance=request.url.path)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"location": [str(p) for p in e.get("loc", ())], "message": _message(e)}
            for e in exc.errors()
        ]
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            detail = "the request body is not valid JSON"
            path = request.url.path
            return problem(400, "malformed-json", detail, instance=path, errors=errors)
        keys = [e for e in errors if e["location"] == ["header", "Idempotency-Key"]]
        if keys:  # not a value of the request but its framing, like malformed JSON
            detail = f"Idempotency-Key: {keys[0]['message']}"
            path = request.url.path
            return problem(400, "invalid-idempotency-key", detail, instance=path, errors=keys)
        first = errors[0] if errors else {"location": [], "message": "invalid request"}
        where = ".".join(p for p in first["location"] if p != "body") or "request"
        return problem(
            422,
            "validation-failed",
            f"{where}: {first['message']}",
            instance=request.url.path,
            errors=errors,
        )

    async def store_error(request: Request, exc: Exception) -> JSONResponse:
        """A store that stopped answering mid-request: 503, and the next requests are refused
        at once until it answers again."""
        request.app.state.runtime.health.failed(exc)
        if isinstance(exc, StoreUnavailable):
            return store_unavailable(str(exc))
        return store_unavailable()

    for error in STORE_ERRORS:
        app.add_exception_handler(error, store_error)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "http-error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # Starlette names the methods of the first route only
            headers["Allow"] = ", ".join(allowed_methods(request))
        return problem(
            exc.status_code,
            code,
            str(exc.detail),
            headers,
            instance=request.url.path,
        )
