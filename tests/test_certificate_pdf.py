"""The certificate PDF, read back with the tools a reader would use: poppler's pdftotext,
pdffonts and pdftoppm, and zbarimg for the QR code. The tools are required, not optional
(.ci/run installs poppler-utils and zbar-tools): without them these tests fail."""

import hashlib
import json
import re
import shutil
import subprocess
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger.bounds import NAME, TITLE
from timebank import certificate_pdf
from timebank.certificate_pdf import FontMissing, duration_text, render_certificate_pdf

CHECK_URL = "https://timebank.example.org/v1/certificates/check?number=TB-7KQ2-M9XD-3HTW-C"
PACKAGES = {"pdftotext": "poppler-utils", "pdffonts": "poppler-utils", "pdfinfo": "poppler-utils"}
PACKAGES |= {"pdftoppm": "poppler-utils", "zbarimg": "zbar-tools"}


def run(tool: str, *args: str) -> str:
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is missing: apt-get install {PACKAGES[tool]} (.ci/run does)")
    return subprocess.run([tool, *args], check=True, capture_output=True, text=True).stdout


def service(day: date, activity: str, minutes: int, backfill: bool = False) -> dict[str, Any]:
    return {
        "source_id": str(uuid.uuid4()),
        "date": day.isoformat(),
        "activity": activity,
        "category": "社区服务",
        "minutes": minutes,
        "backfill": backfill,
    }


def content(services: list[dict[str, Any]], purpose: str | None = "升学") -> dict[str, Any]:
    return {
        "format": "timebank-certificate/1",
        "certificate_id": str(uuid.uuid4()),
        "number": "TB-7KQ2-M9XD-3HTW-C",
        "volunteer": {
            "name": "欧阳小凤",
            "id_number_masked": "1101**********1234",
            "volunteer_number": "3201-0004-5678",
            "account_id": str(uuid.uuid4()),
        },
        "issuer": {"org_id": str(uuid.uuid4()), "name": "鼓楼区阳光社区志愿者协会"},
        "period": {"from": "2026-01-01", "to": "2026-06-30"},
        "purpose": purpose,
        "services": services,
        "total_minutes": sum(s["minutes"] for s in services),
        "issued_on": "2026-12-07",
    }


