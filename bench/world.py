"""What the scenarios share: the bench process's runtime, its town and its volunteers."""

import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from bench.profile import Profile
from ledger.commands.base import Command
from ledger.context import Actor, Context, Role
from timebank.runtime import Runtime

ADMIN = Actor("bench", Role.ADMIN)


@dataclass(frozen=True)
class Town:
    district: UUID
    street: UUID
    team: UUID
    venue: UUID
    rewards: tuple[UUID, ...]


@dataclass
class World:
    rt: Runtime
    profile: Profile
    clients: int
    progress: Any  # Callable[[str], None]: one line of progress on stderr
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    town: Town | None = None
    volunteers: list[UUID] = field(default_factory=list)
    funded: list[UUID] = field(default_factory=list)
    activities: dict[tuple[int, int], UUID] = field(default_factory=dict)  # (slot, shard)
    next_slot: dict[UUID, int] = field(default_factory=dict)
    service_cursor: int = 0
    documents: int = 0  # ID documents handed out to registrations so far
    acked_postings: list[str] = field(default_factory=list)  # checked by the integrity scenario
    hot_volunteer: UUID | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ctx(self) -> Context:
        return Context(ADMIN, f"bench-{uuid.uuid4().hex}", datetime.now(UTC))

    def execute(self, command: Command) -> dict[str, Any]:
        """Runs a command through the public service API, as the bench's admin."""
        return self.rt.service.execute(self.ctx(), command).body

    @property
    def the_town(self) -> Town:
        assert self.town is not None, "build the town first"
        return self.town

    def say(self, message: str) -> None:
        self.progress(message)
