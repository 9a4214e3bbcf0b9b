from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.deps import CommanderDep, ContextDep, MinPosition, RuntimeDep, wait_for_position
from api.openapi import location
from api.pagination import PageDep
from api.problems import ProblemError
from api.schemas.accounts import (
    AccountOut,
    StatementEntryOut,
    StatementOut,
    TransferIn,
    TransferOut,
)
from api.schemas.common import Moment
from ledger.commands.exchange import Transfer
from ledger.commands.permissions import require_account_reader
from ledger.volunteers import Volunteer
from projections.balances.projection import BalancesProjection
from projections.balances.queries import AccountRow, statement, volunteer_account_row

router = APIRouter(tags=["accounts"])
READERS = """Who: the volunteer themself; any desk; a coordinator of the volunteer's home
organisation or above; an auditor; an admin."""
BALANCES = BalancesProjection.name


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
    rt: RuntimeDep,
    ctx: ContextDep,
    min_position: MinPosition = None,
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
    rt: RuntimeDep,
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
    volunteer = rt.service.load(Volunteer, volunteer_id, "volunteer")
    reader = rt.service.reader(ctx)
    require_account_reader(reader, ctx.actor, volunteer.id, volunteer.home_org_id)
    if since is not None and until is not None and until < since:
        raise ProblemError(422, "invalid-period", "`to` must not be before `from`")
    after = page.after((int, int))
    wait_for_position(rt, BALANCES, min_position)
    position = rt.runner.position(BALANCES)
    found = statement(rt.db, volunteer.id, page.limit, after, since, until, as_of)
    entries, next_cursor = page.of(found.entries, lambda e: e.key)
    return StatementOut(
        volunteer_id=volunteer.id,
        as_of=as_of,
        balance_as_of=found.balance_as_of,
        opening_balance=found.balance_before,
        closing_balance=entries[-1].balance if entries else found.balance_before,
        entries=[StatementEntryOut.model_validate(e) for e in entries],
        next_cursor=next_cursor,
        position=position,
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
