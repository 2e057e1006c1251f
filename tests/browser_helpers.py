"""Steps of a person in the browser, for tests that use the `page` fixture (tests/conftest.py)."""

import re

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
