"""Audit trails of a volunteer, an activity and a redemption: every event that concerns
them, in log order, with who did it, in which role, when, why and in which request."""

from uuid import UUID

from fastapi import APIRouter

from api.deps import ContextDep, MinPosition, QueriesDep
from api.pagination import PageDep
from api.schemas.audit import AuditEntryOut, AuditTrailOut
from projections.audit.queries import TrailPage

router = APIRouter(tags=["audit"])


def _trail(found: TrailPage) -> AuditTrailOut:
    return AuditTrailOut(
        subject_kind=found.subject_kind,
        subject_id=found.subject_id,
        entries=[AuditEntryOut.model_validate(row) for row in found.entries],
        next_cursor=found.next_cursor,
        position=found.position,
    )


@router.get(
    "/v1/volunteers/{volunteer_id}/audit-trail",
    response_model=AuditTrailOut,
    summary="Get a volunteer's audit trail",
)
def get_volunteer_audit_trail(
    volunteer_id: UUID,
    q: QueriesDep,
    ctx: ContextDep,
    page: PageDep,
    min_position: MinPosition = None,
) -> AuditTrailOut:
    """Every event that concerns the volunteer, in log order, with who did it, in which role,
    when, why and in which request; without personal data.

    Who: the volunteer themself; a coordinator of the home organisation or above; an
    auditor; an admin."""
    return _trail(q.audit.volunteer(ctx, volunteer_id, page, min_position))


@router.get(
    "/v1/activities/{activity_id}/audit-trail",
    response_model=AuditTrailOut,
    summary="Get an activity's audit trail",
)
def get_activity_audit_trail(
    activity_id: UUID,
    q: QueriesDep,
    ctx: ContextDep,
    page: PageDep,
    min_position: MinPosition = None,
) -> AuditTrailOut:
    """Every event of the activity and of its signups, evaluations and back-fills, in log
    order, with who did it, in which role, when, why and in which request.

    Who: a coordinator of the organising organisation or above; an auditor; an admin."""
    return _trail(q.audit.activity(ctx, activity_id, page, min_position))


@router.get(
    "/v1/redemptions/{redemption_id}/audit-trail",
    response_model=AuditTrailOut,
    summary="Get a redemption's audit trail",
)
def get_redemption_audit_trail(
    redemption_id: UUID,
    q: QueriesDep,
    ctx: ContextDep,
    page: PageDep,
    min_position: MinPosition = None,
) -> AuditTrailOut:
    """Every event that concerns the redemption, in log order, with who did it, in which
    role, when, why and in which request; never its code.

    Who: the volunteer themself; the desk of the venue; a coordinator of the venue or above;
    an auditor; an admin."""
    return _trail(q.audit.redemption(ctx, redemption_id, page, min_position))
