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
"""

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from stdnum.cn import ric

from ledger.accounts import TransferKind
from ledger.activities import Category
from ledger.awards import Review
from ledger.commands.attendance import (
    CancelSignup,
    CheckIn,
    CheckOut,
    PublishActivity,
    SignUp,
    VerifySignup,
)
from ledger.commands.base import Command
from ledger.commands.corrections import (
    ApproveBackfill,
    OpenDispute,
    RejectBackfill,
    ResolveDispute,
    SubmitBackfill,
)
from ledger.commands.exchange import FulfilRedemption, ListReward, Redeem, Transfer
from ledger.commands.members import LinkFamily, RegisterOrganisation, RegisterVolunteer
from ledger.commands.recognition import (
    Commend,
    CompleteActivity,
    Evaluate,
    FileObjection,
    HoldTraining,
    ReviewAward,
)
from ledger.context import Actor, Context, Role
from ledger.disputes import Resolution
from ledger.identity import DocumentType
from ledger.organisations import OrgKind
from ledger.signups import Decision
from ledger.trainings import Evaluator
from ledger.volunteers import Relation
from timebank.runtime import Runtime

SEED = 20240305  # 学雷锋纪念日: the demo is the same town every time
VOLUNTEERS = 200
FAMILY_PAIRS = 20
ADMIN = Actor("demo-seed", Role.ADMIN)
# Two coordinator principals (maker and checker of the back-fills), scoped once registered.
STREET_COORDINATOR = "demo-coordinator-beishan"
DISTRICT_COORDINATOR = "demo-coordinator-xihu"
AREA_CODES = ("330106", "330100")  # 杭州市西湖区 (since 1983), else 杭州市

DISTRICT = ("西湖区", 1_110_000)
STREET = ("北山街道", 42_000)
COMMUNITIES: dict[str, tuple[int, tuple[str, str]]] = {
    "宝石社区": (9_800, ("宝石邻里守望服务队", "宝石银龄互助服务队")),
    "曙光社区": (12_500, ("曙光青年志愿服务队", "曙光红马甲巡防队")),
    "西湖社区": (8_600, ("西湖文明劝导服务队", "西湖环保先锋队")),
}
VENUE = "西湖区时间银行兑换点"
REWARDS = (  # name, cost in minutes, stock, per-volunteer limit
    ("爱心理发服务（一次）", 60, 50, 2),
    ("东北大米 5kg", 120, 40, 1),
    ("社区食堂餐券（10 张）", 180, 30, None),
    ("家政保洁服务（2 小时）", 240, 20, 1),
)

# title, category, location; the first 22 have verified attendance (two awaiting
# verification), 3 are in progress and 5 are upcoming.
ACTIVITIES: tuple[tuple[str, Category, str], ...] = (
    ("独居老人上门探访", Category.ELDER_CARE, "宝石社区居家养老服务中心"),
    ("西湖景区垃圾分类宣传", Category.ENVIRONMENT, "断桥残雪景点"),
    ("北山街交通文明劝导", Category.TRAFFIC, "北山街与保俶路路口"),
    ("社区义诊与血压测量", Category.HEALTH, "曙光社区卫生服务站"),
    ("四点半课堂作业辅导", Category.CHILDREN, "西湖社区青少年活动室"),
    ("老旧小区楼道清理", Category.COMMUNITY_CLEANUP, "宝石新村 3 幢"),
    ("法律咨询进社区", Category.LEGAL_AID, "曙光社区党群服务中心"),
    ("残障人士康复陪护", Category.DISABILITY, "西湖区残疾人之家"),
    ("社区书法公益课", Category.CULTURE, "北山街道文化家园"),
    ("防汛应急物资清点", Category.EMERGENCY, "北山街道应急物资仓库"),
    ("无偿献血引导服务", Category.BLOOD_DONATION, "武林广场献血屋"),
    ("广场舞健身指导", Category.FITNESS, "宝石山下健身广场"),
    ("青少年科普实验课", Category.SCIENCE, "西湖社区图书室"),
    ("银龄智能手机课堂", Category.ELDER_CARE, "曙光社区老年活动室"),
    ("宝石山登山步道清洁", Category.ENVIRONMENT, "宝石山登山口"),
    ("助老餐桌送餐上门", Category.ELDER_CARE, "宝石社区长者食堂"),
    ("学校门口护学岗", Category.TRAFFIC, "保俶塔实验学校"),
    ("社区反诈宣传", Category.LEGAL_AID, "西湖社区广场"),
    ("孤独症儿童陪伴", Category.DISABILITY, "西湖区康复中心"),
    ("非遗剪纸传承课", Category.CULTURE, "曙光社区文化礼堂"),
    ("义务家电维修", Category.OTHER, "宝石社区便民服务点"),
    ("湖滨步道环境巡查", Category.COMMUNITY_CLEANUP, "北山街湖滨步道"),
    ("社区消防安全检查", Category.EMERGENCY, "曙光社区各小区"),
    ("高龄老人助浴服务", Category.ELDER_CARE, "西湖社区日间照料中心"),
    ("文明旅游引导", Category.CULTURE, "岳庙景区"),
    ("学雷锋便民服务日", Category.OTHER, "北山街道广场"),
    ("急救知识培训", Category.HEALTH, "北山街道社区卫生服务中心"),
    ("亲子自然观察", Category.SCIENCE, "杭州植物园"),
    ("西湖环湖健步走保障", Category.FITNESS, "北山街沿湖"),
    ("困境儿童周末陪伴", Category.CHILDREN, "宝石社区儿童之家"),
)
SLOTTED = 22  # activities whose volunteers served in an earlier slot today
AWAITING_VERIFICATION = 2  # of those, the last ones are checked out but not yet verified
IN_PROGRESS = 3
SLOT_HOURS = (10, 7, 4)  # each slot starts this many hours ago and lasts under 3 hours

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红文玉晓雪梅海燕春宇浩然婷佳"
SKILLS = (
    "急救",
    "护理",
    "法律咨询",
    "心理疏导",
    "理发",
    "家电维修",
    "书法",
    "摄影",
    "驾驶",
    "烹饪",
    "英语",
    "计算机",
    "手语",
    "文艺演出",
    "垃圾分类指导",
)
PHONE_PREFIXES = ("133", "135", "136", "137", "138", "139", "150", "151", "158", "177", "187")


# The history: activities of the past weeks whose service was back-filled. Title, category,
# location, starting hour, hours, whether it belongs to the 学雷锋 campaign.
HISTORY: tuple[tuple[str, Category, str, int, int, bool], ...] = (
    ("学雷锋便民服务集市", Category.OTHER, "北山街道广场", 9, 4, True),
    ("社区义务理发", Category.ELDER_CARE, "宝石社区居家养老服务中心", 9, 3, True),
    ("老旧小区环境大扫除", Category.COMMUNITY_CLEANUP, "曙光新村", 8, 4, True),
    ("老年人防诈骗讲座", Category.LEGAL_AID, "西湖社区老年活动室", 14, 3, True),
    ("居民健康入户随访", Category.HEALTH, "曙光社区卫生服务站", 9, 6, True),
    ("防汛防台应急值守", Category.EMERGENCY, "北山街道应急物资仓库", 8, 9, False),
    ("西湖景区文明引导", Category.CULTURE, "断桥残雪景点", 8, 8, False),
    ("宝石山森林防火巡查", Category.ENVIRONMENT, "宝石山登山口", 8, 8, False),
    ("环湖健身跑赛事保障", Category.FITNESS, "北山街沿湖", 6, 7, False),
    ("街头无偿献血宣传", Category.BLOOD_DONATION, "武林广场献血屋", 9, 6, False),
    ("困境儿童课业辅导", Category.CHILDREN, "宝石社区儿童之家", 13, 4, False),
    ("残疾人就业招聘会服务", Category.DISABILITY, "西湖区残疾人之家", 9, 5, False),
    ("青少年科普开放日", Category.SCIENCE, "西湖社区图书室", 9, 4, False),
    ("早高峰交通文明劝导", Category.TRAFFIC, "北山街与保俶路路口", 7, 2, False),
)
HISTORY_DAYS = 80  # how far back the history reaches (inside the back-fill window)
NEW_YEAR_DAYS = 21  # earlier in January the history is last year's (see history_days)
CAMPAIGN = "学雷锋{year}"  # 学雷锋志愿服务月, named by its year
CORE_PARTY_MEMBERS = 6  # party members who serve at least the yearly minimum in the history
# People served (人次) by a completed activity, by category.
BENEFICIARIES: dict[Category, tuple[int, int]] = {
    Category.ELDER_CARE: (12, 40),
    Category.DISABILITY: (6, 20),
    Category.CHILDREN: (10, 35),
    Category.ENVIRONMENT: (150, 600),
    Category.COMMUNITY_CLEANUP: (80, 300),
    Category.LEGAL_AID: (25, 90),
    Category.HEALTH: (30, 120),
    Category.TRAFFIC: (300, 900),
    Category.CULTURE: (100, 500),
    Category.EMERGENCY: (50, 200),
    Category.BLOOD_DONATION: (40, 150),
    Category.FITNESS: (60, 300),
    Category.SCIENCE: (20, 60),
    Category.OTHER: (80, 250),
}
# Title, where it is held (district, street or a community by its index), hours, participants.
TRAININGS: tuple[tuple[str, str, int, int], ...] = (
    ("学雷锋志愿服务骨干培训", "street", 3, 24),
    ("应急救护（AED 与心肺复苏）培训", "district", 4, 30),
    ("新注册志愿者岗前培训", "street", 2, 20),
    ("助老服务技能培训", "community:0", 2, 15),
    ("垃圾分类指导员培训", "community:2", 2, 12),
)
ORGANISER_COMMENTS = (
    "准时到岗，服务认真",
    "主动补位，表现突出",
    "服务规范，群众满意",
    "积极配合现场调度",
    "",
)
BENEFICIARY_COMMENTS = (
    "服务很周到，谢谢！",
    "态度热情，很有耐心",
    "帮了我们大忙",
    "希望以后常来",
    "",
)


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


@dataclass
class DemoTown:
    """What was seeded: ids worth showing to whoever opens the demo."""

    district_id: UUID
    street_id: UUID
    community_ids: list[UUID]
    team_ids: list[UUID]
    venue_id: UUID
    reward_ids: list[UUID]
    volunteer_ids: list[UUID]
    activity_ids: list[UUID]  # today's, then the history's
    year: str  # the calendar year whose reports show the history
    campaign: str
    backfill_ids: list[UUID] = field(default_factory=list)
    dispute_ids: list[UUID] = field(default_factory=list)
    award_ids: list[UUID] = field(default_factory=list)
    training_ids: list[UUID] = field(default_factory=list)
    commands: int = 0
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class _Person:
    name: str
    id_number: str
    phone: str
    birth: date
    party_member: bool
    skills: tuple[str, ...]


@dataclass(frozen=True)
class _Served:
    """A signup verified today."""

    signup_id: UUID
    volunteer: int
    minutes: int


class _Seeder:
    def __init__(self, rt: Runtime, rng: random.Random) -> None:
        self.rt = rt
        self.rng = rng
        self.commands = 0
        self.counts: dict[str, int] = {}

    def run(self, command: Command, what: str, actor: Actor = ADMIN) -> dict[str, Any]:
        ctx = Context(actor, f"demo-{uuid.UUID(int=self.rng.getrandbits(128))}", _now())
        body = self.rt.service.execute(ctx, command).body
        self.commands += 1
        self.counts[what] = self.counts.get(what, 0) + 1
        return body


def _now() -> datetime:
    return datetime.now(UTC)


def _resident_id(first17: str) -> str:
    """GB 11643: 17 digits and their check digit (stdnum wants a placeholder for it)."""
    return first17 + ric.calc_check_digit(first17 + "0")


def _people(rng: random.Random, today: date) -> list[_Person]:
    people: list[_Person] = []
    used_ids: set[str] = set()
    used_phones: set[str] = set()
    while len(people) < VOLUNTEERS:
        age_days = rng.randint(18 * 366, 75 * 365)
        birth = today - timedelta(days=age_days)
        sequence = rng.randint(0, 999)
        phone = rng.choice(PHONE_PREFIXES) + f"{rng.randint(0, 10**8 - 1):08d}"
        id_number = next(
            number
            for area in AREA_CODES
            if ric.is_valid(number := _resident_id(f"{area}{birth:%Y%m%d}{sequence:03d}"))
        )
        if id_number in used_ids or phone in used_phones:
            continue
        used_ids.add(id_number)
        used_phones.add(phone)
        given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
        people.append(
            _Person(
                name=rng.choice(SURNAMES) + given,
                id_number=id_number,
                phone=phone,
                birth=birth,
                party_member=rng.random() < 0.25,
                skills=tuple(rng.sample(SKILLS, rng.randint(0, 3))),
            )
        )
    return people


def _relation(a: _Person, b: _Person, rng: random.Random) -> Relation:
    """How b relates to a."""
    years = (a.birth - b.birth).days / 365.25  # > 0: b is older
    if years >= 45:
        return Relation.GRANDPARENT
    if years <= -45:
        return Relation.GRANDCHILD
    if years >= 20:
        return Relation.PARENT
    if years <= -20:
        return Relation.CHILD
    return rng.choice((Relation.SPOUSE, Relation.SIBLING))


def _schedule(
    rng: random.Random, days: list[date]
) -> list[tuple[date, tuple[str, Category, str, int, int, bool]]]:
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


def _crews(
    rng: random.Random,
    schedule: list[tuple[date, tuple[str, Category, str, int, int, bool]]],
    core: list[int],
    required_minutes: int,
) -> list[list[int]]:
    """Who served at each past activity: some of the core party members, each of whom
    serves at least the yearly minimum in all (with an hour to spare), and a few others."""
    core_set = set(core)
    others = [v for v in range(VOLUNTEERS) if v not in core_set]
    crews = [
        [v for v in core if rng.random() < 0.4] + rng.sample(others, rng.randint(3, 5))
        for _ in schedule
    ]
    worst = [spec[4] * 60 - 30 for _, spec in schedule]  # the least a back-fill there credits
    longest_first = sorted(range(len(schedule)), key=lambda k: (-worst[k], k))
    for volunteer in core:
        planned = sum(worst[k] for k, crew in enumerate(crews) if volunteer in crew)
        for k in longest_first:
            if planned >= required_minutes + 60:
                break
            if volunteer not in crews[k]:
                crews[k].append(volunteer)
                planned += worst[k]
    return crews


def seed_demo(rt: Runtime) -> DemoTown:
    """Seeds the demo town into an empty store, as an admin and two coordinators, through
    commands only."""
    rng = random.Random(SEED)
    seeder = _Seeder(rt, rng)
    rules = rt.settings.rules
    now = _now()
    zone = ZoneInfo(rules.timezone)

    # Organisations and rewards ---------------------------------------------------------

    def org(name: str, kind: OrgKind, parent: UUID | None, population: int | None) -> UUID:
        body = seeder.run(RegisterOrganisation(name, kind, parent, population), "organisations")
        return UUID(body["id"])

    district = org(DISTRICT[0], OrgKind.DISTRICT, None, DISTRICT[1])
    street = org(STREET[0], OrgKind.STREET, district, STREET[1])
    communities: list[UUID] = []
    teams: list[UUID] = []
    homes: list[UUID] = []  # where volunteers are members
    for name, (population, team_names) in COMMUNITIES.items():
        community = org(name, OrgKind.COMMUNITY, street, population)
        communities.append(community)
        homes.append(community)
        for team_name in team_names:
            teams.append(org(team_name, OrgKind.TEAM, community, None))
    homes.extend(teams)
    venue = org(VENUE, OrgKind.VENUE, district, None)
    rewards = [
        UUID(seeder.run(ListReward(venue, name, cost, stock, limit), "rewards")["id"])
        for name, cost, stock, limit in REWARDS
    ]
    reward_cost = {rid: spec[1] for rid, spec in zip(rewards, REWARDS, strict=True)}
    maker = Actor(STREET_COORDINATOR, Role.COORDINATOR, street)
    checker = Actor(DISTRICT_COORDINATOR, Role.COORDINATOR, district)

    # Volunteers and families -------------------------------------------------------------
    people = _people(rng, now.astimezone(zone).date())
    volunteers: list[UUID] = []
    numbers: list[str] = []
    for person in people:
        body = seeder.run(
            RegisterVolunteer(
                person.name,
                DocumentType.RESIDENT_ID,
                person.id_number,
                person.phone,
                person.birth.isoformat(),
                person.party_member,
                person.skills,
                rng.choice(homes),
            ),
            "volunteers",
        )
        volunteers.append(UUID(body["id"]))
        numbers.append(str(body["volunteer_number"]))
    family: list[tuple[int, int]] = []
    linked: set[int] = set()
    while len(family) < FAMILY_PAIRS:
        a, b = rng.sample(range(VOLUNTEERS), 2)
        if a in linked or b in linked:
            continue
        linked.update((a, b))
        family.append((a, b))
        relation = _relation(people[a], people[b], rng)
        seeder.run(LinkFamily(volunteers[a], volunteers[b], relation), "family_links")

    def volunteer_actor(volunteer: int) -> Actor:
        return Actor(f"demo-volunteer-{numbers[volunteer]}", Role.VOLUNTEER, volunteers[volunteer])

    def beneficiaries(category: Category) -> int:
        return rng.randint(*BENEFICIARIES[category])

    # History: past activities with back-filled service --------------------------------------
    organisers = teams + communities
    balance: dict[int, int] = dict.fromkeys(range(VOLUNTEERS), 0)
    served: dict[int, int] = dict.fromkeys(range(VOLUNTEERS), 0)  # service minutes
    anchor = (now - timedelta(hours=SLOT_HOURS[0], minutes=30)).astimezone(zone).date()
    days = history_days(anchor, rules.backfill_window_days)
    year = days[-1].year if days else anchor.year
    campaign = CAMPAIGN.format(year=year)
    schedule = _schedule(rng, days)
    party = [v for v, person in enumerate(people) if person.party_member]
    core = rng.sample(party, min(CORE_PARTY_MEMBERS, len(party)))
    crews = _crews(rng, schedule, core, rules.party_member_yearly_minutes)
    past_activities: list[tuple[UUID, UUID]] = []  # activity, organiser
    backfills: list[UUID] = []
    backfilled: list[tuple[UUID, int]] = []  # approved back-fill, volunteer (not core)
    for (day, spec), crew in zip(schedule, crews, strict=True):
        title, category, location, hour, hours, in_campaign = spec
        organiser = organisers[rng.randrange(len(organisers))]
        starts = datetime.combine(day, time(hour, 0), zone)
        ends = starts + timedelta(hours=hours)
        body = seeder.run(
            PublishActivity(
                organiser,
                title,
                category,
                location,
                starts,
                ends,
                len(crew) + rng.randint(2, 8),
                campaign if in_campaign else None,
            ),
            "activities",
            maker,
        )
        activity = UUID(body["id"])
        past_activities.append((activity, organiser))
        for volunteer in crew:
            started = starts + timedelta(minutes=rng.choice((0, 0, 5, 10)))
            ended = ends - timedelta(minutes=rng.choice((0, 0, 10, 20)))
            submitted = seeder.run(
                SubmitBackfill(
                    volunteers[volunteer],
                    organiser,
                    started,
                    ended,
                    f"{title}：现场纸质签到，活动后补录",
                    evidence=(f"签到表-{day:%Y%m%d}.jpg", "活动现场照片.jpg"),
                    activity_id=activity,
                ),
                "backfills",
                maker,
            )
            backfill = UUID(submitted["id"])
            backfills.append(backfill)
            approved = seeder.run(ApproveBackfill(backfill), "backfill_approvals", checker)
            balance[volunteer] += int(approved["credited_minutes"])
            served[volunteer] += int(approved["minutes"])
            if volunteer not in core:
                backfilled.append((backfill, volunteer))
        seeder.run(CompleteActivity(activity, beneficiaries(category)), "completions", maker)
    if schedule:  # someone nobody saw there: the checker rejects it
        (day, (title, _, _, hour, hours, _)), crew = schedule[-1], crews[-1]
        activity, organiser = past_activities[-1]
        stranger = rng.choice([v for v in range(VOLUNTEERS) if v not in crew])
        starts = datetime.combine(day, time(hour, 0), zone)
        submitted = seeder.run(
            SubmitBackfill(
                volunteers[stranger],
                organiser,
                starts,
                starts + timedelta(hours=hours),
                f"{title}：本人称参加了活动，但未签到",
                activity_id=activity,
            ),
            "backfills",
            maker,
        )
        backfills.append(UUID(submitted["id"]))
        seeder.run(
            RejectBackfill(UUID(submitted["id"]), "签到表和现场照片中都没有该志愿者，无法核实"),
            "backfill_rejections",
            checker,
        )

    # Today's activities ----------------------------------------------------------------------
    activities: list[UUID] = []
    slot_of: dict[int, int] = {}
    today = now.astimezone(zone).date()
    campaign_today = any(
        spec[5] and day.year == today.year and (today - day).days <= 2 for day, spec in schedule
    )
    for index, (title, category, location) in enumerate(ACTIVITIES):
        if index < SLOTTED:
            slot = index % len(SLOT_HOURS)
            slot_of[index] = slot
            starts = now - timedelta(hours=SLOT_HOURS[slot], minutes=rng.randint(0, 30))
            ends = now + timedelta(minutes=rng.choice((30, 60, 90, 120)))
            capacity = rng.randint(16, 24)
        elif index < SLOTTED + IN_PROGRESS:
            starts = now - timedelta(hours=1)
            ends = now + timedelta(hours=2)
            capacity = rng.randint(8, 12)
        else:
            day = today + timedelta(days=index - SLOTTED - IN_PROGRESS + 1)
            starts = datetime.combine(day, time(9, 0), zone)
            ends = starts + timedelta(hours=3)
            capacity = 8
        body = seeder.run(
            PublishActivity(
                organisers[index % len(organisers)],
                title,
                category,
                location,
                starts,
                ends,
                capacity,
                campaign if campaign_today and index % 4 == 0 else None,
            ),
            "activities",
        )
        activities.append(UUID(body["id"]))

    # Attendance ----------------------------------------------------------------------------
    check_ins: dict[int, int] = dict.fromkeys(range(VOLUNTEERS), 0)
    verified: list[_Served] = []
    adjusted_signups: list[_Served] = []

    def sign_up(activity: int, volunteer: int) -> UUID:
        body = seeder.run(SignUp(activities[activity], volunteers[volunteer]), "signups")
        return UUID(body["id"])

    daily_limit = min(rules.max_check_ins_per_day, len(SLOT_HOURS))
    for slot, hours_ago in enumerate(SLOT_HOURS):
        free = [v for v in range(VOLUNTEERS) if check_ins[v] < daily_limit]
        rng.shuffle(free)
        slot_start = now - timedelta(hours=hours_ago)
        for index in (i for i, s in slot_of.items() if s == slot):
            awaiting = index >= SLOTTED - AWAITING_VERIFICATION
            size = rng.randint(10, 15)
            crew, free = free[:size], free[size:]
            adjusted = rng.randrange(len(crew)) if crew and index % 5 == 0 else None
            for position, volunteer in enumerate(crew):
                sid = sign_up(index, volunteer)
                fate = rng.random()
                if fate < 0.04:
                    seeder.run(CancelSignup(sid, "临时有事"), "cancellations")
                    continue
                if fate < 0.10:
                    continue  # signed up, did not come
                checked_in = slot_start + timedelta(minutes=rng.randint(0, 15))
                checked_out = checked_in + timedelta(minutes=rng.randint(90, 160))
                seeder.run(CheckIn(sid, checked_in), "check_ins")
                check_ins[volunteer] += 1
                body = seeder.run(CheckOut(sid, checked_out), "check_outs")
                if awaiting:
                    continue
                if position == adjusted:
                    minutes = int(body["minutes"]) - 30
                    verify = VerifySignup(sid, Decision.ADJUST, minutes, "扣除往返路途时间")
                else:
                    verify = VerifySignup(sid, Decision.APPROVE)
                result = seeder.run(verify, "verifications")
                balance[volunteer] += int(result["credited_minutes"])
                served[volunteer] += int(result["minutes"])
                verified.append(_Served(sid, volunteer, int(result["minutes"])))
                if position == adjusted:
                    adjusted_signups.append(verified[-1])

    in_progress = range(SLOTTED, SLOTTED + IN_PROGRESS)
    available = [v for v in range(VOLUNTEERS) if check_ins[v] < daily_limit]
    rng.shuffle(available)
    for index in in_progress:
        crew, available = available[:8], available[8:]
        for volunteer in crew:
            sid = sign_up(index, volunteer)
            if rng.random() < 0.75:
                at = now - timedelta(minutes=rng.randint(20, 55))
                seeder.run(CheckIn(sid, at), "check_ins")
    upcoming = range(SLOTTED + IN_PROGRESS, len(ACTIVITIES))
    for index in upcoming:
        wanted = rng.randint(10, 12) if index == upcoming[0] else rng.randint(5, 10)
        for volunteer in rng.sample(range(VOLUNTEERS), wanted):
            sign_up(index, volunteer)  # past capacity 8 they join the waitlist

    # Completions and evaluations of today's verified activities -----------------------------
    for index in range(SLOTTED - AWAITING_VERIFICATION):
        category = ACTIVITIES[index][1]
        seeder.run(
            CompleteActivity(activities[index], beneficiaries(category)), "completions", maker
        )
    for service in rng.sample(verified, min(40, len(verified))):
        score = rng.choices((5, 4, 3), weights=(6, 3, 1))[0]
        comment = rng.choice(ORGANISER_COMMENTS)
        evaluation = Evaluate(service.signup_id, score, Evaluator.ORGANISER, comment)
        seeder.run(evaluation, "evaluations", maker)
    for service in rng.sample(verified, min(20, len(verified))):
        score = rng.choices((5, 4, 3, 2), weights=(6, 3, 1, 1))[0]
        comment = rng.choice(BENEFICIARY_COMMENTS)
        evaluation = Evaluate(service.signup_id, score, Evaluator.BENEFICIARY, comment)
        seeder.run(evaluation, "evaluations", maker)

    # Disputes: one corrected, one dismissed -----------------------------------------------------
    disputes: list[UUID] = []
    contested = (adjusted_signups or verified)[:1]
    for service in contested:  # the half hour of roll call before check-in
        opened = seeder.run(
            OpenDispute(service.signup_id, "签到前已按要求到场集合点名，这半小时应计入服务时长"),
            "disputes",
            volunteer_actor(service.volunteer),
        )
        disputes.append(UUID(opened["id"]))
        resolved = seeder.run(
            ResolveDispute(
                UUID(opened["id"]),
                Resolution.CORRECT,
                "核对现场点名记录属实，补记 30 分钟",
                service.minutes + 30,
            ),
            "dispute_resolutions",
            maker,
        )
        balance[service.volunteer] += int(resolved["recredited_credits"]) - int(
            resolved["reversed_credits"]
        )
        served[service.volunteer] += 30
    for backfill, volunteer in backfilled[:1]:
        opened = seeder.run(
            OpenDispute(backfill, "活动结束后还留下帮忙收尾，补录的时长偏少"),
            "disputes",
            volunteer_actor(volunteer),
        )
        disputes.append(UUID(opened["id"]))
        seeder.run(
            ResolveDispute(
                UUID(opened["id"]), Resolution.DISMISS, "签到表记录的离场时间与补录一致，维持原时长"
            ),
            "dispute_resolutions",
            checker,
        )

    # Trainings ----------------------------------------------------------------------------------
    trainers = {"district": district, "street": street}
    trainers.update({f"community:{i}": c for i, c in enumerate(communities)})
    first_campaign_day = next((day for day, spec in schedule if spec[5]), None)
    training_days = days or [anchor]
    trainings: list[UUID] = []
    for number, (title, where, hours, participants) in enumerate(TRAININGS):
        if number == 0 and first_campaign_day is not None:  # within the campaign's span
            day = first_campaign_day
        else:
            day = rng.choice(training_days)
        held_at = datetime.combine(day, time(rng.choice((14, 19)), 0), zone)
        attendees = rng.sample(range(VOLUNTEERS), participants)
        body = seeder.run(
            HoldTraining(
                trainers[where],
                title,
                held_at,
                hours * 60,
                tuple(volunteers[v] for v in attendees),
            ),
            "trainings",
            checker if where == "district" else maker,
        )
        trainings.append(UUID(body["id"]))

    # Commendations in public notice ---------------------------------------------------------------
    most_served = sorted(range(VOLUNTEERS), key=lambda v: (-served[v], v))
    commended = most_served[:3]
    objectors = iter(v for v in most_served[::-1] if v not in commended)
    commendations = (  # title, awarding organisation, coordinator, objection, review
        ("北山街道优秀志愿者", street, maker, None, None),
        (
            "西湖区最美志愿者",
            district,
            checker,
            "该志愿者的部分服务为事后补录，建议核实后再公示",
            None,
        ),
        (
            "北山街道志愿服务之星",
            street,
            maker,
            "听说有人代签到，希望核实",
            "经核实，补录服务均有签到表和现场照片佐证，异议不成立",
        ),
    )
    awards: list[UUID] = []
    for volunteer, (title, awarded_by, coordinator, objection, review) in zip(
        commended, commendations, strict=True
    ):
        reason = f"近三个月累计志愿服务 {served[volunteer] // 60} 小时，服务热情，群众评价好"
        body = seeder.run(
            Commend(volunteers[volunteer], awarded_by, title, reason), "commendations", coordinator
        )
        award = UUID(body["id"])
        awards.append(award)
        if objection is not None:
            objector = volunteer_actor(next(objectors))
            seeder.run(FileObjection(award, objection), "objections", objector)
        if review is not None:
            seeder.run(ReviewAward(award, Review.CONFIRM, review), "award_reviews", checker)

    # Gifts, donations, redemptions -----------------------------------------------------------
    gifts = 0
    for a, b in family:
        sender, recipient = (a, b) if balance[a] >= balance[b] else (b, a)
        if balance[sender] < 60:
            continue
        minutes = rng.choice((30, 60))
        seeder.run(
            Transfer(
                volunteers[sender],
                minutes,
                TransferKind.GIFT,
                to_volunteer_id=volunteers[recipient],
                memo="赠与家人，存入养老时间",
            ),
            "gifts",
        )
        balance[sender] -= minutes
        balance[recipient] += minutes
        gifts += 1
        if gifts == 5:
            break
    richest = sorted(range(VOLUNTEERS), key=lambda v: (-balance[v], v))
    for volunteer in richest[:3]:
        seeder.run(
            Transfer(
                volunteers[volunteer],
                60,
                TransferKind.DONATION,
                to_org_id=rng.choice(communities),
                memo="捐入社区互助时间池",
            ),
            "donations",
        )
        balance[volunteer] -= 60
    redeemers = iter(richest[3:])
    for reward, fulfil in ((rewards[0], True), (rewards[1], True), (rewards[0], False)):
        volunteer = next(redeemers)
        if balance[volunteer] < reward_cost[reward]:
            continue  # only with much stricter rules than the defaults
        body = seeder.run(Redeem(volunteers[volunteer], reward), "redemptions")
        balance[volunteer] -= reward_cost[reward]
        if fulfil:
            seeder.run(FulfilRedemption(UUID(body["id"]), str(body["code"])), "fulfilments")

    return DemoTown(
        district_id=district,
        street_id=street,
        community_ids=communities,
        team_ids=teams,
        venue_id=venue,
        reward_ids=rewards,
        volunteer_ids=volunteers,
        activity_ids=activities + [activity for activity, _ in past_activities],
        year=str(year),
        campaign=campaign,
        backfill_ids=backfills,
        dispute_ids=disputes,
        award_ids=awards,
        training_ids=trainings,
        commands=seeder.commands,
        counts=dict(seeder.counts),
    )


def summary(town: DemoTown) -> str:
    """One line: how many of each thing the seeding did."""
    return ", ".join(f"{n} {what.replace('_', ' ')}" for what, n in town.counts.items())
