"""The reads of the records view the API serves, each with its read permission: service
records (the volunteer themself, a coordinator of the home organisation or above, an auditor,
an admin), organisation reports (a coordinator of the organisation or above, an auditor, an
admin), and rankings and awards in notice (any role)."""

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from ledger import bounds
from ledger.commands.permissions import (
    require_record_reader,
    require_report_reader,
    require_training_reader,
)
from ledger.context import Context
from ledger.organisations import Organisation, OrgKind
from ledger.volunteers import Volunteer
from projections.pagination import Page, encode_cursor
from projections.periods import parse_period
from projections.reads import Lagging, Views
from projections.records.members import member_key, members
from projections.records.rankings import (
    RankingSort,
    VolunteerStanding,
    team_key,
    team_ranking,
    volunteer_ranking,
)
from projections.records.report import OrganisationReport, organisation_report
from projections.records.service_record import (
    RECORD_LISTS,
    AwardEntry,
    ServiceRecord,
    awards,
    confirmed_stars,
    empty_record,
    record_list,
    service_record_page,
)
from projections.records.tables import NAME
from projections.records.trainings import held_trainings, training_key


@dataclass(frozen=True)
class RecordView:
    record: ServiceRecord
    stars: int
    confirmed_stars: int
    next_cursors: dict[str, str | None]  # of each list, None when it is complete
    position: int
    erased: bool  # the volunteer's personal data is erased


@dataclass(frozen=True)
class ListPage:
    """A page of a list: at most `limit` items, the cursor to the next page, the position."""

    items: list[Any]
    next_cursor: str | None
    position: int


@dataclass(frozen=True)
class RankingPage:
    period: str  # as stored: 2026, 2026-03 or campaign:<name>
    items: list[Any]
    next_cursor: str | None
    position: int


@dataclass(frozen=True)
class ReportView:
    report: OrganisationReport
    position: int


