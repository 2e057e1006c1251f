"""Training requests run by a real Celery worker (prefork, on the test's broker and database,
not eager): the three steps to a submitted version, cancel and suspend in the middle of
TRAINING, priority with one worker, and a worker killed mid-training (issue 9, item 3)."""

import signal
from pathlib import Path

import psutil
import pytest

from registry.models import ModelVersion, VersionStatus
from tests.processes import celery_worker_start, celery_worker_stop
from tests.training.datasets import anomaly_kpis, warehouse_files
from tests.training.training import (
    process_of,
    request_training,
    slow_version,
    trainable_version,
    upload_dataset,
    wait_for,
)
from training.models import (
    ConsumerDataUse,
    MLTrainingProcess,
    MLTrainingRequest,
    ProcessStatus,
    ProgressStateInfo,
    RequestStatus,
)

pytestmark = pytest.mark.django_db(transaction=True)

HEARTBEAT_SECONDS = 1
# A slow fit (SGDClassifier without early stopping) takes a few seconds on 120 rows.
SLOW_ITERATIONS = 250_000


@pytest.fixture
def worker_log(tmp_path) -> Path:
    return tmp_path / "worker.log"


def start_worker(log: Path, concurrency: int = 1):
    return celery_worker_start(
        log,
        concurrency=concurrency,
        env={"SAMHUB_TRAINING_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS)},
    )


@pytest.fixture
def worker(in_shared_warehouse, django_db_setup, worker_log):
    process = start_worker(worker_log)
    yield process
    celery_worker_stop(process)


def request_status(request) -> str:
    return MLTrainingRequest.objects.get(pk=request.pk).status


def in_training(request) -> MLTrainingProcess | None:
    process = process_of(request)
    if process is not None and process.progress_state_info == ProgressStateInfo.TRAINING:
        return process
    return None


def test_a_request_goes_through_the_three_steps_to_a_report_and_a_submitted_version(
    worker, worker_log, provider, auditor, organisation, tmp_path
):
    version = trainable_version(provider, auditor)
    fits = upload_dataset(provider, organisation, tmp_path, name="Cell KPIs north")
    # A target that is text: the model cannot learn from it, so it is left out (PARTIALLY).
    unfit = upload_dataset(
        provider, organisation, tmp_path, anomaly_kpis(extra={"site": "x"}).drop(columns="drop_rate_pct"),
        name="Cell KPIs five columns",
    )  # fmt: skip
    request = request_training(provider, version, [fits, unfit], priority=7)

    wait_for(
        lambda: request_status(request) == RequestStatus.FINISHED,
        timeout=120, what="the request to finish", log=worker_log,
    )  # fmt: skip
    process = process_of(request)
    report = process.report
    trained = report.trained_version
    events = list(process.events.all())
    states = [e.progress_state_info for e in events if e.progress_state_info]
    percentages = [e.progress_percentage for e in events]

    assert process.status == ProcessStatus.FINISHED and process.priority == 7
    assert list(dict.fromkeys(states)) == [
        ProgressStateInfo.COLLECTING_DATA,
        ProgressStateInfo.PREPARING_TRAINING_DATA,
        ProgressStateInfo.TRAINING,
    ]
    assert percentages == sorted(percentages) and percentages[-1] == 100
    assert len(set(percentages)) >= 6  # saved as it went, not only at the step boundaries
    assert [(e.name, e.target) for e in request.events.all()] == [
        ("create", RequestStatus.NOT_STARTED),
        ("start", RequestStatus.TRAINING_IN_PROGRESS),
        ("finish", RequestStatus.FINISHED),
    ]
    assert report.are_consumer_training_data_used == ConsumerDataUse.PARTIALLY
    assert list(report.used_consumer_training_data.all()) == [fits]
    skipped = process.data_selection["skipped"]
    assert [s["dataset"] for s in skipped] == [unfit.pk]
    assert "5 numeric feature columns and the model takes 6" in skipped[0]["reason"]
    validation = {
        p["performance_metric"]: p["performance_score"] for p in report.model_performance_validation
    }
    training = {p["performance_metric"] for p in report.model_performance_training}
    assert training == {"ACCURACY", "F1"} and set(validation) == {"ACCURACY", "F1"}
    assert report.confidence_indication == round(100 * validation["ACCURACY"])
    assert report.data_ratio_training_and_validation == 80
    assert report.are_new_training_data_used is False
    assert report.training_request == request and report.last_training is None
    assert trained.status == VersionStatus.SUBMITTED and trained.submitted_by == provider
    assert trained.parent == version and trained.version == "1.0.1"
    assert trained.training_context["datasets"] == [fits.pk]
    assert trained.training_context["data_provider_ref"] == [f"SubNetwork=1,Dataset={fits.pk}"]
    assert {
        p.performance_metric: p.performance_score for p in trained.performance.all()
    } == validation
    assert trained.artifact_format == "skops" and trained.artifact_sha256
    assert not [f for f in warehouse_files() if f.startswith("training/")]  # scratch cleaned


def test_cancel_in_the_middle_of_training_stops_and_cleans_up(
    worker, worker_log, api, provider, organisation, tmp_path
):
    version = slow_version(provider, iterations=SLOW_ITERATIONS)
    dataset = upload_dataset(provider, organisation, tmp_path)
    request = request_training(provider, version, [dataset])
    wait_for(lambda: in_training(request), timeout=60, what="TRAINING", log=worker_log)

    answer = api(provider).patch(
        f"/api/v1/training-requests/{request.pk}/", {"cancelRequest": "TRUE"}, format="json"
    )
    wait_for(
        lambda: request_status(request) == RequestStatus.CANCELLED,
        timeout=60, what="the request to be cancelled", log=worker_log,
    )  # fmt: skip
    process = process_of(request)

    assert answer.status_code == 200
    assert answer.json()["requestStatus"] == RequestStatus.CANCELLING
    assert answer.json()["cancelRequest"] is True
    assert process.status == ProcessStatus.CANCELLED and process.cancel_process
    assert [e.target for e in request.events.all()][-2:] == [
        RequestStatus.CANCELLING,
        RequestStatus.CANCELLED,
    ]
    assert ModelVersion.objects.filter(parent=version).count() == 0
    assert not hasattr(process, "report") or process.report is None
    assert not [f for f in warehouse_files() if f.startswith("training/")]


def test_suspend_pauses_after_the_running_step_and_resume_continues_from_there(
    worker, worker_log, api, provider, organisation, tmp_path
):
    version = slow_version(provider, iterations=SLOW_ITERATIONS)
    dataset = upload_dataset(provider, organisation, tmp_path)
    request = request_training(provider, version, [dataset])
    wait_for(lambda: in_training(request), timeout=60, what="TRAINING", log=worker_log)

    suspended = api(provider).post(f"/api/v1/training-requests/{request.pk}/suspend/")
    paused = wait_for(
        lambda: process_of(request).events.filter(name="pause").exists(),
        timeout=60, what="the process to pause", log=worker_log,
    )  # fmt: skip
    at_pause = process_of(request)
    last_before_resume = at_pause.events.last().pk
    resumed = api(provider).post(f"/api/v1/training-requests/{request.pk}/resume/")
    wait_for(
        lambda: request_status(request) == RequestStatus.FINISHED,
        timeout=90, what="the request to finish", log=worker_log,
    )  # fmt: skip
    process = process_of(request)
    after_resume = list(process.events.filter(pk__gt=last_before_resume))

    assert suspended.status_code == 200 and suspended.json()["requestStatus"] == "SUSPENDED"
    assert paused and at_pause.status == ProcessStatus.SUSPENDED and at_pause.run_id == ""
    assert at_pause.trained_file  # the step in progress finished and kept its model
    assert resumed.json()["requestStatus"] == RequestStatus.TRAINING_IN_PROGRESS
    # Taken up again at the registration, without fitting a second time.
    assert [e.progress_percentage for e in after_resume if e.name == "progress"] == [90]
    assert (
        process.status == ProcessStatus.FINISHED
        and process.report.trained_version.parent == version
    )


def test_with_one_worker_priority_0_runs_before_priority_100(
    in_shared_warehouse, django_db_setup, worker_log, provider, auditor, organisation, tmp_path
):
    version = trainable_version(provider, auditor)
    dataset = upload_dataset(provider, organisation, tmp_path)
    later = request_training(provider, version, [dataset], priority=100)
    first = request_training(provider, version, [dataset], priority=0)
    worker = start_worker(worker_log, concurrency=1)
    try:
        for request in (later, first):
            wait_for(
                lambda r=request: request_status(r) == RequestStatus.FINISHED,
                timeout=120, what="both requests to finish", log=worker_log,
            )  # fmt: skip
    finally:
        celery_worker_stop(worker)

    low, high = process_of(first), process_of(later)
    assert (low.priority, high.priority) == (0, 100)
    assert low.started_at < low.ended_at <= high.started_at
    assert sorted([low.report.trained_version.version, high.report.trained_version.version]) == [
        "1.0.1",
        "1.0.2",
    ]


def test_a_worker_killed_mid_training_leaves_a_process_that_is_taken_up_again(
    worker, worker_log, provider, organisation, tmp_path
):
    version = slow_version(provider, iterations=SLOW_ITERATIONS)
    dataset = upload_dataset(provider, organisation, tmp_path)
    request = request_training(provider, version, [dataset])
    running = wait_for(lambda: in_training(request), timeout=60, what="TRAINING", log=worker_log)
    (pool,) = psutil.Process(worker.pid).children()
    pool.send_signal(signal.SIGKILL)  # the pool process dies in the middle of the fit

    lost = wait_for(
        lambda: process_of(request).events.filter(name="lost").first(),
        timeout=30, what="the lost run to be noticed", log=worker_log,
    )  # fmt: skip
    wait_for(
        lambda: request_status(request) == RequestStatus.FINISHED,
        timeout=90, what="the request to finish", log=worker_log,
    )  # fmt: skip
    process = process_of(request)

    assert running.status == ProcessStatus.RUNNING
    # Noticed after three missed beats, well within the bound.
    assert (lost.created_at - running.heartbeat_at).total_seconds() < 15
    assert (
        "The worker running it was lost" in lost.reason and "continues from TRAINING" in lost.reason
    )
    assert process.lost_runs == 1 and process.status == ProcessStatus.FINISHED
    assert process.report.trained_version.status == VersionStatus.SUBMITTED
    assert "WorkerLostError" in worker_log.read_text(errors="replace")
