"""The public pages in a browser, against the real server and without signing in: the
certificate check by number and from the QR code's link (its digest matching), superseded
after a correction; the awards in public notice, where objecting needs a sign-in and a
signed-in volunteer objects; in Chinese, then in English; junk never a 500."""

from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from playwright.sync_api import Browser, expect

from api.pages.messages import CATEGORIES
from api.routes.certificates import check_url
from ledger.activities import Category
from ledger.context import Role
from tests.browser import shots
from tests.http import Town
from tests.test_certificates import head, issue, ok, signup_of

ON_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def public_world(town: Town) -> dict[str, Any]:
    coordinator = town.client(Role.COORDINATOR, town.team)
    volunteer = town.volunteer(name="王秀英")
    town.earn(volunteer, 90)
    made = ok(issue(coordinator, volunteer, town.team), 201)
    award = ok(
        coordinator.post(
            "/v1/commendations",
            {
                "volunteer_id": volunteer,
                "org_id": town.team,
                "title": "优秀志愿者",
                "reason": "全年服务",
            },
        ),
        201,
    )
    link = ok(town.admin.post(f"/v1/volunteers/{town.volunteer()}/sign-in-links", {}))
    head(town)
    return {"volunteer": volunteer, "certificate": made, "award": award, "link": link["url"]}


@ON_SQLITE
def test_anyone_checks_a_certificate_and_sees_the_notices_in_both_languages(
    town: Town, browser: Browser, screenshots: Path
) -> None:
    world = public_world(town)
    made = world["certificate"]
    base = town.base_url
    page = browser.new_context(locale="zh-CN").new_page()
    page.set_default_timeout(10_000)

    # By number as typed from the paper: lower case, no dashes.
    page.goto(base + "/app/check")
    shots(page, screenshots, "check-form")
    page.fill("#number", made["number"].lower().replace("-", ""))
    page.click("main button[type=submit]")
    expect(page.locator("#verdict")).to_contain_text("有效")
    main = page.locator("main")
    expect(main).to_contain_text("王*")
    expect(main).not_to_contain_text("王秀英")
    expect(main).to_contain_text("1 小时 30 分钟")
    expect(page.locator("section[aria-labelledby=services]")).not_to_contain_text("_")
    expect(page.locator("#digest")).to_have_text(made["digest"])
    expect(page.locator("#paper")).to_be_hidden()  # no digest came with the link

    # A mistyped number is refused in words, never another's certificate.
    typo = made["number"][:-1] + ("A" if made["number"][-1] != "A" else "B")
    page.fill("#number", typo)
    page.click("main button[type=submit]")
    expect(page.locator("p.error")).to_contain_text("不是一个证明编号")
    shots(page, screenshots, "check-typo")

    # The QR code's link, with the digest after '#'.
    page.goto(check_url(base, made["number"]) + f"#sha256={made['digest']}")
    expect(page.locator("#paper")).to_contain_text("相符")
    shots(page, screenshots, "check-qr")
    page.goto(check_url(base, made["number"]) + "#sha256=" + "0" * 64)
    expect(page.locator("#paper")).to_contain_text("不符")

    # The notices: a passer-by sees them and is asked to sign in to object.
    page.goto(base + "/app/notices")
    notice = page.locator(f"li[aria-labelledby='award-{world['award']['id']}']")
    expect(notice).to_contain_text("优秀志愿者")
    expect(notice.locator("textarea")).to_have_count(0)
    expect(notice).not_to_contain_text("志愿者编号")
    expect(page.locator("a:has-text('登录后提出异议')")).to_have_attribute("href", "/app/sign-in")
    shots(page, screenshots, "notices")

    # Signed in (a volunteer's link), in English: an objection is filed, once.
    page.goto(base + world["link"])
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/app/me")
    page.goto(base + "/app/notices")
    page.click("a:has-text('English')")
    notice = page.locator(f"li[aria-labelledby='award-{world['award']['id']}']")
    expect(notice).to_contain_text("Volunteer number")
    notice.locator("textarea").fill("I saw otherwise")
    notice.locator("button[type=submit]").click()
    expect(page.locator("p.done")).to_contain_text("Your objection was received")
    shots(page, screenshots, "notices-objected")
    notice = page.locator(f"li[aria-labelledby='award-{world['award']['id']}']")
    notice.locator("textarea").fill("Again")
    notice.locator("button[type=submit]").click()
    expect(page.locator("p.error")).to_contain_text("already objected")
    shown = ok(town.admin.get(f"/v1/awards/{world['award']['id']}"))
    assert shown["objections"] == 1 and shown["status"] == "objected"
    head(town)  # objected, the award is still in notice: others may object too
    page.goto(base + "/app/notices")
    expect(page.locator(f"li[aria-labelledby='award-{world['award']['id']}']")).to_have_count(1)

    # A correction of a listed service supersedes the certificate.
    dispute = ok(
        town.admin.post(
            "/v1/disputes", {"record_id": signup_of(town, world["volunteer"]), "reason": "少算了"}
        ),
        201,
    )["id"]
    ok(
        town.client(Role.COORDINATOR, town.team).post(
            f"/v1/disputes/{dispute}/resolve",
            {"decision": "correct", "minutes": 75, "reason": "核实"},
        )
    )
    head(town)
    page.goto(check_url(base, made["number"]) + f"#sha256={made['digest']}")
    page.click("a:has-text('中文')")  # the certificate stays on the page
    expect(page.locator("#verdict")).to_contain_text("已失效")
    page.click("a:has-text('English')")
    expect(page.locator("#verdict")).to_contain_text("Superseded")
    page.goto(check_url(base, made["number"]) + f"#sha256={made['digest']}")
    expect(page.locator("#paper")).to_contain_text("Matches the paper")
    shots(page, screenshots, "check-superseded")


