"""The console's work pages in a browser, against the real server (SQLite): a coordinator
publishes and completes an activity, verifies a queue of ten in one go (credited exactly
once, however often the form is sent), back-fills go to a second coordinator, a dispute is
corrected and the volunteer's record shows it; a coordinator of another subtree neither
sees nor acts on any of it (on both stores); junk never gets a 500."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode
from uuid import UUID
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from ledger.context import Role
from tests.browser import shots
from tests.browser import sign_in as signing_in
from tests.http import Api, Town
from tests.test_pages import csrf_of
from tests.test_pages import sign_in as sign_in_over_http

ON_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
DONE = "main > .done"
ERROR = "main > .error"
OUTSIDE = "这不属于您的组织"


def number_of(town: Town, volunteer: str) -> str:
    return str(town.admin.get(f"/v1/volunteers/{volunteer}").json()["volunteer_number"])


def sign_in(page: Page, base_url: str, token: str) -> None:
    page.set_default_timeout(15_000)
    signing_in(page, base_url, token, "/app/coord")


def browse(browser: Browser, base_url: str, token: str, lang: str = "zh-CN") -> Page:
    context = browser.new_context(locale=lang)
    if lang == "en":
        context.add_cookies([{"name": "tb_lang", "value": "en", "url": base_url}])
    page = context.new_page()
    sign_in(page, base_url, token)
    return page


def local_input(town: Town, moment: datetime) -> str:
    """A moment as a datetime-local field takes it, on the deployment's clocks."""
    zone = ZoneInfo(town.rt.settings.rules.timezone)
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def checked_out(coordinator: Api, activity: str, volunteers: list[str]) -> list[str]:
    """Each volunteer signed up, checked in 90 minutes ago and out 30 minutes ago."""
    now = datetime.now(UTC)
    signups = []
    for volunteer in volunteers:
        made = coordinator.post(f"/v1/activities/{activity}/signups", {"volunteer_id": volunteer})
        assert made.status_code == 201, made.text
        signup = str(made.json()["id"])
        for action, ago in (("check-in", 90), ("check-out", 30)):
            at = (now - timedelta(minutes=ago)).isoformat()
            done = coordinator.post(f"/v1/signups/{signup}/{action}", {"at": at})
            assert done.status_code == 200, done.text
        signups.append(signup)
    return signups


def form_values(page: Page, selector: str) -> list[tuple[str, str]]:
    """The fields a form on the page would send (hidden ones included)."""
    found: list[list[str]] = page.eval_on_selector_all(
        f"{selector} input[type=hidden]", "es => es.map(e => [e.name, e.value])"
    )
    return [(name, value) for name, value in found]


def first_service(town: Town, volunteer: str) -> str:
    """The source id of the volunteer's first credited service, once the record has it."""
    town.rt.runner.catch_up()
    record = town.admin.get(f"/v1/volunteers/{volunteer}/record").json()
    return str(record["services"][0]["source_id"])


def credited(town: Town, volunteer: str) -> tuple[int, int]:
    account = town.account(volunteer)
    return account["available_minutes"], account["service_minutes"]


