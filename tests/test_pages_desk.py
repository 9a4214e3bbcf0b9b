"""The redemption desk in a browser, against the real server: sign in with the desk's
token, find a volunteer, reserve a reward picked from the venue's list, hand out by code,
and the refusals a browser can meet."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from playwright.sync_api import Browser, Page, expect

from ledger.context import Role
from tests.browser import shots
from tests.browser import sign_in as signing_in
from tests.http import Town

PIN = "135790"
WHO = "section[aria-labelledby=who]"
HAND_OUT = "form.card[action='/app/desk/hand-out'] button"  # by a typed number


def desk_world(town: Town) -> dict[str, Any]:
    volunteer = town.volunteer(name="王秀英")
    town.earn(volunteer, 120)
    me = town.client(Role.VOLUNTEER, volunteer)
    assert me.post(f"/v1/volunteers/{volunteer}/pin", {"pin": PIN}).status_code == 200
    reward = town.admin.post(
        "/v1/rewards",
        {"venue_id": town.venue, "name": "大米一袋", "cost_minutes": 30, "stock": 5},
    ).json()["id"]
    for name, cost, stock in (("毛巾", 10, 0), ("食用油一桶", 90, 2)):  # none left; 1 h 30 min
        body = {"venue_id": town.venue, "name": name, "cost_minutes": cost, "stock": stock}
        assert town.admin.post("/v1/rewards", body).status_code == 201
    number = town.admin.get(f"/v1/volunteers/{volunteer}").json()["volunteer_number"]
    own = me.post("/v1/redemptions", {"volunteer_id": volunteer, "reward_id": reward})
    assert own.status_code == 201, own.text
    token = town.rt.tokens.create(Role.DESK, "兑换台一号", UUID(town.venue))
    return {
        "volunteer": volunteer,
        "number": number,
        "reward": reward,
        "own": own.json(),
        "token": token,
    }


def sign_in(page: Page, base_url: str, token: str) -> None:
    signing_in(page, base_url, token, "/app/desk")


def test_a_desk_reserves_and_hands_out_in_both_languages(
    town: Town, browser: Browser, screenshots: Path
) -> None:
    world = desk_world(town)
    base = town.base_url
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)

    page.goto(f"{base}/app")
    expect(page.locator("h1")).to_have_text("登录")
    shots(page, screenshots, "sign-in")
    page.fill("#token", "tb_not-a-token")
    page.click("main button[type=submit]")
    expect(page.locator(".error")).to_contain_text("登录码不对")

    sign_in(page, base, world["token"])
    expect(page.locator("h1")).to_have_text("兑换台")
    cookie = next(c for c in context.cookies() if c["name"] == "tb_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    page.fill("#number", world["number"])
    page.click("button:has-text('查找')")
    expect(page.locator(WHO)).to_be_visible()
    who = page.locator(WHO).inner_text()
    # The name as a desk sees it; 120 minutes earned, 30 held by the volunteer's own
    # reservation.
    assert who.startswith("*")
    assert "1 小时 30 分钟" in who and "30 分钟" in who

    # The venue's rewards in the order listed, with cost and stock; none left is not choosable.
    choices = page.locator("label.choice")
    expect(choices).to_have_count(3)
    expect(choices.nth(0)).to_contain_text("大米一袋")
    expect(choices.nth(0)).to_contain_text("30 分钟")
    expect(choices.nth(0)).to_contain_text("还剩 4 件")  # the volunteer's own holds one
    expect(choices.nth(1)).to_contain_text("已兑完")
    expect(choices.nth(1).locator("input")).to_be_disabled()
    expect(choices.nth(2)).to_contain_text("1 小时 30 分钟")
    choices.nth(0).click()
    expect(choices.nth(0).locator("input")).to_be_checked()
    page.fill("#pin", PIN)
    page.click("button:has-text('预约'):not(:has-text('取消'))")
    expect(page.locator(".done")).to_contain_text("已预约")
    expect(page.locator(".done")).to_contain_text("之前发放")
    expect(page.locator(WHO)).to_contain_text(re.compile(r"可用\s*1 小时\s*已预约"))  # 120 less two
    expect(choices.nth(0)).to_contain_text("还剩 3 件")
    shots(page, screenshots, "desk")

    own = world["own"]
    waiting = page.locator("form.pending")
    expect(waiting).to_have_count(2)  # the volunteer's own and the desk's
    row = page.locator(f"form.pending:has(input[value='{own['id']}'])")
    expect(row).to_contain_text("大米一袋")
    row.locator("input[name=code]").fill(own["code"])
    row.locator("button").click()
    expect(page.locator(".done")).to_contain_text("已发放")
    expect(waiting).to_have_count(1)
    page.click("a:has-text('打印凭条')")
    expect(page.locator(".receipt")).to_contain_text("大米一袋")
    expect(page.locator(".receipt")).to_contain_text("兑换点")
    shots(page, screenshots, "receipt")
    page.go_back()

    page.click("a:has-text('English')")
    expect(page.locator("h1")).to_have_text("Redemption desk")
    page.goto(f"{base}/app/desk?number={world['number']}")
    expect(choices.nth(1)).to_contain_text("out of stock")
    expect(choices.nth(2)).to_contain_text("1 h 30 min")
    shots(page, screenshots, "desk-rewards-en")
    page.fill("#redemption", own["id"])
    page.fill("#code", own["code"])
    page.click(HAND_OUT)
    expect(page.locator(".error")).to_have_text("This reservation has already been handed out.")
    shots(page, screenshots, "desk-refused-en")

    page.click("a:has-text('中文')")
    page.fill("#redemption", own["id"])
    page.fill("#code", own["code"])
    page.click(HAND_OUT)
    expect(page.locator(".error")).to_have_text("这个预约已经发放过了。")

    page.click("form.pending-cancel button")  # the desk's own reservation, no longer wanted
    expect(page.locator(".done")).to_contain_text("预约已取消。")
    expect(page.locator("form.pending")).to_have_count(0)
    # Nothing of the pages is kept in the browser's storage of a shared desk.
    assert page.evaluate("sessionStorage.getItem('htmx-history-cache')") is None
    context.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_forms_work_without_javascript_and_refuse_without_csrf_or_session(
    town: Town, browser: Browser, screenshots: Path
) -> None:
    world = desk_world(town)
    base = town.base_url
    plain = browser.new_context(java_script_enabled=False)  # htmx only enhances
    page = plain.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, base, world["token"])
    page.fill("#number", world["number"])
    page.click("button:has-text('查找')")
    expect(page.locator(WHO)).to_contain_text("1 小时 30 分钟")
    plain.close()

    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, base, world["token"])

    forged = context.request.post(
        f"{base}/app/desk/hand-out",
        form={"redemption": world["own"]["id"], "code": world["own"]["code"]},
    )
    assert forged.status == 403
    assert "这个表格没有被接受" in forged.text()
    page.set_content(forged.text())
    shots(page, screenshots, "refused-csrf")

    page.goto(f"{base}/app/desk")
    with town.rt.db.transaction() as cur:  # the session ran out while the form stood open
        cur.execute(
            "UPDATE tb_page_sessions SET expires_at = %s",
            ((datetime.now(UTC) - timedelta(minutes=1)).isoformat(),),
        )
    page.fill("#redemption", world["own"]["id"])
    page.fill("#code", world["own"]["code"])
    page.click(HAND_OUT)
    expect(page.locator(".error")).to_have_text("您还没有登录，或者登录已经过期，请重新登录。")
    page.click("a:has-text('English')")  # a preference, kept without a session
    expect(page.locator("h1")).to_have_text("Sign in")
    page.goto(f"{base}/app/desk")
    assert page.url == f"{base}/app/sign-in"
    context.close()
