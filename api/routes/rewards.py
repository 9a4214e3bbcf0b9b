from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.deps import ActorDep, CommanderDep, ContextDep, MinPosition, QueriesDep
from api.pagination import PageDep
from api.schemas.common import CreatedOut, ReasonIn
from api.schemas.rewards import (
    FulfilIn,
    FulfilmentOut,
    ListedRewardOut,
    RedemptionDetailOut,
    RedemptionIn,
    RedemptionStateOut,
    ReservationOut,
    RewardIn,
    RewardOut,
    RewardPageOut,
)
from ledger.commands.exchange import CancelRedemption, FulfilRedemption, ListReward, Redeem

router = APIRouter()


@router.post(
    "/v1/rewards",
    status_code=201,
    response_model=CreatedOut,
    tags=["rewards"],
    summary="List a reward at a venue",
)
async def list_reward(body: RewardIn, run: CommanderDep) -> dict[str, object]:
    """Offers a reward at a venue (an organisation of kind `venue`): its cost in minutes, its
    stock and an optional limit per volunteer.

    Who: a coordinator of the venue or above; an admin."""
    return await run.create(
        ListReward(**body.model_dump()), lambda made: f"/v1/rewards/{made['id']}"
    )


@router.get(
    "/v1/rewards",
    response_model=RewardPageOut,
    tags=["rewards"],
    summary="List a venue's rewards",
)
def list_rewards(
    venue_id: Annotated[UUID, Query(description="the venue whose rewards to list")],
    q: QueriesDep,
    ctx: ContextDep,
    page: PageDep,
    min_position: MinPosition = None,
) -> RewardPageOut:
    """The venue's rewards in the order they were listed: name, cost, the stock left (after
    every reservation, cancellation, expiry and hand-out the view has read) and the limit
    per volunteer. 404 for an unknown organisation, 422 `not-a-venue` for one that is not a
    venue.

    Who: the venue's desk; a coordinator of the venue or above; an auditor; an admin."""
    found = q.rewards.at_venue(ctx, venue_id, page, min_position)
    return RewardPageOut(
        venue_id=found.venue_id,
        items=[
            ListedRewardOut(
                id=r.id,
                name=r.name,
                cost_minutes=r.cost_minutes,
                stock=r.stock,
                per_volunteer_limit=r.per_volunteer_limit,
            )
            for r in found.items
        ],
        next_cursor=found.next_cursor,
        position=found.position,
    )


@router.get(
    "/v1/rewards/{reward_id}", response_model=RewardOut, tags=["rewards"], summary="Get a reward"
)
def get_reward(reward_id: UUID, q: QueriesDep, _: ActorDep) -> RewardOut:
    """A reward with its cost and the stock left.

    Who: any role."""
    reward = q.aggregates.reward(reward_id)
    return RewardOut(
        id=reward.id,
        venue_id=reward.venue_id,
        name=reward.name,
        cost_minutes=reward.cost_minutes,
        stock=reward.stock,
        per_volunteer_limit=reward.per_volunteer_limit,
    )


@router.post(
    "/v1/redemptions",
    status_code=201,
    response_model=ReservationOut,
    tags=["redemptions"],
    summary="Reserve a reward",
    responses={429: {"description": "Too many requests"}},
)
async def redeem(body: RedemptionIn, run: CommanderDep) -> dict[str, object]:
    """Reserves `quantity` of a reward for a volunteer: holds the credits and the stock, and
    answers when the reservation expires unless fulfilled, and the redemption code when the
    volunteer (or an admin) reserved. A 409 when the balance or the stock does not cover it.

    Who: the volunteer themself; the desk of the reward's venue only with the volunteer's
    `pin` (403 `pin-required` without, 403 `wrong-pin`, 409 `pin-not-set`; the code is then
    not answered to the desk); an admin. Wrong PINs are counted per volunteer and per caller:
    past the deployment's guess limit, a 429 with Retry-After until the window has passed."""
    return await run.create(
        Redeem(**body.model_dump()), lambda made: f"/v1/redemptions/{made['id']}"
    )


@router.get(
    "/v1/redemptions/{redemption_id}",
    response_model=RedemptionDetailOut,
    tags=["redemptions"],
    summary="Get a redemption",
)
def get_redemption(redemption_id: UUID, q: QueriesDep, ctx: ContextDep) -> RedemptionDetailOut:
    """A redemption and its state.

    Who: the volunteer themself; the desk of the reward's venue; an auditor; an admin. The
    code is shown to the volunteer and admins only (null to the desk and the auditor)."""
    found = q.aggregates.redemption(ctx, redemption_id)
    redemption, holder = found.redemption, found.holder
    return RedemptionDetailOut(
        id=redemption.id,
        volunteer_id=redemption.volunteer_id,
        reward_id=redemption.reward_id,
        venue_id=redemption.venue_id,
        quantity=redemption.quantity,
        minutes=redemption.minutes,
        status=redemption.status,
        expires_at=redemption.expires_at,
        code=redemption.code if holder else None,
    )


@router.post(
    "/v1/redemptions/{redemption_id}/fulfil",
    response_model=FulfilmentOut,
    tags=["redemptions"],
    summary="Hand a reserved reward out",
    responses={429: {"description": "Too many requests"}},
)
async def fulfil_redemption(
    redemption_id: UUID, body: FulfilIn, run: CommanderDep
) -> dict[str, object]:
    """Hands the reward out against a secret only the volunteer holds: the redemption `code`
    the volunteer shows, or the volunteer's `pin`. The held credits are posted to the venue.
    A redemption is fulfilled at most once; a wrong code, or a redemption no longer reserved,
    is a 409, a wrong PIN a 403. Wrong codes and PINs are counted per redemption, per
    volunteer and per caller: past the deployment's guess limit, a 429 with Retry-After.

    Who: the desk of the reward's venue; an admin."""
    return await run.run(FulfilRedemption(redemption_id, body.code, body.pin))


@router.post(
    "/v1/redemptions/{redemption_id}/cancel",
    response_model=RedemptionStateOut,
    tags=["redemptions"],
    summary="Cancel a reservation",
)
async def cancel_redemption(
    redemption_id: UUID, run: CommanderDep, body: ReasonIn | None = None
) -> dict[str, object]:
    """Cancels a reservation (the body, with a reason, may be left out): the held credits
    and stock are released. A redemption no longer reserved is a 409.

    Who: the volunteer themself; the desk of the reward's venue; an admin."""
    return await run.run(CancelRedemption(redemption_id, body.reason if body else ""))
