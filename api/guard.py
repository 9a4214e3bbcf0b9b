"""What a request to the API (/v1) passes before the app reads a byte of its body:

- the store answers (StoreHealth, from memory): otherwise 503 at once, with Retry-After,
  instead of a wait for a connection that will not come;
- its bearer token names a caller: a request that carries a body and no valid token is
  refused (401) unread, so that a stranger cannot make the server parse what they send; the
  caller found is kept for the route (deps.current_actor), which checks nothing twice.

The size of a body is bounded by the FastAPI app itself (`max_body_size`: 413 before
parsing, from Content-Length when given, else as the bytes arrive) and the time a request
may take to arrive by the server's protocol (api/serving.py). Operations endpoints
(/healthz, /readyz, /metrics) and the documentation pass untouched."""

import structlog
from starlette.types import ASGIApp, Receive, Scope, Send

from api.auth import TokenVerifier
from api.problems import STORE_ERRORS, ProblemError, problem, store_unavailable
from ledger.audit import Actor
from timebank.health import StoreHealth

GUARDED = "/v1/"
WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
ACTOR = "actor"  # where the caller is kept in the request's state
UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


def bearer_token(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() or None if scheme.lower() == "bearer" else None
    return None


class RequestGuard:
    def __init__(self, app: ASGIApp, health: StoreHealth, verifier: TokenVerifier) -> None:
        self.app = app
        self.health = health
        self.verifier = verifier

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(GUARDED):
            await self.app(scope, receive, send)
            return
        if not self.health.available:
            await store_unavailable()(scope, receive, send)
            return
        token = bearer_token(scope)
        try:
            actor = await self.verifier.verify(token) if token else None
        except STORE_ERRORS as e:
            self.health.failed(e)
            await store_unavailable()(scope, receive, send)
            return
        scope.setdefault("state", {})[ACTOR] = actor
        if actor is not None:
            structlog.contextvars.bind_contextvars(principal=actor.name, role=actor.role.value)
        elif scope["method"] in WITH_BODY:
            error = unauthenticated(token is not None)
            await problem(error.status, error.code, error.detail, error.headers)(
                scope, receive, send
            )
            return
        await self.app(scope, receive, send)


def unauthenticated(token_given: bool) -> ProblemError:
    if token_given:
        return ProblemError(
            401, "invalid-token", "the bearer token is unknown or revoked", UNAUTHORIZED
        )
    return ProblemError(401, "unauthenticated", "a bearer token is required", UNAUTHORIZED)


def caller(scope: Scope) -> Actor | None:
    actor: Actor | None = scope.get("state", {}).get(ACTOR)
    return actor
