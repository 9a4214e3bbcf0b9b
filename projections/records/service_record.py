"""Reads of the records view (projections/records/projection.py, whose docstring defines
attribution): the service record of a volunteer and the awards in public notice."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

from ledger.volunteers import Volunteer
from projections.db import Cursor, Database, utc_text

RECORD_LIST_LIMIT = 500  # each list of a service record holds the newest this many entries


def _moment(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value is not None else None


# Service record -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceEntry:
    source_id: UUID
    source_kind: str  # signup or backfill
    activity_id: UUID | None
    title: str
    org_id: UUID
    org_name: str | None
    category: str
    campaign: str | None
    service_date: date
    minutes: int  # current service minutes, after corrections
    credits: int  # current credits posted for it (fewer than minutes above the balance cap)
    original_minutes: int | None
    corrections: int
    credited_at: datetime | None


@dataclass(frozen=True)
class CorrectionEntry:
    dispute_id: UUID
    source_id: UUID
    source_kind: str
    previous_minutes: int
    corrected_minutes: int
    reason: str
    requested_reason: str
    requested_at: datetime | None
    corrected_at: datetime | None


@dataclass(frozen=True)
class TrainingEntry:
    training_id: UUID
    org_id: UUID
    org_name: str | None
    title: str
    held_at: datetime | None
    minutes: int


@dataclass(frozen=True)
class EvaluationEntry:
    evaluation_id: UUID
    signup_id: UUID
    activity_id: UUID
    activity_title: str | None
    org_id: UUID
    score: int
    by: str
    comment: str
    given_at: datetime | None


@dataclass(frozen=True)
class AwardEntry:
    id: UUID
    volunteer_id: UUID
    volunteer_number: str | None
    org_id: UUID
    kind: str
    level: int | None
    title: str
    reason: str
    status: str
    objections: int
    announced_at: datetime | None
    notice_ends_at: datetime | None
    decided_at: datetime | None
    position: int


@dataclass(frozen=True)
class ServiceRecord:
    volunteer_id: UUID
    volunteer_number: str
    home_org_id: UUID
    registered_on: date
    service_minutes: int
    training_minutes: int
    services: list[ServiceEntry]
    corrections: list[CorrectionEntry]
    trainings: list[TrainingEntry]
    evaluations: list[EvaluationEntry]
    awards: list[AwardEntry]


AWARD_COLUMNS = (
    "a.id, a.volunteer_id, v.number, a.org_id, a.kind, a.level, a.title, a.reason, a.status, "
    "a.objections, a.announced_at, a.notice_ends_at, a.decided_at, a.position"
)


def _award(row: Any) -> AwardEntry:
    return AwardEntry(
        id=UUID(row[0]),
        volunteer_id=UUID(row[1]),
        volunteer_number=row[2],
        org_id=UUID(row[3]),
        kind=str(row[4]),
        level=None if row[5] is None else int(row[5]),
        title=str(row[6]),
        reason=str(row[7]),
        status=str(row[8]),
        objections=int(row[9]),
        announced_at=_moment(row[10]),
        notice_ends_at=_moment(row[11]),
        decided_at=_moment(row[12]),
        position=int(row[13]),
    )


Key = tuple[Any, ...]  # where a page of a list ends: the sort key of its last entry
E = TypeVar("E")
Keyed = list[tuple[Key, E]]


@dataclass(frozen=True)
class RecordList(Generic[E]):
    """One list of the service record, newest first: `read(cur, volunteer id, limit, after)`
    gives at most `limit` entries after the key `after`, each with its key, whose parts have
    the types of `shape`."""

    read: Callable[[Cursor, str, int, Key | None], Keyed[E]]
    shape: tuple[type, ...]


def _page(rows: Keyed[E], limit: int) -> tuple[list[E], Key | None]:
    """`limit + 1` keyed rows as a page and the key after which the next page starts."""
    more = len(rows) > limit
    return [entry for _, entry in rows[:limit]], rows[limit - 1][0] if more and limit else None


def service_record(
    db: Database, volunteer_id: UUID, limit: int = RECORD_LIST_LIMIT
) -> ServiceRecord | None:
    """The volunteer's record with the newest `limit` entries of each list (RECORD_LISTS)."""
    found = service_record_page(db, volunteer_id, limit)
    return None if found is None else found[0]


def service_record_page(
    db: Database, volunteer_id: UUID, limit: int
) -> tuple[ServiceRecord, dict[str, Key | None]] | None:
    """The volunteer's record with the newest `limit` entries of each list and, for each list,
    the key after which its next page starts (None when it is complete)."""
    vid = str(volunteer_id)
    with db.read() as cur:
        cur.execute(
            "SELECT number, home_org_id, registered_on, service_minutes, training_minutes "
            "FROM tb_rec_volunteers WHERE id = %s",
            (vid,),
        )
        row = cur.fetchone()
        if row is None:
            return None
        pages = {
            name: _page(entries.read(cur, vid, limit + 1, None), limit)
            for name, entries in RECORD_LISTS.items()
        }
    record = ServiceRecord(
        volunteer_id,
        str(row[0]),
        UUID(row[1]),
        date.fromisoformat(str(row[2])),
        int(row[3]),
        int(row[4]),
        **{name: entries for name, (entries, _) in pages.items()},
    )
    return record, {name: key for name, (_, key) in pages.items()}


