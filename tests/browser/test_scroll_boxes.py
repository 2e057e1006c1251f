"""A table wider than a phone scrolls sideways in its own box (static/js/scroll-boxes.js): the
box that scrolls is a named region in the tab order, so that a keyboard scrolls it too; at
desktop width, where it fits, it is no tab stop."""

import pytest
from django.utils import timezone

from sharing import services as sharing_services
from tests import factories
from tests.browser_helpers import PHONE, sign_in
from tests.sharing.calls import record_calls


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_table_that_scrolls_on_a_phone_takes_the_keyboard_focus(live_server, page):
    from playwright.sync_api import expect

    provider = factories.make_user(
        "provider", organisation=factories.make_organisation(), username="provider"
    )
    version = factories.make_released(provider, factories.make_user("auditor"))
    consumer = factories.make_user("consumer", username="consumer")
    sharing_services.subscription_request(user=consumer, sam=version.sam, method="INFERENCE")
    record_calls(version, consumer, at=timezone.now(), latencies=[3, 4])
    sign_in(page, live_server.url, "consumer")
    days = page.locator(".table-scroll:has(#home-calls-days)")

    expect(days).not_to_have_attribute("tabindex", "0")  # it fits at 1280 px
    page.set_viewport_size(PHONE)
    expect(days).to_have_attribute("tabindex", "0")
    expect(days).to_have_attribute("role", "region")
    expect(days).to_have_attribute("aria-label", "Your reasoning calls per day, all models together (errors: calls not answered)")  # fmt: skip
    days.focus()
    page.keyboard.press("ArrowRight")
    assert days.evaluate("box => box.scrollLeft") > 0

    page.set_viewport_size({"width": 1280, "height": 900})
    expect(days).not_to_have_attribute("tabindex", "0")
    expect(days).not_to_have_attribute("role", "region")
