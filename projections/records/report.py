"""The organisation report of the records view (projections/records/projection.py defines
attribution), and its rows for a spreadsheet.

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
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID

from ledger.activities import Category
from projections.db import Cursor, Database
from projections.periods import Period

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