@ON_SQLITE
def test_a_coordinator_publishes_and_completes_an_activity(
    town: Town, browser: Browser, screenshots: Path
) -> None:
    token = town.rt.tokens.create(Role.COORDINATOR, "街道负责人", UUID(town.street))
    page = browse(browser, town.base_url, token)
    page.click("nav.sections a:has-text('活动')")
    expect(page.locator("h1")).to_have_text("活动")
    expect(page.locator("#org_id option")).to_have_count(2)  # the street and its team
    shots(page, screenshots, "coord-activities-empty")

    now = datetime.now(UTC)
    page.select_option("#org_id", town.team)
    page.fill("#title", "周末陪伴老人")
    page.select_option("#category", "elder_care")
    page.fill("#location", "幸福里敬老院")
    page.fill("#starts_at", local_input(town, now - timedelta(hours=1)))
    page.fill("#ends_at", local_input(town, now + timedelta(hours=2)))
    page.fill("#capacity", "5")
    page.fill("#campaign", "学雷锋志愿服务月")
    page.click("#publish button[type=submit]")
    expect(page.locator(DONE)).to_contain_text("“周末陪伴老人”已发布。")
    code = page.locator(".published-code").inner_text().strip()
    assert code
    expect(page.locator(".activity")).to_contain_text("周末陪伴老人")
    expect(page.locator(".activity")).to_contain_text("服务队")
    expect(page.locator(".activity")).to_contain_text("已报名 0 人，名额 5 个")
    shots(page, screenshots, "coord-activities-published")
    page.click("a:has-text('打开它的签到台')")
    expect(page.locator(".big-code")).to_have_text(code)

    page.goto(f"{town.base_url}/app/coord/activities")
    page.fill(".activity input[name=beneficiaries]", "12")
    page.click(".activity button:has-text('标记为已结束')")
    expect(page.locator(DONE)).to_contain_text("已结束：服务 12 人次。")
    expect(page.locator(".activity")).to_have_count(0)
    page.click(".tabs a:has-text('已结束')")
    expect(page.locator(".activity")).to_contain_text("服务 12 人次")
    shots(page, screenshots, "coord-activities-completed")

    # Wrong in words, with what was typed kept.
    page.goto(f"{town.base_url}/app/coord/activities")
    page.fill("#title", "晚上的活动")
    page.fill("#starts_at", local_input(town, now + timedelta(hours=3)))
    page.fill("#ends_at", local_input(town, now + timedelta(hours=2)))
    page.fill("#capacity", "5")
    page.click("#publish button[type=submit]")
    expect(page.locator(ERROR)).to_have_text("结束时间必须晚于开始时间。")
    expect(page.locator("#title")).to_have_value("晚上的活动")
    page.context.close()


