"""Bar charts drawn on the server as SVG (pygal), to be set inline in a page: no script, no
request to anywhere, text in the page's language. The table beside a chart says the same in
words; the chart is one image to a screen reader, named by its label."""

import xml.etree.ElementTree as ET
from collections.abc import Sequence

import pygal
from markupsafe import Markup
from pygal.style import Style

SVG = "http://www.w3.org/2000/svg"
ET.register_namespace("", SVG)
MAX_BARS = 20  # more would be too thin to read; the table has them all
FONTS = '"Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", sans-serif'
STYLE = Style(
    font_family=FONTS,
    background="transparent",
    plot_background="#ffffff",
    colors=("#1f5f8b",),
    title_font_size=26,
    label_font_size=22,
    major_label_font_size=22,
    value_font_size=22,
    tooltip_font_size=22,
)
# Whatever a chart may hold that could act (scripts, foreign HTML, links; handlers go too),
# and pygal's tooltips (<title>), which the table beside the chart says in words.
DROPPED_TAGS = {"script", "foreignObject", "a", "iframe", "object", "embed", "title"}


def hours(minutes: int) -> float:
    """Minutes as hours with one decimal, as the charts show them."""
    return round(minutes / 60, 1)


def bar_chart(title: str, axis_title: str, bars: Sequence[tuple[str, int]]) -> Markup:
    """Horizontal bars of (label, minutes), drawn in hours with one decimal, the first on top:
    an inline <svg role="img"> named by `title`."""
    shown = list(bars[:MAX_BARS])
    chart = pygal.HorizontalBar(
        style=STYLE,
        js=[],  # else the SVG loads pygal's script from the internet
        disable_xml_declaration=True,
        show_legend=False,
        print_values=True,
        value_formatter=lambda v: f"{v:.1f}",
        title=title,
        x_title=axis_title,
        width=800,
        height=140 + 56 * max(len(shown), 1),
        truncate_label=-1,
        margin=16,
        no_data_text="—",
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
