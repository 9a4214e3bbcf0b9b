"""The console's recognition section in a browser, against the real server (SQLite): a
coordinator records a training (in Chinese), commends a volunteer whose notice takes an
objection on the public page and reviews it (in English), evaluates a confirmed service; a
coordinator of another street can neither see nor act on this street's; junk never a 500."""

from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from playwright.sync_api import APIResponse, Browser, BrowserContext, Page, expect

from ledger.context import Role
from tests.browser import shots
from tests.http import Town
from tests.test_certificates import head, ok, signup_of

BASE = "/app/coord/recognition"


def number_of(town: Town, volunteer: str) -> str:
    return str(ok(town.admin.get(f"/v1/volunteers/{volunteer}"))["volunteer_number"])


def coordinator_page(
    browser: Browser, town: Town, org: str, lang: str = "zh-CN"
) -> tuple[BrowserContext, Page]:
    """A coordinator of `org` signed in to the console, in `lang`."""
    context = browser.new_context(locale=lang)
    if lang == "en":
        context.add_cookies([{"name": "tb_lang", "value": "en", "url": town.base_url}])
    page = context.new_page()
    page.set_default_timeout(10_000)
    token = town.rt.tokens.create(Role.COORDINATOR, "协调员", UUID(org))
    page.goto(f"{town.base_url}/app/sign-in")
    page.fill("#token", token)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{town.base_url}/app/coord")
    return context, page


def record(town: Town, volunteer: str) -> dict[str, Any]:
    return ok(town.admin.get(f"/v1/volunteers/{volunteer}/record", min_position=head(town)))


def test_a_coordinator_records_a_training_in_chinese(
    sqlite_town: Town, browser: Browser, screenshots: Path
) -> None:
    town = sqlite_town
    first, second = town.volunteer(name="王秀英"), town.volunteer(name="张伟")
    context, page = coordinator_page(browser, town, town.street)
    page.goto(town.base_url + BASE)
    expect(page.locator("h1")).to_have_text("培训与表彰")
    expect(page.locator("main")).to_contain_text("还没有记录培训")
    shots(page, screenshots, "recognition-empty")

    page.fill("#training-name", "急救知识培训")
    page.fill("#training-day", "2026-11-20")
    page.fill("#training-time", "09:30")
    page.fill("#training-minutes", "90")
    page.fill("#training-numbers", f"{number_of(town, first)}\n{number_of(town, second)}")
    page.click("form[action^='/app/coord/recognition/trainings'] button")
    expect(page.locator("p.done")).to_contain_text("培训已记入每位志愿者的档案")
    held = page.locator("section[aria-labelledby=trainings-title]")
    expect(held).to_contain_text("急救知识培训")
    expect(held).to_contain_text("参加人数：2")
    expect(held).to_contain_text("1 小时 30 分钟")
    shots(page, screenshots, "recognition-training")

    for volunteer in (first, second):
        (training,) = record(town, volunteer)["trainings"]
        assert training["title"] == "急救知识培训" and training["minutes"] == 90

    # A number nobody has is refused in words, naming it; what was typed stays.
    page.fill("#training-name", "第二次培训")
    page.fill("#training-day", "2026-11-21")
    page.fill("#training-time", "09:30")
    page.fill("#training-minutes", "60")
    page.fill("#training-numbers", "12345")
    page.click("form[action^='/app/coord/recognition/trainings'] button")
    expect(page.locator("p.error")).to_contain_text("12345")
    expect(page.locator("#training-name")).to_have_value("第二次培训")
    shots(page, screenshots, "recognition-training-refused")
    listed = ok(town.admin.get("/v1/trainings", org_id=town.district, min_position=head(town)))
    assert [t["participants"] for t in listed["items"]] == [2]
    context.close()


