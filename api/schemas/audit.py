"""Bodies of the audit trail routes."""

from typing import Literal
from uuid import UUID

from pydantic import (
    AwareDatetime,
    Field,
)

from api.schemas.common import NextCursor, Out, View, ViewPosition
from ledger.context import Role


class AuditEntryOut(View):
    position: int = Field(description="the event's log position")
    event_type: str = Field(description="e.g. Signup.CheckedIn")
    aggregate_id: UUID
    aggregate_version: int
    actor: str = Field(description="the principal who did it")
    role: Role = Field(description="the role it acted in; system for the service's own sweeps")
    request_id: str
    occurred_at: AwareDatetime = Field(description="business time")
    recorded_at: AwareDatetime = Field(description="record time")
    reason: str | None
    details: dict[str, object] = Field(
        description="the event's other fields, without personal data or secret codes"
    )


class AuditTrailOut(Out):
    subject_kind: Literal["volunteer", "activity", "redemption"]
    subject_id: UUID
    entries: list[AuditEntryOut]
    next_cursor: NextCursor
    position: ViewPosition
