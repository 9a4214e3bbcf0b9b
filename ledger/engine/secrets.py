"""The engine's view of the secrets kept outside the log (PINs, failed guesses): a protocol
the store adapter implements (timebank/secrets.py), bound to the caller of each command."""

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from ledger.context import Actor


class SecretGuard(Protocol):
    def check(self, actor: Actor, target_kind: str, target_id: str) -> None:
        """Raises TooManyAttempts when `actor`, or anyone at the target, failed too often."""
        ...

    def failed(self, actor: Actor, target_kind: str, target_id: str) -> None:
        """Counts (and logs) a wrong code or PIN tried by `actor` at the target."""
        ...

    def pin_matches(self, volunteer_id: UUID, pin: str) -> bool: ...


class NoSecrets:
    """Without a store of secrets: nothing is counted, and no PIN proves anything."""

    def check(self, actor: Actor, target_kind: str, target_id: str) -> None:
        return None

    def failed(self, actor: Actor, target_kind: str, target_id: str) -> None:
        return None

    def pin_matches(self, volunteer_id: UUID, pin: str) -> bool:
        return False


@dataclass(frozen=True)
class CallerSecrets:
    """The guard as one command's caller uses it (the `Secrets` of ledger/commands/base.py)."""

    guard: SecretGuard
    actor: Actor

    def check(self, target_kind: str, target_id: str) -> None:
        self.guard.check(self.actor, target_kind, target_id)

    def pin_matches(self, volunteer_id: UUID, pin: str) -> bool:
        return self.guard.pin_matches(volunteer_id, pin)
