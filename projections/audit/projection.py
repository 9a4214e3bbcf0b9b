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
The claims of ID documents join no trail: a claim's id is a keyed hash of the document.

When a volunteer is erased, the personal fields of their events (ledger/privacy.py) are
rewritten in the trail as their erased values: what a rebuild writes once the volunteer's
data key is gone. Who did what, in which role, when and why stays, and the erasure itself
joins the volunteer's trail.
"""

import dataclasses
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.domain import Aggregate, DomainEventProtocol

from ledger.activities import Activity
from ledger.base import LedgerAggregate
from ledger.catalog import AGGREGATES
from ledger.privacy import PERSONAL_EVENTS, Personal
from ledger.rewards import Redemption
from ledger.volunteers import DocumentClaim, Volunteer
from projections.base import ProjectionCursor, topic
from projections.db import utc_text

VOLUNTEER, ACTIVITY, REDEMPTION = "volunteer", "activity", "redemption"
SUBJECT_OF_AGGREGATE: dict[type, str] = {
    Volunteer: VOLUNTEER,
    Activity: ACTIVITY,
    Redemption: REDEMPTION,
}
# Aggregates no trail shows: the id of a document's claim is a keyed hash of the document.
UNTRAILED: frozenset[type] = frozenset({DocumentClaim})
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
# The events holding personal fields, by the event type the trail names them with.
PERSONAL_BY_TYPE: dict[str, Personal] = {
    cls.__qualname__: personal for cls, personal in PERSONAL_EVENTS.items()
}

TRAIL_COLUMNS = (
    "subject_kind",
    "subject_id",
    "position",
    "event_type",
    "aggregate_id",
    "aggregate_version",
    "actor",
    "role",
    "request_id",
    "occurred_at",
    "recorded_at",
    "reason",
    "details",
)
OWNER_COLUMNS = ("aggregate_id", "subject_kind", "subject_id")

Subject = tuple[str, str]


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


def _json_value(value: Any) -> Any:
    """The JSON form of what JSON has no type for: ids as text, moments as UTC ISO text."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} has no JSON form")


# Event states come from JSON, so every key is text already.
DETAILS = json.JSONEncoder(
    default=_json_value, sort_keys=True, ensure_ascii=False, separators=(",", ":")
)
FAST_DETAILS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
LEFT_OUT = COLUMN_FIELDS | SECRET_FIELDS


def details(event: Any) -> str:
    """The event's own fields as JSON; orjson writes what it can as `DETAILS` would."""
    fields = {k: v for k, v in vars(event).items() if k not in LEFT_OUT}
    try:
        return orjson.dumps(fields, default=_json_value, option=FAST_DETAILS).decode()
    except orjson.JSONEncodeError:  # an integer beyond 64 bits
        return DETAILS.encode(fields)


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


@dataclass(frozen=True)
class _Role:
    """What the events of one class do to the trails."""

    subject: str | None  # the kind of subject their aggregate is, if it is one
    created: bool  # they create their aggregate, naming its owners
    owned: bool  # their aggregate's later events join its owners' trails


