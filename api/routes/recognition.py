from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.deps import CommanderDep, ContextDep, MinPosition, QueriesDep
from api.openapi import location
from api.pagination import PageDep
from api.schemas.recognition import (
    AwardOut,
    AwardStateOut,
    CommendationIn,
    CompletionIn,
    CompletionOut,
    EvaluationDetailOut,
    EvaluationIn,
    EvaluationOut,
    HeldTrainingOut,
    ObjectionIn,
    ObjectionOut,
    ReviewIn,
    TrainingCreatedOut,
    TrainingIn,
    TrainingOut,
    TrainingsOut,
)
from ledger.awards import AwardKind, AwardStatus
from ledger.commands.recognition import (
    Commend,
    CompleteActivity,
    ConfirmAward,
    Evaluate,
    FileObjection,
    HoldTraining,
    ReviewAward,
)

router = APIRouter()


@router.post(
    "/v1/activities/{activity_id}/complete",
    response_model=CompletionOut,
    tags=["activities"],
    summary="Complete an activity",
)
async def complete_activity(
    activity_id: UUID, body: CompletionIn, run: CommanderDep
) -> dict[str, object]:
    """Marks an activity held, with the people it served (人次), for the organisation
    reports.

    Who: a coordinator of the organising organisation or above; an admin."""
    return await run.run(CompleteActivity(activity_id, body.beneficiaries))


@router.post(
    "/v1/trainings",
    status_code=201,
    response_model=TrainingCreatedOut,
    tags=["trainings"],
    summary="Record a training",
)
async def record_training(body: TrainingIn, run: CommanderDep) -> dict[str, object]:
    """Records a training held by `org_id` and its participants; training time is kept apart
    from service time and earns no credits.

    Who: a coordinator of `org_id` or above whose subtree also holds every participant's home
    organisation; an admin."""
    return await run.create(
        HoldTraining(
            body.org_id, body.title, body.held_at, body.minutes, tuple(body.volunteer_ids)
        ),
        lambda made: f"/v1/trainings/{made['id']}",
    )


@router.get(
    "/v1/trainings", response_model=TrainingsOut, tags=["trainings"], summary="List trainings"
)
def list_trainings(
    q: QueriesDep,
    ctx: ContextDep,
    page: PageDep,
    org_id: Annotated[UUID, Query(description="trainings held by this organisation's subtree")],
    min_position: MinPosition = None,
) -> TrainingsOut:
    """The trainings held by an organisation and those below it, the latest first, with how
    many volunteers took part.

    Who: a coordinator of the organisation or above; an auditor; an admin."""
    found = q.records.trainings(ctx, org_id, page, min_position)
    return TrainingsOut(
        items=[HeldTrainingOut.model_validate(t) for t in found.items],
        next_cursor=found.next_cursor,
        position=found.position,
    )


@router.get(
    "/v1/trainings/{training_id}",
    response_model=TrainingOut,
    tags=["trainings"],
    summary="Get a training",
)
def get_training(training_id: UUID, q: QueriesDep, ctx: ContextDep) -> TrainingOut:
    """A training and its participants.

    Who: a participant; a coordinator of the organising organisation or above; an auditor;
    an admin."""
    return TrainingOut.model_validate(q.aggregates.training(ctx, training_id))


@router.post(
    "/v1/evaluations",
    status_code=201,
    response_model=EvaluationOut,
    tags=["evaluations"],
    summary="Evaluate a service",
)
async def evaluate(body: EvaluationIn, run: CommanderDep) -> dict[str, object]:
    """Scores a verified signup's service from 1 to 5: the organiser's evaluation, or the
    served person's recorded on their behalf; one of each per signup.

    Who: a coordinator of the organising organisation or above; an admin."""
    return await run.create(
        Evaluate(body.signup_id, body.score, body.by, body.comment),
        lambda made: f"/v1/evaluations/{made['id']}",
    )


