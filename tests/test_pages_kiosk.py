"""The check-in kiosk in a browser, against the real server: a coordinator signs in, opens
an activity's kiosk, checks volunteers in and out by number (and signs one up on the spot),
the refusals read as plain words, who is in updates by itself, and the credited minutes
reach the volunteer's own page."""

import uuid
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from ledger.context import Role
from ledger.identity import new_volunteer_number, signup_id
from tests.browser import shots
from tests.http import Town
from tests.test_pages import csrf_of
from tests.test_pages import sign_in as sign_in_over_http

ON_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
PRESENT = "#present"
DONE = "main > .done"
ERROR = "main > .error"


def number_of(town: Town, volunteer: str) -> str:
    return str(town.admin.get(f"/v1/volunteers/{volunteer}").json()["volunteer_number"])


def sign_in(page: Page, base_url: str, token: str) -> None:
    page.goto(f"{base_url}/app")
    page.fill("#token", token)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base_url}/app/coord")  # a coordinator lands on the console
    page.click("text=打开活动签到台")
    page.wait_for_url(f"{base_url}/app/kiosk")


def attend(page: Page, number: str, button: str) -> None:
    page.fill("#number", number)
    page.click(f"main form.card button:has-text('{button}')")


@ON_SQLITE
def test_a_coordinator_checks_volunteers_in_and_out_at_the_kiosk(
    town: Town, browser: Browser, screenshots: Path
) -> None:
    activity = town.activity(capacity=3)
    signed = town.volunteer(name="王秀英")
    walk_in = town.volunteer(name="张伟")
    coordinator = town.client(Role.COORDINATOR, town.team)
    signup = coordinator.post(
        f"/v1/activities/{activity['id']}/signups", {"volunteer_id": signed}
    ).json()["id"]
    token = town.rt.tokens.create(Role.COORDINATOR, "签到平板", UUID(town.team))
    base = town.base_url
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)

    sign_in(page, base, token)  # a coordinator lands on the kiosk's start
    expect(page.locator("h1")).to_have_text("签到台")
    shots(page, screenshots, "kiosk-start")
    page.fill("#activity", activity["id"])
    page.click("main button[type=submit]")
    expect(page.locator("h1")).to_have_text("陪伴老人")
    expect(page.locator(".big-code")).to_have_text(activity["check_in_code"])
    expect(page.locator(".qr-box svg title")).to_have_text("签到码")
    expect(page.locator(PRESENT)).to_contain_text("现在没有人在场")

    number, walk_in_number = number_of(town, signed), number_of(town, walk_in)
    attend(page, number, "签到")
    expect(page.locator(DONE)).to_contain_text(f"{number} ")
    expect(page.locator(DONE)).to_contain_text("已签到")
    expect(page.locator(f"{PRESENT} ul.present")).to_contain_text(number)
    shots(page, screenshots, "kiosk")

    attend(page, number, "签到")  # scanned twice
    expect(page.locator(ERROR)).to_contain_text("现在不能签到")
    attend(page, new_volunteer_number(), "签到")  # a number nobody has
    expect(page.locator(ERROR)).to_have_text("没有这个志愿者编号。")
    attend(page, number[:-1], "签到")  # a digit short
    expect(page.locator(ERROR)).to_contain_text("这不是一个志愿者编号")

    attend(page, walk_in_number, "签到")  # not signed up: offered a free seat
    expect(page.locator(ERROR)).to_contain_text("没有报名这个活动")
    shots(page, screenshots, "kiosk-not-signed-up")
    page.click("button:has-text('帮他报名并签到')")
    expect(page.locator(DONE)).to_contain_text("已签到")
    expect(page.locator(f"{PRESENT} .in-count")).to_have_text("2")

    # Checked out elsewhere (the API): the list follows without a reload.
    page.evaluate("document.body.dataset.marker = 'same page'")
    walk_in_signup = signup_id(UUID(activity["id"]), UUID(walk_in))
    out = coordinator.post(f"/v1/signups/{walk_in_signup}/check-out", {})
    assert out.status_code == 200, out.text
    expect(page.locator(f"{PRESENT} .in-count")).to_have_text("1", timeout=15_000)
    assert page.evaluate("document.body.dataset.marker") == "same page"

    page.click("a:has-text('English')")
    expect(page.locator("#present-title")).to_have_text("Who is here now")
    attend(page, number, "Check out")
    expect(page.locator(DONE)).to_contain_text(f"{number} 王秀英 is checked out.")
    attend(page, number, "Check out")
    expect(page.locator(ERROR)).to_contain_text("cannot check out")
    shots(page, screenshots, "kiosk-refused-en")
    page.click("a:has-text('中文')")

    # What a browser can send otherwise is refused in words, never a 500.
    ask = context.request
    assert ask.get(f"{base}/app/kiosk/not-an-activity").status == 404
    unknown = ask.get(f"{base}/app/kiosk/{UUID(int=7)}")
    assert unknown.status == 404 and "没有这个编号的活动" in unknown.text()
    assert ask.get(f"{base}/app/kiosk/{UUID(int=7)}/present").status == 409
    forged = ask.post(f"{base}/app/kiosk/{activity['id']}/check-in", form={"number": number})
    assert forged.status == 403 and "这个表格没有被接受" in forged.text()
    elsewhere = town.rt.tokens.create(Role.COORDINATOR, "别处的平板", UUID(town.venue))
    other = browser.new_context().new_page()
    sign_in(other, base, elsewhere)
    other.goto(f"{base}/app/kiosk/{activity['id']}")
    expect(other.locator(".error")).to_contain_text("这不是你们组织的活动")
    other.context.close()

    # Without JavaScript the list is there on the page as loaded.
    plain = browser.new_context(java_script_enabled=False)
    still = plain.new_page()
    still.set_default_timeout(15_000)
    sign_in(still, base, token)
    still.goto(f"{base}/app/kiosk/{activity['id']}")
    expect(still.locator(f"{PRESENT} .in-count")).to_have_text("0")
    plain.close()

    state = coordinator.get(f"/v1/signups/{signup}").json()
    assert state["status"] == "checked_out" and state["checked_in_at"], state
    verified = coordinator.post(
        f"/v1/signups/{signup}/verify",
        {"decision": "adjust", "minutes": 45, "reason": "到得早，签到台晚开"},
    )
    assert verified.status_code == 200 and verified.json()["credited_minutes"] == 45, verified.text
    town.rt.runner.catch_up()

    link = coordinator.post(f"/v1/volunteers/{signed}/sign-in-links", {}).json()
    mine = browser.new_context(locale="zh-CN").new_page()
    mine.set_default_timeout(15_000)
    mine.goto(f"{base}{link['url']}")
    mine.click("main button[type=submit]")
    mine.wait_for_url(f"{base}/app/me")
    expect(mine.locator("section[aria-labelledby=who]")).to_contain_text("45 分钟")
    mine.context.close()
    context.close()


