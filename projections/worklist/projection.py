"""The worklist: for each organisation subtree, its activities (published, then completed),
the signups to them by status (the checked-out ones are the verification queue), the
back-fills by status with who submitted them, and the disputes by status; and the
organisation tree they are listed by.

- An organisation is listed under each of its ancestors and itself (its depth below each),
  ordered by the names from the root down (`trail`).
- A signup's status is its latest: accepted or waitlisted when requested or renewed,
  accepted when promoted, cancelled, checked_in, checked_out (also when the system closed
  it), verified (approved or adjusted) or rejected. Its minutes are none until check-out,
  then the measured minutes, then the verified ones (a rejection keeps the measured), then
  each correction's. Its `status_position` is the position of the event that gave it its
  status: the lists' order.
- A back-fill's minutes are the submitted ones, then the approved, then each correction's.
- A dispute is open, then corrected or dismissed.
Volunteers appear by id and volunteer number; nothing personal is kept here."""

from typing import Any

from eventsourcing.domain import DomainEventProtocol

from ledger.activities import Activity
from ledger.backfills import Backfill
from ledger.disputes import Dispute
from ledger.organisations import Organisation
from ledger.signups import Decision, Signup
from ledger.volunteers import Volunteer
from projections.base import ProjectionCursor, topic
from projections.db import utc_text

NAME = "worklist"
TRAIL_SEPARATOR = "\x1f"
SIGNUP_COLUMNS = (
    "id",
    "activity_id",
    "org_id",
    "volunteer_id",
    "status",
    "checked_in_at",
    "checked_out_at",
    "minutes",
    "status_position",
)
ACTIVITY_COLUMNS = (
    "id",
    "org_id",
    "title",
    "category",
    "campaign",
    "starts_at",
    "ends_at",
    "capacity",
    "status",
    "beneficiaries",
)
BACKFILL_COLUMNS = (
    "id",
    "org_id",
    "volunteer_id",
    "category",
    "started_at",
    "ended_at",
    "minutes",
    "status",
    "submitted_by",
    "submitted_at",
    "position",
)
DISPUTE_COLUMNS = (
    "id",
    "org_id",
    "volunteer_id",
    "source_id",
    "source_kind",
    "previous_minutes",
    "status",
    "opened_at",
    "position",
)
EVENTS = (
    Organisation.Registered,
    Volunteer.Registered,
    Activity.Published,
    Activity.Completed,
    Signup.Requested,
    Signup.Renewed,
    Signup.Promoted,
    Signup.Cancelled,
    Signup.CheckedIn,
    Signup.CheckedOut,
    Signup.CheckOutMissed,
    Signup.Verified,
    Signup.Corrected,
    Backfill.Submitted,
    Backfill.Approved,
    Backfill.Rejected,
    Backfill.Corrected,
    Dispute.Opened,
    Dispute.Resolved,
)


