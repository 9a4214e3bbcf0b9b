"""Who is acting, in which role and scope, and the request they act in."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID


class Role(StrEnum):
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    DESK = "desk"
    AUDITOR = "auditor"
    VOLUNTEER = "volunteer"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    name: str
    role: Role
    scope_id: UUID | None = None  # the organisation, venue or volunteer the role is bound to


SYSTEM = Actor("system", Role.SYSTEM)


@dataclass(frozen=True)
class Context:
    actor: Actor
    request_id: str
    now: datetime

    def audit_fields(self) -> dict[str, Any]:
        return {
            "actor": self.actor.name,
            "role": self.actor.role.value,
            "request_id": self.request_id,
            "occurred_at": self.now,
        }
