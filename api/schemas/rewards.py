"""Bodies of the rewards and redemptions routes."""

from typing import Annotated
from uuid import UUID

from pydantic import (
    AwareDatetime,
    Field,
    StrictInt,
    model_validator,
)

from api.schemas.common import (
    Body,
    Code,
    Integral,
    Name,
    NextCursor,
    Out,
    Pin,
    Positioned,
    within,
)
from ledger import bounds
from ledger.rewards import RedemptionStatus


class RewardIn(Body):
    venue_id: UUID
    name: Name
    cost_minutes: Annotated[StrictInt, within(bounds.COST_MINUTES), Integral]
    stock: Annotated[StrictInt, within(bounds.STOCK), Integral]
    per_volunteer_limit: (
        Annotated[
            StrictInt,
            within(bounds.PER_VOLUNTEER_LIMIT, "how many one volunteer may take"),
            Integral,
        ]
        | None
    ) = None


class RewardOut(Out):
    id: UUID
    venue_id: UUID
    name: str
    cost_minutes: int
    stock: int
    per_volunteer_limit: int | None


class ListedRewardOut(Out):
    id: UUID
    name: str
    cost_minutes: int
    stock: int = Field(description="left: neither reserved nor handed out")
    per_volunteer_limit: int | None = Field(description="how many one volunteer may take")


class RewardPageOut(Out):
    venue_id: UUID
    items: list[ListedRewardOut]
    next_cursor: NextCursor
    position: int = Field(description="the log position the rewards view had read")


class RedemptionIn(Body):
    volunteer_id: UUID
    reward_id: UUID
    quantity: Annotated[StrictInt, within(bounds.QUANTITY), Integral] = 1
    pin: Pin | None = Field(
        None,
        description="the volunteer's PIN, typed by the volunteer: required when a desk "
        "reserves for them (their proof of presence)",
    )


class ReservationOut(Positioned):
    id: UUID
    status: RedemptionStatus = Field(description="the redemption's state: reserved")
    code: str | None = Field(
        description="the redemption code, for the volunteer to show at the desk; null when a "
        "desk reserved (the code is the volunteer's, never the desk's)"
    )
    expires_at: AwareDatetime = Field(description="the reservation is released if not fulfilled")
    minutes: int = Field(description="the credits held: cost times quantity")


class FulfilmentOut(Positioned):
    id: UUID
    status: RedemptionStatus = Field(description="the redemption's state: fulfilled")
    minutes: int = Field(description="the credits posted to the venue")


class RedemptionStateOut(Positioned):
    id: UUID
    status: RedemptionStatus = Field(description="the redemption's state: cancelled")


class FulfilIn(Body):
    code: Code | None = Field(
        None, description="the redemption code the volunteer shows (give this or `pin`)"
    )
    pin: Pin | None = Field(None, description="or the volunteer's PIN, typed by the volunteer")

    @model_validator(mode="after")
    def _code_or_pin(self) -> "FulfilIn":
        if (self.code is None) == (self.pin is None):
            raise ValueError("give the redemption code or the volunteer's PIN (one of them)")
        return self


class RedemptionDetailOut(Out):
    id: UUID
    volunteer_id: UUID
    reward_id: UUID
    venue_id: UUID
    quantity: int
    minutes: int
    status: RedemptionStatus
    expires_at: AwareDatetime
    code: str | None = Field(
        None,
        description="shown to the volunteer and admins; null to others (a desk too: it "
        "fulfils with the code the volunteer shows)",
    )
