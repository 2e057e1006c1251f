"""The portal's training pages (issue 9, item 6): the request form, a request's page with its
progress bar and the JSON it polls, the report with its chart data, and cancel, suspend and
resume with a confirmation — for the requester, another member, and an outsider."""

import json
import re

import pytest

from tests.training.training import process_of, request_training, upload_dataset
from training import execution, services
from training.models import MLTrainingRequest, ProcessStatus, RequestStatus


@pytest.fixture
def dataset(provider, organisation, tmp_path):
    return upload_dataset(provider, organisation, tmp_path)


def signed_in(client, user):
    client.force_login(user)
    return client


def finished(request):
    services.training_request_start(request_id=request.pk)
    execution.training_queue_run()
    return process_of(request)


def test_the_form_starts_a_request_with_the_chosen_version_datasets_and_priority(
    client, provider, version, dataset
):
    client = signed_in(client, provider)
    form = client.get("/training/new/")
    assert form.status_code == 200
    assert f'<option value="{version.pk}"' in form.content.decode()
    answer = client.post(
        "/training/new/",
        {
            "ml_entity": version.pk,
            "candidate_training_data_source": [dataset.pk],
            "priority": 12,
            "performance_metric": "ACCURACY",
            "performance_score": 0.8,
        },
    )
    request = MLTrainingRequest.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"/training/requests/{request.pk}/"
    assert (request.ml_entity, request.priority, request.requested_by) == (version, 12, provider)
    assert list(request.candidate_training_data_sources.all()) == [dataset]
    assert request.performance_requirements[0]["performance_metric"] == "ACCURACY"


def test_the_form_shows_the_services_refusal_and_keeps_the_input(client, provider, version):
    client = signed_in(client, provider)
    answer = client.post(
        "/training/new/",
        {"ml_entity": version.pk, "priority": 3, "performance_metric": "MAE",
         "performance_score": 1},
    )  # fmt: skip
    page = answer.content.decode()
    assert answer.status_code == 400
    assert "SAM Hub measures ACCURACY, F1 for this model" in page
    assert 'name="priority" value="3"' in page
    assert MLTrainingRequest.objects.count() == 0


def test_a_consumer_without_retraining_subscription_is_offered_nothing(client, consumer, version):
    page = signed_in(client, consumer).get("/training/new/").content.decode()
    assert "There is no version you can train" in page


def test_the_request_page_shows_a_live_progress_bar_and_the_actions_allowed(
    client, provider, version, dataset
):
    request = request_training(provider, version, [dataset])
    services.training_request_start(request_id=request.pk)
    process = process_of(request)
    page = signed_in(client, provider).get(f"/training/requests/{request.pk}/").content.decode()

    assert f'data-progress-url="/training/processes/{process.pk}/progress/"' in page
    assert 'src="/static/js/training-progress.js"' in page
    assert "<script>" not in page  # the Content-Security-Policy allows no inline script
    for action in ("suspend", "cancel"):
        assert f'action="/training/requests/{request.pk}/{action}/"' in page
        assert f'action="/training/processes/{process.pk}/{action}/"' in page
    assert re.search(r'data-confirm="Cancel this training\?', page)
    assert f"/training/requests/{request.pk}/resume/" not in page


def test_the_progress_json_follows_the_process_to_its_report(client, provider, version, dataset):
    request = request_training(provider, version, [dataset])
    services.training_request_start(request_id=request.pk)
    process = process_of(request)
    client = signed_in(client, provider)
    url = f"/training/processes/{process.pk}/progress/"

    queued = client.get(url).json()
    execution.training_queue_run()
    done = client.get(url)

    assert queued["status"] == ProcessStatus.NOT_STARTED and queued["ended"] is False
    assert queued["progress_percentage"] == 0 and queued["report_url"] == ""
    assert done["Cache-Control"] == "no-store"
    body = done.json()
    assert body["status"] == ProcessStatus.FINISHED and body["ended"] is True
    assert body["progress_percentage"] == 100
    assert body["progress_state_info"] == "TRAINING"
    assert body["request_status"] == RequestStatus.FINISHED
    assert body["report_url"] == f"/training/reports/{process_of(request).report.pk}/"


