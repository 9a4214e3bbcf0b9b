from uuid import UUID

from fastapi import APIRouter

from api.deps import CommanderDep, ContextDep, RuntimeDep
from api.schemas import (
    BackfillIn,
    BackfillOut,
    BackfillStateOut,
    DisputeIn,
    DisputeOut,
    DisputeStateOut,
    EmptyIn,
    ReasonIn,
    ResolveIn,
)
from ledger.backfills import Backfill
from ledger.disputes import Dispute
from ledger.permissions import require_signup_reader
from ledger.record_commands import (
    ApproveBackfill,
    OpenDispute,
    RejectBackfill,
    ResolveDispute,
    SubmitBackfill,
)

router = APIRouter(tags=["back-fills and disputes"])


@router.post("/v1/backfills", status_code=201, response_model=BackfillStateOut)
async def submit_backfill(body: BackfillIn, run: CommanderDep) -> dict[str, object]:
    return await run.run(
        SubmitBackfill(
            volunteer_id=body.volunteer_id,
            org_id=body.org_id,
            started_at=body.started_at,
            ended_at=body.ended_at,
            description=body.description,
            category=body.category,
            evidence=tuple(body.evidence),
            activity_id=body.activity_id,
        )
    )


@router.get("/v1/backfills/{backfill_id}", response_model=BackfillOut)
def get_backfill(backfill_id: UUID, rt: RuntimeDep, ctx: ContextDep) -> BackfillOut:
    backfill = rt.service.load(Backfill, backfill_id, "backfill")
    reader = rt.service.reader(ctx)
    require_signup_reader(reader, ctx.actor, backfill.volunteer_id, backfill.org_id)
    return BackfillOut.model_validate(backfill)


@router.post("/v1/backfills/{backfill_id}/approve", response_model=BackfillStateOut)
async def approve_backfill(
    backfill_id: UUID, run: CommanderDep, body: EmptyIn | None = None
) -> dict[str, object]:
    return await run.run(ApproveBackfill(backfill_id))


@router.post("/v1/backfills/{backfill_id}/reject", response_model=BackfillStateOut)
async def reject_backfill(
    backfill_id: UUID, body: ReasonIn, run: CommanderDep
) -> dict[str, object]:
    return await run.run(RejectBackfill(backfill_id, body.reason))


@router.post("/v1/disputes", status_code=201, response_model=DisputeStateOut)
async def open_dispute(body: DisputeIn, run: CommanderDep) -> dict[str, object]:
    return await run.run(OpenDispute(body.record_id, body.reason))


@router.get("/v1/disputes/{dispute_id}", response_model=DisputeOut)
def get_dispute(dispute_id: UUID, rt: RuntimeDep, ctx: ContextDep) -> DisputeOut:
    dispute = rt.service.load(Dispute, dispute_id, "dispute")
    reader = rt.service.reader(ctx)
    require_signup_reader(reader, ctx.actor, dispute.volunteer_id, dispute.org_id)
    return DisputeOut.model_validate(dispute)


@router.post("/v1/disputes/{dispute_id}/resolve", response_model=DisputeStateOut)
async def resolve_dispute(
    dispute_id: UUID, body: ResolveIn, run: CommanderDep
) -> dict[str, object]:
    return await run.run(ResolveDispute(dispute_id, body.decision, body.reason, body.minutes))
