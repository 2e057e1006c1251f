"""A consumer in a real browser: find a released model, subscribe for reasoning calls, and use
the subscription: try a call and read the answer."""

import pytest

from sharing.models import InferenceRecord
from tests import factories
from tests.browser_helpers import expect_message, sign_in


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_consumer_subscribes_and_tries_a_call(live_server, page):
    from playwright.sync_api import expect

    organisation = factories.make_organisation("North Operator")
    provider = factories.make_user("provider", organisation=organisation, username="provider")
    auditor = factories.make_user("auditor", username="auditor")
    version = factories.make_version_in(
        "RELEASED", provider=provider, auditor=auditor, kind="skops"
    )
    consumer = factories.make_user("consumer", username="consumer")
    base = live_server.url

    sign_in(page, base, "consumer")
    page.click("nav >> text=Catalog")
    page.click(f"text={version.sam.name}")
    page.select_option("#id_method", "INFERENCE")
    page.fill("#id_purpose", "Anomaly alarms for the north region")
    page.click("#subscribe")
    expect_message(page, f"You are subscribed to {version.sam.name}")

    page.click("text=Use it")
    expect(page.locator("#curl-example")).to_contain_text(f"/api/v1/versions/{version.pk}/infer/")
    page.fill("#id_inputs", '{"input": [[9, 2, 80.5, 61.2, 250, 0.3], [0, 0, 0, 0, 0, 0]]}')
    page.click("#try")

    expect(page.locator("#answer-table tbody tr")).to_have_count(2)
    record = InferenceRecord.objects.get()
    assert (record.caller, record.count) == (consumer, 2)
    expect(page.locator("#inference-id")).to_have_text(str(record.pk))
    labels = page.locator("#answer-table tbody tr td:nth-child(2)").all_inner_texts()
    assert labels == [str(label) for label in record.outputs["label"]]
