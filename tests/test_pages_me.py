"""A volunteer's own pages in a browser, against the real server: signed in by their link,
they sign up for an activity and check in, give hours to a linked family member, open a
dispute about a service, and see it all; in Chinese, then in English."""

from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from ledger.context import Role
from tests.browser import shots
from tests.http import Town

DONE = "p.done"
ERROR = "p.error"


def my_world(town: Town) -> dict[str, Any]:
    volunteer = town.volunteer(name="王秀英")
    relative = town.volunteer(name="李建国")
    town.earn(volunteer, 120)
    mine = town.client(Role.VOLUNTEER, volunteer)
    theirs = town.client(Role.VOLUNTEER, relative)
    asked = mine.post(
        f"/v1/volunteers/{volunteer}/family-links", {"relative_id": relative, "relation": "child"}
    )
    assert asked.status_code == 201, asked.text
    confirmed = theirs.post(f"/v1/volunteers/{relative}/family-links/{volunteer}/confirm")
    assert confirmed.status_code == 200, confirmed.text
    reward = town.admin.post(
        "/v1/rewards",
        {"venue_id": town.venue, "name": "大米一袋", "cost_minutes": 30, "stock": 5},
    ).json()["id"]
    own = mine.post("/v1/redemptions", {"volunteer_id": volunteer, "reward_id": reward})
    assert own.status_code == 201, own.text
    link = town.admin.post(f"/v1/volunteers/{volunteer}/sign-in-links", {})
    assert link.status_code == 200, link.text
    return {
        "volunteer": volunteer,
        "relative": relative,
        "number": town.admin.get(f"/v1/volunteers/{volunteer}").json()["volunteer_number"],
        "relative_number": town.admin.get(f"/v1/volunteers/{relative}").json()["volunteer_number"],
        "activity": town.activity(),
        "own": own.json(),
        "link": link.json()["url"],
    }


def open_section(page: Page, name: str) -> None:
    page.click("a.button:has-text('" + name + "')")


