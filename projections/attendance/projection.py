"""Attendance: the check-ins awaiting their check-out, by when their activity's widened window
closes. The sweeper closes those whose window has closed (CloseUnattendedCheckIn); each
leaves this view when it is checked out, by the volunteer, a coordinator or the sweeper."""

from typing import Any

from eventsourcing.domain import DomainEventProtocol

from ledger.signups import Signup
from projections.base import Batch, ProjectionCursor, topic
from projections.db import utc_text


class AttendanceProjection:
    name = "attendance"
    topics = frozenset(
        topic(c) for c in (Signup.CheckedIn, Signup.CheckedOut, Signup.CheckOutMissed)
    )
    tables: tuple[str, ...] = ("tb_open_check_ins",)

    def apply(self, cur: ProjectionCursor, event: DomainEventProtocol[Any], position: int) -> None:
        self.apply_batch(cur, [(event, position)])

    def apply_batch(self, cur: ProjectionCursor, batch: Batch) -> None:
        # A signup is checked in at most once, so a batch's net change is one row or none.
        opened: dict[str, str | None] = {}
        closed: list[str] = []
        for event, _ in batch:
            signup = str(event.originator_id)
            if isinstance(event, Signup.CheckedIn):
                opened[signup] = None if event.closes_at is None else utc_text(event.closes_at)
            elif opened.pop(signup, "absent") == "absent":
                closed.append(signup)
        if closed:
            cur.executemany(
                "DELETE FROM tb_open_check_ins WHERE signup_id = %s", [(s,) for s in closed]
            )
        cur.insert("tb_open_check_ins", ("signup_id", "closes_at"), list(opened.items()))
