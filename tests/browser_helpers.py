"""Steps of a person in the browser, for tests that use the `page` fixture (tests/conftest.py)."""

import os
import re
import time
from pathlib import Path

from tests.factories import PASSWORD


def sign_in(page, base_url: str, username: str) -> None:
    page.goto(base_url + "/")
    assert "/login/" in page.url
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url(base_url + "/")
    assert page.inner_text("#nav-username") == username


def sign_out(page) -> None:
    page.click("#sign-out")
    page.wait_for_url(re.compile(r"/login/$"))


def expect_message(page, text: str) -> None:
    page.locator(".messages .message", has_text=text).wait_for()


PHONE = {"width": 390, "height": 844}


def fits_a_phone(page) -> None:
    """At a phone's width the page scrolls only down: wide tables scroll in their own box, and
    the charts shrink (Chart.js redraws on resize, hence the wait)."""
    page.set_viewport_size(PHONE)
    # Polled from here: wait_for_function evaluates its predicate with eval, which the page's
    # Content-Security-Policy forbids.
    deadline = time.monotonic() + 5
    while (width := page.evaluate("document.documentElement.scrollWidth")) > PHONE["width"]:
        assert time.monotonic() < deadline, f"{width} px of content at {PHONE['width']} px"
        page.wait_for_timeout(50)
    page.set_viewport_size({"width": 1280, "height": 900})


def charts_drawn(page, *ids: str) -> None:
    """Each canvas was drawn by its chart script (which marks it data-rendered)."""
    from playwright.sync_api import expect

    for chart in ids:
        expect(page.locator(f"#{chart}")).to_have_attribute("data-rendered", "true")


# --- main pages: accessibility audit and screenshots for the docs -------------------------

# The impacts of axe-core's violations that fail a test; "minor" and "moderate" ones do not.
BLOCKING_IMPACTS = ("serious", "critical")
DESKTOP = {"width": 1280, "height": 800}


def accessibility_violations(page) -> list[dict]:
    """The serious and critical violations axe-core finds on the page as it is now. axe-core
    comes with its PyPI package (axe-playwright-python), evaluated in the page by Playwright,
    so the page's Content-Security-Policy stays as it is served."""
    from axe_playwright_python.sync_playwright import Axe

    # No preload: axe would fetch the stylesheets' @imports again, resolved against the page's
    # address instead of the stylesheet's (404s); no rule run here needs them.
    results = Axe().run(page, options={"resultTypes": ["violations"], "preload": False})
    return [v for v in results.response["violations"] if v["impact"] in BLOCKING_IMPACTS]


def assert_accessible(page, name: str) -> None:
    violations = accessibility_violations(page)
    found = "\n".join(
        f"  {v['id']} ({v['impact']}): {v['help']}\n"
        + "\n".join(
            f"    {' '.join(node['target'])}: "
            + "; ".join(check["message"] for check in node["any"] + node["all"])
            for node in v["nodes"]
        )
        for v in violations
    )
    assert not violations, f"axe-core on {name} ({page.url}):\n{found}"


def docs_screenshot(page, name: str) -> None:
    """When SAMHUB_DOCS_SCREENSHOTS names a folder (docs/screenshots for the README), save the
    top of the page, as much as the viewport holds, as <name>.png."""
    folder = os.environ.get("SAMHUB_DOCS_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")  # the page's top, whatever the journey clicked
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def main_page(page, name: str) -> None:
    """A main page of the portal: audited for accessibility at desktop and phone width (where
    wide tables scroll in their own box), and shot for the docs."""
    viewport = page.viewport_size
    for width, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.wait_for_timeout(300)  # charts redraw after a resize
        assert_accessible(page, f"{name} at {width} width")
        docs_screenshot(page, f"{name}-{width}")
    page.set_viewport_size(viewport)
