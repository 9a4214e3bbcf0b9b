from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.deps import CommanderDep, ContextDep, RuntimeDep, wait_for_position
from api.schemas import AccountOut, TransferIn, TransferOut
from ledger.audit import Role
from ledger.commands import Transfer
from ledger.errors import Forbidden
from ledger.permissions import coordinates, is_self
from ledger.volunteers import Volunteer
from projections.balances import BalancesProjection
from projections.queries import AccountRow, volunteer_account_row

router = APIRouter(tags=["accounts and transfers"])
BALANCES = BalancesProjection.name


@router.get("/v1/accounts/{volunteer_id}", response_model=AccountOut)
def get_account(
    volunteer_id: UUID,
    rt: RuntimeDep,
    ctx: ContextDep,
    min_position: Annotated[
        int | None, Query(ge=0, description="wait until this log position is reflected")
    ] = None,
) -> AccountOut:
    volunteer = rt.service.load(Volunteer, volunteer_id, "volunteer")
    actor = ctx.actor
    if not (
        is_self(actor, volunteer.id)
        or actor.role in (Role.DESK, Role.AUDITOR)
        or coordinates(rt.service.reader(ctx), actor, volunteer.home_org_id)
    ):
        raise Forbidden("outside-scope", "this account belongs to someone else")
    wait_for_position(rt, BALANCES, min_position)
    row = volunteer_account_row(rt.db, volunteer.id) or AccountRow(0, 0, 0, 0, 0)
    return AccountOut(
        volunteer_id=volunteer.id,
        available_minutes=row.available,
        reserved_minutes=row.reserved,
        balance_minutes=row.balance,
        earned_minutes=row.earned,
        spent_minutes=row.spent,
        service_minutes=row.service_minutes,
        stars=rt.settings.rules.stars(row.service_minutes),
        position=rt.runner.position(BALANCES),
    )


@router.post("/v1/transfers", status_code=201, response_model=TransferOut)
def transfer(body: TransferIn, run: CommanderDep) -> dict[str, object]:
    return run.run(Transfer(**body.model_dump()))