@ON_SQLITE
def test_nothing_a_browser_sends_to_the_kiosk_is_answered_with_a_500(town: Town) -> None:
    activity = town.activity(capacity=1)["id"]
    token = town.rt.tokens.create(Role.COORDINATOR, "kiosk-http", UUID(town.team))
    desk = town.rt.tokens.create(Role.DESK, "desk-at-kiosk", UUID(town.venue))
    with httpx.Client(base_url=town.base_url, follow_redirects=False) as client:
        sign_in_over_http(client, desk)
        assert client.get(f"/app/kiosk/{activity}").status_code == 403  # a desk is no kiosk
    with httpx.Client(base_url=town.base_url, follow_redirects=False) as client:
        assert client.get(f"/app/kiosk/{activity}/present").status_code == 401
        signed = sign_in_over_http(client, token)
        assert signed.headers["location"] == "/app/coord"
        csrf = csrf_of(client.get(f"/app/kiosk/{activity}"))
        junk = ["", "x" * 5000, "-1", "0", str(uuid.uuid4()), "%00", "\u202e名字", "<b>"]
        for action in ("check-in", "check-out", "sign-up", "no-such-action"):
            for value in junk:
                form = {"csrf": csrf, "number": value, "once": value}
                answer = client.post(f"/app/kiosk/{activity}/{action}", data=form)
                assert answer.status_code < 500, (action, value, answer.text)
                assert "<b>" not in answer.text  # escaped
                elsewhere = client.post(f"/app/kiosk/{value or 'x'}/{action}", data=form)
                assert elsewhere.status_code < 500, (action, value)
        for value in junk:
            for path in (f"/app/kiosk/{value or 'x'}", f"/app/kiosk/{value or 'x'}/present"):
                assert client.get(path).status_code < 500, path
            assert client.get("/app/kiosk", params={"activity": value}).status_code < 500
        # A reload of an action's address is the kiosk again, not a 405.
        again = client.get(f"/app/kiosk/{activity}/check-in")
        assert again.status_code == 303 and again.headers["location"] == f"/app/kiosk/{activity}"
