"""Bar charts drawn on the server as SVG (pygal), to be set inline in a page: no script, no
request to anywhere, text in the page's language. The table beside a chart says the same in
words; the chart is one image to a screen reader, named by its label."""

import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Sequence

import pygal
from markupsafe import Markup
from pygal.style import Style

SVG = "http://www.w3.org/2000/svg"
ET.register_namespace("", SVG)
MAX_BARS = 20  # more would be too thin to read; the table has them all
LABEL_PX = 22
LABEL_EMS = 10  # a longer label is cut
PLOT_PX = 320  # the bars' room beside the labels
FONTS = '"Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", sans-serif'
STYLE = Style(
    font_family=FONTS,
    background="transparent",
    plot_background="#ffffff",
    colors=("#1f5f8b",),
    title_font_size=26,
    label_font_size=LABEL_PX,
    major_label_font_size=LABEL_PX,
    value_font_size=LABEL_PX,
    tooltip_font_size=LABEL_PX,
)
# Whatever a chart may hold that could act (scripts, foreign HTML, links; handlers go too),
# and pygal's tooltips (<title>), which the table beside the chart says in words.
DROPPED_TAGS = {"script", "foreignObject", "a", "iframe", "object", "embed", "title"}


def hours(minutes: int) -> float:
    """Minutes as hours with one decimal, as the charts show them."""
    return round(minutes / 60, 1)


def _ems(text: str) -> float:
    """The text's width in ems: a Chinese character is one, a Latin letter or digit about 0.6."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.6 for c in text)


def _wide(label: str) -> int:
    """How many of the label's characters are wide (Chinese): pygal sizes labels as if every
    character were narrow, and would cut the start of a Chinese name off."""
    return sum(unicodedata.east_asian_width(c) in "WF" for c in label)


def _short(label: str) -> str:
    """The label cut to LABEL_EMS, so that a long name leaves room for its bar (the table
    beside the chart has it whole)."""
    for end in range(len(label)):
        if _ems(label[: end + 1]) > LABEL_EMS:
            return label[:end] + "…"
    return label


def bar_chart(title: str, axis_title: str, bars: Sequence[tuple[str, int]]) -> Markup | None:
    """Horizontal bars of (label, minutes), drawn in hours with one decimal, the first on top:
    an inline <svg role="img"> named by `title`; None without any time to draw. Bars of no time
    are left to the table."""
    shown = [(_short(label), minutes) for label, minutes in bars if minutes > 0][:MAX_BARS]
    if not shown:
        return None
    labels_px = int(LABEL_PX * max(_ems(label) for label, _ in shown))
    chart = pygal.HorizontalBar(
        style=STYLE,
        js=[],  # else the SVG loads pygal's script from the internet
        disable_xml_declaration=True,
        show_legend=False,
        print_values=True,
        value_formatter=lambda v: f"{v:.1f}",
        title=title,
        x_title=axis_title,
        # Narrow, so that its text stays legible on a phone; the labels' width added.
        width=PLOT_PX + labels_px,
        height=140 + 56 * len(shown),
        truncate_label=-1,
        margin=16,
        margin_left=16 + LABEL_PX * max(_wide(label) for label, _ in shown) // 2,
        max_scale=6,
    )
    # pygal draws the first label at the bottom: reversed, the largest is on top.
    chart.x_labels = [label for label, _ in reversed(shown)]
    chart.add(axis_title, [hours(minutes) for _, minutes in reversed(shown)])
    return inline(chart.render(is_unicode=True), title)


def inline(svg: str, label: str) -> Markup:
    """The chart's SVG as markup to set in a page: parsed and written again (so that nothing
    in it can end the <svg> early or open a tag of its own), without anything that could act,
    and named for assistive technology."""
    root = ET.fromstring(svg)
    _disarm(root)
    root.set("role", "img")
    root.set("aria-label", label)
    root.set("class", f"{root.get('class', '')} chart".strip())
    return Markup(ET.tostring(root, encoding="unicode"))


def _disarm(element: ET.Element) -> None:
    for child in list(element):
        if child.tag.rsplit("}", 1)[-1] in DROPPED_TAGS:
            element.remove(child)
        else:
            _disarm(child)
    for name in list(element.attrib):
        if name.lower().startswith("on") or name.rsplit("}", 1)[-1] == "href":
            del element.attrib[name]
