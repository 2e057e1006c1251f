"""Quality of the portal in a real browser (issue 12): at a phone's width (390 px) the model
page, the catalog and the home scroll only down; a destructive action asks first, and only an
accepted question does it; the keyboard reaches the skip link first, which moves the focus to
the page's content."""

import pytest
from django.urls import reverse

from sharing import services as sharing_services
from sharing.models import SubscriptionStatus
from tests import factories
from tests.browser_helpers import PHONE, expect_message, fits_a_phone, sign_in


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_model_page_catalog_and_home_fit_a_phone(live_server, page):
    from playwright.sync_api import expect

    organisation = factories.make_organisation("North Operator")
    provider = factories.make_user("provider", organisation=organisation, username="provider")
    auditor = factories.make_user("auditor", username="auditor")
    released = factories.make_version_in(
        "RELEASED", provider=provider, auditor=auditor, kind="skops"
    )
    # A rejected version beside it: the audit's review and its findings table on the page too.
    factories.make_version_in(
        "REJECTED", provider=provider, auditor=auditor, sam=released.sam, version="1.1.0"
    )
    base = live_server.url

    sign_in(page, base, "provider")
    fits_a_phone(page)
    page.goto(base + reverse("registry:model-detail", args=[released.sam.slug]))
    expect(page.locator(f"#history-{released.pk}")).to_be_visible()
    expect(page.locator("table.findings")).to_be_visible()
    fits_a_phone(page)
    page.goto(base + reverse("registry:catalog"))
    expect(page.locator(f"#catalog-v-{released.pk}")).to_be_visible()
    fits_a_phone(page)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_cancelling_a_subscription_asks_first_and_only_an_accepted_question_cancels(
    live_server, page
):
    from playwright.sync_api import expect

    organisation = factories.make_organisation("North Operator")
    provider = factories.make_user("provider", organisation=organisation, username="provider")
    auditor = factories.make_user("auditor", username="auditor")
    version = factories.make_released(provider, auditor, name="Cell load forecaster")
    consumer = factories.make_user("consumer", username="consumer")
    subscription = sharing_services.subscription_request(
        user=consumer, sam=version.sam, method="INFERENCE"
    )
    base = live_server.url
    asked = []

    def answer(accept: bool):
        def handle(dialog):
            asked.append((dialog.type, dialog.message))
            if accept:
                dialog.accept()
            else:
                dialog.dismiss()

        return handle

    sign_in(page, base, "consumer")
    page.set_viewport_size(PHONE)
    page.goto(base + reverse("sharing:my-subscriptions"))
    page.once("dialog", answer(accept=False))
    page.click(f"#action-cancel-{subscription.pk}")
    expect(page.locator(f"#status-{subscription.pk}")).to_have_text("Active")
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE

    page.once("dialog", answer(accept=True))
    page.click(f"#action-cancel-{subscription.pk}")
    expect_message(page, "is cancelled")

    question = "Cancel your INFERENCE subscription to Cell load forecaster?"
    assert [(kind, message.split(" It ")[0]) for kind, message in asked] == [
        ("confirm", question),
        ("confirm", question),
    ]
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.CANCELLED
    expect(page.locator(f"#status-{subscription.pk}")).to_have_text("Cancelled by the consumer")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_tab_reaches_the_skip_link_first_and_enter_moves_focus_to_the_content(live_server, page):
    from playwright.sync_api import expect

    factories.make_user("consumer", username="consumer")
    base = live_server.url

    sign_in(page, base, "consumer")
    page.keyboard.press("Tab")
    skip = page.locator("a.skip")
    expect(skip).to_be_focused()
    expect(skip).to_have_text("Skip to content")
    box = skip.bounding_box()
    assert box["x"] >= 0 and box["y"] >= 0  # shown on screen while it has the focus
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    page.keyboard.press("Tab")  # on from the content: past the top bar's links
    assert page.evaluate("document.querySelector('main').contains(document.activeElement)")
