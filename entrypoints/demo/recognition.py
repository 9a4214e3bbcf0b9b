"""Disputes (one corrected, one dismissed), trainings, and commendations in public notice."""

from datetime import datetime, time
from uuid import UUID

from entrypoints.demo.data import TRAININGS, VOLUNTEERS
from entrypoints.demo.seeder import Seeder
from ledger.awards import Review
from ledger.commands.corrections import OpenDispute, ResolveDispute
from ledger.commands.recognition import Commend, FileObjection, HoldTraining, ReviewAward
from ledger.disputes import Resolution


def settle_disputes(s: Seeder) -> None:
    """A volunteer whose time was cut wins back the half hour of roll call; another's claim
    that a back-fill fell short is dismissed."""
    s.disputes = []
    contested = (s.adjusted_signups or s.verified)[:1]
    for service in contested:  # the half hour of roll call before check-in
        opened = s.run(
            OpenDispute(service.signup_id, "签到前已按要求到场集合点名，这半小时应计入服务时长"),
            "disputes",
            s.volunteer_actor(service.volunteer),
        )
        s.disputes.append(UUID(opened["id"]))
        resolved = s.run(
            ResolveDispute(
                UUID(opened["id"]),
                Resolution.CORRECT,
                "核对现场点名记录属实，补记 30 分钟",
                service.minutes + 30,
            ),
            "dispute_resolutions",
            s.maker,
        )
        s.balance[service.volunteer] += int(resolved["recredited_credits"]) - int(
            resolved["reversed_credits"]
        )
        s.served[service.volunteer] += 30
    for backfill, volunteer in s.backfilled[:1]:
        opened = s.run(
            OpenDispute(backfill, "活动结束后还留下帮忙收尾，补录的时长偏少"),
            "disputes",
            s.volunteer_actor(volunteer),
        )
        s.disputes.append(UUID(opened["id"]))
        s.run(
            ResolveDispute(
                UUID(opened["id"]), Resolution.DISMISS, "签到表记录的离场时间与补录一致，维持原时长"
            ),
            "dispute_resolutions",
            s.checker,
        )


def hold_trainings(s: Seeder) -> None:
    """The trainings, on days of the history (the first within the campaign's span)."""
    trainers = {"district": s.district, "street": s.street}
    trainers.update({f"community:{i}": c for i, c in enumerate(s.communities)})
    first_campaign_day = next((day for day, spec in s.schedule if spec[5]), None)
    training_days = s.days or [s.anchor]
    s.trainings = []
    for number, (title, where, hours, participants) in enumerate(TRAININGS):
        if number == 0 and first_campaign_day is not None:  # within the campaign's span
            day = first_campaign_day
        else:
            day = s.rng.choice(training_days)
        held_at = datetime.combine(day, time(s.rng.choice((14, 19)), 0), s.zone)
        attendees = s.rng.sample(range(VOLUNTEERS), participants)
        body = s.run(
            HoldTraining(
                trainers[where],
                title,
                held_at,
                hours * 60,
                tuple(s.volunteers[v] for v in attendees),
            ),
            "trainings",
            s.checker if where == "district" else s.maker,
        )
        s.trainings.append(UUID(body["id"]))


def commend(s: Seeder) -> None:
    """The three who served most are commended: one award plainly in notice, one held by an
    objection, one back in notice after a review dismissed its objection."""
    most_served = sorted(range(VOLUNTEERS), key=lambda v: (-s.served[v], v))
    commended = most_served[:3]
    objectors = iter(v for v in most_served[::-1] if v not in commended)
    commendations = (  # title, awarding organisation, coordinator, objection, review
        ("北山街道优秀志愿者", s.street, s.maker, None, None),
        (
            "西湖区最美志愿者",
            s.district,
            s.checker,
            "该志愿者的部分服务为事后补录，建议核实后再公示",
            None,
        ),
        (
            "北山街道志愿服务之星",
            s.street,
            s.maker,
            "听说有人代签到，希望核实",
            "经核实，补录服务均有签到表和现场照片佐证，异议不成立",
        ),
    )
    s.awards = []
    for volunteer, (title, awarded_by, coordinator, objection, review) in zip(
        commended, commendations, strict=True
    ):
        reason = f"近三个月累计志愿服务 {s.served[volunteer] // 60} 小时，服务热情，群众评价好"
        body = s.run(
            Commend(s.volunteers[volunteer], awarded_by, title, reason),
            "commendations",
            coordinator,
        )
        award = UUID(body["id"])
        s.awards.append(award)
        if objection is not None:
            objector = s.volunteer_actor(next(objectors))
            s.run(FileObjection(award, objection), "objections", objector)
        if review is not None:
            s.run(ReviewAward(award, Review.CONFIRM, review), "award_reviews", s.checker)
