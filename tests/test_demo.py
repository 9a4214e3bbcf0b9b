"""The demo town: seeded through commands on a real store, checked through the read models."""

import hashlib
import random
from collections import Counter
from datetime import UTC, date, datetime
from uuid import UUID

import pytest
from stdnum.cn import ric

import entrypoints.demo.seeder
from entrypoints.demo import (
    ACTIVITIES,
    DISTRICT_COORDINATOR,
    HISTORY,
    SEED,
    STREET_COORDINATOR,
    TRAININGS,
    VOLUNTEERS,
    DemoTown,
    history_days,
    make_people,
    seed_demo,
)
from ledger.activities import Activity
from ledger.backfills import Backfill
from ledger.disputes import Dispute
from ledger.organisations import Organisation, OrgKind
from ledger.volunteers import Volunteer
from projections.periods import parse_period
from projections.records.rankings import team_ranking, volunteer_ranking
from projections.records.report import organisation_report
from projections.records.service_record import awards, service_record
from timebank.runtime import Runtime


def test_seed_demo_creates_the_promised_town(runtime: Runtime) -> None:
    town = seed_demo(runtime)
    runtime.runner.catch_up()
    assert set(runtime.runner.read_positions().values()) == {runtime.runner.head()}

    with runtime.db.read() as cur:
        cur.execute("SELECT count(*), sum(balance) FROM tb_accounts WHERE kind = 'volunteer'")
        volunteers, volunteer_minutes = cur.fetchone()
        cur.execute("SELECT count(*) FROM tb_accounts WHERE kind = 'volunteer' AND balance > 0")
        (positive,) = cur.fetchone()
        cur.execute("SELECT count(*) FROM tb_accounts WHERE balance < 0 AND kind = 'volunteer'")
        (negative,) = cur.fetchone()
        cur.execute("SELECT sum(balance) FROM tb_accounts")
        (trial_balance,) = cur.fetchone()
        cur.execute("SELECT kind, count(*) FROM tb_postings GROUP BY kind")
        postings = {str(kind): int(n) for kind, n in cur.fetchall()}
        cur.execute("SELECT status, count(*) FROM tb_redemptions GROUP BY status")
        redemptions = {str(status): int(n) for status, n in cur.fetchall()}

    assert volunteers == VOLUNTEERS == len(town.volunteer_ids)
    assert positive >= 100 and negative == 0 and int(volunteer_minutes) > 0
    assert int(trial_balance) == 0
    assert postings["service"] >= 200
    assert postings["gift"] >= 1 and postings["donation"] >= 1
    assert postings["redemption"] == redemptions["fulfilled"] >= 1
    assert redemptions.get("reserved", 0) >= 1

    orgs = [runtime.service.load(Organisation, i, "organisation") for i in town_org_ids(town)]
    kinds = Counter(o.kind for o in orgs)
    assert kinds == {
        OrgKind.DISTRICT: 1,
        OrgKind.STREET: 1,
        OrgKind.COMMUNITY: 3,
        OrgKind.TEAM: 6,
        OrgKind.VENUE: 1,
    }
    assert len(town.reward_ids) >= 3

    activities = [runtime.service.load(Activity, i, "activity") for i in town.activity_ids]
    assert len(activities) == len(ACTIVITIES) + len(HISTORY) == 44
    assert len({a.category for a in activities}) >= 10
    assert sum(1 for a in activities if a.waitlist) >= 1  # upcoming ones fill up
    assert sum(1 for a in activities if a.completed) >= len(HISTORY) + 10
    assert all(a.beneficiaries for a in activities if a.completed)

    today = datetime.now(UTC).date()
    linked = 0
    party = 0
    for volunteer_id in town.volunteer_ids:
        v = runtime.service.load(Volunteer, volunteer_id, "volunteer")
        assert ric.is_valid(v.id_number)
        assert v.birth_date is not None and age(date.fromisoformat(v.birth_date), today) >= 18
        assert len(v.phone) == 11 and v.phone.startswith("1")
        linked += bool(v.family)
        party += v.party_member
    assert linked == 2 * 20
    assert 0 < party < VOLUNTEERS
    assert town.counts["verifications"] >= 150
    assert town.commands == sum(town.counts.values()) < 2000

    check_history(runtime, town)
    check_reports(runtime, town)
    check_service_records(runtime, town)


