"""Bearer token verification that does not block the event loop: a token the token store
can answer for from memory (timebank/tokens.py: checked lately, and the revocations checked
less than a second ago) is answered on the loop; any other goes to the store (a database
read) in the threadpool. Either way the store's answer is the one given."""

from starlette.concurrency import run_in_threadpool

from ledger.context import Actor
from timebank.tokens import TokenStore


class TokenVerifier:
    def __init__(self, tokens: TokenStore) -> None:
        self._tokens = tokens

    async def verify(self, token: str) -> Actor | None:
        """The token's actor, or None for a token that is unknown, revoked or expired."""
        known, actor = self._tokens.remembered(token)
        if known:
            return actor
        return await run_in_threadpool(self._tokens.authenticate, token)