class WorklistProjection:
    name = NAME
    topics = frozenset(topic(c) for c in EVENTS)
    tables: tuple[str, ...] = (
        "tb_work_orgs",
        "tb_work_org_tree",
        "tb_work_volunteers",
        "tb_work_activities",
        "tb_work_signups",
        "tb_work_backfills",
        "tb_work_disputes",
    )

    def apply(self, cur: ProjectionCursor, event: DomainEventProtocol[Any], position: int) -> None:
        entity = str(event.originator_id)
        match event:
            case Organisation.Registered():
                self._organisation(cur, event, entity)
            case Volunteer.Registered():
                cur.insert("tb_work_volunteers", ("id", "number"), [(entity, event.number)])
            case Activity.Published():
                row = (
                    entity,
                    str(event.org_id),
                    event.title,
                    event.category,
                    event.campaign,
                    utc_text(event.starts_at),
                    utc_text(event.ends_at),
                    event.capacity,
                    "published",
                    None,
                )
                cur.insert("tb_work_activities", ACTIVITY_COLUMNS, [row])
            case Activity.Completed():
                cur.execute(
                    "UPDATE tb_work_activities SET status = 'completed', beneficiaries = %s "
                    "WHERE id = %s",
                    (event.beneficiaries, entity),
                )
            case Signup.Requested():
                signup = (
                    entity,
                    str(event.activity_id),
                    str(event.org_id),
                    str(event.volunteer_id),
                    event.status,
                    None,
                    None,
                    None,
                    position,
                )
                cur.insert("tb_work_signups", SIGNUP_COLUMNS, [signup])
            case Signup.Renewed():
                self._signup(cur, entity, position, event.status)
            case Signup.Promoted():
                self._signup(cur, entity, position, "accepted")
            case Signup.Cancelled():
                self._signup(cur, entity, position, "cancelled")
            case Signup.CheckedIn():
                self._signup(cur, entity, position, "checked_in", checked_in_at=event.at)
            case Signup.CheckedOut():  # CheckOutMissed too
                self._signup(
                    cur,
                    entity,
                    position,
                    "checked_out",
                    checked_out_at=event.at,
                    minutes=event.minutes,
                )
            case Signup.Verified() if event.decision == Decision.REJECT:
                self._signup(cur, entity, position, "rejected")
            case Signup.Verified():
                self._signup(cur, entity, position, "verified", minutes=event.minutes)
            case Signup.Corrected():
                cur.execute(
                    "UPDATE tb_work_signups SET minutes = %s WHERE id = %s", (event.minutes, entity)
                )
            case Backfill.Submitted():
                backfill = (
                    entity,
                    str(event.org_id),
                    str(event.volunteer_id),
                    event.category,
                    utc_text(event.started_at),
                    utc_text(event.ended_at),
                    event.minutes,
                    "submitted",
                    event.actor,
                    utc_text(event.occurred_at),
                    position,
                )
                cur.insert("tb_work_backfills", BACKFILL_COLUMNS, [backfill])
            case Backfill.Approved():
                self._backfill(cur, entity, "approved", event.minutes)
            case Backfill.Rejected():
                self._backfill(cur, entity, "rejected", None)
            case Backfill.Corrected():
                self._backfill(cur, entity, None, event.minutes)
            case Dispute.Opened():
                dispute = (
                    entity,
                    str(event.org_id),
                    str(event.volunteer_id),
                    str(event.source_id),
                    event.source_kind,
                    event.previous_minutes,
                    "open",
                    utc_text(event.occurred_at),
                    position,
                )
                cur.insert("tb_work_disputes", DISPUTE_COLUMNS, [dispute])
            case Dispute.Resolved():
                cur.execute(
                    "UPDATE tb_work_disputes SET status = %s WHERE id = %s",
                    (event.decision, entity),
                )

    def _organisation(self, cur: ProjectionCursor, event: Any, org_id: str) -> None:
        trail = event.name
        if event.parent_id is not None:
            cur.execute("SELECT trail FROM tb_work_orgs WHERE id = %s", (str(event.parent_id),))
            trail = cur.fetchone()[0] + TRAIL_SEPARATOR + event.name
        parent = None if event.parent_id is None else str(event.parent_id)
        cur.insert(
            "tb_work_orgs",
            ("id", "name", "kind", "parent_id", "trail"),
            [(org_id, event.name, event.kind, parent, trail)],
        )
        path = [str(a) for a in event.path]
        rows = [(ancestor, org_id, len(path) - 1 - i) for i, ancestor in enumerate(path)]
        cur.insert("tb_work_org_tree", ("ancestor_id", "org_id", "depth"), rows)

    def _signup(
        self,
        cur: ProjectionCursor,
        signup_id: str,
        position: int,
        status: str,
        **changes: Any,
    ) -> None:
        values = {name: utc_text(v) if name.endswith("_at") else v for name, v in changes.items()}
        assignments = "".join(f", {name} = %s" for name in values)
        cur.execute(
            f"UPDATE tb_work_signups SET status = %s, status_position = %s{assignments} "
            "WHERE id = %s",
            (status, position, *values.values(), signup_id),
        )

    def _backfill(
        self, cur: ProjectionCursor, backfill_id: str, status: str | None, minutes: int | None
    ) -> None:
        cur.execute(
            "UPDATE tb_work_backfills SET status = COALESCE(%s, status), "
            "minutes = COALESCE(%s, minutes) WHERE id = %s",
            (status, minutes, backfill_id),
        )
