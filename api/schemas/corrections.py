"""Bodies of the back-fills and disputes routes."""

from typing import Annotated
from uuid import UUID

from pydantic import (
    AliasChoices,
    AwareDatetime,
    Field,
)

from api.schemas.common import Body, Minutes, Moment, Positioned, Text, View, length
from ledger import bounds
from ledger.activities import Category
from ledger.backfills import BackfillStatus
from ledger.disputes import DisputeStatus, Resolution, SourceKind


class BackfillIn(Body):
    volunteer_id: UUID
    org_id: UUID = Field(description="the organisation that records and credits the service")
    category: Category | None = Field(
        None, description="required without an activity; with one, the activity's category"
    )
    started_at: Moment
    ended_at: Moment
    description: Text = Field("", description="what was done (required)")
    evidence: list[Annotated[str, length(bounds.EVIDENCE_ITEM)]] = Field(
        default_factory=list,
        max_length=bounds.EVIDENCE,
        description="references to photos, sign-in sheets",
    )
    activity_id: UUID | None = None


class BackfillStateOut(Positioned):
    id: UUID
    status: BackfillStatus
    minutes: int = Field(description="the back-filled service minutes")
    credited_minutes: int = Field(
        0, description="credits posted by this request (0 on a retry or above the balance cap)"
    )


class EmptyIn(Body):
    pass


class BackfillOut(View):
    id: UUID
    volunteer_id: UUID
    org_id: UUID
    activity_id: UUID | None
    category: Category
    campaign: str | None
    started_at: AwareDatetime
    ended_at: AwareDatetime
    minutes: int = Field(description="the interval as submitted")
    description: str
    evidence: list[str]
    status: BackfillStatus
    submitted_by: str
    approved_by: str | None
    rejected_by: str | None
    rejection_reason: str | None
    service_minutes: int = Field(description="credited service time (after corrections)")
    credits: int = Field(description="credits posted for it (after corrections)")
    corrections: int


class DisputeIn(Body):
    record_id: UUID = Field(description="a verified signup or an approved back-fill")
    reason: Text = ""


class ResolveIn(Body):
    decision: Resolution
    minutes: Minutes | None = Field(None, description="the corrected minutes (0-1440) to correct")
    reason: Text = ""


class DisputeStateOut(Positioned):
    id: UUID
    status: DisputeStatus
    previous_minutes: int
    corrected_minutes: int | None = None
    reversed_credits: int = Field(0, description="credits taken back by the correction")
    recredited_credits: int = Field(0, description="credits posted again by the correction")


class DisputeOut(View):
    id: UUID
    record_id: UUID = Field(validation_alias=AliasChoices("record_id", "source_id"))
    record_kind: SourceKind = Field(
        validation_alias=AliasChoices("record_kind", "source_kind"),
    )
    volunteer_id: UUID
    org_id: UUID
    status: DisputeStatus
    previous_minutes: int
    corrected_minutes: int | None
    reason: str
    resolution_reason: str | None
    opened_by: str
    resolved_by: str | None
