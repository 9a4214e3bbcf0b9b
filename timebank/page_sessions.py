"""The pages' sessions: a desk, kiosk or coordinator signs in once with their API token and
is given a session (a random id in an HttpOnly cookie, kept here only as its SHA-256 hash,
and a CSRF secret that every form carries). A session is the token's for as long as the
token is: each request reads the session and its token in one statement, so a revoked or
expired token ends its sessions at once. Sessions also expire and are revoked at sign-out."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from ledger.context import Actor, Role
from projections.db import Database
from timebank.tokens import TokenStore, actor_of, token_hash

SESSION_HOURS = 12
LINK_MINUTES = 15


def link_actor(volunteer_id: UUID) -> Actor:
    """A volunteer signed in by a link, named in the log as their own (as a token would be)."""
    return Actor(f"link-{volunteer_id}", Role.VOLUNTEER, volunteer_id)


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True)
class PageSession:
    id: str  # the cookie's value: never stored
    actor: Actor
    csrf: str
    expires_at: datetime


def _forget_ended(cur: Any, now: datetime) -> None:
    """Drops the sessions and links that ended a day ago or more (sign-ins are few: a scan
    of the small table each time costs nothing worth an index)."""
    before = (now - timedelta(days=1)).isoformat()
    cur.execute("DELETE FROM tb_page_sessions WHERE expires_at < %s", (before,))
    cur.execute("DELETE FROM tb_sign_in_links WHERE expires_at < %s", (before,))


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
            _forget_ended(cur, now)
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

    def issue_link(self, volunteer_id: UUID) -> tuple[str, datetime]:
        """A one-time sign-in code for the volunteer and when it expires (the caller's right
        to ask was checked by the command AllowSignInLink)."""
        code = secrets.token_urlsafe(24)
        now = datetime.now(UTC)
        expires = now + timedelta(minutes=LINK_MINUTES)
        with self.db.transaction() as cur:
            cur.execute(
                "INSERT INTO tb_sign_in_links (code_hash, volunteer_id, created_at, expires_at) "
                "VALUES (%s, %s, %s, %s)",
                (_hash(code), str(volunteer_id), now.isoformat(), expires.isoformat()),
            )
        return code, expires

    def open_link(self, code: str) -> PageSession | None:
        """A session for the volunteer of an unused, unexpired link, which it uses up: the
        same code never opens a second one."""
        session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        expires = now + timedelta(hours=self.hours)
        with self.db.transaction() as cur:
            cur.execute(
                "UPDATE tb_sign_in_links SET used_at = %s "
                "WHERE code_hash = %s AND used_at IS NULL AND expires_at > %s "
                "RETURNING volunteer_id",
                (now.isoformat(), _hash(code), now.isoformat()),
            )
            row = cur.fetchone()
            if row is None:
                return None
            cur.execute(
                "INSERT INTO tb_page_sessions "
                "(id_hash, volunteer_id, csrf_secret, created_at, expires_at) "
                "VALUES (%s, %s, %s, %s, %s)",
                (_hash(session_id), row[0], csrf, now.isoformat(), expires.isoformat()),
            )
        actor = link_actor(UUID(row[0]))
        return PageSession(session_id, actor, csrf, expires)

    def resolve(self, session_id: str) -> PageSession | None:
        """The session and its actor; None when it is unknown, expired or revoked, or its
        token is."""
        now = datetime.now(UTC).isoformat()
        with self.db.read() as cur:
            cur.execute(
                "SELECT t.name, t.role, t.scope_id, s.csrf_secret, s.expires_at, "
                "s.volunteer_id FROM tb_page_sessions s "
                "LEFT JOIN tb_tokens t ON t.id = s.token_id "
                "WHERE s.id_hash = %s AND s.revoked_at IS NULL AND s.expires_at > %s "
                "AND (s.volunteer_id IS NOT NULL "
                "OR (t.revoked_at IS NULL AND t.expires_at > %s))",
                (_hash(session_id), now, now),
            )
            row = cur.fetchone()
        if row is None:
            return None
        name, role, scope, csrf, expires, volunteer = row
        actor = link_actor(UUID(volunteer)) if volunteer else actor_of(name, role, scope)
        return PageSession(session_id, actor, csrf, datetime.fromisoformat(expires))

    def revoke(self, session_id: str) -> None:
        with self.db.transaction() as cur:
            cur.execute(
                "UPDATE tb_page_sessions SET revoked_at = %s "
                "WHERE id_hash = %s AND revoked_at IS NULL",
                (datetime.now(UTC).isoformat(), _hash(session_id)),
            )
