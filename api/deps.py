"""Request-scoped dependencies: the runtime, the caller, the command context."""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import structlog
from fastapi import Depends, Header, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.problems import ProblemError
from ledger.audit import Actor, Context
from ledger.commands import Command
from ledger.service import IdempotencyKey
from timebank.runtime import Runtime

bearer = HTTPBearer(auto_error=False, description="an API token from `timebank token create`")
MAX_IDEMPOTENCY_KEY = 200


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(runtime)]


def current_actor(
    rt: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Actor:
    unauthorized = {"WWW-Authenticate": "Bearer"}
    if credentials is None:
        raise ProblemError(401, "unauthenticated", "a bearer token is required", unauthorized)
    actor = rt.tokens.authenticate(credentials.credentials)
    if actor is None:
        raise ProblemError(
            401, "invalid-token", "the bearer token is unknown or revoked", unauthorized
        )
    structlog.contextvars.bind_contextvars(principal=actor.name, role=actor.role.value)
    return actor


ActorDep = Annotated[Actor, Depends(current_actor)]


def command_context(request: Request, actor: ActorDep) -> Context:
    return Context(actor, request.state.request_id, datetime.now(UTC))


ContextDep = Annotated[Context, Depends(command_context)]


def _fingerprint(request: Request, body: bytes) -> str:
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True, separators=(",", ":"))
    except ValueError:
        canonical = body.decode(errors="replace")
    digest = hashlib.sha256(f"{request.method} {request.url.path}\n{canonical}".encode())
    return digest.hexdigest()


async def idempotency_key(
    request: Request,
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=MAX_IDEMPOTENCY_KEY,
            description="makes a retry safe: the same key and body return the first response",
        ),
    ] = None,
) -> str | None:
    if key is not None:
        request.state.fingerprint = _fingerprint(request, await request.body())
    return key


@dataclass(frozen=True)
class Commander:
    """Runs commands for one request: its caller, its request id, its idempotency key."""

    rt: Runtime
    ctx: Context
    idempotency: IdempotencyKey | None

    def run(self, command: Command) -> dict[str, Any]:
        return self.rt.service.execute(self.ctx, command, self.idempotency).body


def commander(
    request: Request,
    rt: RuntimeDep,
    ctx: ContextDep,
    key: Annotated[str | None, Depends(idempotency_key)],
) -> Commander:
    idem = IdempotencyKey(ctx.actor.name, key, request.state.fingerprint) if key else None
    return Commander(rt, ctx, idem)


CommanderDep = Annotated[Commander, Depends(commander)]


MinPosition = Annotated[
    int | None,
    Query(ge=0, lt=2**63, description="wait until this log position is reflected"),
]


def wait_for_position(rt: Runtime, projection: str, min_position: int | None) -> None:
    """Read-your-writes: wait (bounded) until the read model has applied min_position."""
    if min_position is None:
        return
    if not rt.runner.wait_for(projection, min_position, rt.settings.read_wait_seconds):
        raise ProblemError(
            503,
            "projection-lagging",
            f"the {projection} view has not reached position {min_position} yet; retry",
            {"Retry-After": "1"},
        )
