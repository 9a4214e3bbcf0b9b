"""A small, reproducible demo town, seeded through the ledger's commands only.

西湖区 > 北山街道 > 3 communities with 2 service teams each, a redemption venue with rewards,
200 volunteers, 20 family links, 30 activities today (most with verified hours, some in
progress or upcoming), a few gifts and donations and a couple of redemptions.

So that every report has something to show, the town also has a history: 14 activities of
the past weeks (5 of them in the 学雷锋 campaign), completed with their beneficiaries, whose
service was back-filled (补录) by the street's coordinator and approved by the district's
(one back-fill rejected); a handful of party members served the yearly minimum that way,
the others did not. Today's finished activities are completed too, and evaluated by the
organiser and by the people served. One dispute was resolved by a correction and one
dismissed; trainings were held; three commendations are in public notice, one of them held
by an open objection and one back in notice after a review dismissed its objection.

Commands refuse to sign up for activities that have ended and to check in or out in the
future, so every activity that has attendance is still open now: its volunteers served in
one of three earlier time slots today, at most one activity per slot, which also keeps each
volunteer within the daily check-in limit and free of overlapping service. The history lies
within the back-fill window and within one calendar year (see `history_days`), at most one
past activity a day, so no back-filled interval overlaps another.

The seeding runs in named steps (`seed_demo`), each a function of the module of its part of
the story, sharing what earlier steps made through the `Seeder`.
"""

import random

from entrypoints.demo.data import (
    ACTIVITIES,
    DISTRICT_COORDINATOR,
    HISTORY,
    SEED,
    STREET_COORDINATOR,
    TRAININGS,
    VOLUNTEERS,
)
from entrypoints.demo.exchange import donate_and_redeem, give_gifts
from entrypoints.demo.history import (
    history_days,
    hold_past_activities,
    plan_history,
    reject_a_stranger,
)
from entrypoints.demo.people import make_people
from entrypoints.demo.recognition import commend, hold_trainings, settle_disputes
from entrypoints.demo.seeder import DemoTown, Seeder
from entrypoints.demo.today import (
    attend_slots,
    attend_the_rest,
    complete_and_evaluate,
    publish_today,
)
from entrypoints.demo.town import enrol_volunteers, found_town, link_families
from timebank.runtime import Runtime

__all__ = [
    "ACTIVITIES",
    "DISTRICT_COORDINATOR",
    "HISTORY",
    "SEED",
    "STREET_COORDINATOR",
    "TRAININGS",
    "VOLUNTEERS",
    "DemoTown",
    "history_days",
    "make_people",
    "seed_demo",
    "summary",
]

STEPS = (
    found_town,
    enrol_volunteers,
    link_families,
    plan_history,
    hold_past_activities,
    reject_a_stranger,
    publish_today,
    attend_slots,
    attend_the_rest,
    complete_and_evaluate,
    settle_disputes,
    hold_trainings,
    commend,
    give_gifts,
    donate_and_redeem,
)


def seed_demo(rt: Runtime) -> DemoTown:
    """Seeds the demo town into an empty store, as an admin and two coordinators, through
    commands only: its steps in order, on one stream of seeded random numbers."""
    seeder = Seeder(rt, random.Random(SEED))
    for step in STEPS:
        step(seeder)
    return seeder.town()


def summary(town: DemoTown) -> str:
    """One line: how many of each thing the seeding did."""
    return ", ".join(f"{n} {what.replace('_', ' ')}" for what, n in town.counts.items())
