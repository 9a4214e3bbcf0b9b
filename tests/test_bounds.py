"""Every value a command carries has a bound, the same at the HTTP boundary and in the domain,
and whatever the domain accepts every read model can store.

Two properties:
- Through the service (the domain): each command's bounded fields are drawn at and beyond
  their bounds (the largest and smallest numbers, numbers beyond BIGINT, the longest texts
  in Chinese and in emoji, texts one too long, control characters, half a surrogate pair,
  times at the ends of the accepted years and beyond). A value beyond a bound is refused
  as invalid, and nothing else (no other exception, no stopped writer); a value within the
  bounds is not refused for its bound. Then the projections catch up without a failure and
  every read model equals its computation from the log (the oracle of
  test_read_models_match_the_log).
- Over HTTP: for every bounded value of every request body, found in the OpenAPI document so
  that none can be forgotten, one beyond its declared bound is refused as validation-failed
  and one at it is not.
"""

import copy
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Generic, TypeVar
from uuid import UUID, uuid4

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

from ledger import bounds
from ledger.accounts import TransferKind
from ledger.activities import Activity, Category
from ledger.awards import Review
from ledger.commands.attendance import (
    CancelSignup,
    CheckIn,
    CheckOut,
    CloseUnattendedCheckIn,
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
    SetPin,
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
from ledger.commands.sign_in import AllowSignInLink
from ledger.context import Actor, Context, Role
from ledger.disputes import Resolution
from ledger.errors import DomainError, Kind
from ledger.identity import DocumentType, signup_id
from ledger.organisations import OrgKind
from ledger.signups import Decision
from ledger.trainings import Evaluator
from ledger.volunteers import Relation
from tests.conftest import make_settings
from tests.http import Town
from tests.test_read_models_match_the_log import RULES, Oracle, Scope, Store, compare
from timebank.runtime import Runtime

T = TypeVar("T")
ADMIN = Actor("admin", Role.ADMIN)
SETTINGS = settings(
    max_examples=12,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 300 else text[:300] + f"... ({len(text)} characters)"


@dataclass(frozen=True)
class Edge(Generic[T]):
    """A value at or beyond a bound, and whether it is within it."""

    value: T
    within: bool
    label: str


def whole_edges(bound: bounds.Whole) -> list[Edge[int]]:
    return [
        Edge(bound.low, True, "lowest"),
        Edge(bound.high, True, "highest"),
        Edge(bound.low - 1, False, "one too low"),
        Edge(bound.high + 1, False, "one too high"),
        Edge(2**63, False, "beyond BIGINT"),
        Edge(-(2**63) - 1, False, "below BIGINT"),
        Edge(10**30, False, "10**30"),
    ]


def text_edges(bound: bounds.Text, prefix: str = "") -> list[Edge[str]]:
    """Texts at and beyond `bound`; each starts with `prefix` (to keep them unique)."""
    room = bound.high - len(prefix)
    edges = [
        Edge(prefix + "名" * room, True, "longest, in Chinese"),
        Edge(prefix + "😀" * room, True, "longest, in emoji"),
        Edge(prefix + "a" * (room + 1), False, "one too long"),
        Edge(prefix + "a\x00b", False, "a NUL"),
        Edge(prefix + "a\x1bb", False, "an escape"),
        Edge(prefix + "a\x85b", False, "a C1 control character"),
        Edge(prefix + "a\ud800b", False, "half a surrogate pair"),
        Edge(prefix + "a\u202eb", False, "a right-to-left override"),
        Edge(prefix + "\u2067a", False, "a right-to-left isolate"),
        Edge(prefix + "\u200b\u200d", bool(prefix.strip()), "zero-width only"),
        Edge(prefix + "\u3164", bool(prefix.strip()), "a Hangul filler only"),
    ]
    if room >= 6:
        edges.append(Edge(prefix + "a\tb\r\nc", len(prefix) + 6 >= bound.low, "tab, line break"))
    if bound.low:
        edges.append(Edge(prefix + " " * room, bool(prefix.strip()), "blank"))
    else:
        edges.append(Edge(prefix, True, "empty"))
    return edges


EIGHT = timezone(timedelta(hours=8))
MOMENT_EDGES = [
    Edge(datetime(2000, 1, 1, tzinfo=UTC), True, "first moment"),
    Edge(datetime(2099, 12, 31, 23, 59, tzinfo=EIGHT), True, "last moment, UTC+8"),
    Edge(datetime(1999, 12, 31, 23, 59, tzinfo=UTC), False, "a minute too early"),
    Edge(datetime(2100, 1, 1, tzinfo=EIGHT), False, "a year too late"),
    Edge(datetime(1, 1, 1, tzinfo=UTC), False, "year 1"),
    Edge(datetime(9999, 12, 31, tzinfo=UTC), False, "year 9999"),
    Edge(datetime(2025, 1, 1), False, "no offset"),
]


def bound_codes(*bs: bounds.Whole | bounds.Text | bounds.Moments) -> set[str]:
    return {f"invalid-{b.name}" for b in bs}


class Edges:
    """One history that aims every command with bounded fields at the edges of its bounds,
    falling back to a plain value when the edge was refused so that the next commands have
    something to act on."""

    def __init__(self, rt: Runtime, data: st.DataObject) -> None:
        self.rt = rt
        self.data = data
        self.tag = uuid4().hex[:8]
        self.now = datetime(2025, 6, 1, 2, tzinfo=UTC)
        self.requests = 0
        self.ran: set[type[Command]] = set()
        self.volunteers: list[UUID] = []
        self.activities: list[UUID] = []
        self.redemptions: list[UUID] = []
        self.orgs: list[UUID] = []
        self.campaigns: set[str] = set()

    def edge(self, edges: list[Edge[T]], label: str) -> Edge[T]:
        i = self.data.draw(st.integers(0, len(edges) - 1), label=label)
        note(f"{label}: {edges[i].label} ({'within' if edges[i].within else 'beyond'})")
        return edges[i]

    def run(self, command: Command, actor: Actor = ADMIN) -> dict[str, Any] | DomainError:
        self.requests += 1
        self.ran.add(type(command))
        ctx = Context(actor, f"{self.tag}-{self.requests:03d}", self.now)
        try:
            body = self.rt.service.execute(ctx, command).body
        except DomainError as e:
            note(f"{short(command)}: refused {e.code}")
            return e
        note(f"{short(command)}: {short(body)}")
        return body

    def attempt(
        self,
        make: Callable[..., Command],
        edges: dict[str, Edge[Any]],
        codes: set[str],
        plain: dict[str, Any] | None = None,
        actor: Actor = ADMIN,
    ) -> dict[str, Any] | None:
        """Runs make(**edge values): refused as invalid when an edge is beyond its bound,
        never refused with one of the bounds' `codes` when all are within; if refused, runs
        make(**plain) instead (when given) so that the history goes on."""
        outcome = self.run(make(**{name: e.value for name, e in edges.items()}), actor)
        beyond = [name for name, e in edges.items() if not e.within]
        if beyond:
            assert isinstance(outcome, DomainError), f"{beyond} beyond their bounds: accepted"
            assert outcome.kind is Kind.INVALID, f"{beyond}: refused as {outcome.code}"
        elif isinstance(outcome, DomainError):
            assert outcome.code not in codes, f"within bounds, refused: {outcome.detail}"
        if isinstance(outcome, DomainError):
            if plain is None:
                return None
            fallback = self.run(make(**plain), actor)
            assert not isinstance(fallback, DomainError), fallback.detail
            return fallback
        return outcome

    # The history -------------------------------------------------------------------------

    def play(self) -> None:
        district = self.organisation("district", OrgKind.DISTRICT, None)
        team = self.organisation("team", OrgKind.TEAM, district)
        venue = self.organisation("venue", OrgKind.VENUE, district)
        volunteer = self.volunteer(team)
        relative = self.volunteer(team)
        self.run(LinkFamily(volunteer, relative, Relation.SPOUSE))
        asker = self.volunteer(team)  # asks as themself: the link waits for the relative
        self.run(LinkFamily(asker, relative, Relation.SIBLING), Actor("a", Role.VOLUNTEER, asker))
        self.run(AnswerFamilyLink(relative, asker, True), Actor("r", Role.VOLUNTEER, relative))
        self.run(SignUp(self.activity(team), relative))
        activity = self.activity(team, edges=False)
        sid = self.serve(activity, volunteer)
        self.earn(activity, relative)
        self.transfer(volunteer, relative, district)
        self.redeem(venue, relative)
        self.recognise(team, activity, sid, volunteer)
        self.backfill_and_dispute(team, volunteer)
        self.certify(team, volunteer)
        self.attempt(
            lambda reason: TransferMembership(volunteer, district, reason),
            {"reason": self.edge(text_edges(bounds.REASON, "moved "), "membership reason")},
            bound_codes(bounds.REASON),
        )
        erased = self.volunteer(team)
        self.attempt(
            lambda reason: EraseVolunteer(erased, reason),
            {"reason": self.edge(text_edges(bounds.REASON, "forget me "), "erasure reason")},
            bound_codes(bounds.REASON),
            {"reason": "forget me"},
        )
        self.run(RecordDataKeyDestroyed(erased))

    def organisation(self, name: str, kind: OrgKind, parent: UUID | None) -> UUID:
        populations: list[Edge[Any]] = [*whole_edges(bounds.POPULATION), Edge(None, True, "none")]
        population = self.edge(populations, name)
        title = self.edge(text_edges(bounds.NAME, f"{name} {self.tag} "), f"{name} name")
        body = self.attempt(
            lambda name, population: RegisterOrganisation(name, kind, parent, population),
            {"name": title, "population": population},
            bound_codes(bounds.NAME, bounds.POPULATION),
            {"name": f"{name} {self.tag}", "population": None},
        )
        assert body is not None
        self.orgs.append(UUID(body["id"]))
        return UUID(body["id"])

    def volunteer(self, home: UUID) -> UUID:
        number = f"P{self.tag}{len(self.volunteers)}"
        today = self.now.date()
        births = [
            Edge(bounds.EARLIEST_BIRTH.isoformat(), True, "earliest birth"),
            Edge(today.isoformat(), True, "born today"),
            Edge((bounds.EARLIEST_BIRTH - timedelta(days=1)).isoformat(), False, "too early"),
            Edge((today + timedelta(days=1)).isoformat(), False, "born tomorrow"),
        ]
        skills = self.edge(text_edges(bounds.SKILL), "skill")
        counts = [Edge(0, True, "none"), Edge(bounds.SKILLS, True, "most")]
        counts.append(Edge(bounds.SKILLS + 1, False, "one too many"))
        count = self.edge(counts, "skills")
        within = count.within and (skills.within or count.value == 0)
        many = Edge((skills.value,) * count.value, within, "skills")
        body = self.attempt(
            lambda name, number, phone, birth, skills: RegisterVolunteer(
                name, DocumentType.PASSPORT, number, phone, birth, True, skills, home
            ),
            {
                "name": self.edge(text_edges(bounds.NAME), "volunteer name"),
                "number": self.edge(text_edges(bounds.ID_NUMBER, number), "document"),
                "phone": self.edge(text_edges(bounds.PHONE), "phone"),
                "birth": self.edge(births, "birth date"),
                "skills": many,
            },
            bound_codes(bounds.NAME, bounds.ID_NUMBER, bounds.PHONE, bounds.SKILL),
            {
                "name": "志愿者",
                "number": number,
                "phone": "13800000000",
                "birth": "1980-02-03",
                "skills": (),
            },
        )
        assert body is not None
        self.volunteers.append(UUID(body["id"]))
        return UUID(body["id"])

    def activity(self, org: UUID, edges: bool = True) -> UUID:
        """An activity published with values at the edges, or (`edges=False`) a plain one
        that started an hour ago, to serve in."""
        plain_start = self.now - timedelta(hours=1)
        plain: dict[str, Any] = {
            "title": "敬老",
            "location": "",
            "starts_at": plain_start,
            "ends_at": plain_start + timedelta(hours=3),
            "capacity": 5,
            "campaign": None,
        }
        if not edges:
            published = self.run(PublishActivity(org, category=Category.ELDER_CARE, **plain))
            assert not isinstance(published, DomainError), published.detail
            self.activities.append(UUID(published["id"]))
            return UUID(published["id"])
        starts = self.edge(MOMENT_EDGES, "starts at")
        ends = self.edge(MOMENT_EDGES, "ends at")
        campaigns: list[Edge[Any]] = [*text_edges(bounds.CAMPAIGN, self.tag)]
        campaign = self.edge([*campaigns, Edge(None, True, "none")], "campaign")
        body = self.attempt(
            lambda title, location, starts_at, ends_at, capacity, campaign: PublishActivity(
                org, title, Category.ELDER_CARE, location, starts_at, ends_at, capacity, campaign
            ),
            {
                "title": self.edge(text_edges(bounds.TITLE), "title"),
                "location": self.edge(text_edges(bounds.LOCATION), "location"),
                "starts_at": starts,
                "ends_at": ends,
                "capacity": self.edge(whole_edges(bounds.CAPACITY), "capacity"),
                "campaign": campaign,
            },
            bound_codes(bounds.TITLE, bounds.LOCATION, bounds.MOMENT, bounds.CAPACITY)
            | bound_codes(bounds.CAMPAIGN),
            plain,
        )
        assert body is not None
        activity = UUID(body["id"])
        self.activities.append(activity)
        recorded = self.rt.service.load(Activity, activity, "activity")
        if recorded.campaign is not None:
            self.campaigns.add(recorded.campaign)
        return activity

    def serve(self, activity: UUID, volunteer: UUID) -> UUID | None:
        """Signs up, checks in and out and verifies: credits to spend later."""
        if isinstance(self.run(SignUp(activity, volunteer)), DomainError):
            return None
        sid = signup_id(activity, volunteer)
        reasons = text_edges(bounds.REASON)
        self.attempt(
            lambda at: CheckIn(sid, at),
            {"at": self.edge(MOMENT_EDGES, "check-in")},
            bound_codes(bounds.MOMENT),
            {"at": self.now - timedelta(minutes=50)},
        )
        self.attempt(
            lambda at: CheckOut(sid, at),
            {"at": self.edge(MOMENT_EDGES, "check-out")},
            bound_codes(bounds.MOMENT),
            {"at": self.now},
        )
        self.attempt(
            lambda minutes, reason: VerifySignup(sid, Decision.ADJUST, minutes, reason),
            {
                "minutes": self.edge(whole_edges(bounds.SERVICE_MINUTES), "verified minutes"),
                "reason": self.edge(text_edges(bounds.REASON, "sheet "), "verify reason"),
            },
            bound_codes(bounds.SERVICE_MINUTES, bounds.REASON),
            {"minutes": 600, "reason": "sheet"},
        )
        self.run(CloseUnattendedCheckIn(sid), Actor("system", Role.SYSTEM))  # no bounds: closed
        other = self.run(SignUp(activity, self.volunteers[-1]))
        if not isinstance(other, DomainError):
            self.attempt(
                lambda reason: CancelSignup(UUID(other["id"]), reason),
                {"reason": self.edge(reasons, "cancel reason")},
                bound_codes(bounds.REASON),
            )
        return sid

    def earn(self, activity: UUID, volunteer: UUID) -> None:
        """Serves the activity's last 50 minutes with plain values: credits to redeem."""
        sid = signup_id(activity, volunteer)
        self.run(SignUp(activity, volunteer))  # unless still signed up from before
        for command in (
            CheckIn(sid, self.now - timedelta(minutes=50)),
            CheckOut(sid, self.now),
            VerifySignup(sid, Decision.APPROVE),
        ):
            outcome = self.run(command)
            assert not isinstance(outcome, DomainError), outcome.detail

    def transfer(self, volunteer: UUID, relative: UUID, district: UUID) -> None:
        for kind, to in ((TransferKind.GIFT, relative), (TransferKind.DONATION, None)):
            self.attempt(
                lambda minutes, memo, kind=kind, to=to: Transfer(
                    volunteer, minutes, kind, to, None if to else district, memo
                ),
                {
                    "minutes": self.edge(whole_edges(bounds.TRANSFER_MINUTES), "minutes"),
                    "memo": self.edge(text_edges(bounds.REASON), "memo"),
                },
                bound_codes(bounds.TRANSFER_MINUTES, bounds.REASON),
            )

    def redeem(self, venue: UUID, volunteer: UUID) -> None:
        limits: list[Edge[Any]] = [
            *whole_edges(bounds.PER_VOLUNTEER_LIMIT),
            Edge(None, True, "no limit"),
        ]
        body = self.attempt(
            lambda name, cost, stock, limit: ListReward(venue, name, cost, stock, limit),
            {
                "name": self.edge(text_edges(bounds.NAME), "reward"),
                "cost": self.edge(whole_edges(bounds.COST_MINUTES), "cost"),
                "stock": self.edge(whole_edges(bounds.STOCK), "stock"),
                "limit": self.edge(limits, "limit"),
            },
            bound_codes(bounds.NAME, bounds.COST_MINUTES, bounds.STOCK)
            | bound_codes(bounds.PER_VOLUNTEER_LIMIT),
            {"name": "米", "cost": 1, "stock": 10, "limit": None},
        )
        assert body is not None
        affordable = self.run(ListReward(venue, "米", 1, 10))  # for the redemptions below
        assert not isinstance(affordable, DomainError), affordable.detail
        reward = UUID(affordable["id"])
        reserved = []
        for _ in range(3):
            body = self.attempt(
                lambda quantity: Redeem(volunteer, reward, quantity),
                {"quantity": self.edge(whole_edges(bounds.QUANTITY), "quantity")},
                bound_codes(bounds.QUANTITY),
                {"quantity": 1},
            )
            if body is not None:
                self.redemptions.append(UUID(body["id"]))
                reserved.append(body)
        pins: list[Edge[Any]] = [
            Edge("123456", True, "six digits"),
            Edge("12345", False, "five digits"),
            Edge("1234567", False, "seven digits"),
            Edge("12345六", False, "not a digit"),
        ]
        self.attempt(
            lambda pin: SetPin(volunteer, pin),
            {"pin": self.edge(pins, "pin")},
            {"invalid-pin"},
        )
        # A desk gives a sign-in link only with the volunteer's PIN.
        self.attempt(
            lambda pin: AllowSignInLink(volunteer, pin),
            {"pin": self.edge(pins, "sign-in link pin")},
            {"invalid-pin"},
            actor=Actor("desk", Role.DESK, venue),
        )
        codes = text_edges(bounds.CODE)
        if reserved:
            first = UUID(reserved[0]["id"])
            self.attempt(
                lambda code: FulfilRedemption(first, code),
                {"code": self.edge(codes, "code")},
                bound_codes(bounds.CODE),
            )
            self.run(FulfilRedemption(first, str(reserved[0]["code"])), ADMIN)
        if len(reserved) > 1:
            self.attempt(
                lambda reason: CancelRedemption(UUID(reserved[1]["id"]), reason),
                {"reason": self.edge(text_edges(bounds.REASON), "cancel reason")},
                bound_codes(bounds.REASON),
            )
        if len(reserved) > 2:
            self.now += timedelta(minutes=RULES.redemption_expiry_minutes + 1)
            system = Actor("system", Role.SYSTEM)
            self.run(ExpireRedemption(UUID(reserved[2]["id"])), system)

    def recognise(self, org: UUID, activity: UUID, sid: UUID | None, volunteer: UUID) -> None:
        self.attempt(
            lambda beneficiaries: CompleteActivity(activity, beneficiaries),
            {"beneficiaries": self.edge(whole_edges(bounds.BENEFICIARIES), "beneficiaries")},
            bound_codes(bounds.BENEFICIARIES),
        )
        participants: list[Edge[Any]] = [
            Edge((volunteer,), True, "one"),
            Edge((), False, "none"),
            Edge(tuple(uuid4() for _ in range(bounds.PARTICIPANTS + 1)), False, "too many"),
        ]
        self.attempt(
            lambda title, held_at, minutes, ids: HoldTraining(org, title, held_at, minutes, ids),
            {
                "title": self.edge(text_edges(bounds.TITLE), "training"),
                "held_at": self.edge(MOMENT_EDGES, "held at"),
                "minutes": self.edge(whole_edges(bounds.TRAINING_MINUTES), "training minutes"),
                "ids": self.edge(participants, "participants"),
            },
            bound_codes(bounds.TITLE, bounds.MOMENT, bounds.TRAINING_MINUTES),
        )
        if sid is not None:
            self.attempt(
                lambda score, comment: Evaluate(sid, score, Evaluator.ORGANISER, comment),
                {
                    "score": self.edge(whole_edges(bounds.SCORE), "score"),
                    "comment": self.edge(text_edges(bounds.REASON), "comment"),
                },
                bound_codes(bounds.SCORE, bounds.REASON),
            )
        body = self.attempt(
            lambda title, reason: Commend(volunteer, org, title, reason),
            {
                "title": self.edge(text_edges(bounds.TITLE), "commendation"),
                "reason": self.edge(text_edges(bounds.REASON, "did well "), "why"),
            },
            bound_codes(bounds.TITLE, bounds.REASON),
            {"title": "优秀志愿者", "reason": "did well"},
        )
        assert body is not None
        award = UUID(body["id"])
        self.attempt(
            lambda reason: FileObjection(award, reason),
            {"reason": self.edge(text_edges(bounds.REASON, "not so "), "objection")},
            bound_codes(bounds.REASON),
            {"reason": "not so"},
        )
        self.attempt(
            lambda reason: ReviewAward(award, Review.CONFIRM, reason),
            {"reason": self.edge(text_edges(bounds.REASON, "checked "), "review")},
            bound_codes(bounds.REASON),
        )
        self.now += timedelta(days=RULES.notice_days + 1)
        self.run(ConfirmAward(award), Actor("system", Role.SYSTEM))

    def backfill_and_dispute(self, org: UUID, volunteer: UUID) -> None:
        started = self.now - timedelta(days=1)
        evidence = self.edge(text_edges(bounds.EVIDENCE_ITEM), "evidence")
        counts = [Edge(1, True, "one"), Edge(bounds.EVIDENCE, True, "most")]
        counts.append(Edge(bounds.EVIDENCE + 1, False, "one too many"))
        count = self.edge(counts, "pieces of evidence")
        pieces = Edge((evidence.value,) * count.value, evidence.within and count.within, "evidence")
        made: list[UUID] = []
        for times in (False, True):
            body = self.attempt(
                lambda description, evidence, started_at, ended_at: SubmitBackfill(
                    volunteer, org, started_at, ended_at, description, Category.OTHER, evidence
                ),
                {
                    "description": self.edge(text_edges(bounds.REASON, "helped "), "done"),
                    "evidence": pieces,
                    "started_at": self.edge(MOMENT_EDGES, "from")
                    if times
                    else Edge(started, True, "a day ago"),
                    "ended_at": self.edge(MOMENT_EDGES, "to")
                    if times
                    else Edge(started + timedelta(hours=1), True, "an hour later"),
                },
                bound_codes(bounds.REASON, bounds.EVIDENCE_ITEM, bounds.MOMENT),
                {
                    "description": "helped",
                    "evidence": (),
                    "started_at": started + timedelta(hours=2 * len(made) + 2),
                    "ended_at": started + timedelta(hours=2 * len(made) + 3),
                },
            )
            assert body is not None
            made.append(UUID(body["id"]))
        second = Actor(f"second-{self.tag}", Role.ADMIN)
        self.run(ApproveBackfill(made[0]), second)
        self.attempt(
            lambda reason: RejectBackfill(made[1], reason),
            {"reason": self.edge(text_edges(bounds.REASON, "no "), "rejection")},
            bound_codes(bounds.REASON),
        )
        body = self.attempt(
            lambda reason: OpenDispute(made[0], reason),
            {"reason": self.edge(text_edges(bounds.REASON, "wrong "), "dispute")},
            bound_codes(bounds.REASON),
            {"reason": "wrong"},
        )
        if body is not None:
            dispute = UUID(body["id"])
            self.attempt(
                lambda minutes, reason: ResolveDispute(
                    dispute, Resolution.CORRECT, reason, minutes
                ),
                {
                    "minutes": self.edge(whole_edges(bounds.SERVICE_MINUTES), "corrected"),
                    "reason": self.edge(text_edges(bounds.REASON, "fixed "), "resolution"),
                },
                bound_codes(bounds.SERVICE_MINUTES, bounds.REASON),
            )

    def certify(self, org: UUID, volunteer: UUID) -> None:
        today = RULES.local_date(self.now)
        ten_years = today.replace(year=today.year - bounds.CERTIFICATE_YEARS)
        periods = [
            Edge((today - timedelta(days=60), today), True, "two months"),
            Edge((ten_years + timedelta(days=1), today), True, "just under ten years"),
            Edge((ten_years, today), False, "ten years"),
            Edge((today, today - timedelta(days=1)), False, "ends before it begins"),
            Edge((date(1999, 12, 31), date(2000, 1, 31)), False, "before 2000"),
        ]
        self.rt.runner.catch_up()
        sources = tuple(self.rt.queries.records.credited_sources(volunteer, org, ten_years, today))
        self.attempt(
            lambda purpose, period: IssueCertificate(
                volunteer, org, period[0], period[1], purpose, sources
            ),
            {
                "purpose": self.edge(text_edges(bounds.PURPOSE, "升学 "), "purpose"),
                "period": self.edge(periods, "certified period"),
            },
            bound_codes(bounds.PURPOSE) | {"invalid-period"},
            {"purpose": None, "period": periods[0].value},
        )

    def scope(self) -> Scope:
        years = sorted({f"{self.now.year:04d}", "2000", "2099"})
        return Scope(
            volunteers=self.volunteers,
            activities=self.activities,
            redemptions=self.redemptions,
            orgs=self.orgs[:2],
            venues=self.orgs[2:3],
            district=self.orgs[0],
            periods=[*years, *(f"campaign:{c}" for c in sorted(self.campaigns))],
        )


def all_commands() -> set[type[Command]]:
    found: set[type[Command]] = set()
    todo = [Command]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.add(sub)
            todo.append(sub)
    return {c for c in found if c.__module__.startswith("ledger.")}


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    # Wrong codes are tried here for their bounds, not to be locked out for guessing.
    rt = Runtime(make_settings(database_url, rules=RULES, guess_limit=10**6))
    try:
        yield Store(rt)
    finally:
        rt.close()


@SETTINGS
@given(data=st.data())
def test_commands_refuse_values_beyond_their_bounds_and_project_the_rest(
    store: Store, data: st.DataObject
) -> None:
    history = Edges(store.rt, data)
    history.play()
    store.rt.runner.catch_up()  # raises if a projection cannot apply what was accepted
    missing = all_commands() - history.ran
    assert not missing, f"commands the history never aimed at their bounds: {missing}"
    compare(store.rt, Oracle(store.read_log()), history.scope())


# Over HTTP -----------------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"\{[^}]+\}")


@dataclass(frozen=True)
class Leaf:
    """One bounded value of a request body: where, and its JSON Schema."""

    where: tuple[str | int, ...]
    schema: dict[str, Any]


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def leaves(
    doc: dict[str, Any], schema: dict[str, Any], where: tuple[Any, ...] = ()
) -> Iterator[Leaf]:
    schema = resolve(doc, schema)
    options = schema.get("anyOf")
    if options:
        for option in options:
            if option.get("type") != "null":
                yield from leaves(doc, option, where)
        return
    kind = schema.get("type")
    if kind == "object":
        for name, sub in schema.get("properties", {}).items():
            yield from leaves(doc, sub, (*where, name))
    elif kind == "array":
        yield Leaf(where, schema)
        yield from leaves(doc, schema["items"], (*where, 0))
    elif kind in ("integer", "string"):
        yield Leaf(where, schema)


def example(doc: dict[str, Any], schema: dict[str, Any]) -> Any:
    """A value the schema accepts (ids are random: the request is validated before any is
    looked up)."""
    schema = resolve(doc, schema)
    if "anyOf" in schema:
        return example(doc, next(o for o in schema["anyOf"] if o.get("type") != "null"))
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {n: example(doc, s) for n, s in schema.get("properties", {}).items()}
    if kind == "array":
        return [example(doc, schema["items"])] * max(schema.get("minItems", 0), 1)
    if kind == "integer":
        return max(schema.get("minimum", 1), 1)
    if kind == "boolean":
        return True
    formats = {
        "uuid": str(uuid.uuid4()),
        "date-time": "2025-06-01T10:00:00+08:00",
        "date": "1980-02-03",
    }
    if schema.get("format") == "date" and schema.get("pattern") == bounds.MOMENT.pattern:
        return "2025-06-01"  # a day in the years of MOMENT (a certificate's period)
    if schema.get("format") in formats:
        return formats[schema["format"]]
    if schema.get("pattern") == bounds.PIN_PATTERN:
        return "1" * bounds.PIN_DIGITS
    return "x" * max(schema.get("minLength", 1), 1)


def put(body: Any, where: tuple[Any, ...], value: Any) -> Any:
    changed = copy.deepcopy(body)
    target = changed
    for part in where[:-1]:
        target = target[part]
    target[where[-1]] = value
    return changed


def leaf_edges(leaf: Leaf) -> list[Edge[Any]]:
    """Values at and beyond the bounds the schema declares."""
    s = leaf.schema
    edges: list[Edge[Any]] = []
    if s.get("type") == "integer":
        low, high = s["minimum"], s["maximum"]
        edges += [Edge(low, True, "minimum"), Edge(high, True, "maximum")]
        edges += [Edge(float(high), True, "maximum as 2.0 is written")]
        edges += [Edge(low - 1, False, "below"), Edge(high + 1, False, "above")]
        edges += [Edge(2**63, False, "BIGINT"), Edge(10**30, False, "10**30")]
        edges += [Edge(high + 0.5, False, "a fraction"), Edge(True, False, "a boolean")]
        edges += [Edge(str(low), False, "a number as text")]
    elif s.get("type") == "array":
        most = s["maxItems"]
        edges.append(Edge(most + 1, False, "one item too many"))
    elif s.get("format") == "date-time":
        edges += [Edge(e.value.isoformat(), e.within, e.label) for e in MOMENT_EDGES[:4]]
    elif s.get("format") == "date" and s.get("pattern") == bounds.MOMENT.pattern:
        edges += [Edge("2000-01-01", True, "earliest"), Edge("1999-12-31", False, "too early")]
        edges += [Edge("2099-12-31", True, "latest"), Edge("2100-01-01", False, "too late")]
    elif s.get("format") == "date":
        edges += [Edge("1900-01-01", True, "earliest"), Edge("1899-12-31", False, "too early")]
    elif s.get("pattern") == bounds.PIN_PATTERN:  # digits, not text
        edges += [Edge("0" * bounds.PIN_DIGITS, True, "digits"), Edge("12345", False, "short")]
        edges += [Edge("1234567", False, "long"), Edge("12345a", False, "not a digit")]
        edges += [Edge("a\x00b", False, "a NUL")]
    elif s.get("type") == "string" and "format" not in s and "enum" not in s:
        most = s["maxLength"]
        edges += [Edge("名" * most, True, "longest"), Edge("a" * (most + 1), False, "too long")]
        edges += [Edge("a\x00b", False, "a NUL")]
        edges += [Edge("a\u202eb", False, "a right-to-left override")]
        edges += [Edge("\u2066a\u2069", False, "an isolate")]
        edges += [Edge("\u200b" * min(most, 3), False, "zero-width only")]
        edges += [Edge("\u3164", False, "a Hangul filler only")]
        edges += [Edge("a\u200b", True, "a zero-width space beside a letter")]
    return edges


def test_every_bounded_value_of_every_request_is_declared_and_enforced(town: Town) -> None:
    doc = httpx.get(town.base_url + "/openapi.json").json()
    checked, failures = 0, []
    for path, item in doc["paths"].items():
        body_spec = item.get("post", {}).get("requestBody")
        if body_spec is None:
            continue
        schema = body_spec["content"]["application/json"]["schema"]
        url = PLACEHOLDER.sub(lambda _: str(uuid.uuid4()), path)
        base = example(doc, schema)
        for leaf in leaves(doc, schema):
            s = leaf.schema
            if s.get("type") == "integer" and ("minimum" not in s or "maximum" not in s):
                failures.append(f"{path} {leaf.where}: an integer without both bounds")
                continue
            if s.get("type") == "array" and "maxItems" not in s:
                failures.append(f"{path} {leaf.where}: a list without a longest")
                continue
            free = s.get("type") == "string" and "format" not in s and "enum" not in s
            if free and ("maxLength" not in s or "pattern" not in s):
                failures.append(f"{path} {leaf.where}: text without a length and a pattern")
                continue
            for edge in leaf_edges(leaf):
                value = edge.value
                if s.get("type") == "array":
                    value = [example(doc, s["items"])] * edge.value
                r = town.admin.post(url, put(base, leaf.where, value))
                refused = r.status_code == 422 and r.json()["code"] == "validation-failed"
                located = refused and any(
                    e["location"][1 : 1 + len(leaf.where)] == [str(p) for p in leaf.where]
                    for e in r.json()["errors"]
                )
                checked += 1
                if (
                    r.status_code >= 500
                    or (edge.within and located)
                    or (not edge.within and not located)
                ):
                    failures.append(
                        f"{path} {leaf.where} {edge.label} ({'within' if edge.within else 'beyond'}"
                        f"): {r.status_code} {r.text[:200]}"
                    )
    assert checked > 100, checked
    assert not failures, "\n".join(failures)


def test_the_trainings_list_pages_within_its_bounds(town: Town) -> None:
    """GET /v1/trainings: every page within the limit, the cursor carrying on where the page
    ended (two trainings at the same moment included), and a limit, cursor or organisation
    beyond its bounds refused in words, never a 500."""
    volunteer = town.volunteer()
    moments = ("2026-03-01T09:00:00+08:00", "2026-03-01T09:00:00+08:00", "2026-02-01T09:00:00Z")
    for n, held_at in enumerate(moments):
        body = {
            "org_id": town.team,
            "title": f"培训 {n}",
            "held_at": held_at,
            "minutes": 30,
            "volunteer_ids": [volunteer],
        }
        assert town.admin.post("/v1/trainings", body).status_code == 201
    town.rt.runner.catch_up()
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"org_id": town.district, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        r = town.admin.get("/v1/trainings", **params)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= 2
        seen += [t["title"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen[:2]) == ["培训 0", "培训 1"] and seen[2:] == ["培训 2"]
    for junk in (
        {"limit": 0},
        {"limit": 1001},
        {"cursor": "x" * 501},
        {"cursor": "not a cursor!"},
        {"cursor": "eyJhIjogMX0"},  # a cursor of another shape
        {"min_position": -1},
    ):
        r = town.admin.get("/v1/trainings", org_id=town.district, **junk)
        assert r.status_code in (400, 422), (junk, r.status_code, r.text)
    for org in ("nope", "", "1" * 100):
        r = town.admin.get("/v1/trainings", org_id=org)
        assert r.status_code == 422, (org, r.status_code)
    assert town.admin.get("/v1/trainings", org_id=str(uuid4())).status_code == 404
