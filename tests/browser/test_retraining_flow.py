"""Retraining-sharing in a real browser, on a real Celery worker (issue 9, items 5 and 6): a
consumer subscribes to a released model by Re-training sharing, uploads a dataset from the
subscription's use page, starts a retraining, and watches its progress bar reach 100 %
without the page reloading; an auditor then finds the new version in the audit queue."""

import re

import pytest

from registry.models import VersionStatus
from tests import factories
from tests.browser_helpers import expect_message, sign_in, sign_out
from tests.processes import celery_worker_start, celery_worker_stop
from tests.training.datasets import anomaly_kpis
from training.models import Dataset, MLTrainingRequest


@pytest.fixture
def worker(in_shared_warehouse, django_db_setup, tmp_path):
    """A prefork worker on the test's database, broker and (shared) warehouse; the live
    server runs in this process, so it uses the same warehouse folder."""
    log = tmp_path / "worker.log"
    process = celery_worker_start(
        log, concurrency=1, env={"SAMHUB_TRAINING_HEARTBEAT_SECONDS": "1"}
    )
    yield log
    celery_worker_stop(process)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_consumer_retrains_a_shared_model_and_an_auditor_finds_the_new_version(
    worker, live_server, page, tmp_path
):
    from playwright.sync_api import expect

    north = factories.make_organisation("North Operator")
    provider = factories.make_user("provider", organisation=north, username="provider")
    factories.make_user("auditor", username="auditor")
    version = factories.make_version_in(
        "RELEASED", provider=provider, auditor=factories.make_user("auditor"), kind="skops"
    )
    east = factories.make_organisation("East Consumer Ltd")
    factories.make_user("consumer", organisation=east, username="consumer")
    data = tmp_path / "east-kpis.csv"
    anomaly_kpis(rows=400, seed=11).to_csv(data, index=False)
    base = live_server.url

    # Subscribe by Re-training sharing and open the subscription's use page.
    sign_in(page, base, "consumer")
    page.click("nav >> text=Catalog")
    page.click(f"text={version.sam.name}")
    page.select_option("#id_method", "RETRAINING")
    page.fill("#id_purpose", "Retrain the anomaly detector on east-region KPIs")
    page.click("#subscribe")
    expect_message(page, f"You are subscribed to {version.sam.name}")
    page.click("text=Use it")
    expect(page.locator("#retraining")).to_contain_text(f"Retrain {version.sam.name}")
    expect(page.locator("#no-datasets")).to_be_visible()

    # Upload a dataset from that page; it comes back to it.
    page.fill("#id_name", "East KPIs")
    page.fill("#id_target_column", "anomaly")
    page.set_input_files("#id_file", str(data))
    page.click("#upload")
    expect_message(page, "East KPIs is stored: 400 rows")
    assert re.search(r"/subscriptions/\d+/use/$", page.url)

    # Start the retraining on it.
    dataset = Dataset.objects.get(name="East KPIs")
    page.check(f"#retrain-form input[name=candidate_training_data_source][value='{dataset.pk}']")
    page.fill("#id_priority", "5")
    page.click("#start-retraining")
    expect_message(page, "is queued")
    request = MLTrainingRequest.objects.get()
    assert request.subscription.method == "RETRAINING" and request.priority == 5

    # The bar follows the process to 100 % without the page reloading.
    page.evaluate("window.samhubNotReloaded = true")
    box = page.locator(".process-progress").first
    expect(box.locator("[data-field=progress_percentage]")).to_have_text("100", timeout=120_000)
    expect(box).to_have_attribute("data-status", "FINISHED")
    assert box.locator("progress").evaluate("bar => bar.value") == 100
    expect(page.locator("#request-status")).to_have_text("Finished")
    expect(box.locator(".report-link a")).to_be_visible()
    assert page.evaluate("window.samhubNotReloaded") is True
    assert box.locator("[data-while-open]").count() == 0  # nothing left to cancel

    # The report compares the new version with its parent in a chart.
    box.locator(".report-link a").click()
    expect(page.locator("#report-chart")).to_have_attribute("data-rendered", "true")
    trained = request.processes.get().trained_version
    assert trained.status == VersionStatus.SUBMITTED and trained.parent == version
    expect(page.locator("#trained-version")).to_have_text(trained.version)
    sign_out(page)

    # An auditor sees it in the queue.
    sign_in(page, base, "auditor")
    page.goto(base + "/audit/")
    row = page.locator("#audit-queue tbody tr", has=page.locator(f"#audit-{trained.pk}"))
    expect(row).to_contain_text(trained.version)
    expect(row).to_contain_text("consumer")  # submitted by the consumer who retrained it
