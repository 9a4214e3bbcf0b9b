"""Reads of the records view (projections/records.py, whose docstring defines attribution):
the service record, rankings, the organisation report and the awards in public notice.

Periods are `YYYY` (a calendar year), `YYYY-MM` (a month) or `campaign:<name>` (the services
of the activities and back-fills carrying that campaign), always by the local service date.

Rankings:
- teams: the organisations of one kind in an organisation's subtree (itself included), each
  with the service minutes attributed to its members in the period (member attribution),
  its current members and the per-capita minutes (total // members, null without members).
  `rank` orders by total and `per_capita_rank` by per-capita minutes, both descending;
  equal values share a rank (1, 2, 2, 4); ties are listed by organisation id.
- volunteers: the volunteers with service minutes attributed to the organisation's subtree
  in the period, most minutes first; equal minutes share a rank and are listed by volunteer id.

Organisation report, over the organisation's whole subtree:
- registered volunteers: current members; active volunteers: members with service time
  attributed in the period (member attribution); registration ratio: registered divided by
  the organisation's own population, four decimals, null when the population is unknown or 0.
- activities held and beneficiaries (人次): completed activities organised in the subtree
  whose service date is in the period (of the campaign, for a campaign period).
- service minutes by category and in total: by organiser attribution (service recorded by
  organisations of the subtree), whoever served; `member_service_minutes` is the member
  attribution total for comparison.
- trainings held by organisations of the subtree in the period and their distinct
  participants; for a campaign period, over the campaign's span of dates.
- party-member compliance for the calendar year of the period: every party member currently
  registered in the subtree with their service minutes that year wherever they served, met
  when at least rules.party_member_yearly_minutes. For a campaign period the year is that of
  the campaign's latest service date; an unknown campaign has no compliance section.
"""

import dataclasses
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any, Generic, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

from ledger import bounds
from ledger.activities import Category
from ledger.errors import Invalid
from ledger.volunteers import Volunteer
from projections.db import Cursor, Database, utc_text
from projections.records import CAMPAIGN_PREFIX

RECORD_LIST_LIMIT = 500  # each list of a service record holds the newest this many entries
# 2026, 2026-03 or campaign:<name>, a name any activity may carry (known or not): printable,
# not blank, no longer than a campaign's name may be (the longest period, PERIOD_LENGTH).
PRINTABLE = r"[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]"
PERIOD_PATTERN = (
    r"^[0-9]{4}$|^[0-9]{4}-(0[1-9]|1[0-2])$"
    rf"|^{CAMPAIGN_PREFIX}{PRINTABLE}*[^\x00-\x20\x7F-\x9F]{PRINTABLE}*$"
)
PERIOD_LENGTH = len(CAMPAIGN_PREFIX) + bounds.CAMPAIGN.high
PERIOD = re.compile(PERIOD_PATTERN)


@dataclass(frozen=True)
class Period:
    key: str  # as the read models store it: 2026, 2026-03 or campaign:<name>
    kind: str  # year, month or campaign

    @property
    def campaign(self) -> str:
        return self.key.removeprefix(CAMPAIGN_PREFIX)


def parse_period(text: str) -> Period:
    if len(text) > PERIOD_LENGTH or not PERIOD.fullmatch(text):
        raise Invalid(
            "invalid-period",
            f"period {text[:100]!r} is not a year (2026), a month (2026-03) or campaign:<name>",
        )
    if text.startswith(CAMPAIGN_PREFIX):
        return Period(text, "campaign")
    return Period(text, "year" if len(text) == 4 else "month")


