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
Volunteers appear by id and volunteer number; nothing personal is kept here.

A batch is applied in a few statements a table: the rows it changes are read once, folded
in memory event by event, and written back with the rows it creates."""

from typing import Any

from eventsourcing.domain import DomainEventProtocol

from ledger.activities import Activity
from ledger.backfills import Backfill
from ledger.disputes import Dispute
from ledger.organisations import Organisation
from ledger.signups import Decision, Signup
from ledger.volunteers import Volunteer
from projections.base import Batch, ProjectionCursor, topic
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


ORG_COLUMNS = ("id", "name", "kind", "parent_id", "trail")
TREE_COLUMNS = ("ancestor_id", "org_id", "depth")
VOLUNTEER_COLUMNS = ("id", "number")
# What each event does to the rows of a table it does not only add to: creates one, or
# changes the one of its originator.
CREATES: dict[type, str] = {
    Activity.Published: "tb_work_activities",
    Signup.Requested: "tb_work_signups",
    Backfill.Submitted: "tb_work_backfills",
    Dispute.Opened: "tb_work_disputes",
}
SIGNUP_STATUSES = (
    Signup.Renewed,
    Signup.Promoted,
    Signup.Cancelled,
    Signup.CheckedIn,
    Signup.CheckedOut,  # CheckOutMissed too
    Signup.Verified,
)
CHANGES: dict[type, str] = {
    Activity.Completed: "tb_work_activities",
    **{cls: "tb_work_signups" for cls in (*SIGNUP_STATUSES, Signup.CheckOutMissed)},
    Signup.Corrected: "tb_work_signups",
    Backfill.Approved: "tb_work_backfills",
    Backfill.Rejected: "tb_work_backfills",
    Backfill.Corrected: "tb_work_backfills",
    Dispute.Resolved: "tb_work_disputes",
}
COLUMNS = {
    "tb_work_activities": ACTIVITY_COLUMNS,
    "tb_work_signups": SIGNUP_COLUMNS,
    "tb_work_backfills": BACKFILL_COLUMNS,
    "tb_work_disputes": DISPUTE_COLUMNS,
}


class Rows:
    """The rows of one table a batch creates or changes, by id, as they will be written."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.columns = COLUMNS[table]
        self.rows: dict[str, dict[str, Any]] = {}
        self.loaded: list[str] = []  # already stored: written back over themselves

    def load(self, cur: ProjectionCursor, ids: set[str]) -> None:
        for row in cur.select_in(self.table, self.columns, "id", sorted(ids)):
            self.rows[row[0]] = dict(zip(self.columns, row, strict=True))
            self.loaded.append(row[0])

    def create(self, *values: Any) -> None:
        self.rows[values[0]] = dict(zip(self.columns, values, strict=True))

    def change(self, row_id: str, **values: Any) -> None:
        self.rows[row_id].update(values)

    def write(self, cur: ProjectionCursor) -> None:
        cur.execute_rows(
            f"DELETE FROM {self.table} WHERE id IN (SELECT v.id FROM {{rows}})",
            (("id", "text"),),
            [(row_id,) for row_id in self.loaded],
        )
        rows = [tuple(r[c] for c in self.columns) for r in self.rows.values()]
        if rows:
            cur.insert(self.table, self.columns, rows)


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
        self.apply_batch(cur, [(event, position)])

    def apply_batch(self, cur: ProjectionCursor, batch: Batch) -> None:
        tables = {table: Rows(table) for table in COLUMNS}
        created: dict[str, set[str]] = {table: set() for table in COLUMNS}
        changed: dict[str, set[str]] = {table: set() for table in COLUMNS}
        for event, _ in batch:
            if (table := CREATES.get(type(event))) is not None:
                created[table].add(str(event.originator_id))
            elif (table := CHANGES.get(type(event))) is not None:
                changed[table].add(str(event.originator_id))
        for table, rows in tables.items():
            rows.load(cur, changed[table] - created[table])
        trails = self._parent_trails(cur, batch)
        orgs: list[tuple[Any, ...]] = []
        tree: list[tuple[Any, ...]] = []
        volunteers: list[tuple[Any, ...]] = []
        for event, position in batch:
            entity = str(event.originator_id)
            if isinstance(event, Organisation.Registered):
                parent = None if event.parent_id is None else str(event.parent_id)
                trail = (
                    event.name if parent is None else trails[parent] + TRAIL_SEPARATOR + event.name
                )
                trails[entity] = trail
                orgs.append((entity, event.name, event.kind, parent, trail))
                path = [str(a) for a in event.path]
                tree += [(a, entity, len(path) - 1 - i) for i, a in enumerate(path)]
            elif isinstance(event, Volunteer.Registered):
                volunteers.append((entity, event.number))
            else:
                _fold(tables, event, entity, position)
        if orgs:
            cur.insert("tb_work_orgs", ORG_COLUMNS, orgs)
            cur.insert("tb_work_org_tree", TREE_COLUMNS, tree)
        if volunteers:
            cur.insert("tb_work_volunteers", VOLUNTEER_COLUMNS, volunteers)
        for rows in tables.values():
            rows.write(cur)

    def _parent_trails(self, cur: ProjectionCursor, batch: Batch) -> dict[str, str]:
        """The trails of the stored organisations the batch registers children of."""
        registered = [e for e, _ in batch if isinstance(e, Organisation.Registered)]
        parents = {str(e.parent_id) for e in registered if e.parent_id is not None}
        parents -= {str(e.originator_id) for e in registered}
        return dict(cur.select_in("tb_work_orgs", ("id", "trail"), "id", sorted(parents)))


def _fold(tables: dict[str, Rows], event: Any, entity: str, position: int) -> None:
    """What one event does to the rows of its table."""
    activities, signups = tables["tb_work_activities"], tables["tb_work_signups"]
    backfills, disputes = tables["tb_work_backfills"], tables["tb_work_disputes"]
    match event:
        case Activity.Published():
            activities.create(
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
        case Activity.Completed():
            activities.change(entity, status="completed", beneficiaries=event.beneficiaries)
        case Signup.Requested():
            signups.create(
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
        case Signup.Corrected():
            signups.change(entity, minutes=event.minutes)
        case _ if isinstance(event, SIGNUP_STATUSES):
            signups.change(entity, status_position=position, **_signup_status(event))
        case Backfill.Submitted():
            backfills.create(
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
        case Backfill.Approved():
            backfills.change(entity, status="approved", minutes=event.minutes)
        case Backfill.Rejected():
            backfills.change(entity, status="rejected")
        case Backfill.Corrected():
            backfills.change(entity, minutes=event.minutes)
        case Dispute.Opened():
            disputes.create(
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
        case Dispute.Resolved():
            disputes.change(entity, status=event.decision)


def _signup_status(event: Any) -> dict[str, Any]:
    """The status a signup's event gives it, and what else it records."""
    match event:
        case Signup.Renewed():
            return {"status": event.status}
        case Signup.Promoted():
            return {"status": "accepted"}
        case Signup.Cancelled():
            return {"status": "cancelled"}
        case Signup.CheckedIn():
            return {"status": "checked_in", "checked_in_at": utc_text(event.at)}
        case Signup.CheckedOut():  # CheckOutMissed too
            return {
                "status": "checked_out",
                "checked_out_at": utc_text(event.at),
                "minutes": event.minutes,
            }
        case Signup.Verified() if event.decision == Decision.REJECT:
            return {"status": "rejected"}
        case Signup.Verified():
            return {"status": "verified", "minutes": event.minutes}
    raise AssertionError(f"not a signup's status: {event!r}")
