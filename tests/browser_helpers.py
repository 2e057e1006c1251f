"""Steps of a person in the browser, for tests that use the `page` fixture (tests/conftest.py)."""

import re
import time

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