def record_list(
    db: Database, name: str, volunteer_id: UUID, limit: int, after: Key | None
) -> tuple[list[Any], Key | None]:
    """A page of one list of the record (a key of RECORD_LISTS): at most `limit` entries after
    the key `after`, and the key after which the next page starts (None at the end)."""
    with db.read() as cur:
        return _page(RECORD_LISTS[name].read(cur, str(volunteer_id), limit + 1, after), limit)


def empty_record(volunteer: Volunteer, timezone: str) -> ServiceRecord:
    """The record of a volunteer the view has not reached yet: nothing on it."""
    registered_on = volunteer.created_on.astimezone(ZoneInfo(timezone)).date()
    lists: dict[str, list[Any]] = {name: [] for name in RECORD_LISTS}
    return ServiceRecord(
        volunteer.id, volunteer.number, volunteer.home_org_id, registered_on, 0, 0, **lists
    )


def confirmed_stars(db: Database, volunteer_id: UUID) -> int:
    """The highest star level confirmed after its notice (and not revoked since); 0 if none."""
    with db.read() as cur:
        cur.execute(
            "SELECT MAX(level) FROM tb_rec_awards "
            "WHERE volunteer_id = %s AND kind = 'star' AND status = 'confirmed'",
            (str(volunteer_id),),
        )
        row = cur.fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _newest(after: Key | None, *columns: str) -> tuple[str, tuple[Any, ...]]:
    """The condition and parameters for rows after the key `after` (one value a column) in
    ORDER BY first column DESC, ..., last but one DESC, last column (an id, ascending)."""
    if after is None:
        return "", ()
    *times, last = columns
    condition = f"{last} > %s"
    params: tuple[Any, ...] = (str(after[-1]),)
    for column, value in zip(reversed(times), reversed(after[:-1]), strict=True):
        condition = f"{column} < %s OR ({column} = %s AND ({condition}))"
        params = (value, value, *params)
    return f" AND ({condition})", params


def _services(cur: Cursor, vid: str, limit: int, after: Key | None) -> Keyed[ServiceEntry]:
    condition, params = _newest(after, "s.service_date", "s.credited_at", "s.id")
    cur.execute(
        "SELECT s.id, s.kind, s.activity_id, s.title, s.org_id, o.name, s.category, s.campaign, "
        "s.service_date, s.minutes, s.credits, s.original_minutes, s.corrections, s.credited_at "
        "FROM tb_rec_sources s LEFT JOIN tb_rec_orgs o ON o.id = s.org_id "
        "WHERE s.volunteer_id = %s AND s.credited = %s"
        + condition
        + " ORDER BY s.service_date DESC, s.credited_at DESC, s.id LIMIT %s",
        (vid, True, *params, limit),
    )
    return [
        (
            (str(r[8]), str(r[13]), r[0]),
            ServiceEntry(
                source_id=UUID(r[0]),
                source_kind=str(r[1]),
                activity_id=UUID(r[2]) if r[2] else None,
                title=str(r[3]),
                org_id=UUID(r[4]),
                org_name=r[5],
                category=str(r[6]),
                campaign=r[7],
                service_date=date.fromisoformat(str(r[8])),
                minutes=int(r[9]),
                credits=int(r[10]),
                original_minutes=None if r[11] is None else int(r[11]),
                corrections=int(r[12]),
                credited_at=_moment(r[13]),
            ),
        )
        for r in cur.fetchall()
    ]


def _corrections(cur: Cursor, vid: str, limit: int, after: Key | None) -> Keyed[CorrectionEntry]:
    condition, params = _newest(after, "resolved_position", "id")
    cur.execute(
        "SELECT id, source_id, source_kind, previous_minutes, corrected_minutes, "
        "resolution_reason, requested_reason, opened_at, resolved_at, resolved_position "
        "FROM tb_rec_disputes WHERE volunteer_id = %s AND status = 'corrected'"
        + condition
        + " ORDER BY resolved_position DESC, id LIMIT %s",
        (vid, *params, limit),
    )
    return [
        (
            (int(r[9]), r[0]),
            CorrectionEntry(
                dispute_id=UUID(r[0]),
                source_id=UUID(r[1]),
                source_kind=str(r[2]),
                previous_minutes=int(r[3]),
                corrected_minutes=int(r[4]),
                reason=str(r[5] or ""),
                requested_reason=str(r[6]),
                requested_at=_moment(r[7]),
                corrected_at=_moment(r[8]),
            ),
        )
        for r in cur.fetchall()
    ]


