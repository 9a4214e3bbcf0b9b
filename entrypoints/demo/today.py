"""Today: activities published for earlier slots, in progress and upcoming; attendance in
the earlier slots, verified but for the last ones; completions and evaluations."""

from datetime import datetime, time, timedelta
from uuid import UUID

from entrypoints.demo.data import (
    ACTIVITIES,
    AWAITING_VERIFICATION,
    BENEFICIARY_COMMENTS,
    IN_PROGRESS,
    ORGANISER_COMMENTS,
    SLOT_HOURS,
    SLOTTED,
    VOLUNTEERS,
)
from entrypoints.demo.seeder import Seeder, Served
from ledger.commands.attendance import (
    CancelSignup,
    CheckIn,
    CheckOut,
    PublishActivity,
    SignUp,
    VerifySignup,
)
from ledger.commands.recognition import CompleteActivity, Evaluate
from ledger.signups import Decision
from ledger.trainings import Evaluator


def publish_today(s: Seeder) -> None:
    """Today's activities: those of the earlier slots (open until after now), those in
    progress, and those of the coming days; some in the campaign if it is on."""
    s.activities = []
    s.slot_of = {}
    now = s.now
    today = now.astimezone(s.zone).date()
    campaign_today = any(
        spec[5] and day.year == today.year and (today - day).days <= 2 for day, spec in s.schedule
    )
    for index, (title, category, location) in enumerate(ACTIVITIES):
        if index < SLOTTED:
            slot = index % len(SLOT_HOURS)
            s.slot_of[index] = slot
            starts = now - timedelta(hours=SLOT_HOURS[slot], minutes=s.rng.randint(0, 30))
            ends = now + timedelta(minutes=s.rng.choice((30, 60, 90, 120)))
            capacity = s.rng.randint(16, 24)
        elif index < SLOTTED + IN_PROGRESS:
            starts = now - timedelta(hours=1)
            ends = now + timedelta(hours=2)
            capacity = s.rng.randint(8, 12)
        else:
            day = today + timedelta(days=index - SLOTTED - IN_PROGRESS + 1)
            starts = datetime.combine(day, time(9, 0), s.zone)
            ends = starts + timedelta(hours=3)
            capacity = 8
        body = s.run(
            PublishActivity(
                s.organisers[index % len(s.organisers)],
                title,
                category,
                location,
                starts,
                ends,
                capacity,
                s.campaign if campaign_today and index % 4 == 0 else None,
            ),
            "activities",
        )
        s.activities.append(UUID(body["id"]))


def sign_up(s: Seeder, activity: int, volunteer: int) -> UUID:
    body = s.run(SignUp(s.activities[activity], s.volunteers[volunteer]), "signups")
    return UUID(body["id"])


def attend_slots(s: Seeder) -> None:
    """Each earlier slot's activities get a crew of volunteers still under the daily
    check-in limit."""
    s.check_ins = dict.fromkeys(range(VOLUNTEERS), 0)
    s.verified = []
    s.adjusted_signups = []
    s.daily_limit = min(s.rules.max_check_ins_per_day, len(SLOT_HOURS))
    for slot, hours_ago in enumerate(SLOT_HOURS):
        free = [v for v in range(VOLUNTEERS) if s.check_ins[v] < s.daily_limit]
        s.rng.shuffle(free)
        slot_start = s.now - timedelta(hours=hours_ago)
        for index in (i for i, of in s.slot_of.items() if of == slot):
            size = s.rng.randint(10, 15)
            crew, free = free[:size], free[size:]
            serve_in_slot(s, index, crew, slot_start)


def serve_in_slot(s: Seeder, index: int, crew: list[int], slot_start: datetime) -> None:
    """A crew signs up; a few cancel or do not come, the others check in and out, and the
    coordinator verifies their time (one of every fifth activity's adjusted)."""
    awaiting = index >= SLOTTED - AWAITING_VERIFICATION
    adjusted = s.rng.randrange(len(crew)) if crew and index % 5 == 0 else None
    for position, volunteer in enumerate(crew):
        sid = sign_up(s, index, volunteer)
        fate = s.rng.random()
        if fate < 0.04:
            s.run(CancelSignup(sid, "临时有事"), "cancellations")
            continue
        if fate < 0.10:
            continue  # signed up, did not come
        checked_in = slot_start + timedelta(minutes=s.rng.randint(0, 15))
        checked_out = checked_in + timedelta(minutes=s.rng.randint(90, 160))
        s.run(CheckIn(sid, checked_in), "check_ins")
        s.check_ins[volunteer] += 1
        body = s.run(CheckOut(sid, checked_out), "check_outs")
        if awaiting:
            continue
        if position == adjusted:
            minutes = int(body["minutes"]) - 30
            verify = VerifySignup(sid, Decision.ADJUST, minutes, "扣除往返路途时间")
        else:
            verify = VerifySignup(sid, Decision.APPROVE)
        result = s.run(verify, "verifications")
        s.balance[volunteer] += int(result["credited_minutes"])
        s.served[volunteer] += int(result["minutes"])
        s.verified.append(Served(sid, volunteer, int(result["minutes"])))
        if position == adjusted:
            s.adjusted_signups.append(s.verified[-1])


def attend_the_rest(s: Seeder) -> None:
    """Most of the crews of the activities in progress have checked in; the upcoming ones
    have signups, the first beyond its capacity (a waitlist)."""
    in_progress = range(SLOTTED, SLOTTED + IN_PROGRESS)
    available = [v for v in range(VOLUNTEERS) if s.check_ins[v] < s.daily_limit]
    s.rng.shuffle(available)
    for index in in_progress:
        crew, available = available[:8], available[8:]
        for volunteer in crew:
            sid = sign_up(s, index, volunteer)
            if s.rng.random() < 0.75:
                at = s.now - timedelta(minutes=s.rng.randint(20, 55))
                s.run(CheckIn(sid, at), "check_ins")
    upcoming = range(SLOTTED + IN_PROGRESS, len(ACTIVITIES))
    for index in upcoming:
        wanted = s.rng.randint(10, 12) if index == upcoming[0] else s.rng.randint(5, 10)
        for volunteer in s.rng.sample(range(VOLUNTEERS), wanted):
            sign_up(s, index, volunteer)  # past capacity 8 they join the waitlist


def complete_and_evaluate(s: Seeder) -> None:
    """Today's verified activities are completed; some services are evaluated by the
    organiser, some by the people served."""
    for index in range(SLOTTED - AWAITING_VERIFICATION):
        category = ACTIVITIES[index][1]
        s.run(
            CompleteActivity(s.activities[index], s.beneficiaries(category)), "completions", s.maker
        )
    for service in s.rng.sample(s.verified, min(40, len(s.verified))):
        score = s.rng.choices((5, 4, 3), weights=(6, 3, 1))[0]
        comment = s.rng.choice(ORGANISER_COMMENTS)
        evaluation = Evaluate(service.signup_id, score, Evaluator.ORGANISER, comment)
        s.run(evaluation, "evaluations", s.maker)
    for service in s.rng.sample(s.verified, min(20, len(s.verified))):
        score = s.rng.choices((5, 4, 3, 2), weights=(6, 3, 1, 1))[0]
        comment = s.rng.choice(BENEFICIARY_COMMENTS)
        evaluation = Evaluate(service.signup_id, score, Evaluator.BENEFICIARY, comment)
        s.run(evaluation, "evaluations", s.maker)