def check_history(runtime: Runtime, town: DemoTown) -> None:
    """Back-fills made by one coordinator and approved or rejected by another; one dispute
    corrected, one dismissed."""
    backfills = [runtime.service.load(Backfill, i, "backfill") for i in town.backfill_ids]
    assert Counter(b.status for b in backfills) == {"approved": len(backfills) - 1, "rejected": 1}
    assert len(backfills) >= 50
    assert {b.submitted_by for b in backfills} == {STREET_COORDINATOR}
    assert {b.approved_by or b.rejected_by for b in backfills} == {DISTRICT_COORDINATOR}
    assert all(b.activity_id is not None for b in backfills)

    disputes = [runtime.service.load(Dispute, i, "dispute") for i in town.dispute_ids]
    assert sorted((d.status, d.source_kind) for d in disputes) == [
        ("corrected", "signup"),
        ("dismissed", "backfill"),
    ]
    assert all(d.opened_by.startswith("demo-volunteer-") for d in disputes)


def check_reports(runtime: Runtime, town: DemoTown) -> None:
    rules = runtime.settings.rules
    db = runtime.db
    year = parse_period(town.year)
    report = organisation_report(db, town.district_id, year, rules.party_member_yearly_minutes)
    assert report is not None
    assert report.registered_volunteers == VOLUNTEERS
    assert report.registration_ratio == "0.0002"  # 200 of 1,110,000
    assert report.active_volunteers >= 100
    assert report.activities_held >= len(HISTORY) and report.beneficiaries > 0
    assert report.total_service_minutes == report.member_service_minutes > 0
    assert sum(1 for c in report.service_minutes_by_category if c.minutes > 0) >= 10
    assert report.trainings_held == len(TRAININGS) and report.training_participants >= 50
    party = report.party_members
    assert party is not None and party.year == town.year
    assert party.met >= 5 and party.not_met >= 10
    assert (
        party.registered == len(party.meeting) + len(party.not_meeting) == party.met + party.not_met
    )

    street = organisation_report(db, town.street_id, year, rules.party_member_yearly_minutes)
    assert street is not None and street.registration_ratio == "0.0048"  # 200 of 42,000

    campaign = parse_period(f"campaign:{town.campaign}")
    report = organisation_report(db, town.district_id, campaign, rules.party_member_yearly_minutes)
    assert report is not None
    in_campaign = sum(1 for spec in HISTORY if spec[5])
    assert report.activities_held >= in_campaign and report.beneficiaries > 0
    assert report.total_service_minutes > 0 and report.trainings_held >= 1
    assert report.party_members is not None

    teams = team_ranking(db, town.street_id, year, "team")
    assert len(teams) == 6 and teams[0].total_minutes > 0
    top = volunteer_ranking(db, town.district_id, year, None, 10)
    assert len(top) == 10 and top[0].minutes >= rules.party_member_yearly_minutes

    in_notice = awards(db, town.district_id, "in_notice", None, 50)
    objected = awards(db, town.district_id, "objected", None, 50)
    assert {a.id for a in in_notice + objected} == set(town.award_ids)
    assert len(in_notice) == 2 and len(objected) == 1
    assert all(a.kind == "commendation" and a.objections <= 1 for a in in_notice + objected)
    assert sum(a.objections for a in in_notice) == 1  # back in notice after a review