def digest_of(certificate: dict[str, Any]) -> str:
    text = json.dumps(certificate, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_pdf(tmp_path: Path, certificate: dict[str, Any]) -> Path:
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(render_certificate_pdf(certificate, digest_of(certificate), CHECK_URL))
    return pdf


def text_of(pdf: Path, page: int | None = None) -> str:
    pages = [] if page is None else ["-f", str(page), "-l", str(page)]
    return run("pdftotext", *pages, str(pdf), "-")


SHORT = [
    service(date(2026, 3, 2), "清扫 & 整理 <三号楼>", 90),
    service(date(2026, 3, 9), "敬老院陪伴老人", 45, backfill=True),
    service(date(2026, 4, 1), "图书馆整理", 120),
]


def test_the_certificate_reads_back_as_text(tmp_path: Path) -> None:
    certificate = content(SHORT)
    pdf = write_pdf(tmp_path, certificate)

    text = text_of(pdf)
    flat = re.sub(r"\s+", "", text)  # lines wrap anywhere in Chinese
    assert "志愿服务证明" in text
    assert "欧阳小凤" in text
    assert "TB-7KQ2-M9XD-3HTW-C" in text
    assert "1101**********1234" in text
    assert "鼓楼区阳光社区志愿者协会" in text
    assert "4 小时 15 分钟" in text  # 90 + 45 + 120 minutes, in the table's total
    assert "0 小时 45 分钟" in text
    assert "清扫 & 整理 <三号楼>" in text  # shown as written, not read as markup
    assert flat.count("补录") == 1  # the back-fill's mark, and nowhere else
    assert "用途：升学" in text
    assert digest_of(certificate) in flat
    assert "timebank verify" in text
    assert "第1页/共1页" in flat


def test_every_font_is_embedded(tmp_path: Path) -> None:
    table = run("pdffonts", str(write_pdf(tmp_path, content(SHORT))))
    rows = [line.split() for line in table.splitlines()[2:]]
    assert rows
    for row in rows:
        emb = row[-5]  # name type encoding emb sub uni object-id generation
        assert emb == "yes", table


def test_the_qr_code_on_page_one_reads_as_the_check_url_and_digest(tmp_path: Path) -> None:
    certificate = content(SHORT, purpose=None)
    pdf = write_pdf(tmp_path, certificate)
    run("pdftoppm", "-png", "-r", "100", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page"))
    png = next(tmp_path.glob("page*.png"))
    print(f"page 1 rendered at {png}")

    decoded = run("zbarimg", "--quiet", "--raw", str(png))

    assert decoded.rstrip("\n") == f"{CHECK_URL}#sha256={digest_of(certificate)}"
    assert "用途" not in text_of(pdf)


def test_a_long_certificate_continues_on_numbered_pages(tmp_path: Path) -> None:
    first = date(2026, 1, 1)
    services = [
        service(first + timedelta(days=n), f"活动 {n}", 30 + n, backfill=n % 40 == 0)
        for n in range(120)
    ]
    certificate = content(services)
    pdf = write_pdf(tmp_path, certificate)

    pages = int(re.search(r"Pages:\s+(\d+)", run("pdfinfo", str(pdf)))[1])  # type: ignore[index]
    assert pages >= 3
    text = text_of(pdf)
    for s in services:
        assert s["date"] in text
    assert re.sub(r"\s+", "", text).count("补录") == 3
    assert duration_text(certificate["total_minutes"]) in text
    for n in range(1, pages + 1):
        page = re.sub(r"\s+", "", text_of(pdf, n))
        assert f"第{n}页/共{pages}页" in page
        if any(s["date"] in page for s in services):
            assert "日期服务项目" in page  # the table's header, repeated on every page of it
    assert "TB-7KQ2-M9XD-3HTW-C" in text_of(pdf, pages)


def test_the_same_certificate_gives_the_same_bytes() -> None:
    certificate = content(SHORT)
    digest = digest_of(certificate)
    first = render_certificate_pdf(certificate, digest, CHECK_URL)
    assert render_certificate_pdf(certificate, digest, CHECK_URL) == first


@pytest.mark.parametrize(
    ("minutes", "shown"), [(0, "0 小时 0 分钟"), (59, "0 小时 59 分钟"), (61, "1 小时 1 分钟")]
)
def test_durations_are_hours_and_minutes(minutes: int, shown: str) -> None:
    assert duration_text(minutes) == shown


def test_without_a_font_the_error_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    missing = (("fonts-wqy-microhei", Path("/nonexistent/wqy-microhei.ttc")),)
    monkeypatch.setattr(certificate_pdf, "FONT_FILES", missing)
    with pytest.raises(FontMissing, match="fonts-wqy-microhei"):
        certificate_pdf._register_fonts.__wrapped__()


def test_text_at_its_bounds_and_markup_characters_still_render(tmp_path: Path) -> None:
    """Names and titles as long as the ledger accepts, in characters that mean markup to
    the layout engine, and without the optional masked ID number."""
    title = ("清扫&<b>" * TITLE.high)[: TITLE.high]
    services = [service(date(2026, 3, n), title, 60, backfill=True) for n in range(1, 4)]
    certificate = content(services, purpose="升" * 200)
    certificate["volunteer"] |= {"name": "W" * NAME.high, "id_number_masked": None}
    certificate["issuer"]["name"] = ("社区&<>" * NAME.high)[: NAME.high]

    pdf = write_pdf(tmp_path, certificate)
    # In the order drawn: by position, the QR caption lands inside a name this long.
    flat = re.sub(r"\s+", "", run("pdftotext", "-raw", str(pdf), "-"))

    assert "W" * NAME.high in flat
    assert re.sub(r"\s+", "", title) in flat
    assert "证件号" not in flat
    assert flat.count("补录") == 3
