"""What a request to the API (/v1) passes before the app reads a byte of its body:

- the store answers (StoreHealth, from memory): otherwise 503 at once, with Retry-After,
  instead of a wait for a connection that will not come;
- its bearer token names a caller: a request that carries a body and no valid token is
  refused (401) unread, so that a stranger cannot make the server parse what they send; the
  caller found is kept for the route (deps.current_actor), which checks nothing twice.

A body larger than `max_body_bytes` is refused (413 problem): at once when its
Content-Length says so, else as soon as the bytes arriving outgrow it. (FastAPI's own
`max_body_size` answers an announced one in plain text, past the app's problem handlers.)
The time a request may take to arrive is bounded by the server's protocol (api/serving.py).
Operations endpoints (/healthz, /readyz, /metrics) and the documentation are not asked for
a token or refused while the store is down; nor are the pages (/app, /static), which
authenticate by their session cookie (api/pages/web.py) and answer a store that is down with
a page. The body limit holds for every path; a page that takes a file (an auditor's
bundle) has a larger one of its own."""

from collections.abc import Mapping

import structlog
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import TokenVerifier
from api.problems import STORE_ERRORS, ProblemError, problem, store_unavailable
from ledger.context import Actor
from timebank.health import StoreHealth

GUARDED = "/v1/"
WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
ACTOR = "actor"  # where the caller is kept in the request's state
UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


def announced_length(scope: Scope) -> int:
    """The Content-Length a request announces (0 if none or unreadable: its body is then
    counted as it arrives)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


def bearer_token(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() or None if scheme.lower() == "bearer" else None
    return None


class RequestGuard:
    def __init__(
        self,
        app: ASGIApp,
        health: StoreHealth,
        verifier: TokenVerifier,
        max_body_bytes: int,
        uploads: Mapping[str, int] | None = None,
    ) -> None:
        """`uploads`: the paths that take a file, each with its own larger limit."""
        self.app = app
        self.health = health
        self.verifier = verifier
        self.max_body_bytes = max_body_bytes
        self.uploads = dict(uploads or {})

    @staticmethod
    def _too_large(limit: int) -> str:
        return f"the request body is larger than {limit} bytes"

    def _counted(self, receive: Receive, limit: int) -> Receive:
        """`receive`, refusing the body once it outgrows the limit (the app's handlers turn
        the HTTPException into a 413 problem)."""
        received = 0

        async def receive_counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise HTTPException(413, self._too_large(limit))
            return message

        return receive_counted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.uploads.get(scope["path"], self.max_body_bytes)
        if announced_length(scope) > limit:
            await problem(413, "body-too-large", self._too_large(limit))(scope, receive, send)
            return
        receive = self._counted(receive, limit)
        if not scope["path"].startswith(GUARDED):
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
            401, "invalid-token", "the bearer token is unknown, expired or revoked", UNAUTHORIZED
        )
    return ProblemError(401, "unauthenticated", "a bearer token is required", UNAUTHORIZED)


def caller(scope: Scope) -> Actor | None:
    actor: Actor | None = scope.get("state", {}).get(ACTOR)
    return actor
