"""AIMLE model selection in a real browser, on a real Celery worker (issue 11, item 5): a
provider fills in the model selection form, watches the ranking table and the chart of the
candidates' scores fill in without the page reloading, and takes the winner into the audit
flow, where it is a SUBMITTED version whose parent is the winning candidate."""

import re

import pytest

from registry.models import ModelVersion, VersionStatus
from tests import factories
from tests.aimle.conftest import aimle_clients, kpi_frame, three_estimators
from tests.aimle.selection import released_estimator
from tests.browser_helpers import expect_message, sign_in
from tests.processes import celery_worker_start, celery_worker_stop
from tests.training.training import upload_dataset
from training.models import ModelSelection


@pytest.fixture
def worker(in_shared_warehouse, django_db_setup, tmp_path):
    """Two worker processes on the test's database, broker and (shared) warehouse; the live
    server runs in this process, so it uses the same warehouse folder."""
    log = tmp_path / "worker.log"
    process = celery_worker_start(log, concurrency=2)
    yield log
    celery_worker_stop(process)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_provider_selects_a_model_and_takes_the_winner_to_the_audit(
    worker, live_server, page, tmp_path
):
    from playwright.sync_api import expect

    north = factories.make_organisation("North Operator")
    provider = factories.make_user("provider", organisation=north, username="provider")
    auditor = factories.make_user("auditor", username="auditor")
    aimle_clients(factories.make_user("operator", username="operator", is_staff=True), north)
    candidates = [
        released_estimator(provider, auditor, e, name=f"Anomaly {type(e).__name__}")
        for e in three_estimators()
    ]
    dataset = upload_dataset(provider, north, tmp_path, kpi_frame(), name="KPIs 300")
    base = live_server.url

    sign_in(page, base, "provider")
    page.click("nav >> text=Model selection")
    page.click("#new-selection")
    for version in candidates:
        page.check(f"input[name=candidates][value='{version.pk}']")
    page.check(f"input[name=datasets][value='{dataset.pk}']")
    page.fill("#id_rounds", "3")
    page.fill("#id_client_set_ids", "set-north")
    page.click("#start-selection")
    expect_message(page, "Model selection queued: 3 candidates")
    selection = ModelSelection.objects.get()
    assert page.url.endswith(f"/model-selection/{selection.pk}/")

    # The table and the chart fill in as the worker ranks the candidates; no reload.
    page.evaluate("window.samhubNotReloaded = true")
    expect(page.locator("[data-status-badge]")).to_have_text("Finished", timeout=120_000)
    rows = page.locator("#ranking tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.locator("td:first-child")).to_have_text(["1", "2", "3"])
    expect(page.locator("#selection-chart")).to_have_attribute("data-bars", "3")
    assert page.locator("#selection-progress").evaluate("bar => bar.value") == 100
    assert page.evaluate("window.samhubNotReloaded") is True
    winner = selection.candidates.get(rank=1)
    expect(rows.first).to_contain_text(f"{winner.version.sam.name} {winner.version.version}")

    # The winner goes to the audit as a new version of its model.
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#take-winner")
    expect_message(page, "submitted for audit")
    version = ModelVersion.objects.get(parent=winner.version)
    assert version.status == VersionStatus.SUBMITTED
    assert re.search(rf"#v-{version.pk}$", page.url)
