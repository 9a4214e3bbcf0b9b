from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.deps import CommanderDep, ContextDep, RuntimeDep, wait_for_position
from api.schemas import AccountOut, TransferIn, TransferOut
from ledger.commands import Transfer
from ledger.permissions import require_account_reader
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
    reader = rt.service.reader(ctx)
    require_account_reader(reader, ctx.actor, volunteer.id, volunteer.home_org_id)
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