def _trainings(cur: Cursor, vid: str, limit: int, after: Key | None) -> Keyed[TrainingEntry]:
    condition, params = _newest(after, "a.held_on", "t.held_at", "t.id")
    cur.execute(
        "SELECT t.id, t.org_id, o.name, t.title, t.held_at, t.minutes, a.held_on "
        "FROM tb_rec_training_attendance a JOIN tb_rec_trainings t ON t.id = a.training_id "
        "LEFT JOIN tb_rec_orgs o ON o.id = t.org_id "
        "WHERE a.volunteer_id = %s"
        + condition
        + " ORDER BY a.held_on DESC, t.held_at DESC, t.id LIMIT %s",
        (vid, *params, limit),
    )
    return [
        (
            (str(r[6]), str(r[4]), r[0]),
            TrainingEntry(
                training_id=UUID(r[0]),
                org_id=UUID(r[1]),
                org_name=r[2],
                title=str(r[3]),
                held_at=_moment(r[4]),
                minutes=int(r[5]),
            ),
        )
        for r in cur.fetchall()
    ]


def _evaluations(cur: Cursor, vid: str, limit: int, after: Key | None) -> Keyed[EvaluationEntry]:
    condition, params = _newest(after, "e.position", "e.id")
    cur.execute(
        "SELECT e.id, e.signup_id, e.activity_id, a.title, e.org_id, e.score, e.evaluator, "
        "e.comment, e.given_at, e.position FROM tb_rec_evaluations e "
        "LEFT JOIN tb_rec_activities a ON a.id = e.activity_id "
        "WHERE e.volunteer_id = %s" + condition + " ORDER BY e.position DESC, e.id LIMIT %s",
        (vid, *params, limit),
    )
    return [
        (
            (int(r[9]), r[0]),
            EvaluationEntry(
                evaluation_id=UUID(r[0]),
                signup_id=UUID(r[1]),
                activity_id=UUID(r[2]),
                activity_title=r[3],
                org_id=UUID(r[4]),
                score=int(r[5]),
                by=str(r[6]),
                comment=str(r[7]),
                given_at=_moment(r[8]),
            ),
        )
        for r in cur.fetchall()
    ]


def _volunteer_awards(cur: Cursor, vid: str, limit: int, after: Key | None) -> Keyed[AwardEntry]:
    condition, params = _newest(after, "a.position", "a.id")
    cur.execute(
        f"SELECT {AWARD_COLUMNS} FROM tb_rec_awards a "
        "LEFT JOIN tb_rec_volunteers v ON v.id = a.volunteer_id "
        "WHERE a.volunteer_id = %s" + condition + " ORDER BY a.position DESC, a.id LIMIT %s",
        (vid, *params, limit),
    )
    return [((int(r[13]), r[0]), _award(r)) for r in cur.fetchall()]


RECORD_LISTS: dict[str, RecordList[Any]] = {
    "services": RecordList(_services, (str, str, UUID)),
    "corrections": RecordList(_corrections, (int, UUID)),
    "trainings": RecordList(_trainings, (str, str, UUID)),
    "evaluations": RecordList(_evaluations, (int, UUID)),
    "awards": RecordList(_volunteer_awards, (int, UUID)),
}


# Awards in public notice ---------------------------------------------------------------------


def awards(
    db: Database,
    org_id: UUID | None,
    status: str | None,
    before_position: int | None,
    limit: int,
) -> list[AwardEntry]:
    """Awards of organisations in org_id's subtree (all when None), newest first; at most
    `limit` of them announced before `before_position`."""
    where: list[str] = []
    params: list[Any] = []
    if org_id is not None:
        where.append("a.org_id IN (SELECT org_id FROM tb_rec_org_tree WHERE ancestor_id = %s)")
        params.append(str(org_id))
    if status is not None:
        where.append("a.status = %s")
        params.append(status)
    if before_position is not None:
        where.append("a.position < %s")
        params.append(before_position)
    sql = (
        f"SELECT {AWARD_COLUMNS} FROM tb_rec_awards a "
        "LEFT JOIN tb_rec_volunteers v ON v.id = a.volunteer_id"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY a.position DESC LIMIT %s"
    )
    with db.read() as cur:
        cur.execute(sql, (*params, limit))
        return [_award(r) for r in cur.fetchall()]


def awards_due(db: Database, now: datetime, limit: int = 500) -> list[UUID]:
    """Awards still in notice whose notice has ended: ready to be confirmed."""
    with db.read() as cur:
        cur.execute(
            "SELECT id FROM tb_rec_awards WHERE status = 'in_notice' AND notice_ends_at <= %s "
            "ORDER BY notice_ends_at LIMIT %s",
            (utc_text(now), limit),
        )
        return [UUID(row[0]) for row in cur.fetchall()]
