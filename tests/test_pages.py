"""The pages over HTTP (no browser): the catalogs are complete, sessions are the token's,
cookies are what they must be, and nothing a browser can send is answered with a 500."""

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from api.pages import i18n
from ledger.context import Role
from projections.pagination import Page
from tests.http import Town

PAGES = Path(i18n.__file__).parent
ON_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def used_messages() -> set[str]:
    """Every msgid in the templates and in messages.py (its N_ marks)."""
    found = extract_from_dir(
        str(PAGES),
        method_map=[("**/templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")],
        keywords={**DEFAULT_KEYWORDS, "N_": None},
    )
    return {m if isinstance(m, str) else m[0] for _, _, m, _, _ in found}


@pytest.mark.parametrize("language", sorted(i18n.LANGUAGES))
def test_every_message_of_the_pages_is_translated(language: str) -> None:
    with i18n.catalog_path(language).open("rb") as po:
        catalog = read_po(po)
    used = used_messages()
    assert len(used) > 50  # the extraction found the pages' strings
    translated = {str(m.id): str(m.string) for m in catalog if m.id}
    missing = sorted(m for m in used if not translated.get(m))
    assert not missing, f"untranslated in {language}: {missing}"
    unused = sorted(set(translated) - used)
    assert not unused, f"in the {language} catalog but not used: {unused}"
    for msgid, text in translated.items():
        assert re.findall(r"%\(\w+\)s", msgid) == re.findall(r"%\(\w+\)s", text), msgid


@pytest.fixture
def desk(town: Town) -> Iterator[tuple[httpx.Client, str]]:
    token = town.rt.tokens.create(Role.DESK, "desk-http", uuid.UUID(town.venue))
    with httpx.Client(base_url=town.base_url, follow_redirects=False) as client:
        yield client, token


def sign_in(client: httpx.Client, token: str, **headers: str) -> httpx.Response:
    client.get("/app/sign-in")
    csrf = client.cookies["tb_sign_in"]
    return client.post("/app/sign-in", data={"csrf": csrf, "token": token}, headers=headers)


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


@ON_SQLITE
def test_a_session_ends_with_its_token_and_at_sign_out(
    town: Town, desk: tuple[httpx.Client, str]
) -> None:
    client, token = desk
    signed = sign_in(client, token)
    assert signed.status_code == 303 and signed.headers["location"] == "/app/desk"
    set_cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=lax" in set_cookie
    assert "Secure" not in set_cookie  # plain HTTP: a Secure cookie would never come back
    assert client.get("/app/desk").status_code == 200

    tokens, _ = town.rt.tokens.page_as_operator(Page(100, None))
    token_id = next(t.id for t in tokens if t.name == "desk-http")
    town.rt.tokens.revoke_as_operator(token_id)
    assert client.get("/app/desk").headers["location"] == "/app/sign-in"
    refused = client.post("/app/desk/cancel", data={"redemption": str(uuid.uuid4())})
    assert refused.status_code == 401 and "重新登录" in refused.text

    with town.rt.db.transaction() as cur:  # a session that ended two days ago
        cur.execute(
            "INSERT INTO tb_page_sessions (id_hash, token_id, csrf_secret, created_at, "
            "expires_at) VALUES ('old', %s, 'x', '2026-01-01T00:00:00+00:00', %s)",
            (str(token_id), (datetime.now(UTC) - timedelta(days=2)).isoformat()),
        )
    other = town.rt.tokens.create(Role.DESK, "desk-http-2", uuid.UUID(town.venue))
    sign_in(client, other)
    with town.rt.db.read() as cur:  # forgotten at the next sign-in
        cur.execute("SELECT count(*) FROM tb_page_sessions WHERE id_hash = 'old'")
        assert cur.fetchone()[0] == 0
    page = client.get("/app/desk")
    assert page.status_code == 200
    out = client.post("/app/sign-out", data={"csrf": csrf_of(page)})
    assert out.status_code == 303
    kept = out.cookies.get("tb_session")
    assert not kept
    assert client.get("/app/desk").headers["location"] == "/app/sign-in"


