"""The console's people pages in a browser, against the real server (SQLite): a coordinator
registers a volunteer, gives them a sign-in code, finds them, moves them to another team of
the subtree and links a relative; issues a certificate, lists it and downloads its PDF. A
coordinator of another subtree sees and does none of it; personal data shows as the API
shows it; junk in any field never gets a 500."""

import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from ledger.context import Role
from tests.browser import shots
from tests.http import Api, Town
from timebank import certificate_pdf

ID_NUMBER = "E12345678"
PHONE = "13912345678"
NAME = "王秀英"


def world(town: Town) -> dict[str, Any]:
    """A street with two teams (the coordinators' subtree) and another district with its
    own team and coordinator."""
    other = town.org("另一区", "district")
    return {
        "team2": town.org("二队", "team", town.street),
        "other": other,
        "other_team": town.org("外队", "team", other),
        "street_token": town.rt.tokens.create(Role.COORDINATOR, "街道管理员", UUID(town.street)),
        "team_token": town.rt.tokens.create(Role.COORDINATOR, "服务队管理员", UUID(town.team)),
        "other_token": town.rt.tokens.create(Role.COORDINATOR, "外区管理员", UUID(other)),
    }


def signed_in(browser: Browser, base: str, token: str, lang: str) -> tuple[BrowserContext, Page]:
    context = browser.new_context(locale="zh-CN" if lang == "zh-CN" else "en-GB")
    if lang == "en":
        context.add_cookies([{"name": "tb_lang", "value": "en", "url": base}])
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{base}/app/sign-in")
    page.fill("#token", token)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/app/coord")
    return context, page