def test_a_commendation_is_objected_to_and_reviewed_in_english(
    sqlite_town: Town, browser: Browser, screenshots: Path
) -> None:
    town = sqlite_town
    volunteer = town.volunteer(name="王秀英")
    objector = town.volunteer(name="李四")
    link = ok(town.admin.post(f"/v1/volunteers/{objector}/sign-in-links", {}))["url"]
    context, page = coordinator_page(browser, town, town.street, "en")
    page.goto(town.base_url + BASE)
    expect(page.locator("h1")).to_have_text("Trainings and recognition")
    expect(page.locator("#commend-title-field")).to_have_value("Outstanding volunteer")
    page.fill("#commend-number", number_of(town, volunteer))
    page.fill("#commend-reason", "Served every week this year")
    page.click("form[action^='/app/coord/recognition/commend'] button")
    expect(page.locator("p.done")).to_contain_text("in public notice now")
    awards = ok(town.admin.get("/v1/awards", org_id=town.street, min_position=head(town)))
    (award,) = awards["items"]
    notice = page.locator(f"#award-{award['id']}")
    expect(notice).to_contain_text("in public notice")
    expect(notice.locator("a")).to_have_attribute("href", f"/app/notices#award-{award['id']}")
    expect(notice.locator("form")).to_have_count(0)  # nothing to review, the notice runs
    shots(page, screenshots, "recognition-commended")

    # Anyone sees it on the public notices; a signed-in volunteer objects there.
    public = browser.new_context(locale="en")
    public.add_cookies([{"name": "tb_lang", "value": "en", "url": town.base_url}])
    passer_by = public.new_page()
    passer_by.set_default_timeout(10_000)
    passer_by.goto(town.base_url + f"/app/notices#award-{award['id']}")
    shown = passer_by.locator(f"li[aria-labelledby='award-{award['id']}']")
    expect(shown).to_contain_text("Outstanding volunteer")
    expect(shown).to_contain_text("Served every week this year")
    passer_by.goto(town.base_url + link)
    passer_by.click("main button[type=submit]")
    passer_by.wait_for_url(f"{town.base_url}/app/me")
    passer_by.goto(town.base_url + "/app/notices")
    shown = passer_by.locator(f"li[aria-labelledby='award-{award['id']}']")
    shown.locator("textarea").fill("I never saw them serve")
    shown.locator("button[type=submit]").click()
    expect(passer_by.locator("p.done")).to_contain_text("Your objection was received")
    public.close()

    head(town)
    page.goto(town.base_url + BASE)
    notice = page.locator(f"#award-{award['id']}")
    expect(notice).to_contain_text("objected, waiting for review")
    expect(notice).to_contain_text("Objections filed: 1")
    shots(page, screenshots, "recognition-objected")
    notice.locator("input[value=confirm]").check()
    notice.locator("textarea").fill("They served at the elders' home every Tuesday")
    notice.locator("button[type=submit]").click()
    expect(page.locator("p.done")).to_contain_text("the objections are dismissed")
    expect(page.locator(f"#award-{award['id']}")).to_contain_text("in public notice")
    shots(page, screenshots, "recognition-reviewed")
    assert ok(town.admin.get(f"/v1/awards/{award['id']}"))["status"] == "in_notice"

    # Confirming before the notice ends is refused in words (the page offers no button).
    csrf = page.locator("input[name=csrf]").first.get_attribute("value") or ""
    refused = page.request.post(
        town.base_url + BASE + "/confirm",
        form={"csrf": csrf, "once": uuid4().hex, "award": award["id"]},
    )
    assert refused.status == 409 and "has not ended yet" in refused.text()
    context.close()


def test_an_evaluation_on_the_console_shows_on_the_record(
    sqlite_town: Town, browser: Browser, screenshots: Path
) -> None:
    town = sqlite_town
    volunteer = town.volunteer(name="王秀英")
    town.earn(volunteer, 60)
    signup = signup_of(town, volunteer)
    context, page = coordinator_page(browser, town, town.street)
    page.goto(town.base_url + BASE)
    page.fill("#evaluate-number", number_of(town, volunteer))
    page.click("form[action='/app/coord/recognition/evaluate'] button")
    service = page.locator(f"#service-{signup}")
    expect(service).to_contain_text("陪伴老人")
    shots(page, screenshots, "evaluate-services")
    service.locator("input[name=score][value='4']").check()
    service.locator("textarea").fill("耐心细致")
    service.locator("button[type=submit]").click()
    expect(page.locator("p.done")).to_contain_text("评价已记入志愿者的档案")
    expect(page.locator("section[aria-labelledby=given-title]")).to_contain_text("4 分")
    shots(page, screenshots, "evaluate-done")
    (evaluation,) = record(town, volunteer)["evaluations"]
    assert evaluation["score"] == 4 and evaluation["comment"] == "耐心细致"
    assert evaluation["signup_id"] == signup

    # The organiser's evaluation is given: a second one is refused in words, not twice.
    csrf = page.locator("input[name=csrf]").first.get_attribute("value") or ""
    again = page.request.post(
        town.base_url + BASE + "/evaluate",
        form={"csrf": csrf, "once": uuid4().hex, "signup": signup, "score": "5", "by": "organiser"},
    )
    assert again.status == 409 and "已经评价过了" in again.text()
    context.close()


def post(page: Page, base: str, path: str, fields: dict[str, str]) -> APIResponse:
    csrf = page.locator("input[name=csrf]").first.get_attribute("value") or ""
    form: dict[str, str | float | bool] = {"csrf": csrf, "once": uuid4().hex}
    form.update(fields)
    return page.request.post(base + path, form=form)


