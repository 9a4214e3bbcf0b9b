"""A small, reproducible demo town, seeded through the ledger's commands only.

西湖区 > 北山街道 > 3 communities with 2 service teams each, a redemption venue with rewards,
200 volunteers, 20 family links, 30 activities (most with verified hours, some in progress
or upcoming), a few gifts and donations and a couple of redemptions.

Commands refuse to sign up for activities that have ended and to check in or out in the
future, so every activity that has attendance is still open now: its volunteers served in
one of three earlier time slots today, at most one activity per slot, which also keeps each
volunteer within the daily check-in limit and free of overlapping service.
"""

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from stdnum.cn import ric

from ledger.activities import Category
from ledger.audit import Actor, Context, Role
from ledger.commands import (
    CancelSignup,
    CheckIn,
    CheckOut,
    Command,
    FulfilRedemption,
    LinkFamily,
    ListReward,
    PublishActivity,
    Redeem,
    RegisterOrganisation,
    RegisterVolunteer,
    SignUp,
    Transfer,
    TransferKind,
    VerifySignup,
)
from ledger.identity import DocumentType
from ledger.organisations import OrgKind
from ledger.signups import Decision
from ledger.volunteers import Relation
from timebank.runtime import Runtime

SEED = 20240305  # 学雷锋纪念日: the demo is the same town every time
VOLUNTEERS = 200
FAMILY_PAIRS = 20
ADMIN = Actor("demo-seed", Role.ADMIN)
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
    activity_ids: list[UUID]
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


class _Seeder:
    def __init__(self, rt: Runtime, rng: random.Random) -> None:
        self.rt = rt
        self.rng = rng
        self.commands = 0
        self.counts: dict[str, int] = {}

    def run(self, command: Command, what: str) -> dict[str, Any]:
        ctx = Context(ADMIN, f"demo-{uuid.UUID(int=self.rng.getrandbits(128))}", _now())
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


def seed_demo(rt: Runtime) -> DemoTown:
    """Seeds the demo town into an empty store, as an admin, through commands only."""
    rng = random.Random(SEED)
    seeder = _Seeder(rt, rng)
    now = _now()
    zone = ZoneInfo(rt.settings.rules.timezone)

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

    # Volunteers and families -------------------------------------------------------------
    people = _people(rng, now.astimezone(zone).date())
    volunteers: list[UUID] = []
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

    # Activities -------------------------------------------------------------------------
    organisers = teams + communities
    activities: list[UUID] = []
    slot_of: dict[int, int] = {}
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
            day = now.astimezone(zone).date() + timedelta(days=index - SLOTTED - IN_PROGRESS + 1)
            starts = datetime.combine(day, time(9, 0), zone)
            ends = starts + timedelta(hours=3)
            capacity = 8
        campaign = "学雷锋志愿服务月" if index % 4 == 0 else None
        body = seeder.run(
            PublishActivity(
                organisers[index % len(organisers)],
                title,
                category,
                location,
                starts,
                ends,
                capacity,
                campaign,
            ),
            "activities",
        )
        activities.append(UUID(body["id"]))

    # Attendance ----------------------------------------------------------------------------
    balance: dict[int, int] = dict.fromkeys(range(VOLUNTEERS), 0)
    check_ins: dict[int, int] = dict.fromkeys(range(VOLUNTEERS), 0)

    def sign_up(activity: int, volunteer: int) -> UUID:
        body = seeder.run(SignUp(activities[activity], volunteers[volunteer]), "signups")
        return UUID(body["id"])

    daily_limit = min(rt.settings.rules.max_check_ins_per_day, len(SLOT_HOURS))
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
                credited = seeder.run(verify, "verifications")["credited_minutes"]
                balance[volunteer] += int(credited)

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
    for index in range(SLOTTED + IN_PROGRESS, len(ACTIVITIES)):
        for volunteer in rng.sample(range(VOLUNTEERS), rng.randint(5, 10)):
            sign_up(index, volunteer)  # past capacity 8 they join the waitlist

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
        activity_ids=activities,
        commands=seeder.commands,
        counts=dict(seeder.counts),
    )


def summary(town: DemoTown) -> str:
    """One line: how many of each thing the seeding did."""
    return ", ".join(f"{n} {what.replace('_', ' ')}" for what, n in town.counts.items())
