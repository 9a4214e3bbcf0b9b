"""API tokens: random bearer secrets, stored only as SHA-256 hashes, bound to a role and scope."""

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime
from uuid import UUID, uuid4

from ledger.context import Actor, Role
from ledger.errors import Conflict, Invalid
from projections.db import Database

SCOPED_ROLES = {Role.COORDINATOR, Role.DESK, Role.VOLUNTEER}
CACHE_SECONDS = 30.0
CACHED_TOKENS = 10_000  # the answers kept, the oldest dropped first (unknown tokens too)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    def __init__(self, db: Database, cached: int = CACHED_TOKENS) -> None:
        self.db = db
        self._cached = cached
        self._cache: OrderedDict[str, tuple[float, Actor | None]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many answers it keeps."""
        return len(self._cache)

    def create(self, role: Role, name: str, scope_id: UUID | None = None) -> str:
        if role is Role.SYSTEM:
            raise Invalid("invalid-role", "the system role cannot be given to a token")
        if (role in SCOPED_ROLES) != (scope_id is not None):
            need = "needs" if role in SCOPED_ROLES else "takes no"
            raise Invalid("invalid-scope", f"a {role.value} token {need} a scope")
        if not name.strip():
            raise Invalid("invalid-name", "a token needs a name")
        token = "tb_" + secrets.token_urlsafe(32)
        with self.db.transaction() as cur:
            cur.execute("SELECT 1 FROM tb_tokens WHERE name = %s", (name.strip(),))
            if cur.fetchone():
                raise Conflict("duplicate-token-name", f"a token named {name!r} already exists")
            cur.execute(
                "INSERT INTO tb_tokens (id, token_hash, name, role, scope_id, created_at) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (
                    str(uuid4()),
                    _hash(token),
                    name.strip(),
                    role.value,
                    str(scope_id) if scope_id else None,
                    datetime.now(UTC).isoformat(),
                ),
            )
        return token

    def authenticate(self, token: str) -> Actor | None:
        digest = _hash(token)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(digest)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        with self.db.read() as cur:
            cur.execute(
                "SELECT name, role, scope_id FROM tb_tokens "
                "WHERE token_hash = %s AND revoked_at IS NULL",
                (digest,),
            )
            row = cur.fetchone()
        actor = Actor(row[0], Role(row[1]), UUID(row[2]) if row[2] else None) if row else None
        with self._lock:
            self._cache[digest] = (now, actor)
            self._cache.move_to_end(digest)
            while len(self._cache) > self._cached:
                self._cache.popitem(last=False)
        return actor
