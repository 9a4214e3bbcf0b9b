from uuid import UUID

from fastapi import APIRouter

from api.deps import ActorDep, IdempotencyKeyHeader, RuntimeDep
from api.pagination import PageDep
from api.schemas.tokens import TokenOut, TokenPageOut
from timebank.tokens import TokenInfo

router = APIRouter(prefix="/v1/tokens", tags=["tokens"])


def _out(token: TokenInfo) -> TokenOut:
    return TokenOut(
        id=token.id,
        name=token.name,
        role=token.role,
        scope_id=token.scope_id,
        created_at=token.created_at,
        expires_at=token.expires_at,
        revoked_at=token.revoked_at,
    )


@router.get("", response_model=TokenPageOut, summary="List the API tokens")
def list_tokens(rt: RuntimeDep, actor: ActorDep, page: PageDep) -> TokenPageOut:
    """The API tokens, oldest first: name, role, scope, when each was made, expires and was
    revoked; never a token or its hash.

    Who: an admin."""
    tokens, cursor = rt.tokens.list_tokens(actor, page)
    return TokenPageOut(items=[_out(t) for t in tokens], next_cursor=cursor)


@router.post("/{token_id}/revoke", response_model=TokenOut, summary="Revoke an API token")
def revoke_token(
    token_id: UUID, rt: RuntimeDep, actor: ActorDep, _key: IdempotencyKeyHeader = None
) -> TokenOut:
    """Revokes the token: every process refuses it (401) within a second. Revoking it again
    changes nothing and answers the same (`revoked_at` of the first revocation), so a retry
    is safe with or without an `Idempotency-Key`.

    Who: an admin."""
    return _out(rt.tokens.revoke(actor, token_id))
