"""The directory and service-time changes of a batch of the records view, applied in memory
(see projections/records/projection.py for the definitions)."""

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledger.accounts import Account
from ledger.activities import Activity
from ledger.backfills import Backfill
from ledger.identity import account_id
from ledger.organisations import Organisation
from ledger.signups import Signup
from ledger.volunteers import Volunteer
from projections.base import Batch, ProjectionCursor
from projections.db import utc_text
from projections.periods import periods
from projections.records.tables import (
    ACTIVITY_COLUMNS,
    ADD_MEMBERS,
    ADD_MINUTES,
    CAMPAIGN_COLUMNS,
    MEMBERS_COLUMNS,
    ORG_COLUMNS,
    SOURCE_CHANGES,
    SOURCE_COLUMNS,
    SPAN_CAMPAIGNS,
    TOTALS,
    TREE_COLUMNS,
    UPDATE_SOURCES,
    UPDATE_VOLUNTEERS,
    VOLUNTEER_CHANGES,
    VOLUNTEER_COLUMNS,
)

# Applied in memory by a batch; every other event is written by its own statements.
GATHERED = (
    Organisation.Registered,
    Volunteer.Registered,
    Volunteer.MembershipTransferred,
    Activity.Published,
    Signup.Requested,
    Backfill.Submitted,
    Account.ServiceCredited,
    Account.ServiceCorrected,
)


@dataclass
class _Volunteer:
    id: str
    account_id: str
    home_org_id: str
    stored: bool  # in tb_rec_volunteers before the batch (or its last write)
    number: str = ""
    party_member: bool = False
    registered_on: str = ""
    service: int = 0  # minutes added by the batch
    moved: bool = False  # home organisation changed by the batch

    def row(self) -> tuple[Any, ...]:
        return (
            self.id,
            self.account_id,
            self.number,
            self.home_org_id,
            self.party_member,
            self.registered_on,
            self.service,
        )


@dataclass
class _Activity:
    title: str
    category: str
    campaign: str | None
    service_date: str


@dataclass
class _Source:
    """What a credit is for, with the state of its credits."""

    id: str
    kind: str
    volunteer_id: str
    org_id: str
    activity_id: str | None
    title: str
    category: str
    campaign: str | None
    service_date: str
    home_org_id: str | None = None
    credited: bool = False
    minutes: int = 0
    credits: int = 0
    original_minutes: int | None = None
    corrections: int = 0
    credited_at: str | None = None
    stored: bool = False  # in tb_rec_sources before the batch (or its last write)
    changed: bool = False

    def credit(self, minutes: int, credits: int, original: int, correction: bool, at: str) -> None:
        self.minutes, self.credits, self.credited = minutes, credits, True
        if self.original_minutes is None:
            self.original_minutes = original
        self.corrections += 1 if correction else 0
        if self.credited_at is None:
            self.credited_at = at
        self.changed = True

    def row(self) -> tuple[Any, ...]:
        return (
            self.id,
            self.kind,
            self.volunteer_id,
            self.org_id,
            self.activity_id,
            self.title,
            self.category,
            self.campaign,
            self.service_date,
            self.home_org_id,
            self.credited,
            self.minutes,
            self.credits,
            self.original_minutes,
            self.corrections,
            self.credited_at,
        )


STORED_SOURCE = tuple(c for c in SOURCE_COLUMNS if c != "kind")


def _stored_source(row: Sequence[Any]) -> _Source:
    (
        id_,
        volunteer_id,
        org_id,
        activity_id,
        title,
        category,
        campaign,
        service_date,
        home_org_id,
        credited,
        minutes,
        credits,
        original_minutes,
        corrections,
        credited_at,
    ) = row
    return _Source(
        id_,
        "",
        volunteer_id,
        org_id,
        activity_id,
        title,
        category,
        campaign,
        service_date,
        home_org_id,
        bool(credited),
        int(minutes),
        int(credits),
        None if original_minutes is None else int(original_minutes),
        int(corrections),
        credited_at,
        stored=True,
    )


