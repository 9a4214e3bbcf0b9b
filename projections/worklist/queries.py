"""Reads of the worklist view, each over an organisation and its whole subtree: the
organisations, the activities, the signups by status (the checked-out ones are the
verification queue), the back-fills and the disputes. Who: coordinators of the organisation
or above, auditors, admins."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from ledger.backfills import BackfillStatus
from ledger.commands.permissions import require_role, require_worklist_reader
from ledger.context import Context, Role
from ledger.disputes import DisputeStatus
from ledger.errors import Invalid
from ledger.organisations import Organisation
from ledger.signups import SignupStatus
from projections.db import utc_text
from projections.pagination import Page
from projections.reads import Views
from projections.worklist.projection import NAME

T = TypeVar("T")
ACTIVITY_STATUSES = ("published", "completed")


@dataclass(frozen=True)
class Listed(Generic[T]):
    entries: list[T]
    next_cursor: str | None
    position: int


@dataclass(frozen=True)
class OrgEntry:
    id: UUID
    name: str
    kind: str
    parent_id: UUID | None
    depth: int  # below the organisation asked for (0: itself)


@dataclass(frozen=True)
class ActivityEntry:
    id: UUID
    org_id: UUID
    title: str
    category: str
    campaign: str | None
    starts_at: datetime
    ends_at: datetime
    capacity: int
    accepted: int  # seats taken now
    waitlisted: int
    status: str  # published or completed
    beneficiaries: int | None  # once completed


@dataclass(frozen=True)
class SignupEntry:
    id: UUID
    activity_id: UUID
    activity_title: str
    org_id: UUID  # the activity's organiser
    volunteer_id: UUID
    volunteer_number: str
    status: str
    checked_in_at: datetime | None
    checked_out_at: datetime | None
    minutes: int | None  # measured at check-out, then verified, then corrected
    status_position: int


@dataclass(frozen=True)
class BackfillEntry:
    id: UUID
    org_id: UUID
    volunteer_id: UUID
    volunteer_number: str
    category: str
    started_at: datetime
    ended_at: datetime
    minutes: int
    status: str
    submitted_by: str  # the submitter's principal: never the one to approve it
    submitted_at: datetime
    position: int


@dataclass(frozen=True)
class DisputeEntry:
    id: UUID
    org_id: UUID  # the organisation that recorded the disputed service
    volunteer_id: UUID
    volunteer_number: str
    source_id: UUID
    source_kind: str  # signup or backfill
    previous_minutes: int
    status: str
    opened_at: datetime
    position: int


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _status(status: str | None, allowed: Sequence[str]) -> str | None:
    if status is None:
        return None
    if status not in allowed:
        raise Invalid("invalid-status", f"status is one of: {', '.join(allowed)}")
    return str(status)  # a StrEnum's value, as the rows hold it


def _after(after: tuple[Any, ...] | None, condition: str) -> tuple[str, tuple[Any, ...]]:
    """The condition for the rows after a cursor's key, and its parameters."""
    return ("", ()) if after is None else (f" AND {condition}", after)


def _within(alias: str, status: str | None) -> tuple[str, tuple[Any, ...]]:
    """The condition on the rows of `alias` for the subtree (its root is the first parameter)
    and, when one is asked for, the status; and the status's parameter."""
    subtree = f"{alias}.org_id IN (SELECT org_id FROM tb_work_org_tree WHERE ancestor_id = %s)"
    if status is None:
        return subtree, ()
    return f"{subtree} AND {alias}.status = %s", (status,)