def test_a_coordinator_of_another_street_can_neither_see_nor_act(
    sqlite_town: Town, browser: Browser, screenshots: Path
) -> None:
    town = sqlite_town
    volunteer = town.volunteer(name="王秀英")
    town.earn(volunteer, 60)
    signup = signup_of(town, volunteer)
    street = town.client(Role.COORDINATOR, town.street)
    award = ok(
        street.post(
            "/v1/commendations",
            {
                "volunteer_id": volunteer,
                "org_id": town.street,
                "title": "年度服务之星",
                "reason": "好",
            },
        ),
        201,
    )
    objection = {"award_id": award["id"], "reason": "不对"}
    ok(town.client(Role.COORDINATOR, town.team).post("/v1/objections", objection), 201)
    ok(
        street.post(
            "/v1/trainings",
            {
                "org_id": town.street,
                "title": "急救知识培训",
                "held_at": "2026-11-20T09:30:00+08:00",
                "minutes": 90,
                "volunteer_ids": [volunteer],
            },
        ),
        201,
    )
    head(town)
    sibling = town.org("另一街道", "street", town.district)
    number = number_of(town, volunteer)
    base = town.base_url
    context, page = coordinator_page(browser, town, sibling)
    page.goto(base + BASE)  # their own: nothing of the other street's shows
    main = page.locator("main")
    expect(main).not_to_contain_text("年度服务之星")
    expect(main).not_to_contain_text("急救知识培训")

    seen = page.goto(f"{base}{BASE}?org={town.street}")
    assert seen is not None and seen.status == 403
    expect(page.locator("p.error")).to_contain_text("这不属于您的组织")
    expect(main).not_to_contain_text("年度服务之星")
    expect(main).not_to_contain_text("急救知识培训")
    shots(page, screenshots, "recognition-other-street")
    seen = page.goto(f"{base}{BASE}/evaluate?number={number}")
    assert seen is not None and seen.status == 403
    expect(main).not_to_contain_text("陪伴老人")
    page.goto(base + BASE)

    training = {"title": "培训", "day": "2026-11-20", "time": "09:30", "minutes": "60"}
    attempts = (
        (f"{BASE}/commend?org={town.street}", {"number": number, "title": "t", "reason": "r"}),
        (f"{BASE}/commend", {"number": number, "title": "t", "reason": "r"}),
        (f"{BASE}/trainings?org={town.street}", training | {"numbers": number}),
        (f"{BASE}/trainings", training | {"numbers": number}),
        (f"{BASE}/review", {"award": award["id"], "decision": "withdraw", "reason": "r"}),
        (
            f"{BASE}/review?org={town.street}",
            {"award": award["id"], "decision": "withdraw", "reason": "r"},
        ),
        (f"{BASE}/confirm", {"award": award["id"]}),
        (f"{BASE}/evaluate", {"signup": signup, "score": "1", "by": "organiser"}),
    )
    for path, fields in attempts:
        answer = post(page, base, path, fields)
        assert answer.status == 403, (path, answer.status)
        assert "这不属于您的组织" in answer.text(), path
        assert "年度服务之星" not in answer.text() and "急救知识培训" not in answer.text(), path
    shown = ok(town.admin.get(f"/v1/awards/{award['id']}"))
    assert shown["status"] == "objected"
    assert ok(town.admin.get(f"/v1/volunteers/{volunteer}/record"))["evaluations"] == []
    listed = ok(town.admin.get("/v1/trainings", org_id=town.district, min_position=head(town)))
    assert len(listed["items"]) == 1
    assert len(ok(town.admin.get("/v1/awards", org_id=town.district))["items"]) == 1
    context.close()


JUNK = ("", " ", "x" * 5000, "\u0000", "%", "-1", "99999999999999999999", "<b>", "１２")


def test_junk_in_every_field_is_refused_in_words(sqlite_town: Town, browser: Browser) -> None:
    town = sqlite_town
    volunteer = town.volunteer()
    base = town.base_url
    context, page = coordinator_page(browser, town, town.street)
    page.goto(base + BASE)
    forms = {
        "/trainings": ("title", "day", "time", "minutes", "numbers"),
        "/commend": ("number", "title", "reason"),
        "/review": ("award", "decision", "reason"),
        "/confirm": ("award",),
        "/evaluate": ("signup", "score", "by", "comment", "number"),
    }
    good = {
        "title": "培训",
        "day": "2026-11-20",
        "time": "09:30",
        "minutes": "60",
        "numbers": number_of(town, volunteer),
        "number": number_of(town, volunteer),
        "reason": "好",
        "award": str(uuid4()),
        "decision": "confirm",
        "signup": str(uuid4()),
        "score": "3",
        "by": "organiser",
        "comment": "",
    }
    for path, fields in forms.items():
        for field in fields:
            for junk in JUNK:
                sent = {f: good[f] for f in fields} | {field: junk}
                answer = post(page, base, BASE + path, sent)
                assert answer.status < 500, (path, field, junk, answer.status)
                assert "Traceback" not in answer.text()
    for query in ("?org=junk", "?org=" + str(uuid4()), "?org=" + "x" * 3000):
        answer = page.request.get(base + BASE + query)
        assert answer.status < 500, (query, answer.status)
    for number in JUNK:
        answer = page.request.get(base + BASE + "/evaluate", params={"number": number})
        assert answer.status < 500, (number, answer.status)
    forged = page.request.post(base + BASE + "/commend", form={"csrf": "nope", "number": "1"})
    assert forged.status == 403
    context.close()
