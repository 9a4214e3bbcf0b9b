"""The auditor's desk in a browser, against the real server (SQLite): an auditor reads a
volunteer's trail with personal data masked, checks a certificate by number and by its
uploaded bundle, and checks a checkpoint they kept; a coordinator is refused; junk never
gets a 500."""

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from playwright.sync_api import Browser, Page, expect

from api.pages.audit import BUNDLE_PATH
from ledger.context import Role
from tests.browser import shots, sign_in
from tests.http import Town

ID_NUMBER = "E98765432"
PHONE = "13912345678"


def audit_world(town: Town) -> dict[str, Any]:
    registered = town.admin.post(
        "/v1/volunteers",
        {
            "name": "王秀英",
            "id_document": {"type": "passport", "number": ID_NUMBER},
            "phone": PHONE,
            "birth_date": "1950-05-06",
            "party_member": False,
            "skills": [],
            "home_org_id": town.team,
        },
    )
    assert registered.status_code == 201, registered.text
    volunteer = str(registered.json()["id"])
    town.earn(volunteer, 95)
    details = town.admin.get(f"/v1/volunteers/{volunteer}").json()
    today = datetime.now(ZoneInfo(town.rt.settings.rules.timezone)).date()
    made = town.client(Role.COORDINATOR, town.team).post(
        "/v1/certificates",
        {
            "volunteer_id": volunteer,
            "org_id": town.team,
            "from": (today - timedelta(days=7)).isoformat(),
            "to": today.isoformat(),
        },
    )
    assert made.status_code == 201, made.text
    certificate = made.json()
    bundle = town.admin.get(f"/v1/certificates/{certificate['id']}/bundle")
    assert bundle.status_code == 200, bundle.text
    return {
        "volunteer": volunteer,
        "number": details["volunteer_number"],
        "certificate": certificate,
        "bundle": bundle.json(),
        "token": town.rt.tokens.create(Role.AUDITOR, "审计员", None),
    }


def upload(page: Page, name: str, data: bytes) -> None:
    page.set_input_files("#bundle", {"name": name, "mimeType": "application/json", "buffer": data})
    page.click("form[action='/app/audit/bundle'] button")