class AuditProjection:
    name: str = "audit"
    tables: tuple[str, ...] = ("tb_audit_trail", "tb_audit_owners")

    def __init__(self, aggregates: Iterable[type[LedgerAggregate]] | None = None) -> None:
        self._roles: dict[type, _Role] = {}
        for aggregate in aggregates if aggregates is not None else AGGREGATES:
            if aggregate in UNTRAILED:
                continue
            events = event_classes(aggregate)
            created = [cls for cls in events if issubclass(cls, Aggregate.Created)]
            followed = len(created) < len(events)
            owned = followed and any(_field_names(cls) & OWNER_FIELDS for cls in created)
            subject = SUBJECT_OF_AGGREGATE.get(aggregate)
            for cls in events:
                self._roles[cls] = _Role(subject, cls in created, owned)
        self.topics: frozenset[str] = frozenset(topic(cls) for cls in self._roles)
        # The owners of an aggregate never change, so they may be kept across batches.
        self._owner_cache: dict[str, frozenset[Subject]] = {}

    def _role(self, cls: type) -> _Role:
        role = self._roles.get(cls)
        return role or _Role(None, issubclass(cls, Aggregate.Created), False)

    def _owners(
        self,
        cur: ProjectionCursor,
        batch: Sequence[tuple[DomainEventProtocol[Any], int]],
        aggregate_ids: list[str],
    ) -> dict[str, frozenset[Subject]]:
        """The owners of the batch's aggregates whose later events it holds: from the cache,
        or read at once. The batch keeps its own dict: another thread may empty the cache."""
        if len(self._owner_cache) >= OWNER_CACHE_SIZE:
            self._owner_cache.clear()
        owners: dict[str, frozenset[Subject]] = {}
        stored: dict[str, set[Subject]] = {}  # to read
        for (event, _), aggregate_id in zip(batch, aggregate_ids, strict=True):
            role = self._role(type(event))
            if role.owned and not role.created and aggregate_id not in owners:
                cached = self._owner_cache.get(aggregate_id)
                if cached is None:
                    stored[aggregate_id] = set()
                else:
                    owners[aggregate_id] = cached
        for aggregate_id, kind, sid in cur.select_in(
            "tb_audit_owners", OWNER_COLUMNS, "aggregate_id", sorted(stored)
        ):
            stored[aggregate_id].add((kind, sid))
        for aggregate_id, found in stored.items():
            owners[aggregate_id] = self._owner_cache[aggregate_id] = frozenset(found)
        return owners

    def subjects(
        self,
        event: Any,
        aggregate_id: str,
        owners: dict[str, frozenset[Subject]],
        new_owners: list[tuple[str, str, str]],
    ) -> list[Subject]:
        """The subjects whose trails `event` joins, in order. `owners` holds those of the
        aggregates the batch follows; the owners a creation names join it, and are added to
        `new_owners` as rows of tb_audit_owners."""
        role = self._role(type(event))
        subjects: set[Subject] = set()
        if role.subject is not None:
            subjects.add((role.subject, aggregate_id))
        if role.created:
            created = created_owners(event)
            subjects |= created
            if role.owned:
                new_owners.extend((aggregate_id, k, s) for k, s in sorted(created))
                owners[aggregate_id] = self._owner_cache[aggregate_id] = frozenset(created)
        elif role.owned:
            subjects |= owners[aggregate_id]
        redemption_id = getattr(event, "redemption_id", None)
        if redemption_id is not None:
            subjects.add((REDEMPTION, str(redemption_id)))
        return sorted(subjects)

    def apply(self, cur: ProjectionCursor, event: DomainEventProtocol[Any], position: int) -> None:
        self.apply_batch(cur, [(event, position)])

    def apply_batch(
        self, cur: ProjectionCursor, batch: Sequence[tuple[DomainEventProtocol[Any], int]]
    ) -> None:
        """Writes the trail rows (and new owners) of a whole batch in one statement each."""
        aggregate_ids = [str(event.originator_id) for event, _ in batch]
        owners = self._owners(cur, batch, aggregate_ids)
        rows: list[tuple[Any, ...]] = []
        new_owners: list[tuple[str, str, str]] = []
        for (event, position), aggregate_id in zip(batch, aggregate_ids, strict=True):
            subjects = self.subjects(event, aggregate_id, owners, new_owners)
            if subjects:
                common = trail_row(event, aggregate_id, position)
                rows.extend((kind, sid, *common) for kind, sid in subjects)
        cur.insert("tb_audit_owners", OWNER_COLUMNS, new_owners)
        cur.insert("tb_audit_trail", TRAIL_COLUMNS, rows)
        for event, _ in batch:
            if isinstance(event, Volunteer.Erased):
                erase_personal_fields(cur, str(event.originator_id))


def erase_personal_fields(cur: ProjectionCursor, volunteer_id: str) -> None:
    """Rewrites the personal fields of the volunteer's events, in every trail that shows
    them, as a rebuild would write them once the volunteer's data key is destroyed."""
    types = sorted(PERSONAL_BY_TYPE)
    cur.execute(
        "SELECT position, aggregate_id, event_type, reason, details FROM tb_audit_trail "
        f"WHERE subject_kind = %s AND subject_id = %s AND event_type IN ({_marks(types)})",
        (VOLUNTEER, volunteer_id, *types),
    )
    for position, aggregate_id, event_type, reason, text in cur.fetchall():
        personal = PERSONAL_BY_TYPE[event_type]
        fields = orjson.loads(text)
        whose = aggregate_id if personal.subject == "originator_id" else fields[personal.subject]
        if whose != volunteer_id:
            continue
        erased_reason = personal.erased.get("reason", reason)
        fields |= {k: v for k, v in personal.erased.items() if k not in LEFT_OUT}
        erased = orjson.dumps(fields, default=_json_value, option=FAST_DETAILS).decode()
        if erased == text and erased_reason == reason:
            continue
        # The trails the event joined: those its fields name (as a creation's owners), and
        # its aggregate's owners for a later event.
        cur.execute(
            "SELECT subject_kind, subject_id FROM tb_audit_owners WHERE aggregate_id = %s",
            (aggregate_id,),
        )
        subjects = {(VOLUNTEER, volunteer_id), *((k, s) for k, s in cur.fetchall())}
        subjects |= created_owners(SimpleNamespace(**fields))
        for kind, subject_id in sorted(subjects):
            cur.execute(
                "UPDATE tb_audit_trail SET details = %s, reason = %s "
                "WHERE subject_kind = %s AND subject_id = %s AND position = %s",
                (erased, erased_reason, kind, subject_id, position),
            )


def _marks(values: Sequence[object]) -> str:
    return ", ".join(["%s"] * len(values))


def trail_row(event: Any, aggregate_id: str, position: int) -> tuple[Any, ...]:
    """Who, in which role, when, why and in which request: the columns after the subject."""
    reason = getattr(event, "reason", None)
    return (
        position,
        type(event).__qualname__,
        aggregate_id,
        event.originator_version,
        event.actor,
        event.role,
        event.request_id,
        utc_text(event.occurred_at),
        utc_text(event.timestamp),
        None if reason is None else str(reason),
        details(event),
    )
