"""Browser tests' helpers: Debian's chromium driven by Playwright (never `playwright
install`), axe-core injected into a page, and screenshots at a phone's and a desk's width."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
WIDTHS = (360, 1280)
REFUSED_IMPACTS = {"serious", "critical"}
# The visible links, buttons and fields smaller than 44 px high (for elders' fingers).
SMALL_TARGETS = """[...document.querySelectorAll('a, button, input:not([type=hidden])')]
  .filter(e => e.offsetParent !== null)
  .map(e => [e.outerHTML.slice(0, 60), e.getBoundingClientRect().height])
  .filter(([_, h]) => h < 44)"""


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """TIMEBANK_SCREENSHOTS, or a directory under pytest's own; said on the output."""
    kept = os.environ.get("TIMEBANK_SCREENSHOTS")
    directory = Path(kept) if kept else tmp_path_factory.mktemp("screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    print(f"screenshots: {directory}")
    return directory


def accessible(page: Page) -> None:
    """Fails on axe-core's serious and critical violations of the page as it stands."""
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    found = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in result["violations"]
        if v["impact"] in REFUSED_IMPACTS
    ]
    assert not found, "\n".join(found)


def shots(page: Page, directory: Path, name: str) -> None:
    """The page at each width (full length), checked by axe at each."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        accessible(page)
        small = page.evaluate(SMALL_TARGETS)
        assert not small, f"{name}: tap targets under 44 px at {width} px: {small}"
        text_px = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
        assert text_px >= 18, f"{name}: base text {text_px} px"
        fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert fits, f"{name} scrolls sideways at {width} px"
        page.screenshot(path=str(directory / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": WIDTHS[-1], "height": 800})


def sign_in(page: Page, base_url: str, token: str, lands: str) -> None:
    """Signs in with a token on the sign-in page, and waits for the role's page `lands`."""
    page.goto(f"{base_url}/app/sign-in")
    page.fill("#token", token)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base_url}{lands}")