class RecordsQueries:
    def __init__(self, views: Views) -> None:
        self.views = views

    def _read(self, min_position: int | None) -> int:
        self.views.wait(NAME, min_position)
        return self.views.position(NAME)

    def _record_volunteer(self, ctx: Context, volunteer_id: UUID) -> Volunteer:
        volunteer = self.views.aggregates.load(Volunteer, volunteer_id, "volunteer")
        reader = self.views.aggregates.reader(ctx)
        require_record_reader(reader, ctx.actor, volunteer.id, volunteer.home_org_id)
        return volunteer

    def _organisation(self, org_id: UUID) -> None:
        self.views.aggregates.load(Organisation, org_id, "organisation")

    def service_record(
        self, ctx: Context, volunteer_id: UUID, limit: int, min_position: int | None
    ) -> RecordView:
        """The record with the newest `limit` entries of each list."""
        views = self.views
        volunteer = self._record_volunteer(ctx, volunteer_id)
        position = self._read(min_position)
        found = service_record_page(views.db, volunteer.id, limit)
        record, more = found or (empty_record(volunteer, views.rules.timezone), {})
        stars = views.rules.stars(record.service_minutes)
        confirmed = confirmed_stars(views.db, volunteer.id)
        next_cursors: dict[str, str | None] = dict.fromkeys(RECORD_LISTS)
        next_cursors |= {name: encode_cursor(key) for name, key in more.items() if key is not None}
        return RecordView(record, stars, confirmed, next_cursors, position, volunteer.erased)

    def activities_ahead(
        self, ctx: Context, volunteer_id: UUID, since: date, limit: int
    ) -> tuple[list[UUID], list[UUID]]:
        """The activities whose service date is `since` or later, the soonest first, and of
        those the ones the volunteer has signed up for (in any state): the volunteer's own
        view of what is coming. Each is read from its aggregate for its seats and state."""
        volunteer = self._record_volunteer(ctx, volunteer_id)
        self._read(None)
        with self.views.db.read() as cur:
            cur.execute(
                "SELECT id FROM tb_rec_activities WHERE service_date >= %s "
                "ORDER BY service_date, id LIMIT %s",
                (since.isoformat(), limit),
            )
            ahead = [UUID(row[0]) for row in cur.fetchall()]
            cur.execute(
                "SELECT s.activity_id FROM tb_rec_sources s "
                "JOIN tb_rec_activities a ON a.id = s.activity_id "
                "WHERE s.volunteer_id = %s AND s.kind = 'signup' AND a.service_date >= %s "
                "ORDER BY a.service_date, a.id LIMIT %s",
                (str(volunteer.id), since.isoformat(), limit),
            )
            mine = [UUID(row[0]) for row in cur.fetchall()]
        return ahead, mine

    def credited_sources(
        self, volunteer_id: UUID, org_id: UUID, first: date, last: date
    ) -> list[UUID]:
        """The signups and back-fills `org_id` itself credited to the volunteer with a service
        date in [first, last], as of the log's head (a certificate's services; the command
        that issues it checks each against its aggregate and its permission)."""
        self.views.wait(NAME, self.views.runner.head())
        with self.views.db.read() as cur:
            cur.execute(
                "SELECT id FROM tb_rec_sources WHERE volunteer_id = %s AND org_id = %s "
                "AND credited = %s AND service_date >= %s AND service_date <= %s "
                "ORDER BY service_date, id LIMIT %s",
                (
                    str(volunteer_id),
                    str(org_id),
                    True,
                    first.isoformat(),
                    last.isoformat(),
                    bounds.CERTIFICATE_SERVICES + 1,  # one more is refused as too many
                ),
            )
            return [UUID(row[0]) for row in cur.fetchall()]

    def record_list(
        self, ctx: Context, name: str, volunteer_id: UUID, page: Page, min_position: int | None
    ) -> ListPage:
        """A page of one list of the record (a key of RECORD_LISTS), newest first."""
        volunteer = self._record_volunteer(ctx, volunteer_id)
        after = page.after(RECORD_LISTS[name].shape)
        position = self._read(min_position)
        entries, key = record_list(self.views.db, name, volunteer.id, page.limit, after)
        return ListPage(entries, None if key is None else encode_cursor(key), position)

    def awards(
        self,
        ctx: Context,
        org_id: UUID | None,
        status: str | None,
        page: Page,
        min_position: int | None,
    ) -> ListPage:
        """Stars and commendations of an organisation's subtree (of all when None), newest
        first, in any state or in one; for any role."""
        if org_id is not None:
            self._organisation(org_id)
        after = page.after((int,))
        position = self._read(min_position)
        rows = awards(self.views.db, org_id, status, after[0] if after else None, page.limit + 1)
        items, next_cursor = page.of(rows, _award_key)
        return ListPage(items, next_cursor, position)

    def trainings(
        self, ctx: Context, org_id: UUID, page: Page, min_position: int | None
    ) -> ListPage:
        """Trainings held by an organisation's subtree, the latest first: for those who may
        read each of them as its organiser's overseer (coordinators of the organisation or
        above, auditors, admins)."""
        self._organisation(org_id)
        reader = self.views.aggregates.reader(ctx)
        require_training_reader(reader, ctx.actor, org_id, ())
        after = page.after((str, UUID))
        position = self._read(min_position)
        rows = held_trainings(self.views.db, org_id, after, page.limit + 1)
        items, next_cursor = page.of(rows, training_key)
        return ListPage(items, next_cursor, position)

    def team_ranking(
        self,
        ctx: Context,
        org_id: UUID,
        period: str,
        kind: OrgKind,
        sort: RankingSort,
        page: Page,
        min_position: int | None,
    ) -> RankingPage:
        """Organisations of `kind` in the subtree by their members' service time; any role."""
        self._organisation(org_id)
        parsed = parse_period(period)
        after = page.after((int, UUID))
        position = self._read(min_position)
        teams = team_ranking(self.views.db, org_id, parsed, kind, sort, after, page.limit + 1)
        items, next_cursor = page.of(teams, lambda t: team_key(t, sort))
        return RankingPage(parsed.key, items, next_cursor, position)

    def volunteer_ranking(
        self, ctx: Context, org_id: UUID, period: str, page: Page, min_position: int | None
    ) -> RankingPage:
        """Volunteers by service time attributed to the subtree, most first; any role."""
        self._organisation(org_id)
        parsed = parse_period(period)
        after = page.after((int, UUID))
        position = self._read(min_position)
        rows = volunteer_ranking(self.views.db, org_id, parsed, after, page.limit + 1)
        items, next_cursor = page.of(rows, _volunteer_key)
        return RankingPage(parsed.key, items, next_cursor, position)

    def members(self, ctx: Context, org_id: UUID, page: Page, min_position: int | None) -> ListPage:
        """The volunteers whose home is the organisation or one below it, by volunteer
        number: for the organisation report's readers (coordinators of it or above, auditors,
        admins), as the members are who the report counts."""
        self._organisation(org_id)
        require_report_reader(self.views.aggregates.reader(ctx), ctx.actor, org_id)
        after = page.after((str, str))
        position = self._read(min_position)
        rows = members(self.views.db, org_id, after, page.limit + 1)
        items, next_cursor = page.of(rows, member_key)
        return ListPage(items, next_cursor, position)

    def organisation_report(
        self, ctx: Context, org_id: UUID, period: str, min_position: int | None
    ) -> ReportView:
        views = self.views
        self._organisation(org_id)
        require_report_reader(views.aggregates.reader(ctx), ctx.actor, org_id)
        parsed = parse_period(period)
        position = self._read(min_position)
        yearly_minutes = views.rules.party_member_yearly_minutes
        report = organisation_report(views.db, org_id, parsed, yearly_minutes)
        if report is None:
            raise Lagging("the records view has not reached this organisation yet; retry")
        return ReportView(report, position)


def _award_key(award: AwardEntry) -> tuple[int]:
    return (award.position,)


def _volunteer_key(standing: VolunteerStanding) -> tuple[int, UUID]:
    return (standing.minutes, standing.volunteer_id)
