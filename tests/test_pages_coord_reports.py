"""The console's rankings and reports in a browser, against the real server (SQLite): the
rankings as tables that agree with the API and as inline SVG charts in the page's language;
the organisation report with every figure, its CSV (the API's, with a byte-order mark) and
its page to print; names shown as text, never as markup; another subtree's coordinator
refused; junk never a 500."""

import codecs
import csv
import html
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

from api.pages import coord_reports
from ledger.context import Role
from tests.browser import shots
from tests.browser import sign_in as signing_in
from tests.http import Town
from tests.test_pages import sign_in as sign_in_over_http

ON_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
SCRIPT_NAME = "<script>alert(1)</script>队"


@dataclass
class World:
    town: Town
    year: str
    teams: dict[str, str]  # name: id
    token: str  # a coordinator of the street (both teams)


def world(town: Town, *names: str) -> World:
    """Teams under the street, each with a volunteer credited a different time (and a party
    member without service in the first), read models caught up."""
    teams: dict[str, str] = {}
    for i, name in enumerate(names):
        teams[name] = team = town.org(name, "team", town.street)
        town.earn(town.volunteer(team, name=f"志愿者{i}"), 95 - 30 * i)
    r = town.admin.post(
        "/v1/volunteers",
        {
            "name": "党员甲",
            "id_document": {"type": "passport", "number": uuid4().hex[:12]},
            "phone": "13900002222",
            "birth_date": "1960-01-02",
            "party_member": True,
            "skills": [],
            "home_org_id": teams[names[0]],
        },
    )
    assert r.status_code == 201, r.text
    town.rt.runner.catch_up()
    now = town.rt.settings.rules.local_date(datetime.now(UTC))
    token = town.rt.tokens.create(Role.COORDINATOR, "街道负责人", UUID(town.street))
    return World(town, str(now.year), teams, token)


def earn_in_campaign(town: Town, volunteer: str, minutes: int, campaign: str) -> None:
    """As Town.earn, at an activity of the campaign."""
    now = datetime.now(UTC)
    activity = town.admin.post(
        "/v1/activities",
        {
            "org_id": town.team,
            "title": "重阳节探访",
            "category": "elder_care",
            "location": "敬老院",
            "starts_at": (now - timedelta(minutes=minutes + 60)).isoformat(),
            "ends_at": (now + timedelta(hours=1)).isoformat(),
            "capacity": 10,
            "campaign": campaign,
        },
    ).json()
    signup = town.admin.post(
        f"/v1/activities/{activity['id']}/signups", {"volunteer_id": volunteer}
    ).json()["id"]
    start = now - timedelta(minutes=minutes + 5)
    for action, at in (("check-in", start), ("check-out", start + timedelta(minutes=minutes))):
        assert town.admin.post(f"/v1/signups/{signup}/{action}", {"at": at.isoformat()}).is_success
    assert town.admin.post(f"/v1/signups/{signup}/verify", {"decision": "approve"}).is_success


def sign_in(page: Page, base_url: str, token: str) -> None:
    signing_in(page, base_url, token, "/app/coord")


def ranking(w: World, what: str, period: str = "", **params: Any) -> list[dict[str, Any]]:
    path = f"/v1/rankings/{what}"
    r = w.town.admin.get(path, org_id=w.town.street, period=period or w.year, **params)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def rows(page: Page, section: str) -> list[list[str]]:
    cells = page.locator(f"section[aria-labelledby={section}] tbody tr")
    return [
        [c.strip() for c in cells.nth(i).locator("th, td").all_inner_texts()]
        for i in range(cells.count())
    ]


