"""API tokens: random bearer secrets, stored only as SHA-256 hashes, bound to a role and scope,
each with an expiry; an admin lists and revokes them (never seeing a token or its hash).

Answers are kept in memory for CACHE_SECONDS, but a revocation must bite in every process
within a second: each process reads the count of revoked tokens and the latest revocation
time at most every REVOCATION_CHECK_SECONDS (one small indexed read, whatever the number of
tokens), and forgets every answer it keeps when they changed. A revocation set by hand in the
table is noticed the same way. An expired token is refused like an unknown one."""

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from ledger.commands.permissions import require_role
from ledger.context import Actor, Role
from ledger.errors import Conflict, Invalid, NotFound
from projections.db import Database
from projections.pagination import Page

SCOPED_ROLES = {Role.COORDINATOR, Role.DESK, Role.VOLUNTEER}
CACHE_SECONDS = 30.0
CACHED_TOKENS = 10_000  # the answers kept, the oldest dropped first (unknown tokens too)
# Under a second with room for the read itself: a revocation committed just after a check is
# seen by the next one.
REVOCATION_CHECK_SECONDS = 0.5
MAX_TOKEN_DAYS = 3650
DEFAULT_EXPIRY_DAYS = {
    Role.ADMIN: 30,
    Role.COORDINATOR: 180,
    Role.AUDITOR: 180,
    Role.DESK: 365,
    Role.VOLUNTEER: 365,
}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


token_hash = _hash  # how a token is found in the table (timebank/page_sessions.py too)


def actor_of(name: str, role: str, scope_id: str | None) -> Actor:
    """The actor a token's row names (a page session's too)."""
    return Actor(name, Role(role), UUID(scope_id) if scope_id else None)


@dataclass(frozen=True)
class TokenInfo:
    """What an admin sees of a token: never the token or its hash."""

    id: UUID
    name: str
    role: Role
    scope_id: UUID | None
    created_at: datetime
    expires_at: datetime | None  # none only for a row written by hand: refused
    revoked_at: datetime | None


@dataclass(frozen=True)
class _Answer:
    checked: float  # monotonic
    actor: Actor | None
    expires: float  # epoch seconds; an unknown token's answer never expires by this


INFO_COLUMNS = "id, name, role, scope_id, created_at, expires_at, revoked_at"


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _info(row: tuple[str, ...]) -> TokenInfo:
    created = _moment(row[4])
    assert created is not None
    return TokenInfo(
        UUID(row[0]),
        row[1],
        Role(row[2]),
        UUID(row[3]) if row[3] else None,
        created,
        _moment(row[5]),
        _moment(row[6]),
    )