def check_service_records(runtime: Runtime, town: DemoTown) -> None:
    records = [service_record(runtime.db, v) for v in town.volunteer_ids]
    services = Counter(s.source_kind for r in records if r for s in r.services)
    assert services["signup"] >= 150 and services["backfill"] >= 50
    corrections = [c for r in records if r for c in r.corrections]
    assert len(corrections) == 1
    assert corrections[0].corrected_minutes == corrections[0].previous_minutes + 30
    corrected = [s for r in records if r for s in r.services if s.corrections]
    assert [s.source_id for s in corrected] == [corrections[0].source_id]
    assert sum(len(r.trainings) for r in records if r) == sum(t[3] for t in TRAININGS)
    evaluations = Counter(e.by for r in records if r for e in r.evaluations)
    assert evaluations["organiser"] >= 20 and evaluations["beneficiary"] >= 10
    assert sum(len(r.awards) for r in records if r) == 3


def town_org_ids(town: DemoTown) -> list[UUID]:
    return [town.district_id, town.street_id, *town.community_ids, *town.team_ids, town.venue_id]


def age(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def test_demo_people_are_reproducible() -> None:
    today = date(2025, 3, 5)
    first = make_people(random.Random(SEED), today)
    again = make_people(random.Random(SEED), today)
    assert first == again
    assert len({p.id_number for p in first}) == VOLUNTEERS
    assert all(ric.is_valid(p.id_number) for p in first)


def test_the_history_lies_in_one_year_within_the_backfill_window() -> None:
    days = history_days(date(2026, 11, 26), 90)
    assert (days[0], days[-1]) == (date(2026, 9, 7), date(2026, 11, 25))
    days = history_days(date(2026, 2, 10), 90)  # not before new year
    assert (days[0], days[-1]) == (date(2026, 1, 1), date(2026, 2, 9))
    days = history_days(date(2027, 1, 10), 90)  # early January: last year's history
    assert (days[0], days[-1]) == (date(2026, 10, 22), date(2026, 12, 31))
    assert history_days(date(2026, 5, 1), 10)[0] == date(2026, 4, 23)
    assert history_days(date(2026, 5, 1), 1) == []


# What the demo seeds at one moment (a Thursday of the 学雷锋 campaign month, 14:30 in the
# demo's time zone): the same commands, the same balances, whatever the code's layout.
PINNED_NOW = datetime(2026, 3, 12, 6, 30, tzinfo=UTC)
PINNED_COUNTS = {
    "organisations": 12,
    "rewards": 4,
    "volunteers": 200,
    "family_links": 20,
    "activities": 44,
    "backfills": 94,
    "backfill_approvals": 93,
    "completions": 34,
    "backfill_rejections": 1,
    "signups": 345,
    "check_ins": 263,
    "check_outs": 244,
    "verifications": 219,
    "cancellations": 14,
    "evaluations": 60,
    "disputes": 2,
    "dispute_resolutions": 2,
    "trainings": 5,
    "commendations": 3,
    "objections": 2,
    "award_reviews": 1,
    "gifts": 5,
    "donations": 3,
    "redemptions": 3,
    "fulfilments": 2,
}
# sha256 of every volunteer account's row, by the volunteer's place in the demo (ids are
# random): place, balance, reserved, earned, spent, minutes
PINNED_BALANCES = "91dbb71ea74163a9e46e72fc42828465aaaf64d3fa2e07f4ef0ae4520a8a0b40"
PINNED_EVENTS = 3751


def test_the_demo_town_at_a_given_moment_is_always_the_same(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(entrypoints.demo.seeder, "_now", lambda: PINNED_NOW)
    town = seed_demo(runtime)
    assert list(town.counts.items()) == list(PINNED_COUNTS.items())
    assert town.commands == sum(PINNED_COUNTS.values())
    assert runtime.runner.head() == PINNED_EVENTS
    runtime.runner.catch_up()
    with runtime.db.read() as cur:
        cur.execute(
            "SELECT owner_id, balance, reserved, earned, spent, service_minutes FROM tb_accounts"
            " WHERE kind = 'volunteer'"
        )
        place = {str(v): n for n, v in enumerate(town.volunteer_ids)}
        by_place = sorted((place[owner], *values) for owner, *values in cur.fetchall())
        assert len(by_place) == len(town.volunteer_ids)
        rows = "\n".join(" ".join(str(value) for value in row) for row in by_place)
    assert hashlib.sha256(rows.encode()).hexdigest() == PINNED_BALANCES
