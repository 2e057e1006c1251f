"""A real browser for end-to-end tests: Debian chromium driven by Playwright. Where it is
missing the tests skip, saying why; CI sets SAMHUB_REQUIRE_BROWSER=1 and fails instead."""

import os
import re
from pathlib import Path

import pytest
from django.db import connections

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
# synchronous and safe here, so let Django allow them.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_MISSING = "Debian chromium is not installed (apt-get install chromium)"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "pw-for-tests-123"


@pytest.fixture
def page():
    if not Path(CHROMIUM).exists():
        if os.environ.get("SAMHUB_REQUIRE_BROWSER") == "1":
            pytest.fail(CHROMIUM_MISSING)
        pytest.skip(CHROMIUM_MISSING)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(30_000)
        yield context.new_page()
        # While Playwright's loop runs, Django keeps the test's database connection per
        # context; close it here, or PostgreSQL refuses to drop the test database at the end.
        connections.close_all()
        browser.close()


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
