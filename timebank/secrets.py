"""Secrets kept outside the log: volunteers' PINs (slow salted hashes) and the count of
wrong codes and PINs tried, per caller and per target, which locks guessing out for a while.

Both live in tables of the store (not in process memory), so that every HTTP worker process
sees the same counts; the log records only that a PIN was set, and by whom."""

import hashlib
import hmac
import math
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

import structlog

from ledger.context import Actor
from ledger.errors import TooManyAttempts
from projections.db import Database

security = structlog.get_logger("security")

# scrypt at 16 MiB a hash (about 50 ms here): a stolen table costs that much per PIN tried.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SALT_BYTES = 16
CALLER = "caller"  # the target kind of the count kept per caller


def hash_pin(pin: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(SALT_BYTES)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def pin_hash_matches(pin: str, stored: str) -> bool:
    _, n, r, p, salt, digest = stored.split("$")
    tried = hashlib.scrypt(pin.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p))
    return hmac.compare_digest(tried, bytes.fromhex(digest))


class SecretStore:
    """PINs and failed guesses. `limit` failures within `window_seconds` (by one caller, or at
    one target by anyone) lock the caller, or the target, out until `window_seconds` after
    the failure that reached the limit."""

    def __init__(
        self,
        db: Database,
        limit: int,
        window_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock

    # PINs ------------------------------------------------------------------------------

    def set_pin(self, volunteer_id: UUID, pin: str) -> None:
        stored = hash_pin(pin)
        with self.db.transaction() as cur:
            cur.execute(
                "INSERT INTO tb_volunteer_pins (volunteer_id, pin_hash, set_at) "
                "VALUES (%s, %s, %s) ON CONFLICT (volunteer_id) DO UPDATE "
                "SET pin_hash = excluded.pin_hash, set_at = excluded.set_at",
                (str(volunteer_id), stored, datetime.now(UTC).isoformat()),
            )

    def forget_pin(self, volunteer_id: UUID) -> None:
        """Deletes the volunteer's PIN, if any (their erasure)."""
        with self.db.transaction() as cur:
            cur.execute(
                "DELETE FROM tb_volunteer_pins WHERE volunteer_id = %s", (str(volunteer_id),)
            )

    def pin_matches(self, volunteer_id: UUID, pin: str) -> bool:
        with self.db.read() as cur:
            cur.execute(
                "SELECT pin_hash FROM tb_volunteer_pins WHERE volunteer_id = %s",
                (str(volunteer_id),),
            )
            row = cur.fetchone()
        return row is not None and pin_hash_matches(pin, row[0])

    # Failed guesses --------------------------------------------------------------------

    def check(self, actor: Actor, target_kind: str, target_id: str) -> None:
        now = self._clock()
        with self.db.read() as cur:
            cur.execute(
                "SELECT MAX(locked_until) FROM tb_secret_failures "
                "WHERE (target_kind = %s AND target_id = %s) "
                "OR (target_kind = %s AND target_id = %s)",
                (target_kind, target_id, CALLER, actor.name),
            )
            row = cur.fetchone()
        locked_until = row[0] if row and row[0] is not None else 0.0
        if locked_until > now:
            wait_seconds = max(1, math.ceil(locked_until - now))
            security.warning(
                "code guess locked out",
                principal=actor.name,
                role=actor.role.value,
                target_kind=target_kind,
                target_id=target_id,
                retry_after_seconds=wait_seconds,
            )
            raise TooManyAttempts(
                f"too many wrong codes or PINs lately; try again in {wait_seconds} s",
                wait_seconds,
            )

    def failed(self, actor: Actor, target_kind: str, target_id: str) -> None:
        now = self._clock()
        with self.db.transaction() as cur:
            counts = [
                self._count(cur, target_kind, target_id, now),
                self._count(cur, CALLER, actor.name, now),
            ]
        security.warning(
            "code guess refused",
            principal=actor.name,
            role=actor.role.value,
            target_kind=target_kind,
            target_id=target_id,
            failures_at_target=counts[0],
            failures_by_caller=counts[1],
        )

    def _count(self, cur: object, target_kind: str, target_id: str, now: float) -> int:
        """One more failure in the target's window (a new window once the last has passed);
        the target is locked out from the failure that reaches the limit."""
        stale = now - self.window_seconds
        until = now + self.window_seconds
        execute = cur.execute  # type: ignore[attr-defined]
        execute(
            "INSERT INTO tb_secret_failures "
            "(target_kind, target_id, window_started_at, failures, locked_until) "
            "VALUES (%s, %s, %s, 1, %s) "
            "ON CONFLICT (target_kind, target_id) DO UPDATE SET "
            "failures = CASE WHEN tb_secret_failures.window_started_at <= %s THEN 1 "
            "ELSE tb_secret_failures.failures + 1 END, "
            "window_started_at = CASE WHEN tb_secret_failures.window_started_at <= %s "
            "THEN %s ELSE tb_secret_failures.window_started_at END, "
            "locked_until = CASE WHEN tb_secret_failures.window_started_at > %s "
            "AND tb_secret_failures.failures + 1 >= %s THEN %s "
            "ELSE tb_secret_failures.locked_until END",
            (
                target_kind,
                target_id,
                now,
                until if self.limit <= 1 else 0.0,
                stale,
                stale,
                now,
                stale,
                self.limit,
                until,
            ),
        )
        execute(
            "SELECT failures FROM tb_secret_failures WHERE target_kind = %s AND target_id = %s",
            (target_kind, target_id),
        )
        return int(cur.fetchone()[0])  # type: ignore[attr-defined]
