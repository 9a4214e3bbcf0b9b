"""An organisation subtree's work lists, each over the organisation and everything below it.

Who, for each: a coordinator of the organisation or above, an auditor, an admin. 404 for an
unknown organisation."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.deps import ContextDep, MinPosition, QueriesDep
from api.pagination import PageDep
from api.schemas.worklist import (
    ActivityEntryOut,
    ActivityListOut,
    ActivityStatus,
    BackfillEntryOut,
    BackfillListOut,
    BackfillStatus,
    DisputeEntryOut,
    DisputeListOut,
    DisputeStatus,
    OrgEntryOut,
    SignupEntryOut,
    SignupListOut,
    SignupStatus,
    SubtreeOut,
)

router = APIRouter(prefix="/v1/organisations/{org_id}")


@router.get(
    "/subtree",
    response_model=SubtreeOut,
    tags=["organisations"],
    summary="List an organisation and those below it",
)
def subtree(
    org_id: UUID, q: QueriesDep, ctx: ContextDep, page: PageDep, min_position: MinPosition = None
) -> SubtreeOut:
    """The organisation (depth 0) and every one below it, depth first, by name within a
    parent."""
    found = q.worklist.subtree(ctx, org_id, page, min_position)
    return SubtreeOut(
        items=[OrgEntryOut.model_validate(e) for e in found.entries],
        next_cursor=found.next_cursor,
        position=found.position,
    )


@router.get(
    "/activities",
    response_model=ActivityListOut,
    tags=["activities"],
    summary="List the activities of an organisation subtree",
)
def activities(
    org_id: UUID,
    q: QueriesDep,
    ctx: ContextDep,
    page: PageDep,
    status: Annotated[ActivityStatus | None, Query(description="only these")] = None,
    min_position: MinPosition = None,
) -> ActivityListOut:
    """The activities organised in the subtree, the latest start first, with the seats taken
    and waitlisted now."""
    found = q.worklist.activities(ctx, org_id, status, page, min_position)
    return ActivityListOut(
        items=[ActivityEntryOut.model_validate(e) for e in found.entries],
        next_cursor=found.next_cursor,
        position=found.position,
    )


@router.get(
    "/signups",
    response_model=SignupListOut,
    tags=["signups"],
    summary="List the signups to an organisation subtree's activities",
)
def signups(
    org_id: UUID,
    q: QueriesDep,
    ctx: ContextDep,
    page: PageDep,
    status: Annotated[SignupStatus | None, Query(description="only these")] = None,
    min_position: MinPosition = None,
) -> SignupListOut:
    """The signups to the subtree's activities, the one longest in its status first. With
    `status=checked_out`: the verification queue."""
    found = q.worklist.signups(ctx, org_id, status, page, min_position)
    return SignupListOut(
        items=[SignupEntryOut.model_validate(e) for e in found.entries],
        next_cursor=found.next_cursor,
        position=found.position,
    )


@router.get(
    "/backfills",
    response_model=BackfillListOut,
    tags=["backfills"],
    summary="List the back-fills of an organisation subtree",
)
def backfills(
    org_id: UUID,
    q: QueriesDep,
    ctx: ContextDep,
    page: PageDep,
    status: Annotated[BackfillStatus | None, Query(description="only these")] = None,
    min_position: MinPosition = None,
) -> BackfillListOut:
    """The back-fills submitted for the subtree, the first submitted first, each with who
    submitted it (someone else must approve it)."""
    found = q.worklist.backfills(ctx, org_id, status, page, min_position)
    return BackfillListOut(
        items=[BackfillEntryOut.model_validate(e) for e in found.entries],
        next_cursor=found.next_cursor,
        position=found.position,
    )


@router.get(
    "/disputes",
    response_model=DisputeListOut,
    tags=["disputes"],
    summary="List the disputes of an organisation subtree's records",
)
def disputes(
    org_id: UUID,
    q: QueriesDep,
    ctx: ContextDep,
    page: PageDep,
    status: Annotated[DisputeStatus | None, Query(description="only these")] = None,
    min_position: MinPosition = None,
) -> DisputeListOut:
    """The disputes of service the subtree recorded, the first opened first."""
    found = q.worklist.disputes(ctx, org_id, status, page, min_position)
    return DisputeListOut(
        items=[DisputeEntryOut.model_validate(e) for e in found.entries],
        next_cursor=found.next_cursor,
        position=found.position,
    )