@ON_SQLITE
def test_behind_a_tls_proxy_the_cookie_is_secure(desk: tuple[httpx.Client, str]) -> None:
    client, token = desk
    signed = sign_in(client, token, **{"X-Forwarded-Proto": "https"})
    assert signed.status_code == 303
    assert "Secure" in signed.headers["set-cookie"]


@ON_SQLITE
def test_nothing_a_browser_sends_is_answered_with_a_500(desk: tuple[httpx.Client, str]) -> None:
    client, token = desk
    assert client.post("/app/sign-in", content=b"\xff\xfe=%%%").status_code == 403
    assert client.post("/app/sign-in", data={"csrf": "x", "token": "y"}).status_code == 403
    sign_in(client, token)
    csrf = csrf_of(client.get("/app/desk"))
    junk = ["", "x" * 5000, "-1", "0", "1e9", str(uuid.uuid4()), "%00", "\u202e名字", "<b>"]
    for action in ("reserve", "hand-out", "cancel"):
        for value in junk:
            form = {
                "csrf": csrf,
                "number": value,
                "volunteer": value,
                "reward": value,
                "quantity": value,
                "pin": value,
                "redemption": value,
                "code": value,
                "once": value,
            }
            answer = client.post(f"/app/desk/{action}", data=form)
            assert answer.status_code < 500, (action, value, answer.text)
            assert "<b>" not in answer.text  # escaped
        raw = client.post(
            f"/app/desk/{action}",
            content=b"\xff\x00&&==",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert raw.status_code == 403
    for value in junk:
        assert client.get("/app/desk", params={"number": value}).status_code < 500
        assert client.get(f"/app/desk/receipts/{value or 'x'}").status_code < 500
    for back in ("//evil.example", "https://evil.example", "/app\\..", "/v1/x"):
        moved = client.get("/app/language/en", params={"back": back})
        assert moved.headers["location"] == "/app"
    assert client.get("/app/language/xx").status_code == 303
    missing = client.get("/app/no/such/page")
    assert (
        missing.status_code == 404 and "There is no such page." in missing.text
    )  # en, chosen above
    too_large = client.post("/app/sign-in", content=b"a" * (2 * 1024 * 1024))
    assert too_large.status_code == 413  # the guard's limit holds for the pages too


@ON_SQLITE
def test_a_volunteer_signs_in_once_by_a_link(town: Town) -> None:
    volunteer = town.volunteer()
    coordinator = town.client(Role.COORDINATOR, town.street)
    made = coordinator.post(f"/v1/volunteers/{volunteer}/sign-in-links", {})
    assert made.status_code == 200, made.text
    link = made.json()
    assert link["url"] == f"/app/link/{link['code']}"
    desk = town.client(Role.DESK, town.venue)
    refused = desk.post(f"/v1/volunteers/{volunteer}/sign-in-links", {})
    assert refused.status_code == 403 and refused.json()["type"].endswith("pin-required")
    with town.rt.db.read() as cur:  # only the code's hash is kept
        cur.execute("SELECT count(*) FROM tb_sign_in_links WHERE code_hash = %s", (link["code"],))
        assert cur.fetchone()[0] == 0

    with httpx.Client(base_url=town.base_url, follow_redirects=False) as browser:
        page = browser.get(link["url"])
        assert page.status_code == 200 and "确认登录" in page.text
        assert link["code"] in page.text  # in the form, to be posted
        forged = browser.post("/app/link", data={"code": link["code"]})
        assert forged.status_code == 403
        csrf = browser.cookies["tb_sign_in"]
        signed = browser.post("/app/link", data={"csrf": csrf, "code": link["code"]})
        assert signed.status_code == 303 and signed.headers["location"] == "/app/me"
        mine = browser.get("/app/me")  # acting as the volunteer: their own account
        number = town.admin.get(f"/v1/volunteers/{volunteer}").json()["volunteer_number"]
        assert mine.status_code == 200 and number in mine.text and "0 分钟" in mine.text
        browser.get(link["url"])
        again = browser.post(
            "/app/link", data={"csrf": browser.cookies["tb_sign_in"], "code": link["code"]}
        )
        assert again.status_code == 401 and "已经用过或已经过期" in again.text
