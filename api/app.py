"""The FastAPI application: routes, problem+json errors, request ids and request logs."""

import time
import uuid
from collections.abc import Awaitable, Callable

import structlog
from fastapi import FastAPI, Request, Response

from api import problems
from api.routes import (
    accounts,
    activities,
    audit,
    corrections,
    health,
    organisations,
    recognition,
    reports,
    rewards,
    volunteers,
)
from timebank.runtime import Runtime

log = structlog.get_logger("timebank.http")
REQUEST_ID = "X-Request-ID"


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(
        title="timebank",
        version="1",
        summary="An event-sourced service-hour ledger for volunteer service",
        description="Every POST takes an `Idempotency-Key` header: the same key with the same "
        "body returns the first response and records nothing new; with another body, 409. "
        "Errors are RFC 9457 problem+json with a stable `type`.",
    )
    app.state.runtime = runtime
    problems.install(app)
    for module in (
        organisations,
        volunteers,
        activities,
        corrections,
        recognition,
        accounts,
        rewards,
        reports,
        audit,
        health,
    ):
        app.include_router(module.router)

    @app.middleware("http")
    async def request_context(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        incoming = request.headers.get(REQUEST_ID, "")
        request_id = incoming if 0 < len(incoming) <= 100 else str(uuid.uuid4())
        request.state.request_id = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception:
            log.exception("request failed", method=request.method, path=request.url.path)
            response = problems.problem(500, "internal-error", "an unexpected error occurred")
        response.headers[REQUEST_ID] = request_id
        log.info(
            "request",
            method=request.method,
            path=request.url.path,
            status=response.status_code,
            ms=round((time.perf_counter() - started) * 1000, 2),
        )
        return response

    return app
