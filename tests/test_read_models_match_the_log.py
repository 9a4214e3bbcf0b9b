"""Property test: every read model equals a from-scratch computation over the event log.

Hypothesis builds random histories by running the real commands through the real service
(refusals are part of the history and change nothing): organisations (district > streets >
teams, a nested team, a venue), volunteers (party members among them), membership transfers,
family links, activities (with and without a campaign, every category), signups, check-ins
and check-outs, verifications (approve, adjust, reject), back-fills submitted by one
coordinator and approved by another, disputes corrected up or down (to zero too) or
dismissed, gifts, donations and exchanges, rewards and redemptions (reserved, fulfilled,
cancelled, expired by the system), trainings, evaluations, activity completions,
commendations, stars, objections, reviews and confirmations; the clock jumps hours, days
and weeks so that histories cross local dates, months and years.

After each history the runner catches up, and an independent oracle reads the whole log and
computes every read model in plain Python from the definitions in the projection modules'
docstrings (projection.py in projections/balances/, audit/, records/, rewards/ and
worklist/, and the records' rankings.py and report.py), without their code, then compares it
with what the query
functions serve for every id the example created: account rows, statements (entries, running
balances, paging, since/until, as_of), audit trails of volunteers, activities and
redemptions, service records, team and volunteer rankings and organisation reports for
years, months and campaigns, awards by status, and the venue's rewards with the stock left
(which must also be the Reward aggregate's), each organisation subtree's work lists
(organisations, activities, signups, back-fills, disputes; seats as the activity counts
them); and, over the whole store, every account
row and the trial balance. Finally every projection is rebuilt and must serve exactly what
it served before.

One runtime serves all examples of a test (a fresh PostgreSQL database per example would
be slow), so each example registers its own organisations and volunteers; the oracle is
always computed over the whole log.
"""

import copy
import dataclasses
import itertools
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st

from ledger.accounts import TransferKind
from ledger.activities import Category
from ledger.awards import Award, Review, star_award_id
from ledger.backfills import Backfill
from ledger.commands.attendance import (
    CancelSignup,
    CheckIn,
    CheckOut,
    PublishActivity,
    SignUp,
    VerifySignup,
)
from ledger.commands.base import Command
from ledger.commands.certificates import IssueCertificate
from ledger.commands.corrections import (
    ApproveBackfill,
    OpenDispute,
    RejectBackfill,
    ResolveDispute,
    SubmitBackfill,
)
from ledger.commands.exchange import (
    CancelRedemption,
    ExpireRedemption,
    FulfilRedemption,
    ListReward,
    Redeem,
    Transfer,
)
from ledger.commands.members import (
    AnswerFamilyLink,
    EraseVolunteer,
    LinkFamily,
    RecordDataKeyDestroyed,
    RegisterOrganisation,
    RegisterVolunteer,
    TransferMembership,
)
from ledger.commands.recognition import (
    Commend,
    CompleteActivity,
    ConfirmAward,
    Evaluate,
    FileObjection,
    HoldTraining,
    ReviewAward,
)
from ledger.context import SYSTEM, Actor, Context, Role
from ledger.disputes import Resolution
from ledger.engine.aggregates import fetch
from ledger.errors import DomainError
from ledger.identity import DocumentType, signup_id
from ledger.organisations import OrgKind
from ledger.privacy import PERSONAL_EVENTS
from ledger.rules import Rules
from ledger.signups import Decision, Signup
from ledger.trainings import Evaluator
from ledger.volunteers import ERASED, Relation, Volunteer
from projections.audit.queries import audit_trail
from projections.balances.queries import statement, volunteer_account_row
from projections.pagination import Page
from projections.periods import parse_period
from projections.records.rankings import RankingSort, team_key, team_ranking, volunteer_ranking
from projections.records.report import organisation_report
from projections.records.service_record import awards, record_list, service_record
from projections.rewards.queries import rewards_at_venue
from tests.conftest import make_settings
from timebank.runtime import Runtime

RULES = Rules(
    star_thresholds_hours=(1, 3),
    notice_days=1,
    party_member_yearly_minutes=60,
    balance_cap_minutes=300,
    redemption_expiry_minutes=180,
)
ZONE = ZoneInfo(RULES.timezone)
ADMIN = Actor("admin", Role.ADMIN)
CAMPAIGN = "学雷锋"  # shared by every example: its span grows across them
MAX_VOLUNTEERS = 8
MAX_ACTIVITIES = 8
BIG = 100_000
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)
T = TypeVar("T")
# Round numbers (half of the time), so that rankings see ties and ranks like 1, 2, 2, 4.
ROUND_MINUTES = st.sampled_from([0, 30, 60, 60, 90, 120, 180])

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    # Shrinking replays whole histories for minutes; a failing example is printed in full
    # (every command with its outcome) and the differences name what went wrong.
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# The log ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Logged:
    position: int
    event: Any


