"""What a failing browser test leaves behind (tests/conftest.py, `page` fixture): a screenshot
of the page and its HTML side by side, both paths printed, in SAMHUB_BROWSER_SCREENSHOTS."""

import pytest

from tests.conftest import _screenshot


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_failed_page_is_kept_as_a_screenshot_and_its_html(
    live_server, page, tmp_path, monkeypatch, capsys
):
    folder = tmp_path / "evidence"
    monkeypatch.setenv("SAMHUB_BROWSER_SCREENSHOTS", str(folder))
    page.goto(live_server.url + "/login/")

    picture, html = _screenshot(page, "test_x[a case/with: odd chars]", tmp_path)

    assert picture == folder / "test_x-a-case-with-odd-chars-.png"
    assert html == folder / "test_x-a-case-with-odd-chars-.html"
    assert picture.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    saved = html.read_text(encoding="utf-8")
    assert 'id="id_username"' in saved and 'id="sign-in"' in saved
    printed = capsys.readouterr().out
    assert f"Screenshot of the failed test's page: {picture}" in printed
    assert f"HTML of the failed test's page: {html}" in printed
