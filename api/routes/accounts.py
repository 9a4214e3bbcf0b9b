from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from api.deps import CommanderDep, ContextDep, RuntimeDep, wait_for_position
from api.pagination import Cursor, Limit, decode_cursor, paginate
from api.problems import ProblemError
from api.schemas import (
    AccountOut,
    StatementEntryOut,
    StatementOut,
    TransferIn,
    TransferOut,
)
from ledger.commands import Transfer
from ledger.permissions import require_account_reader
from ledger.volunteers import Volunteer
from projections.balances import BalancesProjection
from projections.queries import AccountRow, Entry, statement, volunteer_account_row

router = APIRouter(tags=["accounts and transfers"])
BALANCES = BalancesProjection.name
MinPosition = Annotated[
    int | None, Query(ge=0, description="wait until this log position is reflected")
]


@router.get("/v1/accounts/{volunteer_id}", response_model=AccountOut)
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


def _entry_key(cursor: str | None) -> tuple[int, int] | None:
    key = decode_cursor(cursor)
    if key is None:
        return None
    if len(key) != 2 or not all(type(k) is int for k in key):
        raise ProblemError(422, "invalid-cursor", "the cursor is not one this API gave out")
    return (key[0], key[1])


@router.get("/v1/accounts/{volunteer_id}/statement", response_model=StatementOut)
def get_statement(
    volunteer_id: UUID,
    rt: RuntimeDep,
    ctx: ContextDep,
    since: Annotated[
        AwareDatetime | None,
        Query(alias="from", description="entries recorded at or after this moment"),
    ] = None,
    until: Annotated[
        AwareDatetime | None, Query(alias="to", description="entries recorded before this moment")
    ] = None,
    as_of: Annotated[
        AwareDatetime | None, Query(description="also give the balance at this past moment")
    ] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
    min_position: MinPosition = None,
) -> StatementOut:
    """The account's entries (one per posting touching it) in log order, each with the
    running balance after it."""
    volunteer = rt.service.load(Volunteer, volunteer_id, "volunteer")
    reader = rt.service.reader(ctx)
    require_account_reader(reader, ctx.actor, volunteer.id, volunteer.home_org_id)
    if since is not None and until is not None and until < since:
        raise ProblemError(422, "invalid-period", "`to` must not be before `from`")
    after = _entry_key(cursor)
    wait_for_position(rt, BALANCES, min_position)
    position = rt.runner.position(BALANCES)
    found = statement(rt.db, volunteer.id, limit, after, since, until, as_of)
    entries, next_cursor = paginate(found.entries, limit, lambda e: e.key)
    return StatementOut(
        volunteer_id=volunteer.id,
        as_of=as_of,
        balance_as_of=found.balance_as_of,
        opening_balance=found.balance_before,
        closing_balance=entries[-1].balance if entries else found.balance_before,
        entries=[_entry_out(e) for e in entries],
        next_cursor=next_cursor,
        position=position,
    )


def _entry_out(entry: Entry) -> StatementEntryOut:
    return StatementEntryOut(
        position=entry.position,
        posting_id=entry.posting_id,
        kind=entry.kind,
        amount_minutes=entry.amount,
        balance_minutes=entry.balance,
        counterparty=entry.counterparty,
        memo=entry.memo,
        reference=entry.reference,
        occurred_at=entry.occurred_at,
        recorded_at=entry.recorded_at,
    )


@router.post("/v1/transfers", status_code=201, response_model=TransferOut)
def transfer(body: TransferIn, run: CommanderDep) -> dict[str, object]:
    return run.run(Transfer(**body.model_dump()))
