from uuid import UUID

from fastapi import APIRouter

from api.deps import CommanderDep, ContextDep, RuntimeDep
from api.schemas import (
    AwardOut,
    AwardStateOut,
    CommendationIn,
    CompletionIn,
    CompletionOut,
    EvaluationDetailOut,
    EvaluationIn,
    EvaluationOut,
    ObjectionIn,
    ObjectionOut,
    ReviewIn,
    TrainingCreatedOut,
    TrainingIn,
    TrainingOut,
)
from ledger.awards import Award, AwardKind, AwardStatus
from ledger.permissions import require_signup_reader, require_training_reader
from ledger.recognition_commands import (
    Commend,
    CompleteActivity,
    ConfirmAward,
    Evaluate,
    FileObjection,
    RecordTraining,
    ReviewAward,
)
from ledger.trainings import Evaluation, Training

router = APIRouter(tags=["activity completion, trainings, evaluations, commendations and stars"])


@router.post("/v1/activities/{activity_id}/complete", response_model=CompletionOut)
async def complete_activity(
    activity_id: UUID, body: CompletionIn, run: CommanderDep
) -> dict[str, object]:
    return await run.run(CompleteActivity(activity_id, body.beneficiaries))


@router.post("/v1/trainings", status_code=201, response_model=TrainingCreatedOut)
async def record_training(body: TrainingIn, run: CommanderDep) -> dict[str, object]:
    return await run.run(
        RecordTraining(
            body.org_id, body.title, body.held_at, body.minutes, tuple(body.volunteer_ids)
        )
    )


@router.get("/v1/trainings/{training_id}", response_model=TrainingOut)
def get_training(training_id: UUID, rt: RuntimeDep, ctx: ContextDep) -> TrainingOut:
    training = rt.service.load(Training, training_id, "training")
    reader = rt.service.reader(ctx)
    require_training_reader(reader, ctx.actor, training.org_id, training.volunteer_ids)
    return TrainingOut.model_validate(training)


@router.post("/v1/evaluations", status_code=201, response_model=EvaluationOut)
async def evaluate(body: EvaluationIn, run: CommanderDep) -> dict[str, object]:
    return await run.run(Evaluate(body.signup_id, body.score, body.by, body.comment))


@router.get("/v1/evaluations/{evaluation_id}", response_model=EvaluationDetailOut)
def get_evaluation(evaluation_id: UUID, rt: RuntimeDep, ctx: ContextDep) -> EvaluationDetailOut:
    evaluation = rt.service.load(Evaluation, evaluation_id, "evaluation")
    require_signup_reader(
        rt.service.reader(ctx), ctx.actor, evaluation.volunteer_id, evaluation.org_id
    )
    return EvaluationDetailOut.model_validate(evaluation)


@router.post("/v1/commendations", status_code=201, response_model=AwardStateOut)
async def commend(body: CommendationIn, run: CommanderDep) -> dict[str, object]:
    return await run.run(Commend(body.volunteer_id, body.org_id, body.title, body.reason))


@router.post("/v1/objections", status_code=201, response_model=ObjectionOut)
async def file_objection(body: ObjectionIn, run: CommanderDep) -> dict[str, object]:
    return await run.run(FileObjection(body.award_id, body.reason))


@router.post("/v1/awards/{award_id}/review", response_model=AwardStateOut)
async def review_award(award_id: UUID, body: ReviewIn, run: CommanderDep) -> dict[str, object]:
    return await run.run(ReviewAward(award_id, body.decision, body.reason))


@router.post("/v1/awards/{award_id}/confirm", response_model=AwardStateOut)
async def confirm_award(award_id: UUID, run: CommanderDep) -> dict[str, object]:
    return await run.run(ConfirmAward(award_id))


@router.get("/v1/awards/{award_id}", response_model=AwardOut)
def get_award(award_id: UUID, rt: RuntimeDep, ctx: ContextDep) -> AwardOut:
    award = rt.service.load(Award, award_id, "award")
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
