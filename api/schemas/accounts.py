"""Bodies of the accounts routes: accounts, transfers, statements."""

from typing import Annotated
from uuid import UUID

from pydantic import (
    AliasChoices,
    AwareDatetime,
    Field,
    StrictInt,
)

from api.schemas.common import (
    Body,
    Integral,
    NextCursor,
    Out,
    Positioned,
    PostingKind,
    Text,
    View,
    ViewPosition,
    within,
)
from ledger import bounds
from ledger.accounts import TransferKind


class AccountOut(Out):
    volunteer_id: UUID
    available_minutes: int
    reserved_minutes: int
    balance_minutes: int = Field(description="posted balance: available plus reserved")
    earned_minutes: int
    spent_minutes: int
    service_minutes: int
    stars: int
    position: ViewPosition


class TransferIn(Body):
    from_volunteer_id: UUID
    to_volunteer_id: UUID | None = None
    to_org_id: UUID | None = None
    minutes: Annotated[StrictInt, within(bounds.TRANSFER_MINUTES), Integral]
    kind: TransferKind
    memo: Text = ""


class TransferOut(Positioned):
    id: str
    debit_account: str
    credit_account: str
    minutes: int
    kind: TransferKind


class StatementEntryOut(View):
    position: int = Field(description="log position of the event that made the posting")
    posting_id: str
    kind: PostingKind
    amount_minutes: int = Field(
        description="signed: negative when the account is debited",
        validation_alias=AliasChoices("amount_minutes", "amount"),
    )
    balance_minutes: int = Field(
        description="the account's running balance after this entry",
        validation_alias=AliasChoices("balance_minutes", "balance"),
    )
    counterparty: str = Field(description="the other account of the posting")
    memo: str
    reference: str | None = Field(
        None, description="what it is for: the signup, back-fill or redemption"
    )
    occurred_at: AwareDatetime = Field(description="business time")
    recorded_at: AwareDatetime = Field(description="record time (`from`, `to`, `as_of` use it)")


class StatementOut(Out):
    volunteer_id: UUID
    as_of: AwareDatetime | None = None
    balance_as_of: int | None = Field(
        None, description="the posted balance at `as_of`: 0 before the first entry"
    )
    opening_balance: int = Field(description="the balance before the first entry of this page")
    closing_balance: int = Field(description="the balance after the last entry of this page")
    entries: list[StatementEntryOut]
    next_cursor: NextCursor
    position: ViewPosition