class WorklistQueries:
    def __init__(self, views: Views) -> None:
        self.views = views

    def _overseen(self, ctx: Context, org_id: UUID) -> None:
        """The organisation exists and the caller oversees it."""
        views = self.views
        views.aggregates.load(Organisation, org_id, "organisation")
        require_worklist_reader(views.aggregates.reader(ctx), ctx.actor, org_id)

    def _listed(
        self,
        page: Page,
        min_position: int | None,
        shape: tuple[type, ...],
        fetch: Callable[[int, tuple[Any, ...] | None], list[T]],
        key: Callable[[T], Sequence[Any]],
    ) -> Listed[T]:
        """One page of a list, once the view has reached `min_position`."""
        views = self.views
        after = page.after(shape)
        views.wait(NAME, min_position)
        position = views.position(NAME)
        entries, next_cursor = page.of(fetch(page.limit + 1, after), key)
        return Listed(entries, next_cursor, position)

    def _organisations(
        self, where: str, params: tuple[Any, ...], page: Page, min_position: int | None
    ) -> Listed[OrgEntry]:
        """Organisations of the tree as `where` picks them (over o, the organisation, and t,
        its place below the one asked for), by the names from the root down."""

        def fetch(limit: int, after: tuple[Any, ...] | None) -> list[OrgEntry]:
            # The key is the id alone: the trail of names may be longer than a cursor carries.
            bound, more = _after(
                after and (str(after[0]),),
                "(o.trail, o.id) > (SELECT trail, id FROM tb_work_orgs WHERE id = %s)",
            )
            with self.views.db.read() as cur:
                cur.execute(
                    "SELECT o.id, o.name, o.kind, o.parent_id, t.depth "
                    "FROM tb_work_org_tree t JOIN tb_work_orgs o ON o.id = t.org_id "
                    f"WHERE {where}{bound} ORDER BY o.trail, o.id LIMIT %s",
                    (*params, *more, limit),
                )
                return [
                    OrgEntry(
                        UUID(r[0]), r[1], r[2], None if r[3] is None else UUID(r[3]), int(r[4])
                    )
                    for r in cur.fetchall()
                ]

        return self._listed(page, min_position, (UUID,), fetch, lambda o: (o.id,))

    def roots(self, ctx: Context, page: Page, min_position: int | None) -> Listed[OrgEntry]:
        """The organisations at the top of the tree (admins and auditors)."""
        require_role(ctx.actor, Role.AUDITOR)
        top = "t.ancestor_id = t.org_id AND o.parent_id IS NULL"
        return self._organisations(top, (), page, min_position)

    def subtree(
        self, ctx: Context, org_id: UUID, page: Page, min_position: int | None
    ) -> Listed[OrgEntry]:
        """The organisation and every one below it, depth first, by name within a parent."""
        self._overseen(ctx, org_id)
        return self._organisations("t.ancestor_id = %s", (str(org_id),), page, min_position)

    def activities(
        self, ctx: Context, org_id: UUID, status: str | None, page: Page, min_position: int | None
    ) -> Listed[ActivityEntry]:
        """The subtree's activities, the latest start first."""
        where, params = _within("a", _status(status, ACTIVITY_STATUSES))

        def fetch(limit: int, after: tuple[Any, ...] | None) -> list[ActivityEntry]:
            bound, more = _after(after, "(a.starts_at, a.id) < (%s, %s)")
            with self.views.db.read() as cur:
                cur.execute(
                    "SELECT a.id, a.org_id, a.title, a.category, a.campaign, a.starts_at, "
                    "a.ends_at, a.capacity, a.status, a.beneficiaries, "
                    "(SELECT COUNT(*) FROM tb_work_signups s WHERE s.activity_id = a.id "
                    "AND s.status NOT IN ('cancelled', 'waitlisted')), "
                    "(SELECT COUNT(*) FROM tb_work_signups s WHERE s.activity_id = a.id "
                    "AND s.status = 'waitlisted') "
                    f"FROM tb_work_activities a WHERE {where}{bound} "
                    "ORDER BY a.starts_at DESC, a.id DESC LIMIT %s",
                    (str(org_id), *params, *more, limit),
                )
                return [
                    ActivityEntry(
                        UUID(r[0]),
                        UUID(r[1]),
                        r[2],
                        r[3],
                        r[4],
                        datetime.fromisoformat(r[5]),
                        datetime.fromisoformat(r[6]),
                        int(r[7]),
                        int(r[10]),
                        int(r[11]),
                        r[8],
                        None if r[9] is None else int(r[9]),
                    )
                    for r in cur.fetchall()
                ]

        self._overseen(ctx, org_id)
        return self._listed(
            page,
            min_position,
            (str, str),
            fetch,
            lambda a: (utc_text(a.starts_at), str(a.id)),
        )

    def signups(
        self, ctx: Context, org_id: UUID, status: str | None, page: Page, min_position: int | None
    ) -> Listed[SignupEntry]:
        """The signups to the subtree's activities, the one longest in its status first: with
        status checked_out, the verification queue."""
        where, params = _within("s", _status(status, [s.value for s in SignupStatus]))

        def fetch(limit: int, after: tuple[Any, ...] | None) -> list[SignupEntry]:
            bound, more = _after(after, "s.status_position > %s")
            with self.views.db.read() as cur:
                cur.execute(
                    "SELECT s.id, s.activity_id, a.title, s.org_id, s.volunteer_id, v.number, "
                    "s.status, s.checked_in_at, s.checked_out_at, s.minutes, s.status_position "
                    "FROM tb_work_signups s JOIN tb_work_activities a ON a.id = s.activity_id "
                    "JOIN tb_work_volunteers v ON v.id = s.volunteer_id "
                    f"WHERE {where}{bound} "
                    "ORDER BY s.status_position LIMIT %s",
                    (str(org_id), *params, *more, limit),
                )
                return [
                    SignupEntry(
                        UUID(r[0]),
                        UUID(r[1]),
                        r[2],
                        UUID(r[3]),
                        UUID(r[4]),
                        r[5],
                        r[6],
                        _moment(r[7]),
                        _moment(r[8]),
                        None if r[9] is None else int(r[9]),
                        int(r[10]),
                    )
                    for r in cur.fetchall()
                ]

        self._overseen(ctx, org_id)
        return self._listed(page, min_position, (int,), fetch, lambda s: (s.status_position,))

    def backfills(
        self, ctx: Context, org_id: UUID, status: str | None, page: Page, min_position: int | None
    ) -> Listed[BackfillEntry]:
        """The subtree's back-fills, the first submitted first."""
        where, params = _within("b", _status(status, [s.value for s in BackfillStatus]))

        def fetch(limit: int, after: tuple[Any, ...] | None) -> list[BackfillEntry]:
            bound, more = _after(after, "b.position > %s")
            with self.views.db.read() as cur:
                cur.execute(
                    "SELECT b.id, b.org_id, b.volunteer_id, v.number, b.category, b.started_at, "
                    "b.ended_at, b.minutes, b.status, b.submitted_by, b.submitted_at, b.position "
                    "FROM tb_work_backfills b JOIN tb_work_volunteers v ON v.id = b.volunteer_id "
                    f"WHERE {where}{bound} "
                    "ORDER BY b.position LIMIT %s",
                    (str(org_id), *params, *more, limit),
                )
                return [
                    BackfillEntry(
                        UUID(r[0]),
                        UUID(r[1]),
                        UUID(r[2]),
                        r[3],
                        r[4],
                        datetime.fromisoformat(r[5]),
                        datetime.fromisoformat(r[6]),
                        int(r[7]),
                        r[8],
                        r[9],
                        datetime.fromisoformat(r[10]),
                        int(r[11]),
                    )
                    for r in cur.fetchall()
                ]

        self._overseen(ctx, org_id)
        return self._listed(page, min_position, (int,), fetch, lambda b: (b.position,))

    def disputes(
        self, ctx: Context, org_id: UUID, status: str | None, page: Page, min_position: int | None
    ) -> Listed[DisputeEntry]:
        """The disputes of service the subtree recorded, the first opened first."""
        where, params = _within("d", _status(status, [s.value for s in DisputeStatus]))

        def fetch(limit: int, after: tuple[Any, ...] | None) -> list[DisputeEntry]:
            bound, more = _after(after, "d.position > %s")
            with self.views.db.read() as cur:
                cur.execute(
                    "SELECT d.id, d.org_id, d.volunteer_id, v.number, d.source_id, d.source_kind, "
                    "d.previous_minutes, d.status, d.opened_at, d.position "
                    "FROM tb_work_disputes d JOIN tb_work_volunteers v ON v.id = d.volunteer_id "
                    f"WHERE {where}{bound} "
                    "ORDER BY d.position LIMIT %s",
                    (str(org_id), *params, *more, limit),
                )
                return [
                    DisputeEntry(
                        UUID(r[0]),
                        UUID(r[1]),
                        UUID(r[2]),
                        r[3],
                        UUID(r[4]),
                        r[5],
                        int(r[6]),
                        r[7],
                        datetime.fromisoformat(r[8]),
                        int(r[9]),
                    )
                    for r in cur.fetchall()
                ]

        self._overseen(ctx, org_id)
        return self._listed(page, min_position, (int,), fetch, lambda d: (d.position,))