class Gathered:
    """The directory and service-time changes of a batch, applied in memory over the rows
    they read (loaded when the batch starts) and written by `write`, stored rows first: a
    change meant for a row that did not exist yet must not reach one the batch inserts."""

    def __init__(
        self, local_date: Callable[[datetime], str], cur: ProjectionCursor, batch: Batch
    ) -> None:
        self.local_date = local_date
        self.ancestors: dict[str, tuple[str, ...]] = {}  # of an organisation, itself included
        self.volunteers: dict[str, _Volunteer] = {}
        self.by_account: dict[str, _Volunteer] = {}
        self.activities: dict[str, _Activity] = {}
        self.sources: dict[str, _Source] = {}
        self.new_orgs: dict[str, list[Any]] = {}
        self.new_tree: list[tuple[str, str]] = []
        self.members: defaultdict[str, int] = defaultdict(int)  # of stored organisations
        self.new_activities: list[tuple[Any, ...]] = []
        self.campaigns: dict[str, tuple[str, str]] = {}
        self.totals: dict[str, defaultdict[tuple[str, ...], int]] = {
            table: defaultdict(int) for table in TOTALS
        }
        self._load(cur, [event for event, _ in batch if isinstance(event, GATHERED)])

    # Reading -----------------------------------------------------------------------------

    def _load(self, cur: ProjectionCursor, events: list[Any]) -> None:
        source_ids: set[str] = set()
        volunteer_ids: set[str] = set()
        account_ids: set[str] = set()
        org_ids: set[str] = set()
        activity_ids: set[str] = set()
        for event in events:
            match event:
                case Volunteer.Registered():
                    volunteer_ids.add(str(event.originator_id))
                    org_ids.add(str(event.home_org_id))
                case Volunteer.MembershipTransferred():
                    volunteer_ids.add(str(event.originator_id))
                    org_ids.update((str(event.from_org_id), str(event.to_org_id)))
                case Signup.Requested() | Backfill.Submitted():
                    source_ids.add(str(event.originator_id))
                    volunteer_ids.add(str(event.volunteer_id))
                    if event.activity_id:
                        activity_ids.add(str(event.activity_id))
                case Account.ServiceCredited() | Account.ServiceCorrected():
                    source_ids.add(str(event.source_id))
                    account_ids.add(str(event.originator_id))
                    org_ids.add(str(event.org_id))
        for row in cur.select_in("tb_rec_sources", STORED_SOURCE, "id", sorted(source_ids)):
            source = self.sources[row[0]] = _stored_source(row)
            volunteer_ids.add(source.volunteer_id)
            if source.home_org_id:
                org_ids.add(source.home_org_id)
        self._load_volunteers(cur, "id", volunteer_ids)
        self._load_volunteers(cur, "account_id", account_ids)
        org_ids.update(v.home_org_id for v in self.volunteers.values())
        tree = cur.select_in(
            "tb_rec_org_tree", ("org_id", "ancestor_id"), "org_id", sorted(org_ids)
        )
        ancestors: defaultdict[str, list[str]] = defaultdict(list)
        for org_id, ancestor_id in tree:
            ancestors[org_id].append(ancestor_id)
        self.ancestors = {org_id: tuple(found) for org_id, found in ancestors.items()}
        for id_, title, category, campaign, service_date in cur.select_in(
            "tb_rec_activities",
            ("id", "title", "category", "campaign", "service_date"),
            "id",
            sorted(activity_ids),
        ):
            self.activities[id_] = _Activity(title, category, campaign, service_date)

    def _load_volunteers(self, cur: ProjectionCursor, key: str, values: set[str]) -> None:
        columns = ("id", "account_id", "home_org_id")
        for id_, account, home in cur.select_in("tb_rec_volunteers", columns, key, sorted(values)):
            if id_ not in self.volunteers:
                self._remember(_Volunteer(id_, account, home, stored=True))

    def _remember(self, volunteer: _Volunteer) -> None:
        self.volunteers[volunteer.id] = volunteer
        self.by_account[volunteer.account_id] = volunteer

    # Directory ---------------------------------------------------------------------------

    def organisation(self, event: Any) -> None:
        org_id = str(event.originator_id)
        parent_id = str(event.parent_id) if event.parent_id else None
        self.new_orgs[org_id] = [org_id, event.name, event.kind, parent_id, event.population, 0]
        ancestors = tuple(dict.fromkeys([*map(str, event.path), org_id]))
        self.new_tree.extend((ancestor, org_id) for ancestor in ancestors)
        self.ancestors[org_id] = ancestors

    def _members(self, org_id: str, delta: int) -> None:
        """Counts a volunteer in (or out of) the organisation and its ancestors."""
        for ancestor in self.ancestors.get(org_id, ()):
            new = self.new_orgs.get(ancestor)
            if new is not None:
                new[5] += delta
            else:
                self.members[ancestor] += delta

    def volunteer(self, event: Any) -> None:
        volunteer_id, home = str(event.originator_id), str(event.home_org_id)
        if volunteer_id in self.volunteers:
            raise ValueError(f"volunteer {volunteer_id} is registered twice")
        self._remember(
            _Volunteer(
                volunteer_id,
                str(account_id(event.originator_id)),
                home,
                stored=False,
                number=event.number,
                party_member=bool(event.party_member),
                registered_on=self.local_date(event.occurred_at),
            )
        )
        self._members(home, 1)

    def transfer(self, event: Any) -> None:
        volunteer = self.volunteers.get(str(event.originator_id))
        if volunteer is not None:
            volunteer.home_org_id = str(event.to_org_id)
            volunteer.moved = True
        self._members(str(event.from_org_id), -1)
        self._members(str(event.to_org_id), 1)

    def activity(self, event: Any) -> None:
        activity_id = str(event.originator_id)
        service_date = self.local_date(event.starts_at)
        self.activities[activity_id] = _Activity(
            event.title, event.category, event.campaign, service_date
        )
        self.new_activities.append(
            (
                activity_id,
                str(event.org_id),
                event.title,
                event.category,
                event.campaign,
                service_date,
                service_date[:4],
                service_date[:7],
            )
        )
        if event.campaign:
            first, last = self.campaigns.get(event.campaign, (service_date, service_date))
            self.campaigns[event.campaign] = (min(first, service_date), max(last, service_date))

    def signup(self, event: Any) -> None:
        signup_id = str(event.originator_id)
        if signup_id in self.sources:
            return
        activity = self.activities.get(str(event.activity_id))
        self.sources[signup_id] = _Source(
            signup_id,
            "signup",
            str(event.volunteer_id),
            str(event.org_id),
            str(event.activity_id),
            activity.title if activity else "",
            activity.category if activity else "other",
            activity.campaign if activity else None,
            activity.service_date if activity else self.local_date(event.starts_at),
        )

    def backfill(self, event: Any) -> None:
        backfill_id = str(event.originator_id)
        if backfill_id in self.sources:
            return
        activity_id = str(event.activity_id) if event.activity_id else None
        activity = self.activities.get(activity_id) if activity_id else None
        self.sources[backfill_id] = _Source(
            backfill_id,
            "backfill",
            str(event.volunteer_id),
            str(event.org_id),
            activity_id,
            activity.title if activity else event.description,
            event.category,
            event.campaign,
            self.local_date(event.started_at),
        )

    # Service time ------------------------------------------------------------------------

    def _unknown_source(self, event: Any) -> _Source:
        """A credited source the log never introduced, recorded as one of kind `unknown`."""
        volunteer = self.by_account.get(str(event.originator_id))
        source = self.sources[str(event.source_id)] = _Source(
            str(event.source_id),
            "unknown",
            volunteer.id if volunteer else "",
            str(event.org_id),
            None,
            "",
            "other",
            None,
            self.local_date(event.occurred_at),
        )
        return source

    def fact(
        self, event: Any, kind: str, delta: int, minutes: int, credits: int, original: int
    ) -> None:
        """A change of service time: the source's credits, and the totals it counts in. A
        first credit attributes the source to the volunteer's home at the time."""
        source = self.sources.get(str(event.source_id)) or self._unknown_source(event)
        if source.home_org_id is None:
            volunteer = self.volunteers.get(source.volunteer_id)
            source.home_org_id = volunteer.home_org_id if volunteer else ""
        correction = kind == "correction"
        source.credit(minutes, credits, original, correction, utc_text(event.occurred_at))
        if delta == 0:
            return
        volunteer_id = source.volunteer_id
        volunteer = self.volunteers.get(volunteer_id)
        if volunteer is not None:
            volunteer.service += delta
        keys = [p for p in periods(source.service_date, source.campaign) if p is not None]
        members = self.totals["tb_rec_member_minutes"]
        ranking = self.totals["tb_rec_volunteer_minutes"]
        for ancestor in self.ancestors.get(source.home_org_id, ()):
            for period in keys:
                members[(ancestor, period)] += delta
                ranking[(ancestor, period, volunteer_id)] += delta
        by_category = self.totals["tb_rec_category_minutes"]
        for ancestor in self.ancestors.get(str(event.org_id), ()):
            for period in keys:
                by_category[(ancestor, period, source.category)] += delta
        personal = self.totals["tb_rec_personal_minutes"]
        for period in keys:
            personal[(volunteer_id, period)] += delta

    # Writing -----------------------------------------------------------------------------

    def write(self, cur: ProjectionCursor) -> None:
        cur.execute_rows(ADD_MEMBERS, MEMBERS_COLUMNS, list(self.members.items()))
        moved = [
            (v.id, v.home_org_id, v.service)
            for v in self.volunteers.values()
            if v.stored and (v.moved or v.service)
        ]
        cur.execute_rows(UPDATE_VOLUNTEERS, VOLUNTEER_CHANGES, moved)
        credited = [
            (
                s.id,
                s.home_org_id,
                s.credited,
                s.minutes,
                s.credits,
                s.original_minutes,
                s.corrections,
                s.credited_at,
            )
            for s in self.sources.values()
            if s.stored and s.changed
        ]
        cur.execute_rows(UPDATE_SOURCES, SOURCE_CHANGES, credited)
        spans = [(name, *span) for name, span in self.campaigns.items()]
        cur.execute_rows(SPAN_CAMPAIGNS, CAMPAIGN_COLUMNS, spans)
        for table, totals in self.totals.items():
            columns = [(key, "text") for key in TOTALS[table]] + [("minutes", "bigint")]
            cur.execute_rows(ADD_MINUTES[table], columns, [(*k, m) for k, m in totals.items()])
        cur.insert("tb_rec_orgs", ORG_COLUMNS, list(self.new_orgs.values()))
        cur.insert("tb_rec_org_tree", TREE_COLUMNS, self.new_tree)
        new = [v for v in self.volunteers.values() if not v.stored]
        cur.insert("tb_rec_volunteers", VOLUNTEER_COLUMNS, [v.row() for v in new])
        cur.insert("tb_rec_activities", ACTIVITY_COLUMNS, self.new_activities)
        new_sources = [s for s in self.sources.values() if not s.stored]
        cur.insert("tb_rec_sources", SOURCE_COLUMNS, [s.row() for s in new_sources])
        self._written()

    def _written(self) -> None:
        """After a write every row the batch knows is stored and unchanged."""
        for volunteer in self.volunteers.values():
            volunteer.stored, volunteer.service, volunteer.moved = True, 0, False
        for source in self.sources.values():
            source.stored, source.changed = True, False
        self.new_orgs.clear()
        self.new_tree.clear()
        self.members.clear()
        self.new_activities.clear()
        self.campaigns.clear()
        for totals in self.totals.values():
            totals.clear()
