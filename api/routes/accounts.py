from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.deps import CommanderDep, ContextDep, MinPosition, QueriesDep
from api.openapi import location
from api.pagination import PageDep
from api.schemas.accounts import (
    AccountOut,
    StatementEntryOut,
    StatementOut,
    TransferIn,
    TransferOut,
)
from api.schemas.common import Moment
from ledger.commands.exchange import Transfer

router = APIRouter(tags=["accounts"])
READERS = """Who: the volunteer themself; any desk; a coordinator of the volunteer's home
organisation or above; an auditor; an admin."""


@router.get(
    "/v1/accounts/{volunteer_id}",
    response_model=AccountOut,
    summary="Get a volunteer's account",
    description=f"""The volunteer's time credits (available, reserved by pending redemptions,
earned, spent), service time and star level, as of the balances view's `position`.

{READERS}""",
)
def get_account(
    volunteer_id: UUID,
    q: QueriesDep,
    ctx: ContextDep,
    min_position: MinPosition = None,
) -> AccountOut:
    found = q.balances.account(ctx, volunteer_id, min_position)
    row = found.row
    return AccountOut(
        volunteer_id=found.volunteer_id,
        available_minutes=row.available_minutes,
        reserved_minutes=row.reserved_minutes,
        balance_minutes=row.balance_minutes,
        earned_minutes=row.earned_minutes,
        spent_minutes=row.spent_minutes,
        service_minutes=row.service_minutes,
        stars=found.stars,
        position=found.position,
    )


@router.get(
    "/v1/accounts/{volunteer_id}/statement",
    response_model=StatementOut,
    summary="Get a volunteer's statement",
    description=f"""The account's entries (one per posting touching it) in log order, each with
the running balance after it; `from` and `to` bound them by record time, `as_of` also gives
the balance at a past moment.

{READERS}""",
)
def get_statement(
    volunteer_id: UUID,
    q: QueriesDep,
    ctx: ContextDep,
    page: PageDep,
    since: Annotated[
        Moment | None,
        Query(alias="from", description="entries recorded at or after this moment"),
    ] = None,
    until: Annotated[
        Moment | None, Query(alias="to", description="entries recorded before this moment")
    ] = None,
    as_of: Annotated[
        Moment | None, Query(description="also give the balance at this past moment")
    ] = None,
    min_position: MinPosition = None,
) -> StatementOut:
    found = q.balances.statement(ctx, volunteer_id, page, since, until, as_of, min_position)
    entries, statement = found.entries, found.statement
    return StatementOut(
        volunteer_id=found.volunteer_id,
        as_of=as_of,
        balance_as_of=statement.balance_as_of_minutes,
        opening_balance=statement.balance_before_minutes,
        closing_balance=entries[-1].balance_minutes
        if entries
        else statement.balance_before_minutes,
        entries=[StatementEntryOut.model_validate(e) for e in entries],
        next_cursor=found.next_cursor,
        position=found.position,
    )


@router.post(
    "/v1/transfers",
    status_code=201,
    response_model=TransferOut,
    summary="Transfer time credits",
    responses=location("the sender's statement, where the transfer is an entry"),
)
async def transfer_credits(body: TransferIn, run: CommanderDep) -> dict[str, object]:
    """Moves credits from a volunteer's account: a `gift` to a linked family member, a
    `donation` to an organisation's pool (`to_org_id`), or an `exchange` to another member for
    a service received (to family only under the family-only policy); never below the
    account's credit limit (0 by default).

    Who: the sending volunteer themself; a coordinator of the sender's home organisation or
    above; an admin."""
    return await run.create(
        Transfer(**body.model_dump()),
        lambda _: f"/v1/accounts/{body.from_volunteer_id}/statement",
    )