@ON_SQLITE
def test_a_coordinator_verifies_a_queue_of_ten_in_one_go(
    town: Town, browser: Browser, screenshots: Path
) -> None:
    coordinator = town.client(Role.COORDINATOR, town.team)
    activity = town.activity(capacity=12)
    volunteers = [town.volunteer(name=f"志愿者{i}") for i in range(12)]
    checked_out(coordinator, activity["id"], volunteers)
    town.rt.runner.catch_up()  # the queue as a page opened later would find it
    token = town.rt.tokens.create(Role.COORDINATOR, "审核员", UUID(town.team))

    # Without JavaScript: the two ticked are approved, and only they.
    plain = browser.new_context(java_script_enabled=False, locale="zh-CN").new_page()
    sign_in(plain, town.base_url, token)
    plain.goto(f"{town.base_url}/app/coord/queue")
    expect(plain.locator(".signup")).to_have_count(12)
    plain.locator(".signup input[name=chosen]").nth(0).check()
    plain.locator(".signup input[name=chosen]").nth(1).check()
    plain.click("#approve button:has-text('通过勾选的')")
    expect(plain.locator(".summary")).to_contain_text("已通过 2 条。")
    expect(plain.locator(".signup")).to_have_count(10)
    plain.context.close()
    assert [credited(town, v) for v in volunteers[:3]] == [(60, 60), (60, 60), (0, 0)]
    volunteers = volunteers[2:]

    page = browse(browser, town.base_url, token)
    page.click("nav.sections a:has-text('待审核时长')")
    expect(page.locator(".signup")).to_have_count(10)
    expect(page.locator(".signup").first).to_contain_text("陪伴老人")
    expect(page.locator(".signup").first).to_contain_text("1 小时")
    expect(page.locator(".queue")).to_contain_text("志愿者3")
    shots(page, screenshots, "coord-queue")
    sent = [*form_values(page, "#approve"), ("all", "1")]

    page.click("main > button[name=all]")
    expect(page.locator(".summary")).to_contain_text("已通过 10 条。")
    expect(page.locator(".summary")).to_contain_text("记入： 10 小时")
    expect(page.locator(".signup")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("没有待审核的服务时长。")
    shots(page, screenshots, "coord-queue-approved")
    assert all(credited(town, v) == (60, 60) for v in volunteers)

    # The same form sent again (a double click, a retry): nothing more is credited.
    again = page.context.request.post(
        f"{town.base_url}/app/coord/queue/approve", data=urlencode(sent), headers=FORM
    )
    assert again.status == 200, again.text()
    assert "已通过 0 条。" in again.text() and "10 条之前已经通过" in again.text()
    assert all(credited(town, v) == (60, 60) for v in volunteers)
    page.context.close()


@ON_SQLITE
def test_one_is_adjusted_and_another_rejected(
    town: Town, browser: Browser, screenshots: Path
) -> None:
    coordinator = town.client(Role.COORDINATOR, town.team)
    activity = town.activity(capacity=2)
    adjusted, rejected = town.volunteer(name="Li Lei"), town.volunteer(name="Han Meimei")
    checked_out(coordinator, activity["id"], [adjusted, rejected])
    town.rt.runner.catch_up()
    token = town.rt.tokens.create(Role.COORDINATOR, "checker", UUID(town.team))
    page = browse(browser, town.base_url, token, "en")
    page.goto(f"{town.base_url}/app/coord/queue")
    first = page.locator(".signup", has_text="Li Lei")
    first.locator("summary").click()
    first.locator("input[name=minutes]").fill("45")
    first.locator("input[id^=adjust-reason]").fill("Arrived late")
    shots(page, screenshots, "coord-queue-adjust-en")
    first.locator("button:has-text('Adjust and credit')").click()
    expect(page.locator(DONE)).to_have_text("Adjusted to 45 minutes and credited.")
    second = page.locator(".signup", has_text="Han Meimei")
    second.locator("summary").click()
    second.locator("button:has-text('Reject')").click()  # no reason: the browser asks
    expect(page.locator(DONE)).to_have_count(1)
    second.locator("input[id^=reject-reason]").fill("Did not come; checked in by mistake")
    second.locator("button:has-text('Reject')").click()
    expect(page.locator(DONE)).to_have_text("Rejected: nothing is credited.")
    expect(page.locator(".signup")).to_have_count(0)
    assert credited(town, adjusted) == (45, 45)
    assert credited(town, rejected) == (0, 0)
    page.context.close()


@ON_SQLITE
def test_a_back_fill_waits_for_a_second_coordinator(
    town: Town, browser: Browser, screenshots: Path
) -> None:
    volunteer = town.volunteer(name="Wang Fang")
    number = number_of(town, volunteer)
    first = town.rt.tokens.create(Role.COORDINATOR, "coordinator-a", UUID(town.team))
    second = town.rt.tokens.create(Role.COORDINATOR, "coordinator-b", UUID(town.team))
    a = browse(browser, town.base_url, first, "en")
    a.click("nav.sections a:has-text('Back-fills')")
    now = datetime.now(UTC)
    a.fill("#number", number)
    a.select_option("#category", "elder_care")
    a.fill("#started_at", local_input(town, now - timedelta(hours=3)))
    a.fill("#ended_at", local_input(town, now - timedelta(hours=1)))
    a.fill("#description", "Visited Mrs Li at home: shopping and a walk")
    a.fill("#evidence", "photo 1.jpg\nsign-in sheet of the community")
    shots(a, screenshots, "coord-backfills-form-en")
    a.click("#submit button[type=submit]")
    expect(a.locator(DONE)).to_contain_text("Submitted (120 minutes).")
    expect(a.locator(".backfill")).to_have_count(0)  # never offered to its submitter
    expect(a.locator(".mine")).to_contain_text("waiting for a second coordinator")
    shots(a, screenshots, "coord-backfills-submitted-en")

    api = town.client(Role.COORDINATOR, town.team)
    listed = api.get(f"/v1/organisations/{town.team}/backfills", status="submitted").json()
    backfill = listed["items"][0]["id"]
    forged = a.context.request.post(
        f"{town.base_url}/app/coord/backfills/approve",
        form={"csrf": form_values(a, "#submit")[0][1], "once": "forged", "backfill": backfill},
    )
    assert forged.status == 403, forged.text()
    assert "You submitted this back-fill yourself" in forged.text()
    assert credited(town, volunteer) == (0, 0)

    b = browse(browser, town.base_url, second, "en")
    b.goto(f"{town.base_url}/app/coord/backfills")
    expect(b.locator(".backfill")).to_have_count(1)
    expect(b.locator(".backfill")).to_contain_text(number)
    expect(b.locator(".backfill")).to_contain_text("Visited Mrs Li")
    expect(b.locator(".backfill")).to_contain_text("sign-in sheet of the community")
    shots(b, screenshots, "coord-backfills-awaiting-en")
    b.click(".backfill button:has-text('Approve and credit')")
    expect(b.locator(DONE)).to_contain_text("Approved: 120 minutes credited.")
    expect(b.locator(".backfill")).to_have_count(0)
    assert credited(town, volunteer) == (120, 120)
    a.context.close()
    b.context.close()


@ON_SQLITE
def test_a_dispute_is_corrected_and_the_record_shows_it(
    town: Town, browser: Browser, screenshots: Path
) -> None:
    volunteer = town.volunteer(name="赵敏")
    town.earn(volunteer, 60)
    me = town.client(Role.VOLUNTEER, volunteer)
    source = first_service(town, volunteer)
    opened = me.post("/v1/disputes", {"record_id": source, "reason": "我服务了一个半小时"})
    assert opened.status_code == 201, opened.text
    town.rt.runner.catch_up()

    token = town.rt.tokens.create(Role.COORDINATOR, "队长", UUID(town.team))
    page = browse(browser, town.base_url, token)
    page.click("nav.sections a:has-text('异议')")
    expect(page.locator(".dispute")).to_have_count(1)
    expect(page.locator(".dispute")).to_contain_text("我服务了一个半小时")
    expect(page.locator(".dispute")).to_contain_text("现在记录的时长： 1 小时")
    expect(page.locator(".dispute")).to_contain_text("活动： 陪伴老人")
    shots(page, screenshots, "coord-disputes")
    page.fill(".dispute input[name=minutes]", "90")
    page.fill(".dispute input[id^=correct-reason]", "签到表显示服务了 90 分钟")
    page.click(".dispute button:has-text('更正记录')")
    expect(page.locator(DONE)).to_contain_text("已更正为 90 分钟")
    expect(page.locator(".dispute")).to_have_count(0)
    shots(page, screenshots, "coord-disputes-resolved")
    assert credited(town, volunteer) == (90, 90)

    link = town.client(Role.COORDINATOR, town.team).post(
        f"/v1/volunteers/{volunteer}/sign-in-links", {}
    )
    mine = browser.new_context(locale="zh-CN").new_page()
    mine.set_default_timeout(15_000)
    mine.goto(f"{town.base_url}{link.json()['url']}")
    mine.click("main button[type=submit]")
    mine.wait_for_url(f"{town.base_url}/app/me")
    mine.goto(f"{town.base_url}/app/me/record")
    service = mine.locator("section[aria-labelledby=services] .item")
    expect(service).to_contain_text("1 小时 30 分钟")
    expect(service).to_contain_text("已更正")
    expect(service).to_contain_text("原记录： 1 小时")
    mine.context.close()
    page.context.close()


def this_subtree(town: Town) -> dict[str, str]:
    """One of each thing waiting in the team's subtree: a checked-out signup, a submitted
    back-fill and an open dispute (and a published activity)."""
    coordinator = town.client(Role.COORDINATOR, town.team)
    activity = town.activity(capacity=5)
    volunteer, disputing = town.volunteer(), town.volunteer()
    (signup,) = checked_out(coordinator, activity["id"], [volunteer])
    now = datetime.now(UTC)
    made = coordinator.post(
        "/v1/backfills",
        {
            "volunteer_id": volunteer,
            "org_id": town.team,
            "category": "other",
            "started_at": (now - timedelta(days=2)).isoformat(),
            "ended_at": (now - timedelta(days=2) + timedelta(hours=1)).isoformat(),
            "description": "帮忙搬家",
        },
    )
    assert made.status_code == 201, made.text
    town.earn(disputing, 30)
    me = town.client(Role.VOLUNTEER, disputing)
    source = first_service(town, disputing)
    dispute = me.post("/v1/disputes", {"record_id": source, "reason": "少算了"})
    assert dispute.status_code == 201, dispute.text
    town.rt.runner.catch_up()
    return {
        "activity": activity["id"],
        "signup": signup,
        "backfill": str(made.json()["id"]),
        "dispute": str(dispute.json()["id"]),
    }


PAGES = ("activities", "queue", "backfills", "disputes")


def test_a_coordinator_of_another_subtree_neither_sees_nor_acts(town: Town) -> None:
    ids = this_subtree(town)
    street = town.org("东街道", "street", town.district)
    elsewhere = town.org("东街道服务队", "team", street)
    token = town.rt.tokens.create(Role.COORDINATOR, "别处的负责人", UUID(elsewhere))
    with httpx.Client(base_url=town.base_url, timeout=30) as client:
        sign_in_over_http(client, token)
        for name in PAGES:
            own = client.get(f"/app/coord/{name}")
            assert own.status_code == 200, (name, own.text)
            assert "陪伴老人" not in own.text, name  # none of ours
            assert not any(i in own.text for i in ids.values()), name
            asked = client.get(f"/app/coord/{name}", params={"org": town.team})
            assert asked.status_code == 403 and OUTSIDE in asked.text, (name, asked.text)
        csrf = csrf_of(client.get("/app/coord/queue"))
        attempts: list[tuple[str, dict[str, str]]] = [
            ("queue/approve", {"chosen": ids["signup"]}),
            ("queue/adjust", {"signup": ids["signup"], "minutes": "600", "reason": "多记"}),
            ("queue/reject", {"signup": ids["signup"], "reason": "不算"}),
            ("backfills/approve", {"backfill": ids["backfill"]}),
            ("backfills/reject", {"backfill": ids["backfill"], "reason": "不算"}),
            (
                "disputes/resolve",
                {
                    "dispute": ids["dispute"],
                    "decision": "correct",
                    "minutes": "600",
                    "reason": "多记",
                },
            ),
            (
                "disputes/resolve",
                {"dispute": ids["dispute"], "decision": "dismiss", "reason": "不理"},
            ),
            ("activities/complete", {"activity": ids["activity"], "beneficiaries": "3"}),
        ]
        for org in (None, town.team):
            for action, fields in attempts:
                params = {"org": org} if org else {}
                form = {"csrf": csrf, "once": f"{action}-{org}", **fields}
                done = client.post(f"/app/coord/{action}", data=form, params=params)
                assert done.status_code == 403 and OUTSIDE in done.text, (action, done.text)
        published = client.post(
            "/app/coord/activities/publish",
            data={
                "csrf": csrf,
                "org_id": town.team,
                "title": "冒名活动",
                "category": "other",
                "starts_at": "2026-12-01T09:00",
                "ends_at": "2026-12-01T10:00",
                "capacity": "3",
            },
        )
        assert published.status_code == 403 and OUTSIDE in published.text
    admin = town.admin
    assert admin.get(f"/v1/signups/{ids['signup']}").json()["status"] == "checked_out"
    assert admin.get(f"/v1/backfills/{ids['backfill']}").json()["status"] == "submitted"
    assert admin.get(f"/v1/disputes/{ids['dispute']}").json()["status"] == "open"
    activities = admin.get(f"/v1/organisations/{town.team}/activities", status="completed")
    assert activities.json()["items"] == []


JUNK = [
    "",
    "x" * 5000,
    "-1",
    "0",
    "1e9",
    "99999999999",
    str(UUID(int=7)),
    "%00",
    "\u202e名字",
    "<b>",
    "2026-13-45T99:99",
    "9999-01-01T00:00",
]
ACTIONS = {
    "activities/publish": (
        "org_id",
        "title",
        "category",
        "location",
        "starts_at",
        "ends_at",
        "capacity",
        "campaign",
    ),
    "activities/complete": ("activity", "beneficiaries"),
    "queue/approve": ("chosen", "shown", "all"),
    "queue/adjust": ("signup", "minutes", "reason"),
    "queue/reject": ("signup", "reason"),
    "backfills/submit": (
        "number",
        "org_id",
        "category",
        "started_at",
        "ended_at",
        "description",
        "evidence",
    ),
    "backfills/approve": ("backfill",),
    "backfills/reject": ("backfill", "reason"),
    "disputes/resolve": ("dispute", "decision", "minutes", "reason"),
}


@ON_SQLITE
def test_nothing_typed_or_asked_gets_a_500(town: Town) -> None:
    ids = this_subtree(town)
    token = town.rt.tokens.create(Role.COORDINATOR, "队长", UUID(town.team))
    with httpx.Client(base_url=town.base_url, timeout=30) as client:
        sign_in_over_http(client, token)
        csrf = csrf_of(client.get("/app/coord/queue"))
        shown = client.get("/app/coord/queue", params={"org": town.team})
        assert f"%3Forg%3D{town.team}" in shown.text  # a language switch keeps the organisation
        for name in PAGES:
            for value in JUNK:
                for param in ("org", "status", "after"):
                    answer = client.get(f"/app/coord/{name}", params={param: value})
                    assert answer.status_code < 500, (name, param, value, answer.text)
                    assert "<b>" not in answer.text
        for action, fields in ACTIONS.items():
            for value in JUNK:
                form = {"csrf": csrf, "once": value, **dict.fromkeys(fields, value)}
                answer = client.post(f"/app/coord/{action}", data=form, params={"org": value})
                assert answer.status_code < 500, (action, value, answer.text)
                assert "<b>" not in answer.text
            raw = client.post(f"/app/coord/{action}", content=b"\xff\x00&&==", headers=FORM)
            assert raw.status_code == 403
            many = "&".join(f"chosen={ids['signup']}" for _ in range(500))
            flood = client.post(f"/app/coord/{action}", content=f"csrf={csrf}&{many}", headers=FORM)
            assert flood.status_code < 500
            assert client.get(f"/app/coord/{action}").status_code == 303
        # A real id of each kind with junk beside it: refused in words, nothing done.
        for action, fields in ACTIONS.items():
            form = {"csrf": csrf, **dict.fromkeys(fields, "<b>"), "reason": ""}
            for field in fields:
                if field in ("signup", "chosen", "backfill", "dispute", "activity"):
                    form[field] = ids[field if field != "chosen" else "signup"]
            answer = client.post(f"/app/coord/{action}", data=form)
            assert answer.status_code < 500 and "<b>" not in answer.text, (action, answer.text)
        # Chosen ones approved: the refused ones said by volunteer, the rest approved.
        approved = client.post(
            "/app/coord/queue/approve",
            content=urlencode(
                [
                    ("csrf", csrf),
                    ("once", "k1"),
                    ("chosen", ids["signup"]),
                    ("chosen", "zzz"),
                    ("chosen", str(UUID(int=9))),
                ]
            ),
            headers=FORM,
        )
        assert approved.status_code == 200, approved.text
        assert "已通过 1 条。" in approved.text and "没有这个编号的报名" in approved.text
    assert town.admin.get(f"/v1/signups/{ids['signup']}").json()["status"] == "verified"


def test_a_disputed_back_fill_is_named_and_dismissed(town: Town) -> None:
    volunteer = town.volunteer()
    maker, checker = (
        town.client(Role.COORDINATOR, town.team),
        town.client(Role.COORDINATOR, town.team),
    )
    now = datetime.now(UTC)
    made = maker.post(
        "/v1/backfills",
        {
            "volunteer_id": volunteer,
            "org_id": town.team,
            "category": "environment",
            "started_at": (now - timedelta(days=1)).isoformat(),
            "ended_at": (now - timedelta(days=1) + timedelta(minutes=40)).isoformat(),
            "description": "清理河道垃圾",
        },
    )
    backfill = made.json()["id"]
    assert checker.post(f"/v1/backfills/{backfill}/approve", {}).status_code == 200
    me = town.client(Role.VOLUNTEER, volunteer)
    opened = me.post("/v1/disputes", {"record_id": backfill, "reason": "是 50 分钟"})
    assert opened.status_code == 201, opened.text
    town.rt.runner.catch_up()
    token = town.rt.tokens.create(Role.COORDINATOR, "队长", UUID(town.team))
    with httpx.Client(base_url=town.base_url, timeout=30) as client:
        sign_in_over_http(client, token)
        page = client.get("/app/coord/disputes")
        assert "补录： 清理河道垃圾" in page.text and "是 50 分钟" in page.text
        form = {"csrf": csrf_of(page), "once": "d1", "dispute": opened.json()["id"]}
        empty = client.post("/app/coord/disputes/resolve", data={**form, "decision": "dismiss"})
        assert empty.status_code == 422 and "请填写理由" in empty.text
        dismissed = client.post(
            "/app/coord/disputes/resolve",
            data={**form, "decision": "dismiss", "reason": "照片显示 40 分钟"},
        )
        assert dismissed.status_code == 200 and "异议已驳回" in dismissed.text
        again = client.post(
            "/app/coord/disputes/resolve",
            data={**form, "once": "d2", "decision": "dismiss", "reason": "再次"},
        )
        assert again.status_code == 409 and "这个异议已经处理过了" in again.text
    assert credited(town, volunteer) == (40, 40)
