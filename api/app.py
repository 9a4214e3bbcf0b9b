"""The FastAPI application: routes, problem+json errors, request ids and request logs."""

import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import openapi, pages, problems
from api.auth import TokenVerifier
from api.guard import RequestGuard
from api.metrics import RequestMetrics
from api.routes import (
    accounts,
    activities,
    audit,
    certificates,
    corrections,
    health,
    metrics,
    organisations,
    recognition,
    reports,
    rewards,
    sign_in_links,
    tokens,
    volunteers,
    worklist,
)
from api.routes import log as log_routes  # `log` is this module's logger
from timebank.runtime import Runtime

log = structlog.get_logger("timebank.http")
# The order requests are matched in: route by route, so the busiest come first (the OpenAPI
# document lists them by tag, in the order of openapi.TAGS).
MATCHED = (
    health,
    accounts,
    activities,
    rewards,
    volunteers,
    sign_in_links,
    organisations,
    corrections,
    recognition,
    reports,
    worklist,
    certificates,
    audit,
    log_routes,
    tokens,
    metrics,
)
REQUEST_ID = "X-Request-ID"
REQUEST_ID_HEADER = REQUEST_ID.lower().encode()
MAX_REQUEST_ID = 100


class RequestContext:
    """Gives each HTTP request an id (its X-Request-ID if that is a UUID), binds it to
    every log line of the request, returns it as X-Request-ID, turns an unexpected error into
    a 500 problem, and logs one line per request; `observe` is told each request's scope,
    status and seconds (the metrics). A plain ASGI middleware: Starlette's BaseHTTPMiddleware
    runs the app in a task of its own and costs more than this whole step."""

    def __init__(
        self, app: ASGIApp, observe: Callable[[Scope, int | None, float], None] | None = None
    ) -> None:
        self.app = app
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status: int | None = None  # once the response has started
        id_header = (REQUEST_ID_HEADER, request_id.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), id_header]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("request failed", method=scope["method"], path=_logged_path(scope))
            if status is not None:
                raise  # the response has started: nothing else can be sent
            failure = problems.problem(500, "internal-error", "an unexpected error occurred")
            await failure(scope, receive, send_with_id)
        elapsed = time.perf_counter() - started
        if self.observe is not None:
            self.observe(scope, status, elapsed)
        log.info(
            "request",
            method=scope["method"],
            path=_logged_path(scope),
            status=status,
            ms=round(elapsed * 1000, 2),
        )


UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
PLAIN_PATH = re.compile(r"[/A-Za-z0-9._-]{0,200}")


def _logged_path(scope: Scope) -> str:
    """The path for the log: as called when every id in it is a UUID, else the route's
    template; a path no route matched only when it is plain ASCII. A client may put anything
    in a path (a name, an ID number), and the log keeps no personal data."""
    route = scope.get("route")
    if route is None:
        path: str = scope["path"]
        return path if PLAIN_PATH.fullmatch(path) else "(unmatched)"
    params: dict[str, object] = scope.get("path_params") or {}
    for value in params.values():
        if not (isinstance(value, str) and UUID_TEXT.fullmatch(value)):
            return str(route.path)
    return str(scope["path"])


def _request_id(scope: Scope) -> str:
    """The client's X-Request-ID when it is a UUID (written in its canonical form), else a new
    one: the id goes into every event of the request, which can never be changed, so it must
    not carry whatever a client chose to put there (an ID number, a name)."""
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    for name, value in headers:
        if name == REQUEST_ID_HEADER:
            incoming = value.decode("latin-1")
            if len(incoming) <= MAX_REQUEST_ID:
                try:
                    return str(uuid.UUID(incoming))
                except ValueError:
                    pass
            break
    return str(uuid.uuid4())


def create_app(runtime: Runtime, owns_runtime: bool = False) -> FastAPI:
    """The API over `runtime`; with `owns_runtime`, the app closes it when it shuts down."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        runtime.metrics.serving_http()
        yield
        if owns_runtime:
            runtime.close()

    app = FastAPI(
        lifespan=lifespan,
        title="timebank",
        version="1",
        summary="An event-sourced service-hour ledger for volunteer service",
        description="Every call but /healthz and /readyz takes `Authorization: Bearer <token>`; "
        "each operation says which roles may call it and on what scope. Every POST takes an "
        "`Idempotency-Key` header: the same key with the same body returns the first response "
        "and records nothing new; with another body, 409. Errors are RFC 9457 problem+json "
        "with a stable `type`. Command responses carry `position`: pass it as `min_position` "
        "to a read to read your own write.",
        openapi_tags=openapi.TAGS,
        generate_unique_id_function=openapi.operation_id,
    )
    app.state.runtime = runtime
    problems.install(app)
    openapi.install(app)
    for module in MATCHED:
        app.include_router(module.router)
    pages.install(app, runtime)

    app.add_middleware(
        RequestGuard,
        health=runtime.health,
        verifier=TokenVerifier(runtime.tokens),
        max_body_bytes=runtime.settings.max_body_bytes,
        uploads=pages.UPLOADS,
    )
    # The outermost: every answer gets a request id, a log line and its metrics.
    app.add_middleware(RequestContext, observe=RequestMetrics(runtime.metrics))
    return app
