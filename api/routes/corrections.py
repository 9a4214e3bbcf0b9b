from uuid import UUID

from fastapi import APIRouter

from api.deps import CommanderDep, ContextDep, QueriesDep
from api.schemas.common import ReasonIn
from api.schemas.corrections import (
    BackfillIn,
    BackfillOut,
    BackfillStateOut,
    DisputeIn,
    DisputeOut,
    DisputeStateOut,
    EmptyIn,
    ResolveIn,
)
from ledger.commands.corrections import (
    ApproveBackfill,
    OpenDispute,
    RejectBackfill,
    ResolveDispute,
    SubmitBackfill,
)

router = APIRouter()


@router.post(
    "/v1/backfills",
    status_code=201,
    response_model=BackfillStateOut,
    tags=["backfills"],
    summary="Submit a back-fill",
)
async def submit_backfill(body: BackfillIn, run: CommanderDep) -> dict[str, object]:
    """Enters service done without check-in (补录), with a description and evidence, within
    the back-fill window (90 days by default); it is credited only once a second coordinator
    approves it. Its interval may not overlap the volunteer's other service.

    Who: a coordinator of `org_id` (the organisation that records and credits it) or above;
    an admin."""
    return await run.create(
        SubmitBackfill(
            volunteer_id=body.volunteer_id,
            org_id=body.org_id,
            started_at=body.started_at,
            ended_at=body.ended_at,
            description=body.description,
            category=body.category,
            evidence=tuple(body.evidence),
            activity_id=body.activity_id,
        ),
        lambda made: f"/v1/backfills/{made['id']}",
    )


@router.get(
    "/v1/backfills/{backfill_id}",
    response_model=BackfillOut,
    tags=["backfills"],
    summary="Get a back-fill",
)
def get_backfill(backfill_id: UUID, q: QueriesDep, ctx: ContextDep) -> BackfillOut:
    """A back-fill: what was submitted, by whom, its decision and what it credited.

    Who: the volunteer themself; a coordinator of the recording organisation or above; an
    auditor; an admin."""
    return BackfillOut.model_validate(q.aggregates.backfill(ctx, backfill_id))


@router.post(
    "/v1/backfills/{backfill_id}/approve",
    response_model=BackfillStateOut,
    tags=["backfills"],
    summary="Approve a back-fill",
)
async def approve_backfill(
    backfill_id: UUID, run: CommanderDep, body: EmptyIn | None = None
) -> dict[str, object]:
    """Approves a submitted back-fill and credits it, exactly once however often it is
    retried (the body, empty, may be left out).

    Who: a coordinator of the recording organisation or above, or an admin, other than the
    one who submitted it."""
    return await run.run(ApproveBackfill(backfill_id))


@router.post(
    "/v1/backfills/{backfill_id}/reject",
    response_model=BackfillStateOut,
    tags=["backfills"],
    summary="Reject a back-fill",
)
async def reject_backfill(
    backfill_id: UUID, body: ReasonIn, run: CommanderDep
) -> dict[str, object]:
    """Rejects a submitted back-fill, with a reason; nothing is credited.

    Who: a coordinator of the recording organisation or above; an admin."""
    return await run.run(RejectBackfill(backfill_id, body.reason))


@router.post(
    "/v1/disputes",
    status_code=201,
    response_model=DisputeStateOut,
    tags=["disputes"],
    summary="Dispute a record",
)
async def open_dispute(body: DisputeIn, run: CommanderDep) -> dict[str, object]:
    """Disputes a verified signup or an approved back-fill, with a reason; one dispute of a
    record may be open at a time.

    Who: the volunteer whose record it is; a coordinator of the recording organisation or
    above; an admin."""
    return await run.create(
        OpenDispute(body.record_id, body.reason), lambda made: f"/v1/disputes/{made['id']}"
    )


@router.get(
    "/v1/disputes/{dispute_id}",
    response_model=DisputeOut,
    tags=["disputes"],
    summary="Get a dispute",
)
def get_dispute(dispute_id: UUID, q: QueriesDep, ctx: ContextDep) -> DisputeOut:
    """A dispute and its resolution.

    Who: the volunteer themself; a coordinator of the recording organisation or above; an
    auditor; an admin."""
    return DisputeOut.model_validate(q.aggregates.dispute(ctx, dispute_id))


@router.post(
    "/v1/disputes/{dispute_id}/resolve",
    response_model=DisputeStateOut,
    tags=["disputes"],
    summary="Resolve a dispute",
)
async def resolve_dispute(
    dispute_id: UUID, body: ResolveIn, run: CommanderDep
) -> dict[str, object]:
    """Dismisses a dispute, or corrects the record to `minutes`: the credits posted for it
    are reversed and the corrected minutes credited again, the original staying in the log,
    the statement and the audit trail.

    Who: a coordinator of the recording organisation or above; an admin."""
    return await run.run(ResolveDispute(dispute_id, body.decision, body.reason, body.minutes))