@ON_SQLITE
def test_rankings_show_tables_that_agree_with_the_api_and_chinese_charts(
    town: Town, browser: Browser, screenshots: Path
) -> None:
    w = world(town, "敬老服务队", "环保服务队")
    base = town.base_url
    page = browser.new_context(locale="zh-CN").new_page()
    page.set_default_timeout(15_000)
    sign_in(page, base, w.token)
    page.click("nav.sections >> text=排行榜")
    page.wait_for_url(f"{base}/app/coord/rankings*")
    expect(page.locator("h1")).to_have_text("排行榜")

    # The teams' chart: inline SVG, no script, Chinese names and titles, a text alternative.
    chart = page.locator("section[aria-labelledby=teams] svg.chart")
    expect(chart).to_have_attribute("role", "img")
    expect(chart).to_have_attribute("aria-label", "各服务队服务时长（小时）")
    text = chart.text_content() or ""
    for name in ("敬老服务队", "环保服务队", "各服务队服务时长（小时）", "小时"):
        assert name in text
    assert "1.6" in text  # 95 minutes, in hours with one decimal
    assert page.locator("svg script").count() == 0

    # The table says what the API says, in the same order.
    api = ranking(w, "teams")
    table = rows(page, "teams")
    assert [r[1] for r in table] == [t["name"] for t in api]
    assert [r[0] for r in table] == [str(t["rank"]) for t in api]
    assert table[0][2] == "1 小时 35 分钟"
    volunteers = ranking(w, "volunteers")
    assert [r[1] for r in rows(page, "volunteers")] == [v["volunteer_number"] for v in volunteers]
    shots(page, screenshots, "coord-rankings")

    # Per capita, for a month: the same teams, as the API orders them.
    month = page.evaluate("new Date().toISOString().slice(0, 7)")
    page.fill("#period", month)
    page.check("input[name=sort][value=per_capita]")
    page.click("form.period button")
    expect(page.locator("section[aria-labelledby=teams] svg.chart")).to_have_attribute(
        "aria-label", "各服务队人均服务时长"
    )
    per_capita = ranking(w, "teams", sort="per_capita")
    assert [r[1] for r in rows(page, "teams")] == [t["name"] for t in per_capita]

    # A shortcut to this year keeps the order chosen.
    page.click("p.shortcuts >> text=今年")
    expect(page.locator("#period")).to_have_value(w.year)
    expect(page.locator("input[name=sort][value=per_capita]")).to_be_checked()

    # A campaign: only the service at its activities.
    earn_in_campaign(town, town.volunteer(w.teams["环保服务队"], name="新志愿者"), 30, "重阳节")
    town.rt.runner.catch_up()
    page.fill("#period", "campaign:重阳节")
    page.check("input[name=sort][value=total]")
    page.click("form.period button")
    expect(page.locator("main > p.hint")).to_contain_text("campaign:重阳节")
    expect(page.locator("section[aria-labelledby=teams] tbody tr").first).to_contain_text(
        "环保服务队"
    )
    text = page.locator("section[aria-labelledby=teams] svg.chart").text_content() or ""
    assert "环保服务队" in text and "敬老服务队" not in text and "0.5" in text
    assert [r[1] for r in rows(page, "volunteers")] == [
        v["volunteer_number"] for v in ranking(w, "volunteers", period="campaign:重阳节")
    ]

    # A period that is none: refused in words, the form kept to try again.
    page.fill("#period", "2026-13")
    page.click("form.period button")
    expect(page.locator("p.error[role=alert]")).to_contain_text("不是有效的统计期间")
    expect(page.locator("#period")).to_have_value("2026-13")


