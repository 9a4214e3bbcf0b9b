"""A volunteer's service intervals: at most N check-ins a day, never overlapping, whether
checked in or back-filled."""

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from ledger.base import LedgerAggregate
from ledger.context import Context
from ledger.errors import Conflict
from ledger.rules import Rules


def service_minutes(
    check_in: datetime, check_out: datetime, starts_at: datetime, ends_at: datetime, rules: Rules
) -> int:
    """Check-out minus check-in, clipped to the widened schedule, rounded down."""
    grace = timedelta(minutes=rules.grace_minutes)
    start = max(check_in, starts_at - grace)
    end = min(check_out, ends_at + grace)
    if end <= start:
        return 0
    minutes = int((end - start).total_seconds() // 60)
    return minutes - minutes % rules.granularity_minutes


class Timesheet(LedgerAggregate):
    class_version = 2  # v2 added back-filled intervals (`recorded`)

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["recorded"] = {}

    class Started(LedgerAggregate.Created):
        volunteer_id: UUID

    class IntervalOpened(LedgerAggregate.Event):
        signup_id: UUID
        at: datetime

        def apply(self, sheet: "Timesheet") -> None:
            sheet.intervals[str(self.signup_id)] = [self.at.isoformat(), None]

    class IntervalClosed(LedgerAggregate.Event):
        signup_id: UUID
        at: datetime

        def apply(self, sheet: "Timesheet") -> None:
            sheet.intervals[str(self.signup_id)][1] = self.at.isoformat()

    class IntervalRecorded(LedgerAggregate.Event):
        """Service entered afterwards (a back-fill): it is no check-in, so it does not count
        toward the daily check-in limit, but nothing may overlap it."""

        source_id: UUID
        started_at: datetime
        ended_at: datetime

        def apply(self, sheet: "Timesheet") -> None:
            sheet.recorded[str(self.source_id)] = [
                self.started_at.isoformat(),
                self.ended_at.isoformat(),
            ]

    def __init__(self, volunteer_id: UUID) -> None:
        self.volunteer_id = volunteer_id
        self.intervals: dict[str, list[str | None]] = {}  # signup id -> [start, end or None]
        self.recorded: dict[str, list[str]] = {}  # back-fill id -> [start, end]

    def _check_ins(self, exclude: UUID) -> list[tuple[datetime, datetime | None]]:
        return [
            (datetime.fromisoformat(start), datetime.fromisoformat(end) if end else None)
            for key, (start, end) in self.intervals.items()
            if key != str(exclude) and start is not None
        ]

    def _spans(self, exclude: UUID) -> list[tuple[datetime, datetime | None]]:
        recorded = [
            (datetime.fromisoformat(start), datetime.fromisoformat(end))
            for key, (start, end) in self.recorded.items()
            if key != str(exclude)
        ]
        return [*self._check_ins(exclude), *recorded]

    def check_in(self, ctx: Context, rules: Rules, signup_id: UUID, at: datetime) -> None:
        zone = ZoneInfo(rules.timezone)
        day = at.astimezone(zone).date()
        spans = self._spans(signup_id)
        same_day = sum(
            1 for start, _ in self._check_ins(signup_id) if start.astimezone(zone).date() == day
        )
        if same_day >= rules.max_check_ins_per_day:
            raise Conflict(
                "check-in-limit",
                f"at most {rules.max_check_ins_per_day} check-ins per volunteer per day",
            )
        for start, end in spans:
            if end is None:
                raise Conflict("overlapping-service", "the volunteer is checked in elsewhere")
            if start <= at < end:
                raise Conflict(
                    "overlapping-service", "the volunteer was serving elsewhere at that time"
                )
        self.emit(ctx, self.IntervalOpened, signup_id=signup_id, at=at)

    def check_out(self, ctx: Context, signup_id: UUID, at: datetime) -> None:
        start = datetime.fromisoformat(str(self.intervals[str(signup_id)][0]))
        for other_start, other_end in self._spans(signup_id):
            if other_start < at and (other_end is None or start < other_end):
                raise Conflict(
                    "overlapping-service", "the volunteer was serving elsewhere in that interval"
                )
        self.emit(ctx, self.IntervalClosed, signup_id=signup_id, at=at)

    def require_free(self, source_id: UUID, start: datetime, end: datetime) -> None:
        """Refuses when [start, end) overlaps any other interval, open or closed."""
        for other_start, other_end in self._spans(source_id):
            if other_start < end and (other_end is None or start < other_end):
                raise Conflict(
                    "overlapping-service",
                    "the volunteer was serving elsewhere in that interval "
                    f"(from {other_start.isoformat()})",
                )

    def record_interval(
        self, ctx: Context, source_id: UUID, start: datetime, end: datetime
    ) -> None:
        self.require_free(source_id, start, end)
        self.emit(ctx, self.IntervalRecorded, source_id=source_id, started_at=start, ended_at=end)