def _moment(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value is not None else None


def _competition_ranks(values: list[int | None]) -> list[int | None]:
    """Ranks of values sorted descending (None last, unranked): equal values share a rank."""
    ranks: list[int | None] = []
    for i, value in enumerate(values):
        if value is None:
            ranks.append(None)
        elif i and values[i - 1] == value:
            ranks.append(ranks[-1])
        else:
            ranks.append(i + 1)
    return ranks


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


# Rankings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamStanding:
    org_id: UUID
    name: str
    kind: str
    total_minutes: int
    members: int
    per_capita_minutes: int | None
    rank: int = 0
    per_capita_rank: int | None = None


class RankingSort(StrEnum):
    TOTAL = "total"
    PER_CAPITA = "per_capita"


def team_key(team: TeamStanding, sort: RankingSort) -> tuple[int, UUID]:
    """Where a team stands in the `sort` order: its value ranked on, shifted up by one so that
    per-capita without members (0) comes after every value, and its id for ties."""
    value = team.total_minutes if sort == RankingSort.TOTAL else team.per_capita_minutes
    return (0 if value is None else value + 1, team.org_id)


def team_ranking(
    db: Database,
    org_id: UUID,
    period: Period,
    kind: str,
    sort: RankingSort = RankingSort.TOTAL,
    after: tuple[int, UUID] | None = None,
    limit: int | None = None,
) -> list[TeamStanding]:
    """The organisations of `kind` in the subtree ordered by `sort` (see the module docstring):
    at most `limit` of them after the team_key `after`."""
    with db.read() as cur:
        cur.execute(
            "SELECT o.id, o.name, o.kind, o.members, COALESCE(m.minutes, 0) "
            "FROM tb_rec_org_tree t JOIN tb_rec_orgs o ON o.id = t.org_id "
            "LEFT JOIN tb_rec_member_minutes m ON m.org_id = o.id AND m.period = %s "
            "WHERE t.ancestor_id = %s AND o.kind = %s",
            (period.key, str(org_id), kind),
        )
        rows = [(UUID(r[0]), str(r[1]), str(r[2]), int(r[3]), int(r[4])) for r in cur.fetchall()]
    teams = [
        TeamStanding(oid, name, org_kind, total, members, total // members if members else None)
        for oid, name, org_kind, members, total in rows
    ]
    ranks: dict[RankingSort, dict[UUID, int | None]] = {}
    for order in RankingSort:
        teams.sort(key=lambda t: _descending(team_key(t, order)))
        values = [team_key(t, order)[0] or None for t in teams]
        ranks[order] = dict(zip((t.org_id for t in teams), _competition_ranks(values), strict=True))
    teams.sort(key=lambda t: _descending(team_key(t, sort)))
    if after is not None:
        teams = [t for t in teams if _descending(team_key(t, sort)) > _descending(after)]
    return [
        dataclasses.replace(
            t,
            rank=ranks[RankingSort.TOTAL][t.org_id] or 0,
            per_capita_rank=ranks[RankingSort.PER_CAPITA][t.org_id],
        )
        for t in teams[:limit]
    ]


def _descending(key: tuple[int, UUID]) -> tuple[int, str]:
    return (-key[0], str(key[1]))


@dataclass(frozen=True)
class VolunteerStanding:
    rank: int
    volunteer_id: UUID
    volunteer_number: str | None
    minutes: int


RANKED = "FROM tb_rec_volunteer_minutes WHERE org_id = %s AND period = %s AND minutes > 0"


def volunteer_ranking(
    db: Database,
    org_id: UUID,
    period: Period,
    after: tuple[int, UUID | str] | None,
    limit: int,
) -> list[VolunteerStanding]:
    """Volunteers by minutes attributed to the subtree in the period, most first, ties by
    volunteer id; at most `limit` of them after the (minutes, volunteer id) of `after`."""
    base = (str(org_id), period.key)
    page_after = ""
    params: tuple[Any, ...] = base
    if after is not None:
        page_after = " AND (vm.minutes < %s OR (vm.minutes = %s AND vm.volunteer_id > %s))"
        params = (*base, after[0], after[0], str(after[1]))
    with db.read() as cur:
        cur.execute(
            "SELECT vm.volunteer_id, v.number, vm.minutes FROM tb_rec_volunteer_minutes vm "
            "LEFT JOIN tb_rec_volunteers v ON v.id = vm.volunteer_id "
            "WHERE vm.org_id = %s AND vm.period = %s AND vm.minutes > 0"
            + page_after
            + " ORDER BY vm.minutes DESC, vm.volunteer_id LIMIT %s",
            (*params, limit),
        )
        rows = [(str(r[0]), r[1], int(r[2])) for r in cur.fetchall()]
        if not rows:
            return []
        first_minutes, first_id = rows[0][2], rows[0][0]
        cur.execute(f"SELECT COUNT(*) {RANKED} AND minutes > %s", (*base, first_minutes))
        above = int(cur.fetchone()[0])
        cur.execute(
            f"SELECT COUNT(*) {RANKED} AND minutes = %s AND volunteer_id < %s",
            (*base, first_minutes, first_id),
        )
        offset = above + int(cur.fetchone()[0])  # rows listed before the first of this page
    standings: list[VolunteerStanding] = []
    for i, (vid, number, minutes) in enumerate(rows):
        if i == 0:
            rank = above + 1
        elif minutes == rows[i - 1][2]:
            rank = standings[-1].rank
        else:
            rank = offset + i + 1
        standings.append(VolunteerStanding(rank, UUID(vid), number, minutes))
    return standings


# Organisation report ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryMinutes:
    category: str
    minutes: int


@dataclass(frozen=True)
class PartyMember:
    volunteer_number: str
    volunteer_id: UUID
    minutes: int


@dataclass(frozen=True)
class PartyCompliance:
    year: str
    required_minutes: int
    registered: int
    met: int
    not_met: int
    meeting: list[PartyMember]  # by volunteer number
    not_meeting: list[PartyMember]  # by volunteer number


@dataclass(frozen=True)
class OrganisationReport:
    org_id: UUID
    name: str
    kind: str
    period: str
    registered_volunteers: int
    active_volunteers: int
    population: int | None
    registration_ratio: str | None
    activities_held: int
    beneficiaries: int
    service_minutes_by_category: list[CategoryMinutes]
    total_service_minutes: int
    member_service_minutes: int
    trainings_held: int
    training_participants: int
    party_members: PartyCompliance | None


ACTIVITIES_HELD = (
    "SELECT COUNT(*), COALESCE(SUM(a.beneficiaries), 0) FROM tb_rec_activities a "
    "JOIN tb_rec_org_tree t ON t.org_id = a.org_id "
    "WHERE t.ancestor_id = %s AND a.completed = %s AND "
)
ACTIVITIES_IN = {
    "year": ACTIVITIES_HELD + "a.year = %s",
    "month": ACTIVITIES_HELD + "a.month = %s",
    "campaign": ACTIVITIES_HELD + "a.campaign = %s",
}
TRAININGS_HELD = (
    "SELECT COUNT(*) FROM tb_rec_trainings r JOIN tb_rec_org_tree t ON t.org_id = r.org_id "
    "WHERE t.ancestor_id = %s AND "
)
TRAINING_PARTICIPANTS = (
    "SELECT COUNT(DISTINCT r.volunteer_id) FROM tb_rec_training_attendance r "
    "JOIN tb_rec_org_tree t ON t.org_id = r.org_id WHERE t.ancestor_id = %s AND "
)
TRAININGS_IN = {
    "year": "r.year = %s",
    "month": "r.month = %s",
    "campaign": "r.held_on BETWEEN %s AND %s",
}


def _ratio(registered: int, population: int | None) -> str | None:
    if not population:
        return None
    ratio = Decimal(registered) / Decimal(population)
    return str(ratio.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def organisation_report(
    db: Database, org_id: UUID, period: Period, party_yearly_minutes: int
) -> OrganisationReport | None:
    oid, key = str(org_id), period.key
    with db.read() as cur:
        cur.execute("SELECT name, kind, population, members FROM tb_rec_orgs WHERE id = %s", (oid,))
        org = cur.fetchone()
        if org is None:
            return None
        registered = int(org[3])
        population = None if org[2] is None else int(org[2])
        cur.execute(
            "SELECT COUNT(*) FROM tb_rec_volunteer_minutes m "
            "JOIN tb_rec_volunteers v ON v.id = m.volunteer_id "
            "JOIN tb_rec_org_tree t ON t.org_id = v.home_org_id AND t.ancestor_id = m.org_id "
            "WHERE m.org_id = %s AND m.period = %s AND m.minutes > 0",
            (oid, key),
        )
        active = int(cur.fetchone()[0])
        cur.execute(
            "SELECT minutes FROM tb_rec_member_minutes WHERE org_id = %s AND period = %s",
            (oid, key),
        )
        member_row = cur.fetchone()
        filter_value = key if period.kind != "campaign" else period.campaign
        cur.execute(ACTIVITIES_IN[period.kind], (oid, True, filter_value))
        held, beneficiaries = (int(v) for v in cur.fetchone())
        by_category = _categories(cur, oid, key)
        span = _span(cur, period)
        trainings = participants = 0
        if span is not None:
            condition = TRAININGS_IN[period.kind]
            cur.execute(TRAININGS_HELD + condition, (oid, *span))
            trainings = int(cur.fetchone()[0])
            cur.execute(TRAINING_PARTICIPANTS + condition, (oid, *span))
            participants = int(cur.fetchone()[0])
        party = _party(cur, oid, period, span, party_yearly_minutes)
    return OrganisationReport(
        org_id=org_id,
        name=str(org[0]),
        kind=str(org[1]),
        period=key,
        registered_volunteers=registered,
        active_volunteers=active,
        population=population,
        registration_ratio=_ratio(registered, population),
        activities_held=held,
        beneficiaries=beneficiaries,
        service_minutes_by_category=by_category,
        total_service_minutes=sum(c.minutes for c in by_category),
        member_service_minutes=int(member_row[0]) if member_row else 0,
        trainings_held=trainings,
        training_participants=participants,
        party_members=party,
    )


def _categories(cur: Cursor, oid: str, key: str) -> list[CategoryMinutes]:
    """Every category (zero when none), then any other recorded, in the order of the API."""
    cur.execute(
        "SELECT category, minutes FROM tb_rec_category_minutes WHERE org_id = %s AND period = %s",
        (oid, key),
    )
    recorded = {str(c): int(m) for c, m in cur.fetchall()}
    names = [c.value for c in Category]
    names += sorted(set(recorded) - set(names))
    return [CategoryMinutes(name, recorded.get(name, 0)) for name in names]


def _span(cur: Cursor, period: Period) -> tuple[str, ...] | None:
    """The parameters of TRAININGS_IN for the period; None for a campaign never seen."""
    if period.kind != "campaign":
        return (period.key,)
    cur.execute(
        "SELECT first_date, last_date FROM tb_rec_campaigns WHERE name = %s", (period.campaign,)
    )
    row = cur.fetchone()
    return (str(row[0]), str(row[1])) if row else None


def _party(
    cur: Cursor, oid: str, period: Period, span: tuple[str, ...] | None, required: int
) -> PartyCompliance | None:
    if span is None:
        return None
    year = span[-1][:4]
    cur.execute(
        "SELECT v.id, v.number, COALESCE(p.minutes, 0) FROM tb_rec_org_tree t "
        "JOIN tb_rec_volunteers v ON v.home_org_id = t.org_id "
        "LEFT JOIN tb_rec_personal_minutes p ON p.volunteer_id = v.id AND p.period = %s "
        "WHERE t.ancestor_id = %s AND v.party_member = %s ORDER BY v.number",
        (year, oid, True),
    )
    members = [PartyMember(str(r[1]), UUID(r[0]), int(r[2])) for r in cur.fetchall()]
    meeting = [m for m in members if m.minutes >= required]
    not_meeting = [m for m in members if m.minutes < required]
    return PartyCompliance(
        year=year,
        required_minutes=required,
        registered=len(members),
        met=len(meeting),
        not_met=len(not_meeting),
        meeting=meeting,
        not_meeting=not_meeting,
    )


Row = tuple[str, str, object]


def report_rows(report: OrganisationReport) -> Iterator[Row]:
    """The report as (section, key, value) rows, for a spreadsheet: a field is a row of the
    section `report`, a field of a part (party_members) a row of the part's section; an entry
    of a list is a row of the list's section, keyed by its first field with its last field as
    value (service_minutes_by_category: category, minutes; party_members.meeting and
    party_members.not_meeting: volunteer number, minutes)."""
    return _rows(report, "report", "")


def _rows(part: Any, section: str, prefix: str) -> Iterator[Row]:
    for field in dataclasses.fields(part):
        value, path = getattr(part, field.name), prefix + field.name
        if dataclasses.is_dataclass(value):
            yield from _rows(value, path, path + ".")
        elif isinstance(value, list):
            for entry in value:
                first, *_, last = (getattr(entry, f.name) for f in dataclasses.fields(entry))
                yield path, str(first), last
        else:
            yield section, field.name, value