def registered(town: Town, name: str = NAME, id_number: str = ID_NUMBER) -> dict[str, Any]:
    made = town.admin.post(
        "/v1/volunteers",
        {
            "name": name,
            "id_document": {"type": "passport", "number": id_number},
            "phone": PHONE,
            "birth_date": "1950-05-06",
            "party_member": False,
            "skills": [],
            "home_org_id": town.team,
        },
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


def csrf_of(page: Page) -> str:
    value = page.locator("input[name=csrf]").first.get_attribute("value")
    assert value
    return value


def test_a_coordinator_registers_finds_moves_and_links_a_volunteer(
    sqlite_town: Town, browser: Browser, screenshots: Path
) -> None:
    town = sqlite_town
    w = world(town)
    base = town.base_url
    context, page = signed_in(browser, base, w["street_token"], "zh-CN")

    page.click("nav.sections a[href^='/app/coord/volunteers']")
    expect(page.locator("h1")).to_have_text("志愿者")
    shots(page, screenshots, "coord-volunteers")

    page.fill("#name", NAME)
    page.select_option("#id_type", "resident_id")
    page.fill("#id_number", "11010119500506002X")
    page.fill("#phone", PHONE)
    page.fill("#birth_date", "1950-05-06")
    page.check("#party_member")
    page.fill("#skills", "驾驶，理发")
    page.select_option("#home", town.team)
    page.click("form[action^='/app/coord/volunteers/register'] button")
    expect(page.locator("h1")).to_have_text("志愿者登记")
    number = page.locator(".big-number").inner_text().strip()
    shots(page, screenshots, "coord-volunteer-registered")

    found = town.admin.get("/v1/volunteers", number=number)
    assert found.status_code == 200, found.text
    volunteer = found.json()
    assert volunteer["name"] == NAME
    assert volunteer["home_org_id"] == town.team
    assert volunteer["party_member"] is True and volunteer["skills"] == ["驾驶", "理发"]

    page.click("form[action*='/sign-in-link'] button")
    expect(page.locator("h1")).to_have_text("登录二维码")
    expect(page.locator(".qr-box svg")).to_be_visible()
    link = page.locator("p.id").inner_text().strip()
    assert link.startswith(f"{base}/app/link/")
    shots(page, screenshots, "coord-volunteer-sign-in-link")

    # Found by number: their page.
    page.goto(f"{base}/app/coord/volunteers")
    page.fill("#number", number)
    page.click("form[action='/app/coord/volunteers'] button")
    expect(page.locator("h1")).to_contain_text(NAME)
    expect(page.locator("dl.figures").first).to_contain_text("11010119500506002X")
    shots(page, screenshots, "coord-volunteer")

    # The list shows them with a link to their page, as the API lists the subtree's members.
    town.rt.runner.catch_up()
    page.goto(f"{base}/app/coord/volunteers")
    expect(page.locator("ul.entries")).to_contain_text(number)
    listed = Api(base, w["street_token"]).get(f"/v1/organisations/{town.street}/volunteers")
    assert [m["number"] for m in listed.json()["items"]] == [number], listed.text

    # Moved to the other team of the street.
    page.goto(f"{base}/app/coord/volunteers/{volunteer['id']}")
    page.select_option("#to", w["team2"])
    page.fill("#reason", "搬家")
    page.click("form[action*='/transfer'] button")
    expect(page.locator("p.done")).to_have_text("已转接。")
    assert town.admin.get(f"/v1/volunteers/{volunteer['id']}").json()["home_org_id"] == w["team2"]

    # A relative linked by number: confirmed at once (the street coordinates both homes).
    relative = registered(town, "李四", "G7654321")
    page.fill("#relative_number", relative["volunteer_number"])
    page.select_option("#relation", "spouse")
    page.click("form[action*='/family'] button")
    expect(page.locator("p.done")).to_have_text("家人已关联。")
    expect(page.locator("section[aria-labelledby=family]")).to_contain_text("李四")
    family = town.admin.get(f"/v1/volunteers/{volunteer['id']}").json()["family"]
    assert family == [{"relative_id": relative["id"], "relation": "spouse"}]
    shots(page, screenshots, "coord-volunteer-linked")
    context.close()


def test_a_pending_family_request_is_answered_for_the_relative(
    sqlite_town: Town, browser: Browser, screenshots: Path
) -> None:
    town = sqlite_town
    w = world(town)
    asking = registered(town)
    relative = registered(town, "李四", "G7654321")
    own = town.rt.tokens.create(Role.VOLUNTEER, "self", UUID(asking["id"]))
    asked = Api(town.base_url, own).post(
        f"/v1/volunteers/{asking['id']}/family-links",
        {"relative_id": relative["id"], "relation": "sibling"},
    )
    assert asked.status_code == 201 and asked.json()["status"] == "pending", asked.text
    context, page = signed_in(browser, town.base_url, w["team_token"], "zh-CN")
    page.goto(f"{town.base_url}/app/coord/volunteers/{asking['id']}")
    expect(page.locator("section[aria-labelledby=family]")).to_contain_text("已申请，尚未确认")
    shots(page, screenshots, "coord-volunteer-family-request")
    page.click("button[value=confirm]")
    expect(page.locator("p.done")).to_have_text("家人已关联。")
    family = town.admin.get(f"/v1/volunteers/{asking['id']}").json()["family"]
    assert family == [{"relative_id": relative["id"], "relation": "sibling"}]
    context.close()


def earned(town: Town) -> dict[str, Any]:
    volunteer = registered(town)
    town.earn(volunteer["id"], 95)
    return volunteer


def test_a_coordinator_issues_lists_and_downloads_a_certificate(
    sqlite_town: Town,
    browser: Browser,
    screenshots: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    town = sqlite_town
    w = world(town)
    volunteer = earned(town)
    today = datetime.now(ZoneInfo(town.rt.settings.rules.timezone)).date()
    context, page = signed_in(browser, town.base_url, w["street_token"], "en")

    page.click("nav.sections a[href^='/app/coord/certificates']")
    expect(page.locator("h1")).to_have_text("Certificates of service")
    shots(page, screenshots, "coord-certificates")
    page.fill("#issue-number", volunteer["volunteer_number"])
    page.select_option("#issuer", town.team)
    page.fill("#from", (today - timedelta(days=7)).isoformat())
    page.fill("#to", today.isoformat())
    page.fill("#purpose", "school")
    page.click("form[action^='/app/coord/certificates/issue'] button")
    expect(page.locator(".done")).to_contain_text("Certificate issued.")
    listed = page.locator("section[aria-labelledby=listed] .item")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text("1 h 35 min")
    shots(page, screenshots, "coord-certificate-issued")

    href = listed.locator("a").get_attribute("href")
    assert href and href.endswith(".pdf")
    pdf = page.request.get(f"{town.base_url}{href}")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    body = pdf.body()
    assert body.startswith(b"%PDF")
    (tmp_path / "c.pdf").write_bytes(body)
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "c.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert volunteer["volunteer_number"] in text

    # Without the font: a page that says so, with the API's status.
    def no_font(*args: Any) -> bytes:
        raise certificate_pdf.FontMissing("no font")

    monkeypatch.setattr(certificate_pdf, "render_certificate_pdf", no_font)
    assert page.request.get(f"{town.base_url}{href}").status == 503
    page.goto(f"{town.base_url}{href}")
    expect(page.locator("p.error")).to_contain_text("cannot be made into a PDF")
    shots(page, screenshots, "coord-certificate-no-font")
    cid = href.removeprefix("/app/coord/certificates/").removesuffix(".pdf")
    assert town.admin.get(f"/v1/certificates/{cid}.pdf").status_code == 503
    monkeypatch.undo()
    page.goto(f"{town.base_url}/app/coord/certificates")

    # Nothing to certify in a period without service: said in words.
    page.fill("#issue-number", volunteer["volunteer_number"])
    page.select_option("#issuer", w["team2"])
    page.fill("#from", (today - timedelta(days=7)).isoformat())
    page.fill("#to", today.isoformat())
    page.click("form[action^='/app/coord/certificates/issue'] button")
    expect(page.locator("p.error")).to_contain_text("recorded no confirmed service")
    context.close()


def test_a_coordinator_of_another_subtree_sees_and_does_nothing_here(
    sqlite_town: Town, browser: Browser, screenshots: Path
) -> None:
    town = sqlite_town
    w = world(town)
    volunteer = earned(town)
    vid = volunteer["id"]
    today = datetime.now(ZoneInfo(town.rt.settings.rules.timezone)).date()
    made = town.client(Role.COORDINATOR, town.team).post(
        "/v1/certificates",
        {
            "volunteer_id": vid,
            "org_id": town.team,
            "from": (today - timedelta(days=7)).isoformat(),
            "to": today.isoformat(),
        },
    )
    assert made.status_code == 201, made.text
    base = town.base_url
    context, page = signed_in(browser, base, w["other_token"], "zh-CN")
    page.goto(f"{base}/app/coord/volunteers")
    csrf = csrf_of(page)

    def refused(response: Any) -> None:
        assert response is not None and response.status == 403, response.status
        html = response.text()
        assert "这不属于您的组织" in html
        for secret in (NAME, ID_NUMBER, PHONE):
            assert secret not in html

    refused(page.goto(f"{base}/app/coord/volunteers?org={town.street}"))
    listed = Api(base, w["other_token"]).get(f"/v1/organisations/{town.street}/volunteers")
    assert listed.status_code == 403, listed.text
    shots(page, screenshots, "coord-volunteers-refused")
    refused(page.goto(f"{base}/app/coord/volunteers/{vid}"))
    refused(page.goto(f"{base}/app/coord/volunteers?number={volunteer['volunteer_number']}"))
    refused(page.goto(f"{base}/app/coord/certificates?number={volunteer['volunteer_number']}"))
    refused(page.goto(f"{base}/app/coord/certificates/{made.json()['id']}.pdf"))
    refused(page.goto(f"{base}/app/coord/certificates?org={town.street}"))

    theirs = town.admin.post(
        "/v1/volunteers",
        {
            "name": "赵六",
            "id_document": {"type": "passport", "number": "Q555"},
            "phone": "13800000000",
            "birth_date": "1955-01-01",
            "home_org_id": w["other_team"],
        },
    ).json()["volunteer_number"]
    posts = {
        f"/app/coord/volunteers/{vid}/transfer": {"to": w["team2"], "reason": "x"},
        f"/app/coord/volunteers/{vid}/family": {"relative_number": theirs, "relation": "spouse"},
        f"/app/coord/volunteers/{vid}/sign-in-link": {},
        "/app/coord/volunteers/register": {
            "name": "张三",
            "id_type": "passport",
            "id_number": "P1",
            "phone": "13700000000",
            "birth_date": "1960-01-01",
            "home": town.team,
        },
        "/app/coord/certificates/issue": {
            "number": volunteer["volunteer_number"],
            "issuer": town.team,
            "from": today.isoformat(),
            "to": today.isoformat(),
        },
    }
    for path, form in posts.items():
        answer = page.request.post(f"{base}{path}", form={"csrf": csrf, **form})
        assert answer.status == 403, (path, answer.status)
        for secret in (NAME, ID_NUMBER, PHONE):
            assert secret not in answer.text()
    assert town.admin.get(f"/v1/volunteers/{vid}").json()["home_org_id"] == town.team
    context.close()


def test_personal_data_shows_as_the_api_gives_it(sqlite_town: Town, browser: Browser) -> None:
    town = sqlite_town
    w = world(town)
    volunteer = registered(town)
    vid = volunteer["id"]
    for token in (w["team_token"], w["street_token"]):
        given = Api(town.base_url, token).get(f"/v1/volunteers/{vid}").json()
        context, page = signed_in(browser, town.base_url, token, "zh-CN")
        page.goto(f"{town.base_url}/app/coord/volunteers/{vid}")
        details = page.locator("section[aria-labelledby=who]")
        expect(details).to_contain_text(given["id_document"]["number"])
        expect(details).to_contain_text(given["phone"])
        expect(details).to_contain_text(given["name"])
        assert given["id_document"]["number"] == ID_NUMBER
        context.close()
    context, page = signed_in(browser, town.base_url, w["other_token"], "zh-CN")
    answer = page.goto(f"{town.base_url}/app/coord/volunteers/{vid}")
    assert answer is not None and answer.status == 403
    for secret in (NAME, ID_NUMBER, PHONE, "1950-05-06"):
        assert secret not in page.content()
    context.close()


JUNK = ["", " ", "x" * 5000, "\x00", "<script>", "２０２６-０１-０１", "9999-99-99", "-1", "%00"]


def test_the_list_goes_page_by_page(sqlite_town: Town, browser: Browser) -> None:
    town = sqlite_town
    w = world(town)
    numbers = sorted(
        registered(town, f"志愿者{i}", f"PP{i:04d}")["volunteer_number"] for i in range(21)
    )
    town.rt.runner.catch_up()
    context, page = signed_in(browser, town.base_url, w["street_token"], "zh-CN")
    page.goto(f"{town.base_url}/app/coord/volunteers?org={town.street}")
    entries = page.locator("ul.entries li")
    expect(entries).to_have_count(20)
    expect(entries.first).to_contain_text(numbers[0])
    page.click("text=更多志愿者")
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text(numbers[20])
    context.close()


def test_junk_in_every_field_is_never_a_500(sqlite_town: Town, browser: Browser) -> None:
    town = sqlite_town
    w = world(town)
    volunteer = earned(town)
    vid = volunteer["id"]
    base = town.base_url
    context, page = signed_in(browser, base, w["street_token"], "zh-CN")
    page.goto(f"{base}/app/coord/volunteers")
    csrf = csrf_of(page)
    forms = {
        "/app/coord/volunteers/register": {
            "name": "张三",
            "id_type": "passport",
            "id_number": "P123",
            "phone": PHONE,
            "birth_date": "1960-01-01",
            "party_member": "yes",
            "skills": "a",
            "home": town.team,
        },
        f"/app/coord/volunteers/{vid}/transfer": {"to": w["team2"], "reason": "r"},
        f"/app/coord/volunteers/{vid}/family": {"relative_number": "1", "relation": "spouse"},
        f"/app/coord/volunteers/{vid}/family/answer": {"relative": vid, "answer": "confirm"},
        "/app/coord/certificates/issue": {
            "number": volunteer["volunteer_number"],
            "issuer": town.team,
            "from": "2026-01-01",
            "to": "2026-12-31",
            "purpose": "p",
        },
    }
    for path, form in forms.items():
        for field in form:
            for junk in JUNK:
                answer = page.request.post(
                    f"{base}{path}", form={"csrf": csrf, **form, field: junk}
                )
                assert answer.status < 500, (path, field, junk, answer.status)
    for path in (
        "/app/coord/volunteers/not-an-id",
        f"/app/coord/volunteers/{vid}/whatever",
        "/app/coord/certificates/not-an-id.pdf",
        f"/app/coord/certificates/{vid}.pdf",
    ):
        answer = page.request.get(f"{base}{path}")
        assert answer.status < 500, (path, answer.status)
    for query in ("org", "number", "cursor"):
        for junk in JUNK:
            for path in ("/app/coord/volunteers", "/app/coord/certificates"):
                answer = page.request.get(f"{base}{path}", params={query: junk})
                assert answer.status < 500, (path, query, junk, answer.status)
    context.close()


def test_the_api_lists_a_subtrees_volunteers_page_by_page(town: Town) -> None:
    """The console's read on both stores: members of the organisation and those below it,
    by volunteer number, for its coordinators, auditors and admins only."""
    w = world(town)
    ours = sorted(
        registered(town, f"志愿者{i}", f"PQ{i:04d}")["volunteer_number"] for i in range(3)
    )
    town.volunteer(w["other_team"])
    town.rt.runner.catch_up()
    street = Api(town.base_url, w["street_token"])
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        found = street.get(f"/v1/organisations/{town.street}/volunteers", **params)
        assert found.status_code == 200, found.text
        seen += [m["number"] for m in found.json()["items"]]
        if (cursor := found.json()["next_cursor"]) is None:
            break
    assert seen == ours
    auditor = town.client(Role.AUDITOR)
    assert auditor.get(f"/v1/organisations/{town.district}/volunteers").status_code == 200
    for token in (w["team_token"], w["other_token"]):
        refused = Api(town.base_url, token).get(f"/v1/organisations/{town.street}/volunteers")
        assert refused.status_code == 403, refused.text
    junk = street.get(f"/v1/organisations/{town.street}/volunteers", cursor="AAAA")
    assert junk.status_code == 422, junk.text