@ON_SQLITE
def test_the_report_has_every_figure_its_csv_and_a_page_to_print(
    town: Town, browser: Browser, screenshots: Path
) -> None:
    w = world(town, "敬老服务队", "环保服务队")
    base = town.base_url
    context = browser.new_context(locale="en")
    context.add_cookies([{"name": "tb_lang", "value": "en", "url": base}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, base, w.token)
    page.goto(f"{base}/app/coord/reports?period={w.year}")
    expect(page.locator("h1")).to_have_text("Reports")

    data = town.admin.get(f"/v1/reports/organisations/{town.street}", period=w.year).json()
    figures = {
        "#registered": data["registered_volunteers"],
        "#active": data["active_volunteers"],
        "#held": data["activities_held"],
        "#beneficiaries": data["beneficiaries"],
        "#trainings-held": data["trainings_held"],
        "#participants": data["training_participants"],
        "#party-registered": data["party_members"]["registered"],
        "#party-met": data["party_members"]["met"],
        "#party-not-met": data["party_members"]["not_met"],
    }
    for selector, value in figures.items():
        expect(page.locator(selector)).to_have_text(str(value))
    expect(page.locator("#population")).to_have_text("not known")
    expect(page.locator("#ratio")).to_have_text("not known")
    assert data["total_service_minutes"] == 95 + 65
    expect(page.locator("#total")).to_have_text("2 h 40 min")
    shown = {
        name: int(minutes)
        for name, minutes in zip(
            page.locator("section[aria-labelledby=categories] tbody th").all_inner_texts(),
            page.locator("section[aria-labelledby=categories] tbody td").evaluate_all(
                "cells => cells.map(c => c.dataset.minutes)"
            ),
            strict=True,
        )
    }
    assert shown["Elder care"] == 160 and sum(shown.values()) == 160
    assert len(shown) == len(data["service_minutes_by_category"])
    chart = page.locator("section[aria-labelledby=categories] svg.chart")
    assert "Elder care" in (chart.text_content() or "")
    not_meeting = page.locator("#not-meeting tbody th").all_inner_texts()
    assert not_meeting == [m["volunteer_number"] for m in data["party_members"]["not_meeting"]]
    shots(page, screenshots, "coord-report-en")

    # The CSV from the page's link: the API's own bytes, with a byte-order mark.
    href = page.locator("a#csv").get_attribute("href")
    assert href is not None
    got = page.request.get(base + href)
    assert got.status == 200
    body = got.body()
    assert body.startswith(codecs.BOM_UTF8)
    api_csv = town.admin.get(f"/v1/reports/organisations/{town.street}.csv", period=w.year)
    assert body == api_csv.content
    table = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert table[0] == ["section", "key", "value"]
    assert ["report", "name", "街道"] in table

    # The browser's own download of the link: the same file.
    with page.expect_download() as download:
        page.click("a#csv")
    assert download.value.suggested_filename == f"report-{town.street}.csv"
    saved = download.value.path()
    assert Path(saved).read_bytes() == body

    # The page to print: the report, no navigation.
    page.click("a#print")
    page.wait_for_url(f"{base}/app/coord/reports/print*")
    expect(page.locator("h1")).to_have_text("街道")
    assert page.locator("nav, header").count() == 0
    for selector, value in figures.items():
        expect(page.locator(selector)).to_have_text(str(value))
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    assert pdf.startswith(b"%PDF")
    (screenshots / "coord-report-print.pdf").write_bytes(pdf)
    page.emulate_media(media="screen")
    shots(page, screenshots, "coord-report-print")

    # A campaign no activity has had: figures of nothing, and words for the party members.
    page.goto(f"{base}/app/coord/reports?period=campaign:%E6%95%AC%E8%80%81%E6%9C%88")
    expect(page.locator("#registered")).to_have_text(str(data["registered_volunteers"]))
    expect(page.locator("section[aria-labelledby=party]")).to_contain_text("no service yet")


@ON_SQLITE
def test_a_name_that_looks_like_markup_shows_as_text(
    town: Town, browser: Browser, screenshots: Path
) -> None:
    w = world(town, SCRIPT_NAME, "环保服务队")
    base = town.base_url
    page = browser.new_context(locale="zh-CN").new_page()
    page.set_default_timeout(15_000)
    dialogs: list[str] = []

    def alerted(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", alerted)
    sign_in(page, base, w.token)
    page.goto(f"{base}/app/coord/rankings?period={w.year}")
    assert page.locator("main script").count() == 0
    assert rows(page, "teams")[0][1] == SCRIPT_NAME
    chart = page.locator("section[aria-labelledby=teams] svg.chart")
    assert "<script>alert(1)…" in (chart.text_content() or "")  # cut to fit, as text
    html = page.content()
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)" in html
    assert dialogs == []
    shots(page, screenshots, "coord-rankings-markup")


@ON_SQLITE
def test_a_ranking_goes_on_a_page_at_a_time(town: Town, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(coord_reports, "RANKED", 1)
    w = world(town, "敬老服务队", "环保服务队")
    with httpx.Client(base_url=town.base_url, timeout=30) as client:
        assert sign_in_over_http(client, w.token).status_code == 303
        seen = []
        path: str | None = f"/app/coord/rankings?period={w.year}"
        while path:
            r = client.get(path)
            assert r.status_code == 200, r.text
            seen += re.findall(r'<th scope="row">([^<]+)</th>', r.text.split('id="volunteers"')[0])
            found = re.search(r'href="([^"]+teams_after=[^"#]+)#teams"', r.text)
            path = html.unescape(found.group(1)) if found else None
        assert seen == [t["name"] for t in ranking(w, "teams")] and len(seen) == 3
        r = client.get("/app/coord/rankings", params={"teams_after": "bm90IGEgY3Vyc29y"})
        assert r.status_code == 422 and "列表的这一页已不存在" in r.text


@ON_SQLITE
def test_another_subtree_and_junk_are_refused_in_words(town: Town) -> None:
    w = world(town, "敬老服务队")
    street = town.street
    with httpx.Client(base_url=town.base_url, timeout=30) as client:
        venue = town.rt.tokens.create(Role.COORDINATOR, "兑换点负责人", UUID(town.venue))
        assert sign_in_over_http(client, venue).status_code == 303
        for path in (
            f"/app/coord/rankings?org={street}",
            f"/app/coord/reports?org={street}",
            f"/app/coord/reports/print?org={street}",
            f"/app/coord/reports/{street}.csv?period={w.year}",
        ):
            r = client.get(path)
            assert r.status_code == 403, path
            assert "敬老服务队" not in r.text and "街道" not in r.text
            assert "这不属于您的组织" in r.text, path

    with httpx.Client(base_url=town.base_url, timeout=30) as client:
        assert sign_in_over_http(client, w.token).status_code == 303
        junk = [
            "x" * 5000,
            "2026-13",
            "campaign:",
            "campaign:\x01",
            "%00",
            "<script>",
            "' OR 1=1 --",
            "２０２６",
        ]
        for path in ("/app/coord/rankings", "/app/coord/reports", "/app/coord/reports/print"):
            for value in junk:
                for name in ("period", "org", "sort", "teams_after", "volunteers_after"):
                    r = client.get(path, params={name: value})
                    assert r.status_code < 500, (path, name, value, r.status_code)
            r = client.get(path, params={"org": str(uuid4())})
            assert r.status_code == 404 and "该组织不存在" in r.text
        for value in junk:
            r = client.get(f"/app/coord/reports/{street}.csv", params={"period": value})
            assert r.status_code == 422 and "不是有效的统计期间" in r.text, value
        for org in ("nope", str(uuid4()), "x" * 200):
            r = client.get(f"/app/coord/reports/{org}.csv")
            assert r.status_code == 404, org
