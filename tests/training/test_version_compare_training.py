"""Training's part of the page comparing versions (issue 12, scope 3; registry.extensions):
the report and the datasets of a version SAM Hub trained, for those who may see them."""

import re

import pytest
from django.urls import reverse

from registry import services as registry_services
from tests.training.training import process_of, request_training, upload_dataset
from training import execution, services


@pytest.fixture
def trained(provider, organisation, version, tmp_path):
    """The released skops version and the version a training on the provider's dataset made
    from it (SUBMITTED)."""
    dataset = upload_dataset(provider, organisation, tmp_path, name="North KPIs")
    request = request_training(provider, version, [dataset])
    services.training_request_start(request_id=request.pk)
    execution.training_queue_run()
    return process_of(request).report


def compare(client, user, report) -> str:
    client.force_login(user)
    parent, child = report.ml_entity, report.trained_version
    url = reverse("registry:version-compare", args=[parent.sam.slug])
    answer = client.get(f"{url}?v={parent.pk}&v={child.pk}")
    assert answer.status_code == 200
    return answer.content.decode()


def section(page: str) -> str | None:
    found = re.search(r'<section class="card"[^>]*id="compare-training">.*?</section>', page, re.S)
    return found.group(0) if found else None


def test_the_comparison_shows_the_training_report_and_its_datasets(
    client, provider, auditor, trained
):
    dataset = trained.used_consumer_training_data.get()
    child = trained.trained_version

    for user in (provider, auditor):
        shown = section(compare(client, user, trained))

        assert f'href="/training/reports/{trained.pk}/" id="compare-report-{child.pk}"' in shown
        assert f'<a href="/datasets/{dataset.pk}/">North KPIs</a>' in shown
        assert f"{dataset.row_count} rows" in shown
        # The parent was registered by its provider, not trained by SAM Hub.
        assert "not trained by SAM Hub" in shown
        assert '<tr><th scope="row">Confidence</th><td>—</td>' in shown


def test_a_consumer_sees_the_versions_but_not_a_training_that_is_not_theirs(
    client, provider, auditor, consumer, trained
):
    child = trained.trained_version
    registry_services.version_approve(version_id=child.pk, user=auditor)
    registry_services.version_register(version_id=child.pk, user=provider, access_type="MODEL_FILE")
    registry_services.version_release(version_id=child.pk, user=provider)

    page = compare(client, consumer, trained)

    assert section(page) is None
    assert "North KPIs" not in page and "/training/reports/" not in page
