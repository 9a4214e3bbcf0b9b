"""The pages' sessions: a desk, kiosk or coordinator signs in once with their API token and
is given a session (a random id in an HttpOnly cookie, kept here only as its SHA-256 hash,
and a CSRF secret that every form carries). A session is the token's for as long as the
token is: each request reads the session and its token in one statement, so a revoked or
expired token ends its sessions at once. Sessions also expire and are revoked at sign-out."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ledger.context import Actor
from projections.db import Database
from timebank.tokens import TokenStore, actor_of, token_hash

SESSION_HOURS = 12


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True)
class PageSession:
    id: str  # the cookie's value: never stored
    actor: Actor
    csrf: str
    expires_at: datetime


class PageSessions:
    def __init__(self, db: Database, tokens: TokenStore, hours: int = SESSION_HOURS) -> None:
        self.db = db
        self.tokens = tokens
        self.hours = hours

    def open(self, token: str) -> PageSession | None:
        """A new session for the token's holder; None for a token that is unknown, revoked
        or expired (answered by the token store, as for a bearer token)."""
        actor = self.tokens.authenticate(token)
        if actor is None:
            return None
        session_id = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        expires = now + timedelta(hours=self.hours)
        with self.db.transaction() as cur:
            cur.execute(
                "SELECT id FROM tb_tokens WHERE token_hash = %s AND revoked_at IS NULL",
                (token_hash(token),),
            )
            row = cur.fetchone()
            if row is None:  # revoked since it was answered
                return None
            cur.execute(
                "INSERT INTO tb_page_sessions "
                "(id_hash, token_id, csrf_secret, created_at, expires_at) "
                "VALUES (%s, %s, %s, %s, %s)",
                (_hash(session_id), row[0], csrf, now.isoformat(), expires.isoformat()),
            )
        return PageSession(session_id, actor, csrf, expires)

    def resolve(self, session_id: str) -> PageSession | None:
        """The session and its actor; None when it is unknown, expired or revoked, or its
        token is."""
        now = datetime.now(UTC).isoformat()
        with self.db.read() as cur:
            cur.execute(
                "SELECT t.name, t.role, t.scope_id, s.csrf_secret, s.expires_at "
                "FROM tb_page_sessions s JOIN tb_tokens t ON t.id = s.token_id "
                "WHERE s.id_hash = %s AND s.revoked_at IS NULL AND s.expires_at > %s "
                "AND t.revoked_at IS NULL AND t.expires_at > %s",
                (_hash(session_id), now, now),
            )
            row = cur.fetchone()
        if row is None:
            return None
        actor = actor_of(row[0], row[1], row[2])
        return PageSession(session_id, actor, row[3], datetime.fromisoformat(row[4]))

    def revoke(self, session_id: str) -> None:
        with self.db.transaction() as cur:
            cur.execute(
                "UPDATE tb_page_sessions SET revoked_at = %s "
                "WHERE id_hash = %s AND revoked_at IS NULL",
                (datetime.now(UTC).isoformat(), _hash(session_id)),
            )