def test_others_cannot_see_the_progress_nor_the_pages(
    client, provider, other_provider, version, dataset
):
    process = finished(request_training(provider, version, [dataset]))
    client = signed_in(client, other_provider)
    assert client.get(f"/training/processes/{process.pk}/progress/").status_code == 404
    assert client.get(f"/training/requests/{process.training_request_id}/").status_code == 404
    assert client.get(f"/training/reports/{process.report.pk}/").status_code == 404


def test_the_report_page_compares_the_new_version_with_its_parent(
    client, provider, version, dataset
):
    process = finished(request_training(provider, version, [dataset]))
    report = process.report
    page = signed_in(client, provider).get(f"/training/reports/{report.pk}/").content.decode()
    data = json.loads(
        re.search(
            r'<script id="report-chart-data" type="application/json">(.*?)</script>', page
        ).group(1)
    )
    validation = {
        p["performance_metric"]: p["performance_score"] for p in report.model_performance_validation
    }
    parent = {p.performance_metric: p.performance_score for p in version.performance.all()}

    assert 'src="/static/vendor/chartjs/chart.umd.min.js"' in page
    assert '<canvas id="report-chart"' in page
    assert data["labels"] == list(validation)
    assert data["new"] == [validation[m] for m in data["labels"]]
    assert data["parent"] == [parent.get(m) for m in data["labels"]]
    assert data["parent_label"] == f"{version.version} (parent)"
    assert data["new_label"] == f"{report.trained_version.version} (new)"


def test_suspend_resume_and_cancel_from_the_portal(client, provider, version, dataset):
    request = request_training(provider, version, [dataset])
    services.training_request_start(request_id=request.pk)
    client = signed_in(client, provider)
    base = f"/training/requests/{request.pk}"

    assert client.post(f"{base}/suspend/")["Location"] == f"{base}/"
    assert MLTrainingRequest.objects.get(pk=request.pk).status == RequestStatus.SUSPENDED
    client.post(f"{base}/resume/")
    assert MLTrainingRequest.objects.get(pk=request.pk).status == RequestStatus.TRAINING_IN_PROGRESS
    client.post(f"/training/processes/{process_of(request).pk}/cancel/")
    assert process_of(request).status == ProcessStatus.CANCELLED
    assert MLTrainingRequest.objects.get(pk=request.pk).status == RequestStatus.CANCELLED
    # Nothing left to cancel: the refusal is shown, nothing changes.
    refused = client.post(f"{base}/cancel/", follow=True).content.decode()
    assert "was not cancelled" in refused and "CANCELLED" in refused


def test_an_outsider_cannot_act_on_a_request(client, provider, other_provider, version, dataset):
    request = request_training(provider, version, [dataset])
    answer = signed_in(client, other_provider).post(f"/training/requests/{request.pk}/cancel/")
    assert answer.status_code == 404
    assert MLTrainingRequest.objects.get(pk=request.pk).status == RequestStatus.NOT_STARTED


def test_the_training_link_is_in_the_navigation(client, provider, consumer):
    assert 'href="/training/"' in signed_in(client, provider).get("/").content.decode()


def test_a_request_no_worker_has_started_shows_a_queued_bar_that_follows_it(
    client, provider, version, dataset
):
    request = request_training(provider, version, [dataset])
    client = signed_in(client, provider)
    page = client.get(f"/training/requests/{request.pk}/").content.decode()
    url = f"/training/requests/{request.pk}/progress/"
    queued = client.get(url).json()
    services.training_request_start(request_id=request.pk)
    started = client.get(url).json()

    assert f'data-progress-url="{url}"' in page
    assert queued["id"] is None and queued["status"] == "NOT_STARTED" and not queued["ended"]
    assert started["id"] == process_of(request).pk and started["request_status"] == (
        RequestStatus.TRAINING_IN_PROGRESS
    )
