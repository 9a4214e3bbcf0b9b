"""Request-scoped dependencies: the runtime, its queries, the caller, the command context.

They are coroutines: each runs on the event loop, where a sync dependency would cost a trip
through the threadpool per request; only the command (or a read) goes to a thread."""

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api.guard import caller, unauthenticated
from ledger.commands.base import Command
from ledger.context import Actor, Context
from ledger.engine.service import IdempotencyKey
from timebank.runtime import Queries, Runtime

bearer = HTTPBearer(auto_error=False, description="an API token from `timebank token create`")
MAX_IDEMPOTENCY_KEY = 200
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7E]+$"  # visible ASCII: no spaces, nothing to normalise


async def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(runtime)]


async def queries(request: Request) -> Queries:
    rt: Runtime = request.app.state.runtime
    return rt.queries


QueriesDep = Annotated[Queries, Depends(queries)]


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


async def current_actor(request: Request, credentials: Credentials) -> Actor:
    """The caller, as the request guard (api/guard.py) found it from the bearer token; the
    token is declared here for the OpenAPI document."""
    actor = caller(request.scope)
    if actor is None:
        raise unauthenticated(credentials is not None)
    return actor


ActorDep = Annotated[Actor, Depends(current_actor)]


async def command_context(request: Request, credentials: Credentials) -> Context:
    """The caller's context (actor, request id, time); it authenticates the caller itself
    rather than through ActorDep: each dependency costs FastAPI time on every request."""
    actor = await current_actor(request, credentials)
    return Context(actor, request.state.request_id, datetime.now(UTC))


ContextDep = Annotated[Context, Depends(command_context)]


def _fingerprint(request: Request, body: bytes, key: bytes) -> str:
    """A keyed hash of the request: a body may hold a PIN, which a plain hash of six digits
    kept in the idempotency table would give away."""
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True, separators=(",", ":"))
    except ValueError:
        canonical = body.decode(errors="replace")
    message = f"{request.method} {request.url.path}\n{canonical}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Commander:
    """Runs commands for one request: its caller, its request id, its idempotency key."""

    rt: Runtime
    ctx: Context
    idempotency: IdempotencyKey | None
    response: Response

    async def run(self, command: Command) -> dict[str, Any]:
        """Executes the command in the threadpool (it blocks until its transaction commits)."""
        outcome = await run_in_threadpool(
            self.rt.service.execute, self.ctx, command, self.idempotency
        )
        return outcome.body

    async def create(
        self, command: Command, location: Callable[[dict[str, Any]], str]
    ) -> dict[str, Any]:
        """Runs a command that creates something, answered with a 201 whose Location is
        `location` of the command's result."""
        body = await self.run(command)
        self.response.headers["Location"] = location(body)
        return body


# Out of bounds: a 400 problem (invalid-idempotency-key, api/problems.py).
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=MAX_IDEMPOTENCY_KEY,
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="makes a retry safe: the same key and body return the first response "
        "(1 to 200 visible ASCII characters, e.g. a UUID), for at least "
        "TIMEBANK_IDEMPOTENCY_EXPIRY_HOURS (24 h); after that a retry is a new request",
    ),
]


async def commander(
    request: Request,
    response: Response,
    ctx: ContextDep,
    key: IdempotencyKeyHeader = None,
) -> Commander:
    idempotency = None
    if key is not None:
        rt = await runtime(request)
        fingerprint = _fingerprint(request, await request.body(), rt.service.pepper)
        idempotency = IdempotencyKey(ctx.actor.name, key, fingerprint)
    return Commander(await runtime(request), ctx, idempotency, response)


CommanderDep = Annotated[Commander, Depends(commander)]


MinPosition = Annotated[
    int | None,
    Query(ge=0, lt=2**63, description="wait until this log position is reflected"),
]
