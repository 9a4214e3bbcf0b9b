from uuid import UUID

from fastapi import APIRouter

from api.deps import ActorDep, CommanderDep, ContextDep, RuntimeDep
from api.schemas import (
    CreatedOut,
    FulfilIn,
    FulfilmentOut,
    ReasonIn,
    RedemptionDetailOut,
    RedemptionIn,
    RedemptionStateOut,
    ReservationOut,
    RewardIn,
    RewardOut,
)
from ledger.audit import Role
from ledger.commands import CancelRedemption, FulfilRedemption, ListReward, Redeem
from ledger.errors import Forbidden
from ledger.permissions import is_redemption_party
from ledger.rewards import Redemption, Reward

router = APIRouter(tags=["rewards and redemptions"])


@router.post("/v1/rewards", status_code=201, response_model=CreatedOut)
async def list_reward(body: RewardIn, run: CommanderDep) -> dict[str, object]:
    return await run.run(ListReward(**body.model_dump()))


@router.get("/v1/rewards/{reward_id}", response_model=RewardOut)
def get_reward(reward_id: UUID, rt: RuntimeDep, _: ActorDep) -> RewardOut:
    reward = rt.service.load(Reward, reward_id, "reward")
    return RewardOut(
        id=reward.id,
        venue_id=reward.venue_id,
        name=reward.name,
        cost_minutes=reward.cost_minutes,
        stock=reward.stock,
        per_volunteer_limit=reward.per_volunteer_limit,
    )


@router.post("/v1/redemptions", status_code=201, response_model=ReservationOut)
async def redeem(body: RedemptionIn, run: CommanderDep) -> dict[str, object]:
    return await run.run(Redeem(**body.model_dump()))


@router.get("/v1/redemptions/{redemption_id}", response_model=RedemptionDetailOut)
def get_redemption(redemption_id: UUID, rt: RuntimeDep, ctx: ContextDep) -> RedemptionDetailOut:
    redemption = rt.service.load(Redemption, redemption_id, "redemption")
    actor = ctx.actor
    holder = is_redemption_party(actor, redemption.volunteer_id, redemption.venue_id)
    if not holder and actor.role is not Role.AUDITOR:
        raise Forbidden("outside-scope", "only the volunteer, the venue's desk or an auditor")
    return RedemptionDetailOut(
        id=redemption.id,
        volunteer_id=redemption.volunteer_id,
        reward_id=redemption.reward_id,
        venue_id=redemption.venue_id,
        quantity=redemption.quantity,
        minutes=redemption.minutes,
        status=redemption.status.value,
        expires_at=redemption.expires_at,
        code=redemption.code if holder else None,
    )


@router.post("/v1/redemptions/{redemption_id}/fulfil", response_model=FulfilmentOut)
async def fulfil(redemption_id: UUID, body: FulfilIn, run: CommanderDep) -> dict[str, object]:
    return await run.run(FulfilRedemption(redemption_id, body.code))


@router.post("/v1/redemptions/{redemption_id}/cancel", response_model=RedemptionStateOut)
async def cancel(
    redemption_id: UUID, run: CommanderDep, body: ReasonIn | None = None
) -> dict[str, object]:
    return await run.run(CancelRedemption(redemption_id, body.reason if body else ""))
