"""Audit trails of a volunteer, an activity and a redemption: every event that concerns
them, in log order, with who did it, in which role, when, why and in which request."""

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends

from api.deps import ContextDep, MinPosition, RuntimeDep, wait_for_position
from api.pagination import Page, PageDep
from api.schemas.audit import AuditEntryOut, AuditTrailOut
from ledger.activities import Activity
from ledger.commands.permissions import is_redemption_party, is_self, require_audit_reader
from ledger.context import Context
from ledger.rewards import Redemption
from ledger.volunteers import Volunteer
from projections.audit.projection import ACTIVITY, REDEMPTION, VOLUNTEER, AuditProjection
from projections.audit.queries import audit_trail
from timebank.runtime import Runtime

router = APIRouter(tags=["audit"])
AUDIT = AuditProjection.name


@dataclass(frozen=True)
class TrailRequest:
    """One request for a page of a trail: the caller, the page, the position to wait for."""

    rt: Runtime
    ctx: Context
    page: Page
    min_position: int | None

    def read(self, kind: str, subject_id: UUID, org_id: UUID, party: bool) -> AuditTrailOut:
        """The trail of a subject, for coordinators of `org_id` or above, auditors, admins and
        (when `party`) the caller as a party to it."""
        rt, page = self.rt, self.page
        require_audit_reader(rt.service.reader(self.ctx), self.ctx.actor, org_id, party)
        after = page.after((int,))
        wait_for_position(rt, AUDIT, self.min_position)
        position = rt.runner.position(AUDIT)
        rows = audit_trail(rt.db, kind, subject_id, page.limit, after[0] if after else None)
        entries, next_cursor = page.of(rows, lambda row: (row.position,))
        return AuditTrailOut(
            subject_kind=kind,
            subject_id=subject_id,
            entries=[AuditEntryOut.model_validate(row) for row in entries],
            next_cursor=next_cursor,
            position=position,
        )


async def trail_request(
    rt: RuntimeDep, ctx: ContextDep, page: PageDep, min_position: MinPosition = None
) -> TrailRequest:
    return TrailRequest(rt, ctx, page, min_position)


Trail = Annotated[TrailRequest, Depends(trail_request)]


@router.get(
    "/v1/volunteers/{volunteer_id}/audit-trail",
    response_model=AuditTrailOut,
    summary="Get a volunteer's audit trail",
)
def get_volunteer_audit_trail(volunteer_id: UUID, trail: Trail) -> AuditTrailOut:
    """Every event that concerns the volunteer, in log order, with who did it, in which role,
    when, why and in which request; without personal data.

    Who: the volunteer themself; a coordinator of the home organisation or above; an
    auditor; an admin."""
    volunteer = trail.rt.service.load(Volunteer, volunteer_id, "volunteer")
    party = is_self(trail.ctx.actor, volunteer.id)
    return trail.read(VOLUNTEER, volunteer.id, volunteer.home_org_id, party)


@router.get(
    "/v1/activities/{activity_id}/audit-trail",
    response_model=AuditTrailOut,
    summary="Get an activity's audit trail",
)
def get_activity_audit_trail(activity_id: UUID, trail: Trail) -> AuditTrailOut:
    """Every event of the activity and of its signups, evaluations and back-fills, in log
    order, with who did it, in which role, when, why and in which request.

    Who: a coordinator of the organising organisation or above; an auditor; an admin."""
    activity = trail.rt.service.load(Activity, activity_id, "activity")
    return trail.read(ACTIVITY, activity.id, activity.org_id, False)


@router.get(
    "/v1/redemptions/{redemption_id}/audit-trail",
    response_model=AuditTrailOut,
    summary="Get a redemption's audit trail",
)
def get_redemption_audit_trail(redemption_id: UUID, trail: Trail) -> AuditTrailOut:
    """Every event that concerns the redemption, in log order, with who did it, in which
    role, when, why and in which request; never its code.

    Who: the volunteer themself; the desk of the venue; a coordinator of the venue or above;
    an auditor; an admin."""
    redemption = trail.rt.service.load(Redemption, redemption_id, "redemption")
    party = is_redemption_party(trail.ctx.actor, redemption.volunteer_id, redemption.venue_id)
    return trail.read(REDEMPTION, redemption.id, redemption.venue_id, party)