class Store:
    """The runtime every example of a test writes to, and the decoded log (read once)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.log: list[Logged] = []

    def __repr__(self) -> str:
        return f"Store({self.rt.settings.store.url.get_backend_name()}, {len(self.log)} events)"

    def read_log(self) -> list[Logged]:
        recorder, mapper = self.rt.app.recorder, self.rt.app.mapper
        start = self.log[-1].position + 1 if self.log else 1
        while batch := recorder.select_notifications(start=start, limit=1000):
            self.log += [Logged(n.id, mapper.to_domain_event(n)) for n in batch]
            start = batch[-1].id + 1
        return self.log


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    rt = Runtime(make_settings(database_url, rules=RULES))
    try:
        yield Store(rt)
    finally:
        rt.close()


# The oracle ------------------------------------------------------------------------------


def local_date(moment: datetime) -> date:
    return moment.astimezone(ZONE).date()


def period_keys(day: date, campaign: str | None) -> set[str]:
    keys = {f"{day.year:04d}", f"{day.year:04d}-{day.month:02d}"}
    if campaign:
        keys.add(f"campaign:{campaign}")
    return keys


def ranks_of(values: Sequence[int | None]) -> list[int | None]:
    """Competition ranks, highest first: one more than the number of greater values."""
    return [
        None if v is None else 1 + sum(1 for w in values if w is not None and w > v) for v in values
    ]


def ratio_text(registered: int, population: int | None) -> str | None:
    """registered / population to four decimals, half up, with integers only."""
    if not population:
        return None
    scaled = (registered * 20_000 + population) // (2 * population)
    return f"{scaled // 10_000}.{scaled % 10_000:04d}"


@dataclass
class Org:
    name: str
    kind: str
    path: list[UUID]
    population: int | None


@dataclass
class Vol:
    number: str
    home: UUID
    party: bool
    registered_on: date


@dataclass
class Act:
    org: UUID
    title: str
    category: str
    campaign: str | None
    service_date: date
    beneficiaries: int | None = None


@dataclass
class Source:
    """A signup or back-fill: what its service facts belong to."""

    kind: str
    volunteer: UUID
    org: UUID
    activity: UUID | None
    title: str
    category: str
    campaign: str | None
    service_date: date
    credited: bool = False
    minutes: int = 0
    credits: int = 0
    original: int | None = None
    corrections: int = 0
    credited_at: datetime | None = None
    home: UUID | None = None  # the home organisation when first credited


@dataclass(frozen=True)
class Fact:
    """One change of service time."""

    volunteer: UUID
    home: UUID
    org: UUID
    category: str
    service_date: date
    periods: frozenset[str]
    delta: int


@dataclass
class DisputeRow:
    volunteer: UUID
    source: UUID
    source_kind: str
    previous: int
    requested_reason: str
    opened_at: datetime
    status: str = "open"
    corrected: int | None = None
    reason: str | None = None
    resolved_at: datetime | None = None
    resolved_position: int = 0


@dataclass(frozen=True)
class TrainingRow:
    id: UUID
    org: UUID
    title: str
    held_at: datetime
    minutes: int
    volunteers: tuple[UUID, ...]

    @property
    def held_on(self) -> date:
        return local_date(self.held_at)


@dataclass
class AwardRow:
    id: UUID
    volunteer: UUID
    org: UUID
    kind: str
    level: int | None
    title: str
    reason: str
    notice_ends_at: datetime
    announced_at: datetime
    position: int
    status: str = "in_notice"
    objections: int = 0
    decided_at: datetime | None = None


@dataclass
class Totals:
    balance: int = 0
    earned: int = 0
    spent: int = 0
    reserved: int = 0
    service: int = 0


SUBJECT_AGGREGATES = {"Volunteer": "volunteer", "Activity": "activity", "Redemption": "redemption"}
UNTRAILED_AGGREGATES = {"DocumentClaim"}  # its id is a keyed hash of the document
# From projections/audit/projection.py's docstring: kept in columns of their own or the store's
# bookkeeping, and personal data and codes, which must never reach the details.
COLUMN_FIELDS = {
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
SECRET_FIELDS = {"name", "id_number", "phone", "birth_date", "check_in_code", "code"}
# What each personal field of an event reads as once its volunteer is erased.
ERASED_TEXT = {cls.__qualname__: p.erased for cls, p in PERSONAL_EVENTS.items()}


class Oracle:
    """Every read model, from the log alone."""

    def __init__(self, log: Sequence[Logged]) -> None:
        self.orgs: dict[UUID, Org] = {}
        self.vols: dict[UUID, Vol] = {}
        self.owner_of_account: dict[UUID, UUID] = {}
        self.acts: dict[UUID, Act] = {}
        self.sources: dict[UUID, Source] = {}
        self.facts: list[Fact] = []
        self.accounts: dict[str, Totals] = {}
        self.entries: dict[str, list[dict[str, Any]]] = {}
        self.disputes: dict[UUID, DisputeRow] = {}
        self.trainings: list[TrainingRow] = []
        self.evaluations: list[tuple[int, dict[str, Any]]] = []
        self.awards: dict[UUID, AwardRow] = {}
        self.trails: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.trail_events: dict[tuple[str, str], list[Any]] = {}
        self.owners: dict[UUID, set[tuple[str, str]]] = {}
        self.campaign_dates: dict[str, list[date]] = {}
        self.certificates: dict[UUID, dict[str, Any]] = {}
        self.credit_positions: list[tuple[int, UUID, UUID]] = []  # position, source, account
        self.rewards: dict[UUID, dict[str, Any]] = {}
        self.held: dict[UUID, tuple[UUID, int]] = {}  # redemption -> reward, quantity
        self.work: dict[str, dict[UUID, dict[str, Any]]] = {
            "activities": {},
            "signups": {},
            "backfills": {},
            "disputes": {},
        }
        self.seats: dict[UUID, tuple[list[UUID], list[UUID]]] = {}  # accepted, waitlisted
        for item in log:
            self.audit(item.position, item.event)
            self.apply(item.position, item.event)
            self.certify(item.position, item.event)
            self.stock(item.position, item.event)
            self.to_do(item.position, item.event)

    # Folding the log -----------------------------------------------------------------

    def apply(self, position: int, e: Any) -> None:
        name = type(e).__qualname__
        oid: UUID = e.originator_id
        if name == "Organisation.Registered":
            self.orgs[oid] = Org(e.name, e.kind, list(e.path), e.population)
        elif name == "Volunteer.Registered":
            self.vols[oid] = Vol(e.number, e.home_org_id, e.party_member, local_date(e.occurred_at))
        elif name == "Volunteer.MembershipTransferred":
            self.vols[oid].home = e.to_org_id
        elif name == "Volunteer.Erased":
            self.erase(oid)
        elif name == "Account.Opened":
            self.owner_of_account[oid] = e.volunteer_id
            self.accounts.setdefault(f"volunteer:{e.volunteer_id}", Totals())
        elif name == "Activity.Published":
            day = local_date(e.starts_at)
            self.acts[oid] = Act(e.org_id, e.title, e.category, e.campaign, day)
            if e.campaign:
                self.campaign_dates.setdefault(e.campaign, []).append(day)
        elif name == "Activity.Completed":
            self.acts[oid].beneficiaries = e.beneficiaries
        elif name == "Signup.Requested":
            act = self.acts[e.activity_id]
            self.sources[oid] = Source(
                "signup",
                e.volunteer_id,
                e.org_id,
                e.activity_id,
                act.title,
                act.category,
                act.campaign,
                act.service_date,
            )
        elif name == "Backfill.Submitted":
            title = self.acts[e.activity_id].title if e.activity_id else e.description
            self.sources[oid] = Source(
                "backfill",
                e.volunteer_id,
                e.org_id,
                e.activity_id,
                title,
                e.category,
                e.campaign,
                local_date(e.started_at),
            )
        elif name == "Account.ServiceCredited":
            source = self.credit_source(oid, e)
            source.credited = True
            source.home = self.vols[source.volunteer].home
            source.original = e.service_minutes
            source.credited_at = e.occurred_at
            source.minutes = e.service_minutes
            source.credits = e.posting["minutes"] if e.posting else 0
            self.fact(source, e.org_id, e.service_minutes)
            self.accounts[f"volunteer:{source.volunteer}"].service += e.service_minutes
            if e.posting:
                self.post(position, e, e.posting, reference=e.source_id)
        elif name == "Account.ServiceCorrected":
            source = self.credit_source(oid, e)
            delta = e.corrected_minutes - e.previous_minutes
            source.minutes = e.corrected_minutes
            source.credits = e.recredit["minutes"] if e.recredit else 0
            source.corrections += 1
            self.fact(source, e.org_id, delta)
            self.accounts[f"volunteer:{source.volunteer}"].service += delta
            for posting in (e.reversal, e.recredit):
                if posting:
                    self.post(position, e, posting, reference=e.source_id)
        elif name == "Account.TransferSent":
            self.post(position, e, e.posting, memo=e.memo)
        elif name == "Account.CreditsHeld":
            self.accounts[f"volunteer:{self.owner_of_account[oid]}"].reserved += e.minutes
        elif name == "Account.HoldReleased":
            self.accounts[f"volunteer:{self.owner_of_account[oid]}"].reserved -= e.minutes
        elif name == "Account.HoldSettled":
            account = self.accounts[f"volunteer:{self.owner_of_account[oid]}"]
            account.reserved -= e.posting["minutes"]
            self.post(position, e, e.posting, reference=e.redemption_id)
        elif name == "Dispute.Opened":
            self.disputes[oid] = DisputeRow(
                e.volunteer_id,
                e.source_id,
                e.source_kind,
                e.previous_minutes,
                e.reason,
                e.occurred_at,
            )
        elif name == "Dispute.Resolved":
            dispute = self.disputes[oid]
            dispute.status, dispute.corrected, dispute.reason = e.decision, e.minutes, e.reason
            dispute.resolved_at, dispute.resolved_position = e.occurred_at, position
        elif name == "Training.Held":
            self.trainings.append(
                TrainingRow(oid, e.org_id, e.title, e.held_at, e.minutes, tuple(e.volunteer_ids))
            )
        elif name == "Evaluation.Given":
            row = {
                "evaluation_id": oid,
                "signup_id": e.signup_id,
                "activity_id": e.activity_id,
                "activity_title": self.acts[e.activity_id].title,
                "org_id": e.org_id,
                "score": e.score,
                "by": e.by,
                "comment": e.comment,
                "given_at": e.occurred_at,
            }
            self.evaluations.append((position, {"volunteer": e.volunteer_id, **row}))
        elif name == "Award.Announced":
            self.awards[oid] = AwardRow(
                oid,
                e.volunteer_id,
                e.org_id,
                e.kind,
                e.level,
                e.title,
                e.reason,
                e.notice_ends_at,
                e.occurred_at,
                position,
            )
        elif name == "Award.Objected":
            self.awards[oid].status = "objected"
            self.awards[oid].objections += 1
        elif name == "Award.Reviewed":
            award = self.awards[oid]
            award.status = "withdrawn" if e.decision == "withdraw" else "in_notice"
            award.decided_at = e.occurred_at
        elif name == "Award.Confirmed":
            self.awards[oid].status = "confirmed"
            self.awards[oid].decided_at = e.occurred_at
        elif name == "Award.Revoked":
            self.awards[oid].status = "revoked"
            self.awards[oid].decided_at = e.occurred_at
        elif name == "Award.Renewed":
            award = self.awards[oid]
            award.status, award.notice_ends_at, award.decided_at = (
                "in_notice",
                e.notice_ends_at,
                None,
            )

    def certify(self, position: int, e: Any) -> None:
        """The certificates view: each certificate as issued (its person's data erased with
        them), superseded by a later correction of a service it lists; every credit and
        correction of a service, by position."""
        name = type(e).__qualname__
        if name == "Certificate.Issued":
            self.certificates[e.originator_id] = {
                "volunteer": e.volunteer_id,
                "status": "valid",
                "content": e.content(),
                "digest": e.digest,
                "position": position,
                "sources": set(e.source_ids),
            }
        elif name in ("Account.ServiceCredited", "Account.ServiceCorrected"):
            self.credit_positions.append((position, e.source_id, e.originator_id))
            if name == "Account.ServiceCorrected":
                for cert in self.certificates.values():
                    if e.source_id in cert["sources"]:
                        cert["status"] = "superseded"
        elif name == "Volunteer.Erased":
            for cert in self.certificates.values():
                if cert["volunteer"] == e.originator_id:
                    content = cert["content"]
                    content["volunteer"]["name"] = ERASED
                    content["volunteer"]["id_number_masked"] = ERASED
                    content["purpose"] = ERASED

    def stock(self, position: int, e: Any) -> None:
        """The rewards view: each reward as listed; a reservation takes its quantity from
        the stock, a cancelled or expired one gives it back, a hand-out changes nothing."""
        name = type(e).__qualname__
        if name == "Reward.Listed":
            self.rewards[e.originator_id] = {
                "venue": e.venue_id,
                "id": e.originator_id,
                "name": e.name,
                "cost_minutes": e.cost_minutes,
                "stock": e.stock,
                "per_volunteer_limit": e.per_volunteer_limit,
                "position": position,
            }
        elif name == "Redemption.Reserved":
            self.held[e.originator_id] = (e.reward_id, e.quantity)
            self.rewards[e.reward_id]["stock"] -= e.quantity
        elif name in ("Redemption.Cancelled", "Redemption.Expired"):
            reward, quantity = self.held[e.originator_id]
            self.rewards[reward]["stock"] += quantity

    def to_do(self, position: int, e: Any) -> None:
        """The worklist view: activities (published, then completed; seats as the activity
        counts them), signups by their latest status (minutes measured at check-out, then
        verified, then corrected; ordered by the event that gave the status), back-fills
        (minutes submitted, approved, corrected) with their submitter, disputes."""
        name = type(e).__qualname__
        oid: UUID = e.originator_id
        work = self.work
        if name == "Activity.Published":
            self.seats[oid] = ([], [])
            work["activities"][oid] = {
                "id": oid,
                "org_id": e.org_id,
                "title": e.title,
                "category": e.category,
                "campaign": e.campaign,
                "starts_at": e.starts_at,
                "ends_at": e.ends_at,
                "capacity": e.capacity,
                "status": "published",
                "beneficiaries": None,
            }
        elif name == "Activity.Completed":
            work["activities"][oid].update(status="completed", beneficiaries=e.beneficiaries)
        elif name == "Activity.SeatTaken":
            self.seats[oid][0 if e.status == "accepted" else 1].append(e.signup_id)
        elif name == "Activity.SeatReleased":
            accepted, waitlisted = self.seats[oid]
            for seats in (accepted, waitlisted):
                if e.signup_id in seats:
                    seats.remove(e.signup_id)
            if e.promoted_signup_id is not None:
                accepted.append(waitlisted.pop(0))
        elif name == "Signup.Requested":
            work["signups"][oid] = {
                "id": oid,
                "activity_id": e.activity_id,
                "activity_title": work["activities"][e.activity_id]["title"],
                "org_id": e.org_id,
                "volunteer_id": e.volunteer_id,
                "volunteer_number": self.vols[e.volunteer_id].number,
                "status": e.status,
                "checked_in_at": None,
                "checked_out_at": None,
                "minutes": None,
                "status_position": position,
            }
        elif name.startswith("Signup.") and name != "Signup.Corrected":
            signup = work["signups"][oid]
            signup["status_position"] = position
            if name == "Signup.Renewed":
                signup["status"] = e.status
            elif name == "Signup.Promoted":
                signup["status"] = "accepted"
            elif name == "Signup.Cancelled":
                signup["status"] = "cancelled"
            elif name == "Signup.CheckedIn":
                signup.update(status="checked_in", checked_in_at=e.at)
            elif name in ("Signup.CheckedOut", "Signup.CheckOutMissed"):
                signup.update(status="checked_out", checked_out_at=e.at, minutes=e.minutes)
            elif e.decision == Decision.REJECT:
                signup["status"] = "rejected"
            else:
                signup.update(status="verified", minutes=e.minutes)
        elif name == "Signup.Corrected":
            work["signups"][oid]["minutes"] = e.minutes
        elif name == "Backfill.Submitted":
            work["backfills"][oid] = {
                "id": oid,
                "org_id": e.org_id,
                "volunteer_id": e.volunteer_id,
                "volunteer_number": self.vols[e.volunteer_id].number,
                "category": e.category,
                "started_at": e.started_at,
                "ended_at": e.ended_at,
                "minutes": e.minutes,
                "status": "submitted",
                "submitted_by": e.actor,
                "submitted_at": e.occurred_at,
                "position": position,
            }
        elif name == "Backfill.Approved":
            work["backfills"][oid].update(status="approved", minutes=e.minutes)
        elif name == "Backfill.Rejected":
            work["backfills"][oid]["status"] = "rejected"
        elif name == "Backfill.Corrected":
            work["backfills"][oid]["minutes"] = e.minutes
        elif name == "Dispute.Opened":
            work["disputes"][oid] = {
                "id": oid,
                "org_id": e.org_id,
                "volunteer_id": e.volunteer_id,
                "volunteer_number": self.vols[e.volunteer_id].number,
                "source_id": e.source_id,
                "source_kind": e.source_kind,
                "previous_minutes": e.previous_minutes,
                "status": "open",
                "opened_at": e.occurred_at,
                "position": position,
            }
        elif name == "Dispute.Resolved":
            work["disputes"][oid]["status"] = e.decision

    def subtree(self, org: UUID) -> list[dict[str, Any]]:
        def trail(o: Org) -> str:
            return "\x1f".join(self.orgs[a].name for a in o.path)

        found = [
            {
                "id": oid,
                "name": o.name,
                "kind": o.kind,
                "parent_id": o.path[-2] if len(o.path) > 1 else None,
                "depth": len(o.path) - 1 - o.path.index(org),
                "trail": trail(o),
            }
            for oid, o in self.orgs.items()
            if org in o.path
        ]
        found.sort(key=lambda o: (o["trail"], str(o["id"])))
        return [{k: v for k, v in o.items() if k != "trail"} for o in found]

    def work_list(self, kind: str, org: UUID, status: str | None) -> list[dict[str, Any]]:
        """One of the worklist's lists over the subtree, in its order."""
        rows = [
            dict(r)
            for r in self.work[kind].values()
            if self.within(r["org_id"], org) and status in (None, r["status"])
        ]
        if kind == "activities":
            for r in rows:
                accepted, waitlisted = self.seats[r["id"]]
                r.update(accepted=len(accepted), waitlisted=len(waitlisted))
            return sorted(rows, key=lambda r: (r["starts_at"], str(r["id"])), reverse=True)
        return sorted(
            rows, key=lambda r: int(r["status_position" if kind == "signups" else "position"])
        )

    def rewards_at(self, venue: UUID) -> list[dict[str, Any]]:
        found = [
            {k: v for k, v in r.items() if k != "venue"}
            for r in self.rewards.values()
            if r["venue"] == venue
        ]
        return sorted(found, key=lambda r: int(r["position"]))

    def certificates_of(self, vid: UUID) -> list[dict[str, Any]]:
        """A volunteer's certificates, newest first, with the positions each rests on."""
        found = []
        for cert_id, cert in self.certificates.items():
            if cert["volunteer"] != vid:
                continue
            content = cert["content"]
            account = UUID(content["volunteer"]["account_id"])
            evidence = [
                p
                for p, source, owner in self.credit_positions
                if source in cert["sources"] and owner == account and p < cert["position"]
            ]
            found.append(
                {
                    "id": cert_id,
                    "status": cert["status"],
                    "content": content,
                    "digest": cert["digest"],
                    "position": cert["position"],
                    "evidence": evidence,
                }
            )
        return sorted(found, key=lambda c: -int(c["position"]))

    def erase(self, vid: UUID) -> None:
        """An erased volunteer's free text reads as each personal field's erased value
        (ledger/privacy.py), as it does once their data key is destroyed: a back-fill's
        description (a source's title when it has no activity), a dispute's reason, an
        evaluation's comment, in the records and in every trail showing those events."""
        for source in self.sources.values():
            if source.volunteer == vid and source.kind == "backfill" and source.activity is None:
                source.title = ERASED_TEXT["Backfill.Submitted"]["description"]
        for dispute in self.disputes.values():
            if dispute.volunteer == vid:
                dispute.requested_reason = ERASED_TEXT["Dispute.Opened"]["reason"]
        for _, row in self.evaluations:
            if row["volunteer"] == vid:
                row["comment"] = ERASED_TEXT["Evaluation.Given"]["comment"]
        for subject, events in self.trail_events.items():
            for i, e in enumerate(events):
                erased = ERASED_TEXT.get(type(e).__qualname__)
                if erased is None:
                    continue
                whose = e.originator_id if type(e) is Volunteer.Registered else e.volunteer_id
                if whose != vid:
                    continue
                shown = copy.copy(e)
                for field_name, value in erased.items():
                    object.__setattr__(shown, field_name, copy.copy(value))
                events[i] = shown
                if "reason" in erased:
                    self.trails[subject][i]["reason"] = erased["reason"]

    def credit_source(self, account_id: UUID, e: Any) -> Source:
        source = self.sources[e.source_id]
        assert source.volunteer == self.owner_of_account[account_id], "credited to someone else"
        return source

    def fact(self, source: Source, org: UUID, delta: int) -> None:
        assert source.home is not None
        self.facts.append(
            Fact(
                source.volunteer,
                source.home,
                org,
                source.category,
                source.service_date,
                frozenset(period_keys(source.service_date, source.campaign)),
                delta,
            )
        )

    def post(
        self,
        position: int,
        e: Any,
        posting: dict[str, Any],
        memo: str = "",
        reference: UUID | None = None,
    ) -> None:
        minutes = posting["minutes"]
        sides = (
            (posting["debit"], -minutes, posting["credit"]),
            (posting["credit"], minutes, posting["debit"]),
        )
        for account, amount, counterparty in sides:
            totals = self.accounts.setdefault(account, Totals())
            totals.balance += amount
            if posting["kind"] == "reversal":  # a correction takes back: earned goes down
                if amount < 0:
                    totals.earned += amount
                else:
                    totals.spent -= amount
            elif amount > 0:
                totals.earned += amount
            else:
                totals.spent -= amount
            self.entries.setdefault(account, []).append(
                {
                    "position": position,
                    "posting_id": posting["id"],
                    "kind": posting["kind"],
                    "amount_minutes": amount,
                    "balance_minutes": totals.balance,
                    "counterparty": counterparty,
                    "memo": memo,
                    "reference": None if reference is None else str(reference),
                    "occurred_at": e.occurred_at,
                    "recorded_at": e.timestamp,
                }
            )

    def audit(self, position: int, e: Any) -> None:
        aggregate = type(e).__qualname__.split(".")[0]
        if aggregate in UNTRAILED_AGGREGATES:
            return
        oid: UUID = e.originator_id
        subjects: set[tuple[str, str]] = set()
        if aggregate in SUBJECT_AGGREGATES:
            subjects.add((SUBJECT_AGGREGATES[aggregate], str(oid)))
        if e.originator_version == 1:  # created: its owners are named once and for all
            owners: set[tuple[str, str]] = set()
            if getattr(e, "volunteer_id", None) is not None:
                owners.add(("volunteer", str(e.volunteer_id)))
            for participant in getattr(e, "volunteer_ids", None) or ():
                owners.add(("volunteer", str(participant)))
            if getattr(e, "activity_id", None) is not None:
                owners.add(("activity", str(e.activity_id)))
            self.owners[oid] = owners
        subjects |= self.owners.get(oid, set())
        if getattr(e, "redemption_id", None) is not None:
            subjects.add(("redemption", str(e.redemption_id)))
        reason = getattr(e, "reason", None)
        row = {
            "position": position,
            "event_type": type(e).__qualname__,
            "aggregate_id": str(oid),
            "aggregate_version": e.originator_version,
            "actor": e.actor,
            "role": e.role,
            "request_id": e.request_id,
            "occurred_at": e.occurred_at,
            "recorded_at": e.timestamp,
            "reason": None if reason is None else str(reason),
        }
        for subject in subjects:
            self.trails.setdefault(subject, []).append(row)
            self.trail_events.setdefault(subject, []).append(e)

    # Definitions ---------------------------------------------------------------------

    def within(self, org: UUID, ancestor: UUID) -> bool:
        return org in self.orgs and ancestor in self.orgs[org].path

    def members(self, org: UUID) -> list[UUID]:
        return [vid for vid, v in self.vols.items() if self.within(v.home, org)]

    def member_facts(self, org: UUID, period: str) -> list[Fact]:
        return [f for f in self.facts if period in f.periods and self.within(f.home, org)]

    def minutes_by_volunteer(self, org: UUID, period: str) -> Counter[UUID]:
        totals: Counter[UUID] = Counter()
        for f in self.member_facts(org, period):
            totals[f.volunteer] += f.delta
        return totals

    def campaign_span(self, campaign: str) -> tuple[date, date] | None:
        days = self.campaign_dates.get(campaign)
        return (min(days), max(days)) if days else None

    # The read models -----------------------------------------------------------------

    def account_row(self, vid: UUID) -> dict[str, Any] | None:
        t = self.accounts.get(f"volunteer:{vid}")
        if t is None:
            return None
        return {
            "balance_minutes": t.balance,
            "reserved_minutes": t.reserved,
            "earned_minutes": t.earned,
            "spent_minutes": t.spent,
            "service_minutes": t.service,
        }

    def all_accounts(self) -> dict[str, tuple[int, int, int, int, int]]:
        return {
            name: (t.balance, t.earned, t.spent, t.reserved, t.service)
            for name, t in self.accounts.items()
        }

    def statement_entries(self, vid: UUID) -> list[dict[str, Any]]:
        return self.entries.get(f"volunteer:{vid}", [])

    def trail(self, kind: str, subject: UUID) -> list[dict[str, Any]]:
        return self.trails.get((kind, str(subject)), [])

    def award(self, a: AwardRow) -> dict[str, Any]:
        return {
            "id": a.id,
            "volunteer_id": a.volunteer,
            "volunteer_number": self.vols[a.volunteer].number,
            "org_id": a.org,
            "kind": a.kind,
            "level": a.level,
            "title": a.title,
            "reason": a.reason,
            "status": a.status,
            "objections": a.objections,
            "announced_at": a.announced_at,
            "notice_ends_at": a.notice_ends_at,
            "decided_at": a.decided_at,
            "position": a.position,
        }

    def award_list(self, org: UUID | None, status: str | None) -> list[dict[str, Any]]:
        chosen = [
            a
            for a in self.awards.values()
            if (org is None or self.within(a.org, org)) and status in (None, a.status)
        ]
        return [self.award(a) for a in sorted(chosen, key=lambda a: -a.position)]

    def record(self, vid: UUID) -> dict[str, Any]:
        v = self.vols[vid]
        services = sorted(
            ((s_id, s) for s_id, s in self.sources.items() if s.volunteer == vid and s.credited),
            key=lambda item: str(item[0]),
        )
        services.sort(key=lambda item: (item[1].service_date, item[1].credited_at), reverse=True)
        attended = sorted(
            (t for t in self.trainings if vid in t.volunteers), key=lambda t: str(t.id)
        )
        attended.sort(key=lambda t: (t.held_on, t.held_at), reverse=True)
        corrected = sorted(
            (
                (d_id, d)
                for d_id, d in self.disputes.items()
                if d.volunteer == vid and d.status == "corrected"
            ),
            key=lambda item: -item[1].resolved_position,
        )
        return {
            "volunteer_id": vid,
            "volunteer_number": v.number,
            "home_org_id": v.home,
            "registered_on": v.registered_on,
            "service_minutes": sum(f.delta for f in self.facts if f.volunteer == vid),
            "training_minutes": sum(t.minutes for t in attended),
            "services": [
                {
                    "source_id": s_id,
                    "source_kind": s.kind,
                    "activity_id": s.activity,
                    "title": s.title,
                    "org_id": s.org,
                    "org_name": self.orgs[s.org].name,
                    "category": s.category,
                    "campaign": s.campaign,
                    "service_date": s.service_date,
                    "minutes": s.minutes,
                    "credits": s.credits,
                    "original_minutes": s.original,
                    "corrections": s.corrections,
                    "credited_at": s.credited_at,
                }
                for s_id, s in services
            ],
            "corrections": [
                {
                    "dispute_id": d_id,
                    "source_id": d.source,
                    "source_kind": d.source_kind,
                    "previous_minutes": d.previous,
                    "corrected_minutes": d.corrected,
                    "reason": d.reason,
                    "requested_reason": d.requested_reason,
                    "requested_at": d.opened_at,
                    "corrected_at": d.resolved_at,
                }
                for d_id, d in corrected
            ],
            "trainings": [
                {
                    "training_id": t.id,
                    "org_id": t.org,
                    "org_name": self.orgs[t.org].name,
                    "title": t.title,
                    "held_at": t.held_at,
                    "minutes": t.minutes,
                }
                for t in attended
            ],
            "evaluations": [
                {k: val for k, val in row.items() if k != "volunteer"}
                for _, row in sorted(self.evaluations, key=lambda item: -item[0])
                if row["volunteer"] == vid
            ],
            "awards": [
                self.award(a)
                for a in sorted(self.awards.values(), key=lambda a: -a.position)
                if a.volunteer == vid
            ],
        }

    def team_ranking(
        self, org: UUID, period: str, kind: str, per_capita: bool = False
    ) -> list[dict[str, Any]]:
        """By total (or per-capita minutes, teams without members last), ties by id."""
        teams = sorted(
            (o for o, info in self.orgs.items() if info.kind == kind and self.within(o, org)),
            key=str,
        )
        totals = {o: sum(f.delta for f in self.member_facts(o, period)) for o in teams}
        members = {o: len(self.members(o)) for o in teams}
        capita = {o: totals[o] // members[o] if members[o] else None for o in teams}
        rank = dict(zip(teams, ranks_of([totals[o] for o in teams]), strict=True))
        capita_rank = dict(zip(teams, ranks_of([capita[o] for o in teams]), strict=True))
        if per_capita:
            teams.sort(key=lambda o: (capita[o] is None, -(capita[o] or 0)))
        else:
            teams.sort(key=lambda o: -totals[o])
        return [
            {
                "org_id": o,
                "name": self.orgs[o].name,
                "kind": kind,
                "total_minutes": totals[o],
                "members": members[o],
                "per_capita_minutes": capita[o],
                "rank": rank[o],
                "per_capita_rank": capita_rank[o],
            }
            for o in teams
        ]

    def volunteer_ranking(self, org: UUID, period: str) -> list[dict[str, Any]]:
        totals = {v: m for v, m in self.minutes_by_volunteer(org, period).items() if m > 0}
        ordered = sorted(totals, key=lambda v: (-totals[v], str(v)))
        ranks = ranks_of([totals[v] for v in ordered])
        return [
            {
                "rank": rank,
                "volunteer_id": v,
                "volunteer_number": self.vols[v].number,
                "minutes": totals[v],
            }
            for v, rank in zip(ordered, ranks, strict=True)
        ]

    def report(self, org: UUID, period: str) -> dict[str, Any]:
        info = self.orgs[org]
        members = self.members(org)
        attributed = self.minutes_by_volunteer(org, period)
        campaign = period.removeprefix("campaign:") if period.startswith("campaign:") else None
        held = [
            a
            for a in self.acts.values()
            if a.beneficiaries is not None
            and self.within(a.org, org)
            and (
                a.campaign == campaign if campaign else period in period_keys(a.service_date, None)
            )
        ]
        by_category: Counter[str] = Counter()
        for f in self.facts:
            if period in f.periods and self.within(f.org, org):
                by_category[f.category] += f.delta
        categories = [c.value for c in Category]
        categories += sorted(set(by_category) - set(categories))
        span: tuple[date, date] | None = None
        if campaign is None:
            trainings = [t for t in self.trainings if period in period_keys(t.held_on, None)]
        else:
            span = self.campaign_span(campaign)
            trainings = [t for t in self.trainings if span and span[0] <= t.held_on <= span[1]]
        trainings = [t for t in trainings if self.within(t.org, org)]
        party: dict[str, Any] | None = None
        if campaign is None or span is not None:
            year = span[1].year if span else int(period[:4])
            rows = sorted(
                (
                    (
                        self.vols[v].number,
                        v,
                        sum(
                            f.delta
                            for f in self.facts
                            if f.volunteer == v and f.service_date.year == year
                        ),
                    )
                    for v in members
                    if self.vols[v].party
                ),
            )
            required = RULES.party_member_yearly_minutes
            short = [r for r in rows if r[2] < required]
            enough = [r for r in rows if r[2] >= required]
            party = {
                "year": f"{year:04d}",
                "required_minutes": required,
                "registered": len(rows),
                "met": len(enough),
                "not_met": len(short),
                "meeting": [
                    {"volunteer_id": v, "volunteer_number": n, "minutes": m} for n, v, m in enough
                ],
                "not_meeting": [
                    {"volunteer_id": v, "volunteer_number": n, "minutes": m} for n, v, m in short
                ],
            }
        return {
            "org_id": org,
            "name": info.name,
            "kind": info.kind,
            "period": period,
            "registered_volunteers": len(members),
            "active_volunteers": sum(1 for v in members if attributed[v] > 0),
            "population": info.population,
            "registration_ratio": ratio_text(len(members), info.population),
            "activities_held": len(held),
            "beneficiaries": sum(a.beneficiaries or 0 for a in held),
            "service_minutes_by_category": [
                {"category": c, "minutes": by_category[c]} for c in categories
            ],
            "total_service_minutes": sum(by_category.values()),
            "member_service_minutes": sum(f.delta for f in self.member_facts(org, period)),
            "trainings_held": len(trainings),
            "training_participants": len({v for t in trainings for v in t.volunteers}),
            "party_members": party,
        }


# Histories -------------------------------------------------------------------------------


@dataclass
class ActivityRef:
    id: UUID
    starts_at: datetime
    ends_at: datetime
    code: str


@dataclass
class SignupRef:
    activity: ActivityRef
    volunteer: UUID
    checked_in_at: datetime | None = None


@dataclass
class RedemptionRef:
    id: UUID
    volunteer: UUID
    code: str
    expires_at: datetime


class History:
    """Runs random commands through the service for one example, keeping only the ids it
    needs to aim the next ones (never a model of their effects: refusals are ignored).
    Lists keep the order things were made in, never an order of random ids, so that the same
    draws replay the same history."""

    def __init__(self, rt: Runtime, data: st.DataObject) -> None:
        self.rt = rt
        self.data = data
        self.tag = uuid4().hex[:8]
        self.campaign = f"campaign {self.tag}"
        self.requests = 0
        self.documents = 0
        self.outcomes: Counter[str] = Counter()
        year = self.draw(st.sampled_from([2024, 2025]), "year")
        month = self.draw(st.integers(1, 12), "month")
        day = self.draw(st.sampled_from([1, 2, 14, 27, 28]), "day")
        minute = self.draw(st.integers(0, 24 * 60 - 1), "minute of the day")
        start = datetime(year, month, day, tzinfo=ZONE) + timedelta(minutes=minute)
        self.now = start.astimezone(UTC)
        self.coord_a = Actor(f"coordinator-a-{self.tag}", Role.COORDINATOR)
        self.coord_b = Actor(f"coordinator-b-{self.tag}", Role.COORDINATOR)
        self.orgs: dict[str, UUID] = {}
        self.volunteers: list[UUID] = []
        self.earners: list[UUID] = []  # credited at least once: likely to have credits
        self.credited: list[UUID] = []  # verified signups and approved back-fills
        self.activities: list[ActivityRef] = []
        self.signups: dict[UUID, SignupRef] = {}
        self.backfills: dict[UUID, UUID] = {}  # -> the volunteer
        self.disputes: list[UUID] = []
        self.redemptions: list[RedemptionRef] = []
        self.commendations: list[UUID] = []
        self.reward: UUID | None = None
        self.rewards: list[UUID] = []

    # Plumbing ----------------------------------------------------------------------------

    def draw(self, strategy: st.SearchStrategy[T], label: str) -> T:
        return self.data.draw(strategy, label=label)

    def pick(self, items: Sequence[T], label: str) -> T:
        return self.draw(st.sampled_from(items), label)

    def mostly(self, label: str) -> bool:
        return self.draw(st.integers(0, 3), label) > 0

    def run(
        self, command: Command, actor: Actor = ADMIN, now: datetime | None = None
    ) -> dict[str, Any] | None:
        self.requests += 1
        ctx = Context(actor, f"{self.tag}-{self.requests:03d}", now or self.now)
        name = type(command).__name__
        try:
            body = self.rt.service.execute(ctx, command).body
        except DomainError as e:
            note(f"{ctx.request_id} {command!r} as {actor.name} at {ctx.now}: refused {e.code}")
            self.outcomes[f"{name}: {e.code}"] += 1
            return None
        note(f"{ctx.request_id} {command!r} as {actor.name} at {ctx.now}: {body}")
        self.outcomes[f"{name}: ok"] += 1
        return body

    def later(self, moment: datetime) -> datetime:
        """Moves the clock on to `moment` (never back); returns the clock."""
        self.now = max(self.now, moment)
        return self.now

    def scoped(self, actor: Actor, org: str) -> Actor:
        return dataclasses.replace(actor, scope_id=self.orgs[org])

    def coordinator(self) -> Actor:
        """Mostly coordinators of the whole district, sometimes one of a single team."""
        return self.pick(
            [
                ADMIN,
                self.scoped(self.coord_a, "district"),
                self.scoped(self.coord_b, "district"),
                self.scoped(self.coord_a, "street 1"),
                self.scoped(self.coord_b, "team 3"),
            ],
            "coordinator",
        )

    def self_actor(self, vid: UUID) -> Actor:
        return Actor(f"volunteer-{vid}", Role.VOLUNTEER, vid)

    def desk(self) -> Actor:
        return Actor(f"desk-{self.tag}", Role.DESK, self.orgs["venue"])

    @property
    def member_orgs(self) -> list[UUID]:
        return [
            self.orgs[n] for n in ("street 1", "street 2", "team 1", "team 2", "team 3", "team 1a")
        ]

    @property
    def organisers(self) -> list[UUID]:
        return [self.orgs["district"], *self.member_orgs]

    def volunteer(self, label: str = "volunteer") -> UUID:
        return self.pick(self.volunteers, label)

    def award(self) -> UUID | None:
        """An award of this example: a commendation or a star someone reached."""
        stars = [star_award_id(v, level) for v in self.volunteers for level in (1, 2)]
        repository = self.rt.app.repository
        found = [a for a in [*self.commendations, *stars] if fetch(repository, Award, a)]
        return self.pick(found, "award") if found else None

    def spender(self, label: str) -> UUID:
        """Mostly a volunteer who was credited, so that spending is not always refused."""
        if self.earners and self.mostly(f"{label} has earned"):
            return self.pick(self.earners, label)
        return self.volunteer(label)

    def open_activity(self) -> ActivityRef:
        """Mostly an activity that has not ended, so that signing up is not always refused."""
        open_ = [a for a in self.activities if a.ends_at > self.now]
        if open_ and self.mostly("an open activity"):
            return self.pick(open_, "activity")
        return self.pick(self.activities, "activity")

    # Setup ---------------------------------------------------------------------------------

    def setup(self) -> None:
        population = st.one_of(st.none(), st.integers(0, 40))

        def register(name: str, kind: OrgKind, parent: str | None) -> None:
            body = self.run(
                RegisterOrganisation(
                    f"{name} {self.tag}",
                    kind,
                    self.orgs[parent] if parent else None,
                    self.draw(population, f"population of {name}"),
                )
            )
            assert body is not None
            self.orgs[name] = UUID(body["id"])

        register("district", OrgKind.DISTRICT, None)
        register("street 1", OrgKind.STREET, "district")
        register("street 2", OrgKind.STREET, "district")
        register("team 1", OrgKind.TEAM, "street 1")
        register("team 2", OrgKind.TEAM, "street 1")
        register("team 3", OrgKind.TEAM, "street 2")
        register("team 1a", OrgKind.TEAM, "team 1")
        register("venue", OrgKind.VENUE, "street 1")
        cost = self.draw(st.integers(10, 120), "reward cost")
        stock = self.draw(st.integers(1, 4), "reward stock")
        limit = self.draw(st.one_of(st.none(), st.just(1)), "per-volunteer limit")
        body = self.run(ListReward(self.orgs["venue"], "Rice", cost, stock, limit))
        assert body is not None
        self.reward = UUID(body["id"])
        body = self.run(ListReward(self.orgs["venue"], "Soap", 1, 3))
        assert body is not None
        self.rewards = [self.reward, UUID(body["id"])]
        for _ in range(3):
            self.register_volunteer(ADMIN)
        for _ in range(2):
            self.publish()

    # Actions -------------------------------------------------------------------------------

    def register_volunteer(self, actor: Actor | None = None) -> None:
        if len(self.volunteers) >= MAX_VOLUNTEERS:
            return
        home = self.pick(self.member_orgs, "home")
        party = self.draw(st.booleans(), "party member")
        self.documents += 1
        document = f"P{self.tag}{self.documents:02d}".upper()
        body = self.run(
            RegisterVolunteer(
                f"Volunteer {document}",
                DocumentType.PASSPORT,
                document,
                "13800000000",
                "1980-02-03",
                party,
                ("care",),
                home,
            ),
            actor or self.coordinator(),
        )
        if body is not None:
            self.volunteers.append(UUID(body["id"]))

    def transfer_membership(self) -> None:
        to = self.pick(self.member_orgs, "to organisation")
        vid = self.spender("moving")
        self.run(TransferMembership(vid, to, "moved house"), self.coordinator())

    def move_then_correct(self) -> None:
        """A credited volunteer moves, then a record credited before the move is corrected:
        the correction counts where the credit counted."""
        if not self.credited:
            return
        record = self.pick(self.credited, "record credited before the move")
        owner = self.signups[record].volunteer if record in self.signups else self.backfills[record]
        volunteer = fetch(self.rt.app.repository, Volunteer, owner)
        assert volunteer is not None
        to = self.pick([o for o in self.member_orgs if o != volunteer.home_org_id], "moving to")
        if not self.run(TransferMembership(owner, to, "moved house")):
            return
        body = self.run(OpenDispute(record, "the minutes are wrong"))
        if body is not None:
            self.disputes.append(UUID(body["id"]))
            minutes = self.draw(st.one_of(ROUND_MINUTES, st.integers(1, 400)), "corrected to")
            command = ResolveDispute(UUID(body["id"]), Resolution.CORRECT, "looked again", minutes)
            if self.run(command):
                event("moved, then corrected")

    def link_family(self) -> None:
        relation = self.pick(list(Relation), "relation")
        volunteer, relative = self.volunteer(), self.volunteer("relative")
        if self.mostly("linked by the admin"):
            self.run(LinkFamily(volunteer, relative, relation))
            return
        # Asked by the volunteer: recorded on them only, until the relative answers.
        self.run(LinkFamily(volunteer, relative, relation), self.self_actor(volunteer))
        answer = self.pick(["confirm", "decline", "none"], "answer")
        if answer != "none":
            command = AnswerFamilyLink(relative, volunteer, answer == "confirm")
            self.run(command, self.self_actor(relative))

    def publish(self) -> None:
        if len(self.activities) >= MAX_ACTIVITIES:
            return
        org = self.pick(self.organisers, "organiser")
        category = self.pick(list(Category), "category")
        campaign = self.pick([None, None, CAMPAIGN, self.campaign], "campaign")
        starts_at = self.now + timedelta(minutes=self.draw(st.integers(-180, 3 * 1440), "start"))
        ends_at = starts_at + timedelta(
            minutes=self.draw(st.sampled_from([60, 120, 180, 240, 75]), "duration")
        )
        capacity = self.draw(st.integers(1, 3), "capacity")
        title = f"Activity {len(self.activities) + 1} {self.tag}"
        command = PublishActivity(
            org, title, category, "Hall", starts_at, ends_at, capacity, campaign
        )
        body = self.run(command, self.coordinator())
        if body is not None:
            code = body["check_in_code"]
            self.activities.append(ActivityRef(UUID(body["id"]), starts_at, ends_at, code))

    def sign_up(self, activity: ActivityRef, vid: UUID) -> UUID | None:
        actor = self.pick([ADMIN, self.self_actor(vid)], "signing up")
        if self.run(SignUp(activity.id, vid), actor) is None:
            return None
        sid = signup_id(activity.id, vid)
        self.signups.setdefault(sid, SignupRef(activity, vid))
        return sid

    def check_in(self, sid: UUID, offset: int) -> bool:
        ref = self.signups[sid]
        at = ref.activity.starts_at + timedelta(minutes=offset)
        actor = self.pick([ADMIN, self.self_actor(ref.volunteer)], "checking in")
        if self.run(CheckIn(sid, at, ref.activity.code), actor, self.later(at)) is None:
            return False
        ref.checked_in_at = at
        return True

    def check_out(self, sid: UUID, minutes: int) -> bool:
        ref = self.signups[sid]
        at = (ref.checked_in_at or ref.activity.starts_at) + timedelta(minutes=minutes)
        actor = self.pick([ADMIN, self.self_actor(ref.volunteer)], "checking out")
        command = CheckOut(sid, at, ref.activity.code)
        return self.run(command, actor, self.later(at)) is not None

    def verify(self, sid: UUID) -> None:
        decision = self.pick(
            [Decision.APPROVE, Decision.APPROVE, Decision.ADJUST, Decision.REJECT], "decision"
        )
        minutes = (
            self.draw(st.one_of(ROUND_MINUTES, st.integers(0, 400)), "adjusted")
            if decision == Decision.ADJUST
            else None
        )
        reason = (
            self.pick(["", "checked the sign-in sheet"], "reason")
            if decision != Decision.APPROVE
            else None
        )
        if self.run(VerifySignup(sid, decision, minutes, reason), self.coordinator()):
            self.earners.append(self.signups[sid].volunteer)
            self.credited.append(sid)

    def signup(self) -> UUID | None:
        return self.pick(list(self.signups), "signup") if self.signups else None

    def serve(self) -> None:
        """Sign-up, check-in, check-out and verification in a row: most histories credit."""
        if not self.activities:
            return
        activity = self.open_activity()
        sid = self.sign_up(activity, self.volunteer())
        if sid is None:
            return
        if not self.check_in(sid, self.draw(st.sampled_from([0, 0, 15, -20, 45]), "late by")):
            return
        if self.check_out(sid, self.draw(st.one_of(ROUND_MINUTES, st.integers(1, 300)), "for")):
            self.verify(sid)

    def sign_up_only(self) -> None:
        if self.activities:
            self.sign_up(self.open_activity(), self.volunteer())

    def cancel_signup(self) -> None:
        waiting = [s for s, r in self.signups.items() if not r.checked_in_at]
        sid = self.pick(waiting, "signup") if waiting else self.signup()
        if sid is not None:
            actor = self.pick([ADMIN, self.self_actor(self.signups[sid].volunteer)], "cancelling")
            self.run(CancelSignup(sid, "cannot come"), actor)

    def check_in_only(self) -> None:
        sid = self.signup()
        if sid is not None:
            self.check_in(sid, self.draw(st.integers(-60, 240), "late by"))

    def check_out_only(self) -> None:
        sid = self.signup()
        if sid is not None:
            self.check_out(sid, self.draw(st.integers(-10, 400), "served for"))

    def verify_only(self) -> None:
        sid = self.signup()
        if sid is not None:
            self.verify(sid)

    def backfill(self) -> None:
        vid = self.volunteer()
        org = self.pick(self.organisers, "back-fill organisation")
        activity = self.pick([None, *self.activities], "back-filled activity")
        category = None if activity else self.pick(list(Category), "back-fill category")
        ago = self.draw(st.integers(30, 100 * 1440), "began minutes ago")
        started_at = self.now - timedelta(minutes=ago)
        ended_at = started_at + timedelta(
            minutes=self.draw(st.one_of(ROUND_MINUTES, st.integers(1, 600)), "lasting")
        )
        submitter, approver = self.pick(
            [(self.coord_a, self.coord_b), (self.coord_b, self.coord_a)], "submitter"
        )
        body = self.run(
            SubmitBackfill(
                vid,
                org,
                started_at,
                ended_at,
                f"Helped out {self.tag}",
                category,
                ("photo.jpg",),
                activity.id if activity else None,
            ),
            self.scoped(submitter, "district"),
        )
        if body is None:
            return
        self.backfills[UUID(body["id"])] = vid
        if self.draw(st.booleans(), "approved at once"):
            self.approve(UUID(body["id"]), self.scoped(approver, "district"))

    def approve(self, backfill: UUID, approver: Actor) -> None:
        body = self.run(ApproveBackfill(backfill), approver)
        if body is not None:
            self.earners.append(self.backfills[backfill])
            self.credited.append(backfill)

    def approve_backfill(self) -> None:
        if self.backfills:
            self.approve(self.pick(list(self.backfills), "back-fill"), self.coordinator())

    def reject_backfill(self) -> None:
        if self.backfills:
            backfill = self.pick(list(self.backfills), "back-fill")
            self.run(RejectBackfill(backfill, "no evidence"), self.coordinator())

    def open_dispute(self) -> None:
        records = [*self.signups, *self.backfills]
        if not records:
            return
        if self.credited and self.mostly("a credited record"):
            records = self.credited
        record = self.pick(records, "disputed record")
        owner = self.signups[record].volunteer if record in self.signups else self.backfills[record]
        actor = self.pick([ADMIN, self.self_actor(owner), self.coordinator()], "disputing")
        body = self.run(OpenDispute(record, "the minutes are wrong"), actor)
        if body is not None:
            self.disputes.append(UUID(body["id"]))
            if self.mostly("resolved at once"):
                self.resolve(UUID(body["id"]))

    def resolve(self, dispute: UUID) -> None:
        decision = self.pick(
            [Resolution.CORRECT, Resolution.CORRECT, Resolution.DISMISS], "resolution"
        )
        minutes = (
            self.draw(st.one_of(ROUND_MINUTES, st.integers(1, 400)), "corrected minutes")
            if decision == Resolution.CORRECT
            else None
        )
        actor = self.pick([ADMIN, self.scoped(self.coord_b, "district")], "resolving")
        self.run(ResolveDispute(dispute, decision, "looked at the records", minutes), actor)

    def resolve_dispute(self) -> None:
        if self.disputes:
            self.resolve(self.pick(self.disputes, "dispute"))

    def transfer(self) -> None:
        kind = self.pick(list(TransferKind), "transfer kind")
        sender = self.spender("sender")
        minutes = self.draw(st.integers(1, 120), "minutes sent")
        actor = self.pick([ADMIN, self.self_actor(sender)], "sending")
        memo = f"memo {self.requests}"
        if kind == TransferKind.DONATION:
            org = self.pick(self.organisers, "pool")
            command = Transfer(sender, minutes, kind, None, org, memo)
        else:
            command = Transfer(sender, minutes, kind, self.volunteer("recipient"), None, memo)
        self.run(command, actor)

    def redeem(self) -> None:
        assert self.reward is not None
        vid = self.spender("redeeming")
        quantity = self.draw(st.integers(1, 2), "quantity")
        # Mostly the volunteer: a desk without the volunteer's PIN is refused.
        actor = self.self_actor(vid) if self.mostly("by themself") else self.desk()
        reward = self.pick(self.rewards, "reward")
        body = self.run(Redeem(vid, reward, quantity), actor)
        if body is None:
            return
        expires_at = datetime.fromisoformat(body["expires_at"])
        self.redemptions.append(RedemptionRef(UUID(body["id"]), vid, body["code"], expires_at))
        then = self.pick(["wait", "fulfil", "cancel", "expire"], "then")
        if then != "wait":
            getattr(self, then)(self.redemptions[-1])

    def redemption(self) -> RedemptionRef | None:
        return self.pick(self.redemptions, "redemption") if self.redemptions else None

    def fulfil(self, r: RedemptionRef | None = None) -> None:
        if r := r or self.redemption():
            code = self.pick([r.code, r.code.lower(), "WRONG123"], "code")
            self.run(FulfilRedemption(r.id, code), self.desk())

    def cancel(self, r: RedemptionRef | None = None) -> None:
        if r := r or self.redemption():
            actor = self.pick([self.desk(), self.self_actor(r.volunteer)], "cancelling")
            self.run(CancelRedemption(r.id, "changed my mind"), actor)

    def expire(self, r: RedemptionRef | None = None) -> None:
        if r := r or self.redemption():
            now = self.later(r.expires_at) if self.draw(st.booleans(), "overdue") else self.now
            self.run(ExpireRedemption(r.id), SYSTEM, now)

    def training(self) -> None:
        org = self.pick(self.organisers, "training organisation")
        participants = self.draw(
            st.lists(st.sampled_from(self.volunteers), min_size=1, max_size=4, unique=True),
            "participants",
        )
        held_at = self.now - timedelta(minutes=self.draw(st.integers(0, 3 * 1440), "held ago"))
        minutes = self.draw(st.integers(30, 240), "training minutes")
        command = HoldTraining(org, "First aid", held_at, minutes, tuple(participants))
        self.run(command, self.coordinator())

    def evaluate(self) -> None:
        sid = self.signup()
        if sid is not None:
            score = self.draw(st.integers(0, 5), "score")
            by = self.pick(list(Evaluator), "evaluator")
            self.run(Evaluate(sid, score, by, "kind and punctual"), self.coordinator())

    def complete(self) -> None:
        if self.activities:
            activity = self.pick(self.activities, "completed activity")
            beneficiaries = self.draw(st.integers(0, 40), "beneficiaries")
            if self.draw(st.booleans(), "after it started"):
                self.later(activity.starts_at)
            self.run(CompleteActivity(activity.id, beneficiaries), self.coordinator())

    def commend(self) -> None:
        org = self.pick(self.organisers, "commending organisation")
        body = self.run(
            Commend(self.volunteer(), org, "优秀志愿者", "always there"), self.coordinator()
        )
        if body is not None:
            self.commendations.append(UUID(body["id"]))

    def object(self) -> None:
        award = self.award()
        if award is None:
            return
        actor = self.pick([ADMIN, self.self_actor(self.volunteer("objecting"))], "objecting")
        if self.run(FileObjection(award, "not deserved"), actor) and self.draw(
            st.booleans(), "reviewed at once"
        ):
            self.review(award)

    def review(self, award: UUID | None = None) -> None:
        award = award or self.award()
        if award is None:
            return
        decision = self.pick(list(Review), "review")
        self.run(ReviewAward(award, decision, "heard both sides"), self.coordinator())

    def confirm(self) -> None:
        award = self.award()
        if award is None:
            return
        if self.draw(st.booleans(), "after the notice"):
            self.later(self.now + timedelta(days=RULES.notice_days, minutes=1))
        actor = self.pick([SYSTEM, self.coordinator()], "confirming")
        self.run(ConfirmAward(award), actor)

    def erase(self) -> None:
        """An admin erases a volunteer, in the erasure's steps: the log's part, the key
        destroyed, and that recorded."""
        vid = self.volunteer("erased")
        if self.run(EraseVolunteer(vid, "asked to be forgotten")) is None:
            return
        self.rt.erasure.destroy_key(vid)
        self.run(RecordDataKeyDestroyed(vid))

    def certify(self) -> None:
        """A coordinator certifies what an organisation recorded for a volunteer: mostly the
        recorder of a credited service, over a recent period or over years."""
        vid = self.volunteer("certified")
        org = self.pick(self.organisers, "certifying organisation")
        if self.credited and self.mostly("of a credited service"):
            record = self.pick(self.credited, "certified service")
            if record in self.signups:
                signup = self.rt.service.load(Signup, record, "signup")
                vid, org = signup.volunteer_id, signup.org_id
            else:
                backfill = self.rt.service.load(Backfill, record, "backfill")
                vid, org = backfill.volunteer_id, backfill.org_id
        last = local_date(self.now)
        days = self.draw(st.sampled_from([0, 7, 60, 2000]), "days certified")
        first = last - timedelta(days=days)
        self.rt.runner.catch_up()
        sources = self.rt.queries.records.credited_sources(vid, org, first, last)
        command = IssueCertificate(vid, org, first, last, "升学", tuple(sources))
        if self.run(command, self.coordinator()) and self.draw(st.booleans(), "then disputed"):
            disputed = self.run(OpenDispute(self.pick(sources, "listed"), "the minutes are wrong"))
            if disputed is not None:
                self.resolve(UUID(disputed["id"]))

    def advance(self) -> None:
        minutes = self.draw(
            st.one_of(st.integers(1, 600), st.integers(1440, 25 * 1440)), "clock moves on by"
        )
        self.later(self.now + timedelta(minutes=minutes))

    ACTIONS: tuple[tuple[str, int], ...] = (
        ("serve", 8),
        ("register_volunteer", 2),
        ("transfer_membership", 2),
        ("move_then_correct", 2),
        ("link_family", 1),
        ("publish", 3),
        ("sign_up_only", 2),
        ("cancel_signup", 1),
        ("check_in_only", 1),
        ("check_out_only", 1),
        ("verify_only", 1),
        ("backfill", 4),
        ("approve_backfill", 1),
        ("reject_backfill", 1),
        ("open_dispute", 3),
        ("resolve_dispute", 2),
        ("transfer", 4),
        ("redeem", 3),
        ("fulfil", 2),
        ("cancel", 1),
        ("expire", 1),
        ("training", 2),
        ("evaluate", 2),
        ("complete", 2),
        ("commend", 2),
        ("object", 2),
        ("review", 2),
        ("confirm", 2),
        ("advance", 3),
        ("erase", 1),
        ("certify", 2),
    )

    def play(self, steps: int) -> None:
        self.setup()
        names = [name for name, weight in self.ACTIONS for _ in range(weight)]
        for _ in range(steps):
            action: Callable[[], None] = getattr(self, self.pick(names, "action"))
            action()
        for outcome in self.outcomes:
            event(outcome)


# What the product serves -----------------------------------------------------------------


def plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


@dataclass(frozen=True)
class Scope:
    """The ids one example created, and the periods its reports and rankings cover."""

    volunteers: list[UUID]
    activities: list[UUID]
    redemptions: list[UUID]
    orgs: list[UUID]
    venues: list[UUID]
    district: UUID
    periods: list[str]


def as_of_moments(entries: Sequence[dict[str, Any]]) -> list[datetime]:
    """Before everything, at and just before some entries' record time, and after all."""
    moments = [datetime(2000, 1, 1, tzinfo=UTC), FAR_FUTURE]
    for entry in [*entries[:1], *entries[len(entries) // 2 : len(entries) // 2 + 1], *entries[-1:]]:
        moments += [entry["recorded_at"], entry["recorded_at"] - timedelta(microseconds=1)]
    return moments


def served_statement(rt: Runtime, vid: UUID, moments: Sequence[datetime]) -> dict[str, Any]:
    whole = statement(rt.db, vid, BIG)
    pages: list[dict[str, Any]] = []
    befores: list[int] = []
    after: tuple[int, int] | None = None
    while True:
        page = statement(rt.db, vid, 2, after=after)
        befores.append(page.balance_before_minutes)
        pages += [plain(e) for e in page.entries[:2]]
        if len(page.entries) <= 2:
            break
        after = page.entries[1].key
    entries = [plain(e) for e in whole.entries]
    cut = entries[len(entries) // 2]["recorded_at"] if entries else FAR_FUTURE
    since = statement(rt.db, vid, BIG, since=cut)
    until = statement(rt.db, vid, BIG, until=cut)
    return {
        "entries": entries,
        "keys increase": all(a.key < b.key for a, b in itertools.pairwise(whole.entries)),
        "balance_before": whole.balance_before_minutes,
        "pages": pages,
        "page balances before": befores,
        "since": ([plain(e) for e in since.entries], since.balance_before_minutes),
        "until": ([plain(e) for e in until.entries], until.balance_before_minutes),
        "as_of": {
            m.isoformat(): statement(rt.db, vid, 0, as_of=m).balance_as_of_minutes for m in moments
        },
    }


def expected_statement(
    entries: list[dict[str, Any]], moments: Sequence[datetime]
) -> dict[str, Any]:
    def before(chosen: list[dict[str, Any]], earlier: list[dict[str, Any]]) -> int:
        if chosen:
            return int(chosen[0]["balance_minutes"] - chosen[0]["amount_minutes"])
        return int(earlier[-1]["balance_minutes"]) if earlier else 0

    cut = entries[len(entries) // 2]["recorded_at"] if entries else FAR_FUTURE
    since = [e for e in entries if e["recorded_at"] >= cut]
    until = [e for e in entries if e["recorded_at"] < cut]
    # pages of 2: the walk asks again while a page comes back full (3 rows: one to spare)
    pages = max(0, (len(entries) - 1) // 2)
    pages_before = [0, *(entries[2 * k - 1]["balance_minutes"] for k in range(1, pages + 1))]
    return {
        "entries": entries,
        "keys increase": True,
        "balance_before": 0,
        "pages": entries,
        "page balances before": pages_before,
        "since": (since, before(since, [e for e in entries if e["recorded_at"] < cut])),
        "until": (until, 0),
        "as_of": {
            m.isoformat(): next(
                (e["balance_minutes"] for e in reversed(entries) if e["recorded_at"] <= m), 0
            )
            for m in moments
        },
    }


def walk_volunteer_ranking(rt: Runtime, org: UUID, period: str) -> list[dict[str, Any]]:
    parsed = parse_period(period)
    rows: list[dict[str, Any]] = []
    after: tuple[int, str] | None = None
    while True:
        page = volunteer_ranking(rt.db, org, parsed, after, 2)
        rows += [plain(r) for r in page]
        if len(page) < 2:
            return rows
        after = (page[-1].minutes, str(page[-1].volunteer_id))


def walk_teams(rt: Runtime, org: UUID, period: str, kind: str) -> list[dict[str, Any]]:
    parsed, sort = parse_period(period), RankingSort.PER_CAPITA
    rows: list[dict[str, Any]] = []
    after: tuple[int, UUID] | None = None
    while True:
        page = team_ranking(rt.db, org, parsed, kind, sort, after, 2)
        rows += [plain(t) for t in page]
        if len(page) < 2:
            return rows
        after = team_key(page[-1], sort)


RECORD_LISTS = ("services", "corrections", "trainings", "evaluations", "awards")


def walk_record(rt: Runtime, vid: UUID) -> dict[str, list[dict[str, Any]]]:
    lists: dict[str, list[dict[str, Any]]] = {}
    for name in RECORD_LISTS:
        rows: list[dict[str, Any]] = []
        after: tuple[Any, ...] | None = None
        while True:
            page, after = record_list(rt.db, name, vid, 2, after)
            rows += [plain(e) for e in page]
            if after is None:
                break
        lists[name] = rows
    return lists


def walk_awards(rt: Runtime, org: UUID | None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    before: int | None = None
    while page := awards(rt.db, org, None, before, 3):
        rows += [plain(a) for a in page]
        before = page[-1].position
    return rows


def walk_rewards(rt: Runtime, venue: UUID) -> list[dict[str, Any]]:
    """The venue's rewards one a page, as the API reads them."""
    ctx = Context(ADMIN, "oracle", datetime.now(UTC))
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        found = rt.queries.rewards.at_venue(ctx, venue, Page(1, cursor), None)
        rows += [plain(r) for r in found.items]
        if (cursor := found.next_cursor) is None:
            return rows


WORK_LISTS = {
    "activities": (None, "published", "completed"),
    "signups": (None, "checked_out", "verified", "cancelled"),
    "backfills": (None, "submitted", "approved"),
    "disputes": (None, "open", "corrected"),
}


def walk_work(rt: Runtime, kind: str, org: UUID, status: str | None) -> list[dict[str, Any]]:
    """One of the worklist's lists, 2 a page, as the API reads it."""
    ctx = Context(ADMIN, "oracle", datetime.now(UTC))
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = Page(2, cursor)
        if kind == "subtree":
            found: Any = rt.queries.worklist.subtree(ctx, org, page, None)
        else:
            found = getattr(rt.queries.worklist, kind)(ctx, org, status, page, None)
        rows += [plain(r) for r in found.entries]
        if (cursor := found.next_cursor) is None:
            return rows


def served_certificates(rt: Runtime, vid: UUID) -> list[dict[str, Any]]:
    """A volunteer's certificates as the service record lists them, each as the public check
    finds it by number, with the positions its bundle rests on."""
    served = []
    ctx = Context(ADMIN, "oracle", datetime.now(UTC))
    for listed in rt.queries.certificates.of_volunteer(ctx, vid, BIG):
        found = rt.queries.certificates.check(listed.number, None)
        assert (found.id, found.status) == (listed.id, listed.status)
        served.append(
            {
                "id": found.id,
                "status": found.status,
                "content": found.content,
                "digest": found.digest,
                "position": found.position,
                "evidence": rt.queries.certificates.evidence(found).services,
            }
        )
    return served


STATUSES = (None, "in_notice", "objected", "confirmed", "withdrawn")


def served_views(rt: Runtime, scope: Scope, oracle: Oracle) -> dict[str, Any]:
    """Everything the query functions serve about the scope (the oracle only picks the
    as_of moments: at and around the entries' record times)."""
    views: dict[str, Any] = {}
    for vid in scope.volunteers:
        moments = as_of_moments(oracle.statement_entries(vid))
        row = volunteer_account_row(rt.db, vid)
        views[f"volunteer {vid} account"] = None if row is None else plain(row)
        views[f"volunteer {vid} statement"] = served_statement(rt, vid, moments)
        views[f"volunteer {vid} audit"] = [
            plain(r) for r in audit_trail(rt.db, "volunteer", vid, BIG)
        ]
        record = service_record(rt.db, vid)
        views[f"volunteer {vid} record"] = None if record is None else plain(record)
        views[f"volunteer {vid} record, 2 a page"] = walk_record(rt, vid)
        views[f"volunteer {vid} certificates"] = served_certificates(rt, vid)
    for kind, ids in (("activity", scope.activities), ("redemption", scope.redemptions)):
        for subject in ids:
            views[f"{kind} {subject} audit"] = [
                plain(r) for r in audit_trail(rt.db, kind, subject, BIG)
            ]
    for venue in scope.venues:
        served = [plain(r) for r in rewards_at_venue(rt.db, venue, BIG)]
        views[f"venue {venue} rewards"] = served
        views[f"venue {venue} rewards, 1 a page"] = walk_rewards(rt, venue)
        views[f"venue {venue} rewards' stock in the aggregates"] = [
            rt.queries.aggregates.reward(r["id"]).stock for r in served
        ]
    for org in scope.orgs:
        for period in scope.periods:
            parsed = parse_period(period)
            for kind in ("team", "street"):
                views[f"org {org} {period} {kind} ranking"] = [
                    plain(t) for t in team_ranking(rt.db, org, parsed, kind)
                ]
                views[f"org {org} {period} {kind} ranking per capita, 2 a page"] = walk_teams(
                    rt, org, period, kind
                )
            views[f"org {org} {period} volunteer ranking"] = [
                plain(v) for v in volunteer_ranking(rt.db, org, parsed, None, BIG)
            ]
            views[f"org {org} {period} volunteer ranking, 2 a page"] = walk_volunteer_ranking(
                rt, org, period
            )
            report = organisation_report(
                rt.db, org, parsed, rt.settings.rules.party_member_yearly_minutes
            )
            views[f"org {org} {period} report"] = None if report is None else plain(report)
    for org in scope.orgs:
        views[f"org {org} subtree"] = walk_work(rt, "subtree", org, None)
        for kind, statuses in WORK_LISTS.items():
            for status in statuses:
                views[f"org {org} {kind} {status}"] = walk_work(rt, kind, org, status)
    for org_or_all in (scope.district, None):
        for status in STATUSES:
            views[f"awards of {org_or_all} {status}"] = [
                plain(a) for a in awards(rt.db, org_or_all, status, None, BIG)
            ]
        views[f"awards of {org_or_all}, 3 a page"] = walk_awards(rt, org_or_all)
    with rt.db.read() as cur:
        cur.execute(
            "SELECT account, balance, earned, spent, reserved, service_minutes FROM tb_accounts"
        )
        views["every account"] = {str(r[0]): tuple(int(v) for v in r[1:]) for r in cur.fetchall()}
        cur.execute("SELECT COALESCE(SUM(balance), 0) FROM tb_accounts")
        views["trial balance"] = int(cur.fetchone()[0])
    return views


def expected_views(oracle: Oracle, scope: Scope) -> dict[str, Any]:
    views: dict[str, Any] = {}
    for vid in scope.volunteers:
        entries = oracle.statement_entries(vid)
        views[f"volunteer {vid} account"] = oracle.account_row(vid)
        views[f"volunteer {vid} statement"] = expected_statement(entries, as_of_moments(entries))
        views[f"volunteer {vid} audit"] = oracle.trail("volunteer", vid)
        record = oracle.record(vid)
        views[f"volunteer {vid} record"] = record
        views[f"volunteer {vid} record, 2 a page"] = {name: record[name] for name in RECORD_LISTS}
        views[f"volunteer {vid} certificates"] = oracle.certificates_of(vid)
    for kind, ids in (("activity", scope.activities), ("redemption", scope.redemptions)):
        for subject in ids:
            views[f"{kind} {subject} audit"] = oracle.trail(kind, subject)
    for venue in scope.venues:
        rewards = oracle.rewards_at(venue)
        views[f"venue {venue} rewards"] = rewards
        views[f"venue {venue} rewards, 1 a page"] = rewards
        views[f"venue {venue} rewards' stock in the aggregates"] = [r["stock"] for r in rewards]
    for org in scope.orgs:
        for period in scope.periods:
            for kind in ("team", "street"):
                views[f"org {org} {period} {kind} ranking"] = oracle.team_ranking(org, period, kind)
                views[f"org {org} {period} {kind} ranking per capita, 2 a page"] = (
                    oracle.team_ranking(org, period, kind, per_capita=True)
                )
            ranking = oracle.volunteer_ranking(org, period)
            views[f"org {org} {period} volunteer ranking"] = ranking
            views[f"org {org} {period} volunteer ranking, 2 a page"] = ranking
            views[f"org {org} {period} report"] = oracle.report(org, period)
    for org in scope.orgs:
        views[f"org {org} subtree"] = oracle.subtree(org)
        for kind, statuses in WORK_LISTS.items():
            for status in statuses:
                views[f"org {org} {kind} {status}"] = oracle.work_list(kind, org, status)
    for org_or_all in (scope.district, None):
        for status in STATUSES:
            views[f"awards of {org_or_all} {status}"] = oracle.award_list(org_or_all, status)
        views[f"awards of {org_or_all}, 3 a page"] = oracle.award_list(org_or_all, None)
    views["every account"] = oracle.all_accounts()
    views["trial balance"] = 0
    return views


# Comparing -------------------------------------------------------------------------------

NOT_PREDICTED = {"seq", "details"}  # checked apart: the order of keys, and the details' fields


def differences(served: Any, expected: Any, path: str, out: list[str]) -> None:
    if isinstance(expected, dict) and isinstance(served, dict):
        for key in sorted(served.keys() | expected.keys(), key=str):
            if key in NOT_PREDICTED:
                continue
            where = f"{path} / {key}"
            if key not in served:
                out.append(f"{where}: missing, expected {expected[key]!r}")
            elif key not in expected:
                out.append(f"{where}: served {served[key]!r}, expected nothing")
            else:
                differences(served[key], expected[key], where, out)
    elif isinstance(expected, list | tuple) and isinstance(served, list | tuple):
        if len(served) != len(expected):
            out.append(
                f"{path}: {len(served)} items served, {len(expected)} expected:\n"
                f"    served   {served!r}\n    expected {expected!r}"
            )
            return
        for i, (s, x) in enumerate(zip(served, expected, strict=True)):
            differences(s, x, f"{path}[{i}]", out)
    elif served != expected or (
        type(served) is not type(expected)
        and not (isinstance(served, datetime) and isinstance(expected, datetime))
    ):
        out.append(f"{path}: served {served!r}, expected {expected!r}")


def detail_problems(rt: Runtime, oracle: Oracle, scope: Scope) -> list[str]:
    """The details of a trail's rows: every field of the event but personal data and codes
    (and what has a column of its own); plain values as recorded."""
    problems: list[str] = []
    subjects = [
        *(("volunteer", v) for v in scope.volunteers),
        *(("activity", a) for a in scope.activities),
        *(("redemption", r) for r in scope.redemptions),
    ]
    for kind, subject in subjects:
        rows = audit_trail(rt.db, kind, subject, BIG)
        events = oracle.trail_events.get((kind, str(subject)), [])
        for row, e in zip(rows, events, strict=False):
            fields = set(vars(e)) - COLUMN_FIELDS - SECRET_FIELDS
            where = f"{kind} {subject} audit @{row.position} {row.event_type}"
            if set(row.details) != fields:
                problems.append(
                    f"{where}: details {sorted(row.details)}, expected {sorted(fields)}"
                )
            for name in fields & set(row.details):
                value = getattr(e, name)
                if isinstance(value, UUID):
                    value = str(value)
                if isinstance(value, int | str | bool) and row.details[name] != value:
                    problems.append(f"{where}: {name} {row.details[name]!r}, expected {value!r}")
    return problems


def compare(rt: Runtime, oracle: Oracle, scope: Scope) -> dict[str, Any]:
    served = served_views(rt, scope, oracle)
    problems: list[str] = []
    differences(served, expected_views(oracle, scope), "", problems)
    problems += detail_problems(rt, oracle, scope)
    assert not problems, f"{len(problems)} differences from the log:\n" + "\n".join(problems[:40])
    return served


def example_scope(history: History, oracle: Oracle) -> Scope:
    mine = set(history.volunteers)
    days = sorted(
        {f.service_date for f in oracle.facts if f.volunteer in mine}
        | {oracle.acts[a.id].service_date for a in history.activities}
        | {t.held_on for t in oracle.trainings if set(t.volunteers) & mine}
        | {local_date(history.now)}
    )
    months = sorted({f"{d.year:04d}-{d.month:02d}" for d in days})
    years = sorted({f"{d.year:04d}" for d in days})
    chosen_months = sorted({months[0], months[len(months) // 2], months[-1]})
    campaigns = [CAMPAIGN, history.campaign, f"never {history.tag}"]
    return Scope(
        volunteers=list(history.volunteers),
        activities=[a.id for a in history.activities],
        redemptions=[r.id for r in history.redemptions],
        orgs=[o for name, o in history.orgs.items() if name != "venue"],
        venues=[history.orgs["venue"]],
        district=history.orgs["district"],
        periods=[*years, *chosen_months, *(f"campaign:{c}" for c in campaigns)],
    )


@SETTINGS
@given(data=st.data())
def test_read_models_match_the_log(store: Store, data: st.DataObject) -> None:
    history = History(store.rt, data)
    start = store.rt.runner.head()
    history.play(data.draw(st.integers(20, 40), label="steps"))
    store.rt.runner.catch_up()
    oracle = Oracle(store.read_log())
    for recorded in {type(item.event).__qualname__ for item in store.log if item.position > start}:
        event(f"event {recorded}")
    scope = example_scope(history, oracle)
    served = compare(store.rt, oracle, scope)
    for projection in store.rt.runner.projections:
        store.rt.runner.rebuild(projection.name)
    rebuilt = served_views(store.rt, scope, oracle)
    changed = [key for key in served if served[key] != rebuilt[key]]
    assert not changed, "rebuilding changed what is served:\n" + "\n".join(
        f"{key}:\n  before {served[key]!r}\n  after  {rebuilt[key]!r}" for key in changed[:10]
    )
