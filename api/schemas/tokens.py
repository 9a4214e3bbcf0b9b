"""Bodies of the token endpoints: what an admin sees of a token (never the token or its hash)."""

from uuid import UUID

from pydantic import AwareDatetime, Field

from api.schemas.common import NextCursor, Out
from ledger.context import Role


class TokenOut(Out):
    id: UUID
    name: str
    role: Role
    scope_id: UUID | None = Field(
        None, description="the organisation of a coordinator, the venue of a desk, the volunteer"
    )
    created_at: AwareDatetime
    expires_at: AwareDatetime | None = Field(
        None, description="from then on the token is refused (null: a row made by hand, refused)"
    )
    revoked_at: AwareDatetime | None = Field(None, description="null while it is not revoked")


class TokenPageOut(Out):
    items: list[TokenOut]
    next_cursor: NextCursor
