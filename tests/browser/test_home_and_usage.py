"""The home and a version's usage page in a real browser: a provider and a consumer land on
their home, follow it to the usage page, whose charts Chart.js draws (the CSP allows them),
and neither page is wider than a phone's screen."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sharing import services as sharing_services
from tests import factories
from tests.browser_helpers import charts_drawn, fits_a_phone, sign_in, sign_out
from tests.monitoring.conftest import infer_with_truth
from tests.sharing.calls import record_calls


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_provider_and_consumer_follow_their_home_to_the_usage_charts(live_server, page):
    from playwright.sync_api import expect

    organisation = factories.make_organisation("North Operator")
    provider = factories.make_user("provider", organisation=organisation, username="provider")
    auditor = factories.make_user("auditor", username="auditor")
    version = factories.make_version_in(
        "RELEASED", provider=provider, auditor=auditor, kind="skops"
    )
    consumer = factories.make_user("consumer", username="consumer")
    sharing_services.subscription_request(user=consumer, sam=version.sam, method="INFERENCE")
    infer_with_truth(version, consumer, right=3, wrong=1)
    record_calls(version, consumer, at=timezone.now() - timedelta(hours=3), latencies=[4, 9])
    base = live_server.url

    sign_in(page, base, "provider")
    expect(page.locator("#home-provider h2")).to_have_text("Your models")
    expect(page.locator(f"#week-{version.pk}")).to_have_text("6")
    fits_a_phone(page)
    page.click(f"#home-usage-{version.pk} a")
    expect(page.locator("#total-calls")).to_have_text("6")
    charts_drawn(page, "calls-chart", "latency-chart", "accuracy-chart")
    fits_a_phone(page)
    sign_out(page)

    sign_in(page, base, "consumer")
    expect(page.locator("#home-consumer h2")).to_have_text("Your subscriptions and calls")
    page.click(f"#my-calls-{version.pk} a")
    expect(page.locator("#whose-calls")).to_contain_text("Your own reasoning calls")
    page.click("#by-day")
    charts_drawn(page, "calls-chart", "latency-chart", "accuracy-chart")
    fits_a_phone(page)
