"""The demo town's data: its organisations, rewards, activities, history, trainings and the
stock of names, skills and comments its people are made of."""

from ledger.activities import Category
from ledger.context import Actor, Role

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
