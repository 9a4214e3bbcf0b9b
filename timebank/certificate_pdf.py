"""The certificate of volunteer service (志愿服务证明) as a PDF: A4, in Chinese.

It shows the certificate's content (docs: the certificate contract) and nothing else, so
what a reader sees is what the digest covers. The font is a TrueType subset embedded in
the file: reportlab's built-in STSong-Light is not embedded, and viewers without Adobe's
CJK pack show it as blanks. The QR code and its caption sit on page 1 whatever the length
of the table, which continues on further pages under its repeated header."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import date
from io import BytesIO
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import segno
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

# TrueType collections only: reportlab refuses CFF outlines, so fonts-noto-cjk's
# NotoSansCJK .ttc (CFF) cannot be embedded by it. Subfont 0 is the proportional face,
# 1 its monospaced twin (used for the digest), in both WenQuanYi collections.
FONT_FILES = (
    ("fonts-wqy-microhei", Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")),
    ("fonts-wqy-zenhei", Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")),
)
FONT = "TimebankCJK"
MONO_FONT = "TimebankCJKMono"

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
FRAME_PADDING = 6  # points: platypus frames keep this inside the margins
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN - 2 * FRAME_PADDING
QR_SIZE = 40 * mm
QR_BORDER_MODULES = 2  # white modules around the code; the page around it is white too
INK = colors.HexColor("#222222")
RULE = colors.HexColor("#888888")
SHADE = colors.HexColor("#EEEEEE")


class FontMissing(RuntimeError):
    """No font that can write Chinese into the PDF is installed."""


@functools.cache
def _register_fonts() -> None:
    for _package, path in FONT_FILES:
        if path.is_file():
            pdfmetrics.registerFont(TTFont(FONT, str(path), subfontIndex=0))
            pdfmetrics.registerFont(TTFont(MONO_FONT, str(path), subfontIndex=1))
            return
    raise FontMissing(
        "certificate PDFs need a Chinese TrueType font: install the Debian package "
        f"fonts-wqy-microhei (looked for {', '.join(str(p) for _, p in FONT_FILES)})"
    )


def duration_text(minutes: int) -> str:
    """Every duration on the certificate, from whole minutes: "12 小时 5 分钟"."""
    hours, rest = divmod(minutes, 60)
    return f"{hours} 小时 {rest} 分钟"


def _date_text(iso: str) -> str:
    day = date.fromisoformat(iso)
    return f"{day.year} 年 {day.month} 月 {day.day} 日"


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=10.5, leading=16, textColor=INK)
    base.wordWrap = "CJK"  # Chinese breaks between any two characters
    return {
        "title": ParagraphStyle("title", parent=base, fontSize=24, leading=32, alignment=TA_CENTER),
        "body": ParagraphStyle("body", parent=base, fontSize=12, leading=22, firstLineIndent=24),
        "text": base,
        "label": ParagraphStyle("label", parent=base, keepWithNext=1, spaceAfter=2 * mm),
        "cell": ParagraphStyle("cell", parent=base, fontSize=9.5, leading=13),
        "head": ParagraphStyle("head", parent=base, fontSize=9.5, leading=13),
        "caption": ParagraphStyle(
            "caption", parent=base, fontSize=8.5, leading=11, alignment=TA_CENTER
        ),
        "sign": ParagraphStyle("sign", parent=base, fontSize=11, leading=20, alignment=TA_RIGHT),
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=11),
        "digest": ParagraphStyle(
            "digest", parent=base, fontName=MONO_FONT, fontSize=8.5, leading=11
        ),
    }


def _table(rows: list[list[Any]], widths: list[float], style: list[Any], **kw: Any) -> Table:
    table = Table(rows, colWidths=widths, **kw)
    # Cells set their font even when they hold a flowable: without this the file names
    # Helvetica, never used and never embedded.
    table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), *style]))
    return table


class _QrCode(Flowable):
    """The QR code drawn as vector squares: sharp at any zoom and any print resolution."""

    def __init__(self, text: str, size: float) -> None:
        super().__init__()
        self.rows = [list(row) for row in segno.make(text, error="m", micro=False).matrix]
        self.size = size

    def wrap(self, _available_width: float, _available_height: float) -> tuple[float, float]:
        return self.size, self.size

    def draw(self) -> None:
        count = len(self.rows) + 2 * QR_BORDER_MODULES
        module = self.size / count
        canvas = self.canv
        canvas.setFillColor(colors.black)
        for y, row in enumerate(self.rows):
            for start, length in _dark_runs(row):
                canvas.rect(
                    (start + QR_BORDER_MODULES) * module,
                    self.size - (y + 1 + QR_BORDER_MODULES) * module,
                    length * module,
                    module,
                    stroke=0,
                    fill=1,
                )


def _dark_runs(row: list[int]) -> Iterator[tuple[int, int]]:
    start = None
    for x, dark in enumerate([*row, 0]):
        if dark and start is None:
            start = x
        elif not dark and start is not None:
            yield start, x - start
            start = None


def _statement(content: dict[str, Any], styles: dict[str, ParagraphStyle]) -> Paragraph:
    volunteer = content["volunteer"]
    who = [f"志愿者编号 {escape(volunteer['volunteer_number'])}"]
    if volunteer.get("id_number_masked"):
        who.insert(0, f"证件号 {escape(volunteer['id_number_masked'])}")
    period = content["period"]
    return Paragraph(
        f"兹证明 <u>{escape(volunteer['name'])}</u>（{'，'.join(who)}）于 "
        f"{_date_text(period['from'])} 至 {_date_text(period['to'])} 在 "
        f"{escape(content['issuer']['name'])} 参加志愿服务，累计服务时长 "
        f"{duration_text(content['total_minutes'])}。",
        styles["body"],
    )


def _services_table(content: dict[str, Any], styles: dict[str, ParagraphStyle]) -> Table:
    def cell(text: str, style: str = "cell") -> Paragraph:
        return Paragraph(escape(text), styles[style])

    rows: list[list[Any]] = [
        [cell(h, "head") for h in ("序号", "日期", "服务项目", "类别", "服务时长", "备注")]
    ]
    for n, service in enumerate(content["services"], start=1):
        rows.append(
            [
                cell(str(n)),
                cell(service["date"]),
                cell(service["activity"]),
                cell(service["category"]),
                cell(duration_text(service["minutes"])),
                cell("补录" if service["backfill"] else ""),
            ]
        )
    rows.append(
        ["", "", cell("合计", "head"), "", cell(duration_text(content["total_minutes"])), ""]
    )
    fixed = [12 * mm, 24 * mm, 0, 30 * mm, 30 * mm, 14 * mm]
    widths = [w or CONTENT_WIDTH - sum(fixed) for w in fixed]  # the activity takes the rest
    return _table(
        rows,
        widths,
        [
            ("BACKGROUND", (0, 0), (-1, 0), SHADE),
            ("BACKGROUND", (0, -1), (-1, -1), SHADE),
            ("LINEABOVE", (0, 0), (-1, 0), 0.8, INK),
            ("LINEBELOW", (0, 0), (-1, 0), 0.5, INK),
            ("LINEBELOW", (0, 1), (-1, -2), 0.25, RULE),
            ("LINEABOVE", (0, -1), (-1, -1), 0.5, INK),
            ("LINEBELOW", (0, -1), (-1, -1), 0.8, INK),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ],
        repeatRows=1,
    )


def _verification(
    content: dict[str, Any], digest: str, styles: dict[str, ParagraphStyle]
) -> list[Flowable]:
    lines = "<br/>".join(digest[i : i + 32] for i in range(0, len(digest), 32))
    bundle = f"/v1/certificates/{content['certificate_id']}/bundle"
    return [
        Paragraph("内容摘要（SHA-256）：", styles["small"]),
        Paragraph(lines, styles["digest"]),
        Spacer(1, 2 * mm),
        Paragraph(
            "离线核验：取得本证明的核验包（"
            f"<font name='{MONO_FONT}'>{escape(bundle)}</font>），运行 "
            f"<font name='{MONO_FONT}'>timebank verify BUNDLE.json --key 核验公钥</font>"
            "，即可核对上述摘要、证明记录及其所依据的服务记录都在签名的日志之中。",
            styles["small"],
        ),
    ]


class _NumberedCanvas(Canvas):
    """Holds each page until the last is laid out, so every footer can say 共 m 页."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []
        self.certificate_number = ""

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        # reportlab's own recipe for "page n of m": begin the next page without writing
        # this one (the stubs leave out the private method it uses)
        self._startPage()  # type: ignore[attr-defined]

    def save(self) -> None:
        for number, page in enumerate(self._pages, start=1):
            self.__dict__.update(page)
            self.setFont(FONT, 8.5)
            self.setFillColor(RULE)
            self.drawString(MARGIN, 10 * mm, f"证明编号 {self.certificate_number}")
            self.drawRightString(
                PAGE_WIDTH - MARGIN, 10 * mm, f"第 {number} 页 / 共 {len(self._pages)} 页"
            )
            super().showPage()
        super().save()