def test_an_auditor_reads_trails_checks_certificates_and_checkpoints(
    sqlite_town: Town, browser: Browser, screenshots: Path
) -> None:
    town = sqlite_town
    world = audit_world(town)
    base = town.base_url
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, base, world["token"], "/app/audit")
    expect(page.locator("h1")).to_have_text("审计台")

    # A volunteer's trail, by number: who, role, why, request; no personal data.
    page.fill("#key", world["number"])
    page.click("form:has(#key) button")
    expect(page.locator("ol.trail li").first).to_be_visible()
    trail = page.locator("ol.trail")
    expect(trail).to_contain_text("志愿者登记")
    expect(trail).to_contain_text("开具证明")
    expect(trail).to_contain_text("(coordinator)")
    for secret in ("王秀英", PHONE, ID_NUMBER):
        assert secret not in page.content()
    shots(page, screenshots, "audit-trail")

    # A certificate by number, its name masked.
    page.fill("#certificate", world["certificate"]["number"])
    page.click("form:has(#certificate) button")
    expect(page.locator("section[aria-labelledby=cert]")).to_contain_text("有效")
    assert "王秀英" not in page.content()

    # By its bundle: the good one passes, one minute changed fails, in words.
    good = json.dumps(world["bundle"], ensure_ascii=False).encode()
    upload(page, "bundle.json", good)
    expect(page.locator("#checks")).to_have_text("证据包通过全部检查")
    shots(page, screenshots, "audit-bundle")
    forged = json.loads(good)
    forged["content"]["services"][0]["minutes"] += 1
    upload(page, "forged.json", json.dumps(forged).encode())
    expect(page.locator("#checks")).to_have_text("证据包未通过检查")
    expect(page.locator("ul.checks")).to_contain_text("未通过 digest")
    upload(page, "junk.json", b"{not json")
    expect(page.locator("p.error")).to_contain_text("不是 JSON")

    # The checkpoint: the current one is consistent; a forged one is refused.
    town.rt.log_tree.catch_up()
    town.rt.log_tree.sign_checkpoint()
    page.goto(f"{base}/app/audit")
    note = page.locator("pre.note").inner_text()
    page.fill("#checkpoint", note)
    page.click("form[action='/app/audit/checkpoint'] button")
    expect(page.locator("p.done")).to_contain_text("相同")
    lines = note.split("\n")
    lines[1] = str(int(lines[1]) + 1)
    page.fill("#checkpoint", "\n".join(lines))
    page.click("form[action='/app/audit/checkpoint'] button")
    expect(page.locator("p.error[role=alert]")).to_contain_text("拒绝")
    page.fill("#checkpoint", "garbage\x01 — nothing")
    page.click("form[action='/app/audit/checkpoint'] button")
    expect(page.locator("p.error[role=alert]")).to_contain_text("拒绝")
    shots(page, screenshots, "audit-checkpoint")

    # Checkpoints signed with the log's own key but not of this log: findings.
    tree = town.rt.log_tree
    latest = tree.latest_checkpoint()
    assert latest is not None
    for size, root, words in (
        (latest.tree_size + 5, latest.root, "日志比您保存的检查点还短"),
        (latest.tree_size, bytes(32), "不一致"),
    ):
        page.fill("#checkpoint", tree.key.sign(tree.origin, size, root))
        page.click("form[action='/app/audit/checkpoint'] button")
        expect(page.locator("p.error[role=alert]")).to_contain_text(words)

    # An older checkpoint kept, the log grown since: consistent by proof.
    town.volunteer(name="李四")
    town.rt.log_tree.catch_up()
    town.rt.log_tree.sign_checkpoint()
    page.fill("#checkpoint", note)
    page.click("form[action='/app/audit/checkpoint'] button")
    expect(page.locator("p.done")).to_contain_text("一致")

    # In English.
    page.goto(f"{base}/app/language/en?back=/app/audit")
    expect(page.locator("h1")).to_have_text("Auditor's desk")
    page.fill("#key", world["number"])
    page.click("form:has(#key) button")
    expect(page.locator("ol.trail li").first).to_be_visible()
    upload(page, "forged.json", json.dumps(forged).encode())
    expect(page.locator("#checks")).to_have_text("The bundle FAILS its checks")
    shots(page, screenshots, "audit-en")

    # Junk a browser can send: never a 500.
    api = page.request
    huge = api.post(
        f"{base}/app/audit/bundle",
        multipart={
            "bundle": {"name": "b.json", "mimeType": "application/json", "buffer": b"x" * (3 << 20)}
        },
    )
    assert huge.status == 413
    # A bundle above the API's body limit still reaches the page, which answers in words.
    larger = b"x" * (town.rt.settings.max_body_bytes + 1)
    big = api.post(
        f"{base}/app/audit/bundle",
        multipart={
            "csrf": page.locator(f"form[action='{BUNDLE_PATH}'] input[name=csrf]").get_attribute(
                "value"
            )
            or "",
            "bundle": {"name": "b.json", "mimeType": "application/json", "buffer": larger},
        },
    )
    assert big.status == 400 and "text/html" in big.headers["content-type"], big.text()
    for body, kind in (
        (b"--x\r\nnonsense", "multipart/form-data; boundary=x"),
        (b"checkpoint=%FF%FE", "application/x-www-form-urlencoded"),
    ):
        for path in ("/app/audit/bundle", "/app/audit/checkpoint"):
            r = api.post(f"{base}{path}", data=body, headers={"content-type": kind})
            assert r.status < 500, (path, r.status)
    for query in (
        "?kind=activity&key=nope",
        "?kind=redemption&key=" + str(UUID(int=1)),
        "?key=" + "9" * 300,
        "?certificate=XYZ",
        "?kind=zzz&key=1",
    ):
        r = api.get(f"{base}/app/audit{query}")
        assert 400 <= r.status < 500, (query, r.status)
    context.close()


def test_a_coordinator_is_refused_the_auditors_desk(sqlite_town: Town, browser: Browser) -> None:
    town = sqlite_town
    token = town.rt.tokens.create(Role.COORDINATOR, "协调员", UUID(town.team))
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    sign_in(page, town.base_url, token, "/app/coord")
    refused = page.goto(f"{town.base_url}/app/audit")
    assert refused is not None and refused.status == 403
    expect(page.locator("p.error")).to_have_text("此页面供审计员使用。")
    context.close()