def test_a_volunteer_signs_up_gives_hours_and_disputes_in_both_languages(
    town: Town, browser: Browser, screenshots: Path
) -> None:
    world = my_world(town)
    base = town.base_url
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)

    page.goto(base + world["link"])
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/app/me")
    who = page.locator("section[aria-labelledby=who]")
    # 120 earned, 30 held by the reservation; 100 hours to the first star.
    expect(who).to_contain_text("1 小时 30 分钟")
    expect(who).to_contain_text("30 分钟")
    expect(page.locator(".progress-text")).to_contain_text("还差 98 小时。")
    shots(page, screenshots, "me")

    open_section(page, "活动")
    expect(page.locator("section[aria-labelledby=list-mine]")).to_contain_text("已确认")  # earned
    shots(page, screenshots, "me-activities-list")
    opened = f"section[aria-labelledby=list-open] a[href$='{world['activity']['id']}']"
    page.click(opened)
    expect(page.locator(".my-state")).to_have_text("未报名")
    page.click("button:has-text('我要报名')")
    expect(page.locator(DONE)).to_contain_text("报名已记下")
    expect(page.locator(".my-state")).to_have_text("已报名")
    page.fill("#code", "000000" if world["activity"]["check_in_code"] != "000000" else "111111")
    page.click("button:has-text('签到')")
    expect(page.locator(ERROR)).to_contain_text("签到码不对")
    page.fill("#code", world["activity"]["check_in_code"])
    page.click("button:has-text('签到')")
    expect(page.locator(".my-state")).to_have_text("已签到")
    shots(page, screenshots, "me-activities")
    page.click("a:has-text('回到我的首页')")
    open_section(page, "活动")
    mine = page.locator("section[aria-labelledby=list-mine]")
    expect(mine).to_contain_text("已签到")
    page.fill("#activity-number", world["activity"]["id"])
    page.click("main button:has-text('查找')")
    expect(page.locator(".my-state")).to_have_text("已签到")
    page.fill("#code", world["activity"]["check_in_code"])
    page.click("button:has-text('签退')")
    expect(page.locator(DONE)).to_contain_text("已签退")
    expect(page.locator(".my-state")).to_have_text("已签退，等待确认")

    page.click("a:has-text('English')")  # the rest in English
    expect(page.locator("h1")).to_have_text("Activities")
    page.click("a:has-text('Back to my page')")
    open_section(page, "Give hours to family")
    expect(page.locator("label.choice")).to_contain_text(world["relative_number"])
    page.fill("#hours", "100")
    page.click("button:has-text('Give')")
    expect(page.locator(ERROR)).to_have_text("You do not have enough time credits for this.")
    page.fill("#hours", "1")
    page.click("button:has-text('Give')")
    expect(page.locator(DONE)).to_have_text("Given: 1 h.")
    expect(page.locator("main")).to_contain_text("30 minutes")  # 90 less 60
    shots(page, screenshots, "me-gift")
    assert town.account(world["relative"])["available_minutes"] == 60

    page.click("a:has-text('Back to my page')")
    open_section(page, "My statement")
    first = page.locator(".entries li").first
    expect(first).to_contain_text("-1 h")  # the latest first
    expect(first).to_contain_text("Gift")
    expect(first).to_contain_text("Balance: 1 h")
    shots(page, screenshots, "me-statement")

    page.click("a:has-text('Back to my page')")
    open_section(page, "My service record")
    expect(page.locator("#services + div")).to_contain_text("2 h")
    shots(page, screenshots, "me-record")
    page.click("a:has-text('Something wrong?')")
    page.fill("#reason", "我服务了三个小时，不是两个小时")
    page.click("button:has-text('Send to a coordinator')")
    expect(page.locator(DONE)).to_contain_text("Sent.")
    shots(page, screenshots, "me-dispute")

    page.click("a:has-text('Back to my service record')")
    page.click("a:has-text('Something wrong?')")
    page.fill("#reason", "again")
    page.click("button:has-text('Send to a coordinator')")
    expect(page.locator(ERROR)).to_have_text(
        "There is already an open question about this service."
    )

    page.goto(f"{base}/app/me/redemptions")
    expect(page.locator(".code")).to_have_text(world["own"]["code"])  # the volunteer's own
    expect(page.locator("main")).to_contain_text("大米一袋")
    shots(page, screenshots, "me-redemptions")

    page.goto(f"{base}/app/me/card")
    expect(page.locator(".big-number")).to_have_text(world["number"])
    expect(page.locator(".qr svg")).to_be_visible()
    shots(page, screenshots, "me-card")
    context.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_my_pages_refuse_without_csrf_and_answer_junk_in_words(town: Town) -> None:
    world = my_world(town)
    with httpx.Client(base_url=town.base_url, follow_redirects=False) as client:
        assert client.get("/app/me/gift").headers["location"] == "/app/sign-in"
        client.get(world["link"])
        signed = client.post(
            "/app/link", data={"csrf": client.cookies["tb_sign_in"], "code": world["link"][10:]}
        )
        assert signed.status_code == 303
        forged = client.post("/app/me/gift", data={"to": world["relative"], "hours": "1"})
        assert forged.status_code == 403 and "这个表格没有被接受" in forged.text
        csrf = _csrf(client.get("/app/me/gift").text)
        junk = [
            ("/app/me/gift", {"to": "x", "hours": "a"}),
            ("/app/me/gift", {"to": world["relative"], "hours": "9" * 50}),
            ("/app/me/gift", {"to": world["volunteer"], "hours": "1"}),
            ("/app/me/dispute", {"record": "nope"}),
            ("/app/me/dispute", {"record": world["activity"]["id"], "reason": "x"}),
            ("/app/me/activities/sign-up", {"activity": "nope"}),
            ("/app/me/activities/check-in", {"activity": world["activity"]["id"]}),
            ("/app/me/activities/jump", {"activity": world["activity"]["id"]}),
        ]
        for path, form in junk:
            answer = client.post(path, data={"csrf": csrf, **form})
            assert 400 <= answer.status_code < 500, (path, form, answer.status_code)
            assert 'class="error"' in answer.text, (path, form)
        # A plain form post, as a browser without JavaScript sends it, acts.
        given = client.post(
            "/app/me/gift",
            data={"csrf": csrf, "once": "k1", "to": world["relative"], "minutes": "5"},
        )
        assert given.status_code == 200 and "已赠送 5 分钟" in given.text, given.text
        for path in (
            "/app/me/statement?after=junk",
            "/app/me/activities?activity=nope",
            "/app/me/activities?activity=00000000-0000-0000-0000-000000000000",
            "/app/me/dispute?record=00000000-0000-0000-0000-000000000000",
        ):
            answer = client.get(path)
            assert 400 <= answer.status_code < 500, (path, answer.status_code)
        desk = town.rt.tokens.create(Role.DESK, "兑换台", UUID(town.venue))
        client.cookies.clear()
        client.get("/app/sign-in")
        client.post("/app/sign-in", data={"csrf": client.cookies["tb_sign_in"], "token": desk})
        assert client.get("/app/me/card").status_code == 403


def _csrf(html: str) -> str:
    start = html.index('name="csrf" value="') + len('name="csrf" value="')
    return html[start : html.index('"', start)]
