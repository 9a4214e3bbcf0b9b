"""Bodies of the recognition routes: activity completion, trainings, evaluations,
commendations and stars."""

from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    AwareDatetime,
    Field,
    StrictInt,
)

from api.schemas.common import (
    Body,
    CreatedOut,
    Integral,
    Moment,
    Name,
    NextCursor,
    Out,
    Positioned,
    Reason,
    Text,
    View,
    ViewPosition,
    within,
)
from ledger import bounds
from ledger.awards import AwardKind, AwardStatus, Review
from ledger.trainings import Evaluator


class CompletionIn(Body):
    beneficiaries: Annotated[
        StrictInt, within(bounds.BENEFICIARIES, "people served (人次)"), Integral
    ]


class CompletionOut(Positioned):
    id: UUID
    status: Literal["completed"]
    beneficiaries: int


class TrainingIn(Body):
    org_id: UUID
    title: Name
    held_at: Moment
    minutes: Annotated[StrictInt, within(bounds.TRAINING_MINUTES), Integral]
    volunteer_ids: list[UUID] = Field(min_length=1, max_length=bounds.PARTICIPANTS)


class TrainingCreatedOut(CreatedOut):
    participants: int


class TrainingOut(View):
    id: UUID
    org_id: UUID
    title: str
    held_at: AwareDatetime
    minutes: int = Field(description="training time; never service time")
    volunteer_ids: list[UUID]


class HeldTrainingOut(View):
    id: UUID
    org_id: UUID
    org_name: str | None
    title: str
    held_at: AwareDatetime
    minutes: int = Field(description="training time; never service time")
    participants: int


class TrainingsOut(Out):
    items: list[HeldTrainingOut] = Field(description="the latest held first")
    next_cursor: NextCursor
    position: ViewPosition


class EvaluationIn(Body):
    signup_id: UUID
    score: Annotated[StrictInt, within(bounds.SCORE), Integral]
    by: Evaluator = Field(description="the organiser, or the served person (recorded for them)")
    comment: Text = ""


class EvaluationOut(Positioned):
    id: UUID
    signup_id: UUID
    volunteer_id: UUID
    score: int
    by: Evaluator


class EvaluationDetailOut(View):
    id: UUID
    signup_id: UUID
    volunteer_id: UUID
    activity_id: UUID
    org_id: UUID
    score: int
    by: Evaluator
    comment: str


class CommendationIn(Body):
    volunteer_id: UUID
    org_id: UUID
    title: Name
    reason: Reason


class AwardStateOut(Positioned):
    id: UUID
    status: AwardStatus
    notice_ends_at: AwareDatetime


class ObjectionIn(Body):
    award_id: UUID
    reason: Reason


class ObjectionOut(Positioned):
    id: UUID = Field(description="the objection")
    award_id: UUID
    status: AwardStatus


class ReviewIn(Body):
    decision: Review = Field(description="confirm dismisses the objections; withdraw upholds one")
    reason: Reason


class AwardOut(Out):
    id: UUID
    volunteer_id: UUID
    org_id: UUID
    kind: AwardKind
    level: int | None = Field(description="the star level; null for a commendation")
    title: str
    reason: str
    status: AwardStatus
    notice_ends_at: AwareDatetime
    in_notice: bool = Field(description="true while objections may be filed")
    objections: int = Field(description="objections filed")
    open_objections: int = Field(description="objections awaiting review")
