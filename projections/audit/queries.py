"""Reads of the audit view: the trail of a subject."""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from ledger.activities import Activity
from ledger.commands.permissions import is_redemption_party, is_self, require_audit_reader
from ledger.context import Context
from ledger.rewards import Redemption
from ledger.volunteers import Volunteer
from projections.audit.projection import ACTIVITY, REDEMPTION, VOLUNTEER, AuditProjection
from projections.db import Database
from projections.pagination import Page
from projections.reads import Views

NAME = AuditProjection.name


@dataclass(frozen=True)
class AuditRow:
    position: int
    event_type: str
    aggregate_id: str
    aggregate_version: int
    actor: str
    role: str
    request_id: str
    occurred_at: datetime
    recorded_at: datetime
    reason: str | None
    details: dict[str, Any]


def audit_trail(
    db: Database, subject_kind: str, subject_id: UUID, limit: int, after: int | None = None
) -> list[AuditRow]:
    """At most limit + 1 events of the subject's trail in log order, after position `after`."""
    with db.read() as cur:
        cur.execute(
            "SELECT position, event_type, aggregate_id, aggregate_version, actor, role, "
            "request_id, occurred_at, recorded_at, reason, details FROM tb_audit_trail "
            "WHERE subject_kind = %s AND subject_id = %s AND position > %s "
            "ORDER BY position LIMIT %s",
            (subject_kind, str(subject_id), after or 0, limit + 1),
        )
        rows = cur.fetchall()
    return [
        AuditRow(
            int(r[0]),
            str(r[1]),
            str(r[2]),
            int(r[3]),
            str(r[4]),
            str(r[5]),
            str(r[6]),
            datetime.fromisoformat(r[7]),
            datetime.fromisoformat(r[8]),
            None if r[9] is None else str(r[9]),
            json.loads(r[10]),
        )
        for r in rows
    ]


# Queries ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrailPage:
    subject_kind: str
    subject_id: UUID
    entries: list[AuditRow]
    next_cursor: str | None
    position: int


class AuditQueries:
    """The trails of a volunteer, an activity and a redemption, for coordinators of the
    organisation they belong to or above, auditors, admins and the parties to them."""

    def __init__(self, views: Views) -> None:
        self.views = views

    def _page(
        self,
        ctx: Context,
        kind: str,
        subject_id: UUID,
        org_id: UUID,
        party: bool,
        page: Page,
        min_position: int | None,
    ) -> TrailPage:
        """The trail of a subject, for coordinators of `org_id` or above, auditors, admins and
        (when `party`) the caller as a party to it."""
        views = self.views
        require_audit_reader(views.aggregates.reader(ctx), ctx.actor, org_id, party)
        after = page.after((int,))
        views.wait(NAME, min_position)
        position = views.position(NAME)
        rows = audit_trail(views.db, kind, subject_id, page.limit, after[0] if after else None)
        entries, next_cursor = page.of(rows, lambda row: (row.position,))
        return TrailPage(kind, subject_id, entries, next_cursor, position)

    def volunteer(
        self, ctx: Context, volunteer_id: UUID, page: Page, min_position: int | None
    ) -> TrailPage:
        volunteer = self.views.aggregates.load(Volunteer, volunteer_id, "volunteer")
        party = is_self(ctx.actor, volunteer.id)
        return self._page(
            ctx, VOLUNTEER, volunteer.id, volunteer.home_org_id, party, page, min_position
        )

    def activity(
        self, ctx: Context, activity_id: UUID, page: Page, min_position: int | None
    ) -> TrailPage:
        activity = self.views.aggregates.load(Activity, activity_id, "activity")
        return self._page(ctx, ACTIVITY, activity.id, activity.org_id, False, page, min_position)

    def redemption(
        self, ctx: Context, redemption_id: UUID, page: Page, min_position: int | None
    ) -> TrailPage:
        redemption = self.views.aggregates.load(Redemption, redemption_id, "redemption")
        party = is_redemption_party(ctx.actor, redemption.volunteer_id, redemption.venue_id)
        return self._page(
            ctx, REDEMPTION, redemption.id, redemption.venue_id, party, page, min_position
        )