class TokenStore:
    def __init__(
        self,
        db: Database,
        cached: int = CACHED_TOKENS,
        expiry_days: Callable[[Role], int] = DEFAULT_EXPIRY_DAYS.__getitem__,
    ) -> None:
        self.db = db
        self._cached = cached
        self._expiry_days = expiry_days
        self._cache: OrderedDict[str, _Answer] = OrderedDict()
        self._lock = threading.Lock()
        self._checking = threading.Lock()
        self._revocations: tuple[int, str | None] | None = None
        self._revocations_read = -float("inf")  # monotonic

    def __len__(self) -> int:
        """How many answers it keeps."""
        return len(self._cache)

    def create(
        self,
        role: Role,
        name: str,
        scope_id: UUID | None = None,
        expires_in_days: int | None = None,
    ) -> str:
        if role is Role.SYSTEM:
            raise Invalid("invalid-role", "the system role cannot be given to a token")
        if (role in SCOPED_ROLES) != (scope_id is not None):
            need = "needs" if role in SCOPED_ROLES else "takes no"
            raise Invalid("invalid-scope", f"a {role.value} token {need} a scope")
        if not name.strip():
            raise Invalid("invalid-name", "a token needs a name")
        days = self._expiry_days(role) if expires_in_days is None else expires_in_days
        if not 1 <= days <= MAX_TOKEN_DAYS:
            raise Invalid("invalid-expiry", f"a token lasts 1 to {MAX_TOKEN_DAYS} days")
        token = "tb_" + secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with self.db.transaction() as cur:
            cur.execute("SELECT 1 FROM tb_tokens WHERE name = %s", (name.strip(),))
            if cur.fetchone():
                raise Conflict("duplicate-token-name", f"a token named {name!r} already exists")
            cur.execute(
                "INSERT INTO tb_tokens "
                "(id, token_hash, name, role, scope_id, created_at, expires_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (
                    str(uuid4()),
                    _hash(token),
                    name.strip(),
                    role.value,
                    str(scope_id) if scope_id else None,
                    now.isoformat(),
                    (now + timedelta(days=days)).isoformat(),
                ),
            )
        return token

    def list_tokens(self, actor: Actor, page: Page) -> tuple[list[TokenInfo], str | None]:
        """The tokens, oldest first, a page at a time. Who: an admin."""
        require_role(actor, Role.ADMIN)
        return self.page_as_operator(page)

    def page_as_operator(self, page: Page) -> tuple[list[TokenInfo], str | None]:
        """The same, for the command line (which has no caller but the operator)."""
        after = page.after((str, str))
        where = "WHERE created_at > %s OR (created_at = %s AND id > %s) " if after else ""
        params = (after[0], after[0], after[1]) if after else ()
        with self.db.read() as cur:
            cur.execute(
                f"SELECT {INFO_COLUMNS} FROM tb_tokens {where}ORDER BY created_at, id LIMIT %s",
                (*params, page.limit + 1),
            )
            rows = [_info(r) for r in cur.fetchall()]
        return page.of(rows, lambda t: (t.created_at.isoformat(), str(t.id)))

    def revoke(self, actor: Actor, token_id: UUID) -> TokenInfo:
        """Revokes a token (again: nothing changes, the first revocation stands); refused in
        every process within a second. Who: an admin."""
        require_role(actor, Role.ADMIN)
        return self.revoke_as_operator(token_id)

    def revoke_as_operator(self, token_id: UUID) -> TokenInfo:
        """The same, for the command line (which has no caller but the operator)."""
        with self.db.transaction() as cur:
            cur.execute(
                "UPDATE tb_tokens SET revoked_at = %s WHERE id = %s AND revoked_at IS NULL",
                (datetime.now(UTC).isoformat(), str(token_id)),
            )
            cur.execute(f"SELECT {INFO_COLUMNS} FROM tb_tokens WHERE id = %s", (str(token_id),))
            row = cur.fetchone()
        if row is None:
            raise NotFound("token-not-found", f"no token {token_id}")
        with self._lock:  # this process need not wait for its next check
            self._cache.clear()
        return _info(row)

    def revoke_volunteer_tokens(self, volunteer_id: UUID) -> int:
        """Revokes every token bound to the volunteer, and ends their sign-in links and the
        page sessions opened by them (their erasure); how many tokens were still valid."""
        with self.db.transaction() as cur:
            cur.execute(
                "UPDATE tb_tokens SET revoked_at = %s "
                "WHERE role = %s AND scope_id = %s AND revoked_at IS NULL RETURNING id",
                (datetime.now(UTC).isoformat(), Role.VOLUNTEER.value, str(volunteer_id)),
            )
            revoked = len(cur.fetchall())
            # Their page sessions opened by sign-in links, and the links not yet used
            # (timebank/page_sessions.py), end with their tokens.
            now = datetime.now(UTC).isoformat()
            cur.execute(
                "UPDATE tb_page_sessions SET revoked_at = %s "
                "WHERE volunteer_id = %s AND revoked_at IS NULL",
                (now, str(volunteer_id)),
            )
            cur.execute(
                "UPDATE tb_sign_in_links SET used_at = %s "
                "WHERE volunteer_id = %s AND used_at IS NULL",
                (now, str(volunteer_id)),
            )
        with self._lock:
            self._cache.clear()
        return revoked

    def remembered(self, token: str) -> tuple[bool, Actor | None]:
        """(True, the answer) if this process can answer for the token without the store:
        it has checked the token lately, and the revocations less than
        REVOCATION_CHECK_SECONDS ago; else (False, None)."""
        now = time.monotonic()
        if now - self._revocations_read >= REVOCATION_CHECK_SECONDS:
            return False, None
        with self._lock:
            answer = self._cache.get(_hash(token))
        if answer is None or now - answer.checked >= CACHE_SECONDS:
            return False, None
        if answer.actor is not None and time.time() >= answer.expires:
            return True, None
        return True, answer.actor

    def _revocations_fresh(self) -> bool:
        return time.monotonic() - self._revocations_read < REVOCATION_CHECK_SECONDS

    def _check_revocations(self) -> None:
        if self._revocations_fresh():
            return
        # One thread reads them; the requests that arrive meanwhile wait for its answer
        # rather than each sending the same read.
        with self._checking:
            if self._revocations_fresh():
                return
            started = time.monotonic()
            with self.db.read() as cur:
                cur.execute(
                    "SELECT count(*), max(revoked_at) FROM tb_tokens WHERE revoked_at IS NOT NULL"
                )
                row = cur.fetchone()
            seen = (int(row[0]), row[1])
            with self._lock:
                if seen != self._revocations:
                    self._cache.clear()
                    self._revocations = seen
                # From when the read began: a revocation committed during it may be unseen.
                self._revocations_read = started

    def authenticate(self, token: str) -> Actor | None:
        """The token's actor, or None for a token that is unknown, revoked or expired."""
        self._check_revocations()
        known, actor = self.remembered(token)
        if known:
            return actor
        digest = _hash(token)
        now = time.monotonic()
        with self.db.read() as cur:
            cur.execute(
                "SELECT name, role, scope_id, expires_at FROM tb_tokens "
                "WHERE token_hash = %s AND revoked_at IS NULL",
                (digest,),
            )
            row = cur.fetchone()
        actor = actor_of(row[0], row[1], row[2]) if row else None
        expiry = _moment(row[3]) if row else None
        expires = expiry.timestamp() if expiry else 0.0 if row else float("inf")
        with self._lock:
            self._cache[digest] = _Answer(now, actor, expires)
            self._cache.move_to_end(digest)
            while len(self._cache) > self._cached:
                self._cache.popitem(last=False)
        return actor if time.time() < expires else None
