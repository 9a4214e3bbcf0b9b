"""The history: activities of the past weeks whose service was back-filled by the street's
coordinator and approved by the district's, one back-fill rejected."""

import random
from datetime import date, datetime, time, timedelta
from uuid import UUID

from entrypoints.demo.data import (
    CAMPAIGN,
    CORE_PARTY_MEMBERS,
    HISTORY,
    HISTORY_DAYS,
    NEW_YEAR_DAYS,
    SLOT_HOURS,
    VOLUNTEERS,
)
from entrypoints.demo.seeder import Scheduled, Seeder
from ledger.commands.attendance import PublishActivity
from ledger.commands.corrections import ApproveBackfill, RejectBackfill, SubmitBackfill
from ledger.commands.recognition import CompleteActivity


def history_days(anchor: date, window_days: int) -> list[date]:
    """The days before `anchor` (the local date of today's first service) that the history
    is spread over: inside the back-fill window and within one calendar year, so that one
    year's reports show all of it: this year, or last year in the first weeks of January."""
    first = anchor - timedelta(days=min(HISTORY_DAYS, window_days - 2))
    last = anchor - timedelta(days=1)
    new_year = date(anchor.year, 1, 1)
    if (anchor - new_year).days >= NEW_YEAR_DAYS:
        first = max(first, new_year)
    else:
        last = new_year - timedelta(days=1)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def schedule(rng: random.Random, days: list[date]) -> list[Scheduled]:
    """A distinct day for each past activity: the campaign's in March when the history
    covers enough of it, else in its last four weeks; the others on the remaining days."""
    in_campaign = [spec for spec in HISTORY if spec[5]]
    others = [spec for spec in HISTORY if not spec[5]]
    march = [d for d in days if d.month == 3]
    pool = march if len(march) >= len(in_campaign) else days[-28:]
    campaign_days = sorted(rng.sample(pool, min(len(in_campaign), len(pool))))
    rest = [d for d in days if d not in campaign_days]
    other_days = sorted(rng.sample(rest, min(len(others), len(rest))))
    return sorted(
        [*zip(campaign_days, in_campaign, strict=False), *zip(other_days, others, strict=False)]
    )


def crews(
    rng: random.Random, scheduled: list[Scheduled], core: list[int], required_minutes: int
) -> list[list[int]]:
    """Who served at each past activity: some of the core party members, each of whom
    serves at least the yearly minimum in all (with an hour to spare), and a few others."""
    core_set = set(core)
    others = [v for v in range(VOLUNTEERS) if v not in core_set]
    chosen = [
        [v for v in core if rng.random() < 0.4] + rng.sample(others, rng.randint(3, 5))
        for _ in scheduled
    ]
    worst = [spec[4] * 60 - 30 for _, spec in scheduled]  # the least a back-fill there credits
    longest_first = sorted(range(len(scheduled)), key=lambda k: (-worst[k], k))
    for volunteer in core:
        planned = sum(worst[k] for k, crew in enumerate(chosen) if volunteer in crew)
        for k in longest_first:
            if planned >= required_minutes + 60:
                break
            if volunteer not in chosen[k]:
                chosen[k].append(volunteer)
                planned += worst[k]
    return chosen


def plan_history(s: Seeder) -> None:
    """The days of the history, its year and campaign, and who served on each day."""
    s.organisers = s.teams + s.communities
    s.anchor = (s.now - timedelta(hours=SLOT_HOURS[0], minutes=30)).astimezone(s.zone).date()
    s.days = history_days(s.anchor, s.rules.backfill_window_days)
    s.year = s.days[-1].year if s.days else s.anchor.year
    s.campaign = CAMPAIGN.format(year=s.year)
    s.schedule = schedule(s.rng, s.days)
    party = [v for v, person in enumerate(s.people) if person.party_member]
    s.core = s.rng.sample(party, min(CORE_PARTY_MEMBERS, len(party)))
    s.crews = crews(s.rng, s.schedule, s.core, s.rules.party_member_yearly_minutes)


def hold_past_activities(s: Seeder) -> None:
    """Each past activity: published, its crew's service back-filled and approved, and
    completed with the people it served."""
    s.past_activities = []
    s.backfills = []
    s.backfilled = []
    for scheduled, crew in zip(s.schedule, s.crews, strict=True):
        hold_past_activity(s, scheduled, crew)


def hold_past_activity(s: Seeder, scheduled: Scheduled, crew: list[int]) -> None:
    day, (title, category, location, hour, hours, in_campaign) = scheduled
    organiser = s.organisers[s.rng.randrange(len(s.organisers))]
    starts = datetime.combine(day, time(hour, 0), s.zone)
    ends = starts + timedelta(hours=hours)
    body = s.run(
        PublishActivity(
            organiser,
            title,
            category,
            location,
            starts,
            ends,
            len(crew) + s.rng.randint(2, 8),
            s.campaign if in_campaign else None,
        ),
        "activities",
        s.maker,
    )
    activity = UUID(body["id"])
    s.past_activities.append((activity, organiser))
    for volunteer in crew:
        started = starts + timedelta(minutes=s.rng.choice((0, 0, 5, 10)))
        ended = ends - timedelta(minutes=s.rng.choice((0, 0, 10, 20)))
        submitted = s.run(
            SubmitBackfill(
                s.volunteers[volunteer],
                organiser,
                started,
                ended,
                f"{title}：现场纸质签到，活动后补录",
                evidence=(f"签到表-{day:%Y%m%d}.jpg", "活动现场照片.jpg"),
                activity_id=activity,
            ),
            "backfills",
            s.maker,
        )
        backfill = UUID(submitted["id"])
        s.backfills.append(backfill)
        approved = s.run(ApproveBackfill(backfill), "backfill_approvals", s.checker)
        s.balance[volunteer] += int(approved["credited_minutes"])
        s.served[volunteer] += int(approved["minutes"])
        if volunteer not in s.core:
            s.backfilled.append((backfill, volunteer))
    s.run(CompleteActivity(activity, s.beneficiaries(category)), "completions", s.maker)


def reject_a_stranger(s: Seeder) -> None:
    """Someone nobody saw at the last past activity asks for its service: the checker
    rejects the back-fill."""
    if not s.schedule:
        return
    (day, (title, _, _, hour, hours, _)), crew = s.schedule[-1], s.crews[-1]
    activity, organiser = s.past_activities[-1]
    stranger = s.rng.choice([v for v in range(VOLUNTEERS) if v not in crew])
    starts = datetime.combine(day, time(hour, 0), s.zone)
    submitted = s.run(
        SubmitBackfill(
            s.volunteers[stranger],
            organiser,
            starts,
            starts + timedelta(hours=hours),
            f"{title}：本人称参加了活动，但未签到",
            activity_id=activity,
        ),
        "backfills",
        s.maker,
    )
    s.backfills.append(UUID(submitted["id"]))
    s.run(
        RejectBackfill(UUID(submitted["id"]), "签到表和现场照片中都没有该志愿者，无法核实"),
        "backfill_rejections",
        s.checker,
    )
