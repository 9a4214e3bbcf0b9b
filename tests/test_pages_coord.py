"""The coordinator's console: its home (the organisation's figures this year) in both
languages, and every section of it refused, in words, to a coordinator of another subtree
who names this organisation."""

from pathlib import Path
from uuid import UUID

import httpx
import pytest
from playwright.sync_api import Browser, expect

from api.pages.coord import SECTIONS
from ledger.context import Role
from tests.browser import shots
from tests.http import Town
from tests.test_pages import sign_in

ON_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@ON_SQLITE
def test_a_coordinator_lands_on_the_console_of_their_organisation(
    town: Town, browser: Browser, screenshots: Path
) -> None:
    town.earn(town.volunteer(), 90)
    token = town.rt.tokens.create(Role.COORDINATOR, "街道负责人", UUID(town.street))
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(f"{town.base_url}/app/sign-in")
    page.fill("#token", token)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{town.base_url}/app/coord")
    expect(page.locator("h1")).to_have_text("负责人工作台")
    card = page.locator("section[aria-labelledby=org]")
    expect(card.locator("h2")).to_have_text("街道")
    expect(card).to_contain_text("注册志愿者1")
    expect(card).to_contain_text("1 小时 30 分钟")
    sections = page.locator("nav.sections a")
    expect(sections).to_have_count(len(SECTIONS) + 1)
    expect(sections.first).to_have_attribute("aria-current", "page")
    shots(page, screenshots, "coord-home")

    page.click("text=English")
    expect(page.locator("h1")).to_have_text("Coordinator's console")
    expect(page.locator("section[aria-labelledby=org]")).to_contain_text("Registered volunteers")
    shots(page, screenshots, "coord-home-en")
    context.close()


@ON_SQLITE
def test_no_section_of_the_console_opens_on_another_subtree(town: Town) -> None:
    sibling = town.org("另一街道", "street", town.district)
    outsider = town.rt.tokens.create(Role.COORDINATOR, "另一街道负责人", UUID(sibling))
    with httpx.Client(base_url=town.base_url, follow_redirects=False) as client:
        assert sign_in(client, outsider).headers["location"] == "/app/coord"
        own = client.get("/app/coord", params={"org": "not-an-id"})
        assert own.status_code == 200 and "另一街道" in own.text
        for path in ["/app/coord", *(href for href, _ in SECTIONS)]:
            for org in (town.street, town.team):
                refused = client.get(path, params={"org": org})
                assert refused.status_code == 403, (path, refused.status_code)
                assert 'class="error"' in refused.text, path
                assert "<table" not in refused.text and "<svg" not in refused.text, path
    admin = town.rt.tokens.create(Role.ADMIN, "管理员", None)
    with httpx.Client(base_url=town.base_url, follow_redirects=False) as client:
        sign_in(client, admin)
        top = client.get("/app/coord")  # an admin chooses from the top of the tree
        assert top.status_code == 200 and f'href="/app/coord?org={town.district}"' in top.text
        # A section of an organisation's lists, asked for without one, says so in words
        # (certificates start from a volunteer's number, not from an organisation).
        for href, _ in SECTIONS:
            if href != "/app/coord/certificates":
                unnamed = client.get(href)
                assert unnamed.status_code == 404, href
                assert "没有选择组织，或该组织不存在。" in unnamed.text, href
        named = client.get("/app/coord", params={"org": town.team})
        assert named.status_code == 200 and "服务队" in named.text