def render_certificate_pdf(content: dict[str, Any], digest: str, check_url: str) -> bytes:
    """The certificate as PDF bytes; its QR code reads f"{check_url}#sha256={digest}"."""
    _register_fonts()
    styles = _styles()
    number = content["number"]
    name = content["volunteer"]["name"]
    running_head = f"志愿服务证明（续） {name if len(name) <= 40 else name[:39] + '…'}"

    qr_width = QR_SIZE + 8 * mm
    qr = _table(
        [
            [_QrCode(f"{check_url}#sha256={digest}", QR_SIZE)],
            [Paragraph("扫码核验 / scan to verify", styles["caption"])],
        ],
        [qr_width],
        [("ALIGN", (0, 0), (-1, -1), "CENTER"), ("LEFTPADDING", (0, 0), (-1, -1), 0)],
    )
    opening = _table(
        [[_statement(content, styles), qr]],
        [CONTENT_WIDTH - qr_width, qr_width],
        [
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (0, 0), 0),
            ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ],
    )

    story: list[Flowable] = [
        Paragraph("志愿服务证明", styles["title"]),
        Spacer(1, 6 * mm),
        opening,
        Spacer(1, 4 * mm),
        Paragraph("服务记录：", styles["label"]),
        _services_table(content, styles),
        Spacer(1, 4 * mm),
    ]
    if content.get("purpose"):
        story.append(Paragraph(f"用途：{escape(content['purpose'])}", styles["text"]))
    story += [
        Spacer(1, 8 * mm),
        KeepTogether(
            [
                Paragraph(f"出具单位（盖章）：{escape(content['issuer']['name'])}", styles["sign"]),
                Paragraph(f"出具日期：{_date_text(content['issued_on'])}", styles["sign"]),
                Paragraph(f"证明编号：{escape(number)}", styles["sign"]),
            ]
        ),
        Spacer(1, 8 * mm),
        KeepTogether(_verification(content, digest, styles)),
    ]

    def later_page(canvas: Canvas, _doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 8.5)
        canvas.setFillColor(RULE)
        canvas.drawString(MARGIN, PAGE_HEIGHT - 12 * mm, running_head)
        canvas.restoreState()

    def numbered_canvas(*args: Any, **kwargs: Any) -> _NumberedCanvas:
        canvas = _NumberedCanvas(*args, **kwargs)
        canvas.certificate_number = number
        return canvas

    out = BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=f"志愿服务证明 {number}",
        author=content["issuer"]["name"],
        subject=f"sha256={digest}",
        creator="timebank",
        initialFontName=FONT,  # else Helvetica is named in the file, unused and not embedded
        invariant=1,  # the same content gives the same bytes: no creation time, no random id
    )
    doc.build(story, onLaterPages=later_page, canvasmaker=numbered_canvas)
    return out.getvalue()
