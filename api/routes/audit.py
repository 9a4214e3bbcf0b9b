"""Audit trails of a volunteer, an activity and a redemption: every event that concerns
them, in log order, with who did it, in which role, when, why and in which request."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.deps import ContextDep, RuntimeDep, wait_for_position
from api.pagination import Cursor, Limit, decode_cursor, paginate
from api.problems import ProblemError
from api.schemas import AuditEntryOut, AuditTrailOut
from ledger.activities import Activity
from ledger.audit import Actor, Role
from ledger.errors import Forbidden
from ledger.permissions import coordinates, is_self
from ledger.rewards import Redemption
from ledger.unit_of_work import UnitOfWork
from ledger.volunteers import Volunteer
from projections.audit import ACTIVITY, REDEMPTION, VOLUNTEER, AuditProjection
from projections.queries import audit_trail
from timebank.runtime import Runtime

router = APIRouter(tags=["audit trails"])
AUDIT = AuditProjection.name
MinPosition = Annotated[
    int | None, Query(ge=0, description="wait until this log position is reflected")
]


def require_audit_reader(
    reader: UnitOfWork, actor: Actor, org_id: UUID, volunteer_id: UUID | None = None
) -> None:
    """Auditors and admins; coordinators of `org_id` or above; the volunteer concerned."""
    if actor.role is Role.AUDITOR or coordinates(reader, actor, org_id):
        return
    if volunteer_id is not None and is_self(actor, volunteer_id):
        return
    raise Forbidden("outside-scope", "this audit trail is outside your scope")


def _trail(
    rt: Runtime,
    kind: str,
    subject_id: UUID,
    limit: int,
    cursor: str | None,
    min_position: int | None,
) -> AuditTrailOut:
    key = decode_cursor(cursor)
    if key is not None and (len(key) != 1 or type(key[0]) is not int):
        raise ProblemError(422, "invalid-cursor", "the cursor is not one this API gave out")
    wait_for_position(rt, AUDIT, min_position)
    position = rt.runner.position(AUDIT)
    rows = audit_trail(rt.db, kind, subject_id, limit, key[0] if key else None)
    page, next_cursor = paginate(rows, limit, lambda row: (row.position,))
    return AuditTrailOut(
        subject_kind=kind,
        subject_id=subject_id,
        entries=[
            AuditEntryOut(
                position=row.position,
                event_type=row.event_type,
                aggregate_id=UUID(row.aggregate_id),
                aggregate_version=row.aggregate_version,
                actor=row.actor,
                role=row.role,
                request_id=row.request_id,
                occurred_at=row.occurred_at,
                recorded_at=row.recorded_at,
                reason=row.reason,
                details=row.details,
            )
            for row in page
        ],
        next_cursor=next_cursor,
        position=position,
    )


@router.get("/v1/volunteers/{volunteer_id}/audit-trail", response_model=AuditTrailOut)
def volunteer_trail(
    volunteer_id: UUID,
    rt: RuntimeDep,
    ctx: ContextDep,
    limit: Limit = 100,
    cursor: Cursor = None,
    min_position: MinPosition = None,
) -> AuditTrailOut:
    volunteer = rt.service.load(Volunteer, volunteer_id, "volunteer")
    require_audit_reader(rt.service.reader(ctx), ctx.actor, volunteer.home_org_id, volunteer.id)
    return _trail(rt, VOLUNTEER, volunteer.id, limit, cursor, min_position)


@router.get("/v1/activities/{activity_id}/audit-trail", response_model=AuditTrailOut)
def activity_trail(
    activity_id: UUID,
    rt: RuntimeDep,
    ctx: ContextDep,
    limit: Limit = 100,
    cursor: Cursor = None,
    min_position: MinPosition = None,
) -> AuditTrailOut:
    activity = rt.service.load(Activity, activity_id, "activity")
    require_audit_reader(rt.service.reader(ctx), ctx.actor, activity.org_id)
    return _trail(rt, ACTIVITY, activity.id, limit, cursor, min_position)


@router.get("/v1/redemptions/{redemption_id}/audit-trail", response_model=AuditTrailOut)
def redemption_trail(
    redemption_id: UUID,
    rt: RuntimeDep,
    ctx: ContextDep,
    limit: Limit = 100,
    cursor: Cursor = None,
    min_position: MinPosition = None,
) -> AuditTrailOut:
    redemption = rt.service.load(Redemption, redemption_id, "redemption")
    require_audit_reader(
        rt.service.reader(ctx), ctx.actor, redemption.venue_id, redemption.volunteer_id
    )
    return _trail(rt, REDEMPTION, redemption.id, limit, cursor, min_position)