@ON_SQLITE
def test_the_public_pages_refuse_junk_and_forged_forms_in_words(town: Town) -> None:
    with httpx.Client(base_url=town.base_url, follow_redirects=False) as client:
        for number, status in (
            ("nope", 400),
            ("x" * 500, 400),
            ("TB-0000-0000-0000-0", 400),
            ("\u0000%", 400),
        ):
            answer = client.get("/app/check", params={"number": number})
            assert answer.status_code == status, (number, answer.status_code)
            assert 'class="error"' in answer.text, number
        assert client.get("/app/check").status_code == 200
        assert client.get("/app/notices").status_code == 200
        # Without a session, objecting is refused and says why.
        anonymous = client.post("/app/notices/object", data={"award": "x", "reason": "y"})
        assert anonymous.status_code == 401 and "您还没有登录" in anonymous.text
        for junk in (b"\xff\xfe=%%%", b"a" * 5000):
            assert client.post("/app/notices/object", content=junk).status_code == 401
        # Signed in: a form without its CSRF token is refused; junk is answered in words.
        link = ok(town.admin.post(f"/v1/volunteers/{town.volunteer()}/sign-in-links", {}))["url"]
        client.get(link)
        signed = client.post(
            "/app/link", data={"csrf": client.cookies["tb_sign_in"], "code": link[10:]}
        )
        assert signed.status_code == 303
        forged = client.post("/app/notices/object", data={"award": str(uuid4()), "reason": "x"})
        assert forged.status_code == 403 and "这个表格没有被接受" in forged.text
        csrf = _csrf(client.get("/app/notices").text)
        for form in (
            {"award": "nope", "reason": "x"},
            {"award": str(uuid4()), "reason": "x"},
            {"award": str(uuid4()), "reason": ""},
            {"award": str(uuid4()), "reason": "x" * 5000},
        ):
            answer = client.post("/app/notices/object", data={"csrf": csrf, **form})
            assert 400 <= answer.status_code < 500, (form, answer.status_code)
            assert 'class="error"' in answer.text, form


def _csrf(html: str) -> str:
    start = html.index('name="csrf" value="') + len('name="csrf" value="')
    return html[start : html.index('"', start)]


def test_every_category_has_a_name_on_the_check_page() -> None:
    assert set(CATEGORIES) == {c.value for c in Category}
