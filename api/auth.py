"""Bearer token verification that does not block the event loop. The token store remembers
each token it has checked for CACHE_SECONDS: a token this process checked less than half of
that ago is answered from that memory on the loop; any other goes to the store (a database
read) in the threadpool. Either way the store's answer is the one given."""

import hashlib
import time
from collections import OrderedDict

from starlette.concurrency import run_in_threadpool

from ledger.context import Actor
from timebank.tokens import CACHE_SECONDS, TokenStore

MAX_TRACKED = 10_000


class TokenVerifier:
    def __init__(self, tokens: TokenStore, size: int = MAX_TRACKED) -> None:
        self._tokens = tokens
        self._fresh = CACHE_SECONDS / 2
        self._size = size
        self._checked: OrderedDict[str, float] = OrderedDict()  # token digest -> when

    def __len__(self) -> int:
        """How many tokens it keeps track of."""
        return len(self._checked)

    async def verify(self, token: str) -> Actor | None:
        """The token's actor, or None for a token that is unknown or revoked."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        checked = self._checked.get(digest)
        if checked is not None and now - checked < self._fresh:
            return self._tokens.authenticate(token)
        actor = await run_in_threadpool(self._tokens.authenticate, token)
        self._checked[digest] = now
        self._checked.move_to_end(digest)
        while len(self._checked) > self._size:
            self._checked.popitem(last=False)
        return actor
