"""Audit trails: every event of the log lands in the trail of each volunteer, activity and
redemption it concerns, with who did it, in which role, when (business and record time), why
and in which request. Personal data and secret codes are left out of the details.

Which subjects an event concerns:
- the aggregate itself when it is a volunteer, an activity or a redemption;
- the owners named by the aggregate's creation: its `volunteer_id` (an account, timesheet,
  signup, redemption, back-fill, dispute, award, evaluation), its `volunteer_ids` (a
  training's participants) and its `activity_id` (a signup, evaluation, back-fill);
  later events of the aggregate find them in tb_audit_owners;
- the redemption named by a `redemption_id` field (holds, releases, settlements, stock).
"""

import dataclasses
import importlib
import json
import pkgutil
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, DomainEventProtocol

import ledger
from ledger.activities import Activity
from ledger.base import LedgerAggregate
from ledger.rewards import Redemption
from ledger.volunteers import Volunteer
from projections.db import Cursor, utc_text
from projections.runner import topic

VOLUNTEER, ACTIVITY, REDEMPTION = "volunteer", "activity", "redemption"
SUBJECT_OF_AGGREGATE: dict[type, str] = {
    Volunteer: VOLUNTEER,
    Activity: ACTIVITY,
    Redemption: REDEMPTION,
}
OWNER_FIELDS = frozenset({"volunteer_id", "volunteer_ids", "activity_id"})
# Recorded in columns of their own, or bookkeeping of the event store.
COLUMN_FIELDS = frozenset(
    {
        "originator_id",
        "originator_version",
        "originator_topic",
        "timestamp",
        "actor",
        "role",
        "request_id",
        "occurred_at",
        "reason",
    }
)
# Personal data of a registration, and codes that would let a reader act for someone.
SECRET_FIELDS = frozenset({"name", "id_number", "phone", "birth_date", "check_in_code", "code"})
OWNER_CACHE_SIZE = 100_000

INSERT_TRAIL = (
    "INSERT INTO tb_audit_trail (subject_kind, subject_id, position, event_type, aggregate_id, "
    "aggregate_version, actor, role, request_id, occurred_at, recorded_at, reason, details) "
    "VALUES "
)
INSERT_OWNERS = "INSERT INTO tb_audit_owners (aggregate_id, subject_kind, subject_id) VALUES "
ROWS_PER_STATEMENT = 500  # a training's participants: well below the backends' parameter limits
SELECT_OWNERS = "SELECT subject_kind, subject_id FROM tb_audit_owners WHERE aggregate_id = %s"

Subject = tuple[str, str]


def ledger_aggregates() -> list[type[LedgerAggregate]]:
    """Every aggregate class of the domain package, new ones included as they appear."""
    for module in pkgutil.iter_modules(ledger.__path__):
        importlib.import_module(f"{ledger.__name__}.{module.name}")
    found: list[type[LedgerAggregate]] = []
    pending: list[type[LedgerAggregate]] = [LedgerAggregate]
    while pending:
        for sub in pending.pop().__subclasses__():
            found.append(sub)
            pending.append(sub)
    return sorted(found, key=topic)


def event_classes(aggregate: type[LedgerAggregate]) -> list[type[LedgerAggregate.Event]]:
    """The events an aggregate records (not the generic bases eventsourcing adds)."""
    return [
        cls
        for name, cls in vars(aggregate).items()
        if isinstance(cls, type)
        and issubclass(cls, LedgerAggregate.Event)
        and name not in ("Event", "Created")
    ]