@router.get(
    "/v1/evaluations/{evaluation_id}",
    response_model=EvaluationDetailOut,
    tags=["evaluations"],
    summary="Get an evaluation",
)
def get_evaluation(evaluation_id: UUID, q: QueriesDep, ctx: ContextDep) -> EvaluationDetailOut:
    """An evaluation of a service.

    Who: the volunteer evaluated; a coordinator of the organising organisation or above; an
    auditor; an admin."""
    return EvaluationDetailOut.model_validate(q.aggregates.evaluation(ctx, evaluation_id))


@router.post(
    "/v1/commendations",
    status_code=201,
    response_model=AwardStateOut,
    tags=["awards"],
    summary="Commend a volunteer",
)
async def commend(body: CommendationIn, run: CommanderDep) -> dict[str, object]:
    """Announces an organisation's commendation of a volunteer (e.g. 优秀志愿者), with a
    reason; it goes through a public notice (公示, 7 days by default) before it is confirmed.

    Who: a coordinator of `org_id` or above whose subtree also holds the volunteer's home
    organisation; an admin."""
    return await run.create(
        Commend(body.volunteer_id, body.org_id, body.title, body.reason),
        lambda made: f"/v1/awards/{made['id']}",
    )


@router.post(
    "/v1/objections",
    status_code=201,
    response_model=ObjectionOut,
    tags=["awards"],
    summary="Object to an award in notice",
    responses=location("the award objected to, which counts its objections"),
)
async def file_objection(body: ObjectionIn, run: CommanderDep) -> dict[str, object]:
    """Files an objection, with a reason, to a star or commendation while its public notice
    runs; the award is held until a coordinator reviews it. One objection per person and
    notice (a volunteer whatever token they use; anyone else by token): a second one is a
    409 `objection-already-filed`, also after the first was dismissed; a renewed award's new
    notice may be objected to again.

    Who: any role."""
    return await run.create(
        FileObjection(body.award_id, body.reason), lambda made: f"/v1/awards/{made['award_id']}"
    )


@router.post(
    "/v1/awards/{award_id}/review",
    response_model=AwardStateOut,
    tags=["awards"],
    summary="Review an objected award",
)
async def review_award(award_id: UUID, body: ReviewIn, run: CommanderDep) -> dict[str, object]:
    """Decides on an award's open objections, with a reason: `confirm` dismisses them (the
    notice runs on), `withdraw` upholds one and withdraws the award.

    Who: a coordinator of the awarding organisation or above; an admin."""
    return await run.run(ReviewAward(award_id, body.decision, body.reason))


@router.post(
    "/v1/awards/{award_id}/confirm",
    response_model=AwardStateOut,
    tags=["awards"],
    summary="Confirm an award",
)
async def confirm_award(award_id: UUID, run: CommanderDep) -> dict[str, object]:
    """Makes an award final once its public notice has ended with no objection open (the
    service's sweeper does it by itself; this does it at once). Takes no body.

    Who: a coordinator of the awarding organisation or above; an admin."""
    return await run.run(ConfirmAward(award_id))


@router.get(
    "/v1/awards/{award_id}", response_model=AwardOut, tags=["awards"], summary="Get an award"
)
def get_award(award_id: UUID, q: QueriesDep, ctx: ContextDep) -> AwardOut:
    """A star or commendation, its public notice and its objections.

    Who: any role (awards are public notices)."""
    award = q.aggregates.award(award_id)
    status = AwardStatus(award.status)
    return AwardOut(
        id=award.id,
        volunteer_id=award.volunteer_id,
        org_id=award.org_id,
        kind=AwardKind(award.kind),
        level=award.level,
        title=award.title,
        reason=award.reason,
        status=status,
        notice_ends_at=award.notice_ends_at,
        in_notice=status in (AwardStatus.IN_NOTICE, AwardStatus.OBJECTED)
        and award.in_notice(ctx.now),
        objections=award.objections_filed,
        open_objections=len(award.open_objections),
    )