def _field_names(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set()


def plain(value: Any) -> Any:
    """A JSON value: ids as text, moments as UTC ISO text."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, Enum):
        return value.value
    return value


def details(event: Any) -> str:
    fields = {
        name: value
        for name, value in vars(event).items()
        if name not in COLUMN_FIELDS and name not in SECRET_FIELDS
    }
    return json.dumps(plain(fields), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def insert_rows(cur: Cursor, insert: str, rows: list[tuple[Any, ...]]) -> None:
    """Inserts rows in as few statements as the backends' parameter limits allow."""
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[start : start + ROWS_PER_STATEMENT]
        row = "(" + ", ".join(["%s"] * len(chunk[0])) + ")"
        cur.execute(insert + ", ".join([row] * len(chunk)), [v for r in chunk for v in r])


def created_owners(event: Any) -> set[Subject]:
    owners: set[Subject] = set()
    volunteer_id = getattr(event, "volunteer_id", None)
    if volunteer_id is not None:
        owners.add((VOLUNTEER, str(volunteer_id)))
    for participant in getattr(event, "volunteer_ids", None) or ():
        owners.add((VOLUNTEER, str(participant)))
    activity_id = getattr(event, "activity_id", None)
    if activity_id is not None:
        owners.add((ACTIVITY, str(activity_id)))
    return owners


class AuditProjection:
    name: str = "audit"
    tables: tuple[str, ...] = ("tb_audit_trail", "tb_audit_owners")

    def __init__(self, aggregates: Iterable[type[LedgerAggregate]] | None = None) -> None:
        self._aggregate_of: dict[type, type[LedgerAggregate]] = {}
        self._owned: set[type[LedgerAggregate]] = set()  # created with owners, with later events
        for aggregate in aggregates if aggregates is not None else ledger_aggregates():
            events = event_classes(aggregate)
            for cls in events:
                self._aggregate_of[cls] = aggregate
            created = [cls for cls in events if issubclass(cls, Aggregate.Created)]
            followed = len(created) < len(events)
            if followed and any(_field_names(cls) & OWNER_FIELDS for cls in created):
                self._owned.add(aggregate)
        self.topics: frozenset[str] = frozenset(topic(cls) for cls in self._aggregate_of)
        # The owners of an aggregate never change, so they may be kept across batches.
        self._owner_cache: dict[str, frozenset[Subject]] = {}

    def _owners(self, cur: Cursor, aggregate_id: str) -> frozenset[Subject]:
        owners = self._owner_cache.get(aggregate_id)
        if owners is None:
            cur.execute(SELECT_OWNERS, (aggregate_id,))
            owners = frozenset((str(kind), str(sid)) for kind, sid in cur.fetchall())
            self._remember(aggregate_id, owners)
        return owners

    def _remember(self, aggregate_id: str, owners: frozenset[Subject]) -> None:
        if len(self._owner_cache) >= OWNER_CACHE_SIZE:
            self._owner_cache.clear()
        self._owner_cache[aggregate_id] = owners

    def subjects(self, cur: Cursor, event: Any) -> set[Subject]:
        aggregate = self._aggregate_of.get(type(event))
        aggregate_id = str(event.originator_id)
        subjects: set[Subject] = set()
        kind = SUBJECT_OF_AGGREGATE.get(aggregate) if aggregate else None
        if kind is not None:
            subjects.add((kind, aggregate_id))
        if isinstance(event, Aggregate.Created):
            owners = created_owners(event)
            subjects |= owners
            if aggregate in self._owned:
                insert_rows(cur, INSERT_OWNERS, [(aggregate_id, k, s) for k, s in sorted(owners)])
                self._remember(aggregate_id, frozenset(owners))
        elif aggregate in self._owned:
            subjects |= self._owners(cur, aggregate_id)
        redemption_id = getattr(event, "redemption_id", None)
        if redemption_id is not None:
            subjects.add((REDEMPTION, str(redemption_id)))
        return subjects

    def apply(self, cur: Cursor, event: DomainEventProtocol[Any], position: int) -> None:
        self.apply_batch(cur, [(event, position)])

    def apply_batch(
        self, cur: Cursor, batch: Sequence[tuple[DomainEventProtocol[Any], int]]
    ) -> None:
        """Writes the trail rows of a whole batch in as few statements as possible."""
        rows: list[tuple[Any, ...]] = []
        for event, position in batch:
            subjects = self.subjects(cur, event)
            if subjects:
                common = trail_row(event, position)
                rows.extend((kind, sid, *common) for kind, sid in sorted(subjects))
        if rows:
            insert_rows(cur, INSERT_TRAIL, rows)


def trail_row(event: Any, position: int) -> tuple[Any, ...]:
    """Who, in which role, when, why and in which request: the columns after the subject."""
    reason = getattr(event, "reason", None)
    return (
        position,
        type(event).__qualname__,
        str(event.originator_id),
        event.originator_version,
        event.actor,
        event.role,
        event.request_id,
        utc_text(event.occurred_at),
        utc_text(event.timestamp),
        None if reason is None else str(reason),
        details(event),
    )
