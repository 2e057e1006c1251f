"""training.services for TS 28.105 training requests and processes, without a worker: what a
request is refused for, cancel and suspend in every state (§7.5), the flags' "TRUE" / "FALSE"
/ anything else, a run lost with its worker, and the report's conditions (table 7.3.3.3-1).
The steps run in-process here (training.execution); tests/training/test_training_worker.py
runs them on a real worker."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from core.errors import DomainError
from tests import factories
from tests.training.training import process_of, request_training, trainable_version, upload_dataset
from training import execution, services
from training.models import (
    ConsumerDataUse,
    MLTrainingProcess,
    MLTrainingReport,
    MLTrainingRequest,
    ProcessStatus,
    RequestStatus,
)


@pytest.fixture
def trainable(provider, auditor):
    return trainable_version(provider, auditor)


@pytest.fixture
def dataset(provider, organisation, tmp_path):
    return upload_dataset(provider, organisation, tmp_path)


def refused(call, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call(**kwargs)
    return caught.value


def started(request) -> MLTrainingRequest:
    return services.training_request_start(request_id=request.pk)


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


# --- creating a request -----------------------------------------------------------------------


def test_it_refuses_an_onnx_only_version_at_request_time(provider, auditor):
    onnx = factories.make_version_in("RELEASED", provider=provider, auditor=auditor, kind="onnx")
    error = refused(request_training, user=provider, version=onnx)
    assert error.status == 400 and error.code == "not_trainable"
    assert "has an ONNX model only" in error.message and "scikit-learn" in error.message
    assert MLTrainingRequest.objects.count() == 0


def test_it_refuses_an_external_endpoint_at_request_time(provider, auditor):
    external = factories.make_released(provider, auditor)
    error = refused(request_training, user=provider, version=external)
    assert error.code == "not_trainable" and "external inference endpoint" in error.message


def test_only_providers_of_the_models_organisation_request_training(
    trainable, other_provider, consumer
):
    for outsider in (other_provider, consumer):  # both see the released version
        error = refused(request_training, user=outsider, version=trainable)
        assert error.status == 403 and "providers of North Operator" in error.message


@pytest.mark.parametrize("state", ["SUBMITTED", "DEPRECATED"])
def test_an_operator_requests_training_of_a_released_version_only(
    trainable, provider, auditor, operator, state
):
    """Operators retrain released versions (from the monitoring page, issue 10); a version
    still in the audit or deprecated is not theirs to retrain."""
    request = request_training(operator, trainable)
    assert (request.requested_by, request.subscription) == (operator, None)
    other = factories.make_version_in(
        state, provider=provider, auditor=auditor, kind="skops", version="2.0.0"
    )
    error = refused(request_training, user=operator, version=other)
    assert error.status == 403 and "operators for a released version" in error.message
    assert MLTrainingRequest.objects.count() == 1


def test_a_version_one_cannot_see_answers_as_unknown(provider, other_provider):
    draft = factories.make_draft(provider)
    error = refused(request_training, user=other_provider, version=draft)
    assert error.status == 404


def test_candidate_data_are_the_requesters_organisations_datasets(
    trainable, provider, other_provider, other_organisation, tmp_path
):
    theirs = upload_dataset(other_provider, other_organisation, tmp_path, name="Theirs")
    error = refused(request_training, user=provider, version=trainable, datasets=[theirs])
    assert (
        error.status == 400 and f"no dataset {theirs.pk} that you can train with" in error.message
    )


def test_it_refuses_a_metric_it_does_not_measure_for_the_model(trainable, provider):
    error = refused(
        request_training, user=provider, version=trainable,
        performance_requirements=[{"performance_metric": "MAE", "performance_score": 1}],
    )  # fmt: skip
    assert "SAM Hub measures ACCURACY, F1 for this model" in error.message


def test_a_request_takes_the_candidates_quality_and_starts_one_process(
    trainable, provider, dataset
):
    request = request_training(provider, trainable, [dataset], priority=42)
    assert request.status == RequestStatus.NOT_STARTED
    assert request.training_data_quality_score == dataset.quality_score
    assert request.training_request_source == "provider"
    started(request)
    started(request)  # a second delivery of the start task does nothing more
    process = process_of(fresh(request))
    assert fresh(request).status == RequestStatus.TRAINING_IN_PROGRESS
    assert MLTrainingProcess.objects.count() == 1
    assert process.priority == 42 and process.status == ProcessStatus.NOT_STARTED


# --- cancel, suspend, resume ------------------------------------------------------------------


def test_cancel_not_started_cancels_at_once(trainable, provider, dataset):
    request = request_training(provider, trainable, [dataset])
    cancelled = services.training_request_cancel(request_id=request.pk, user=provider)
    assert cancelled.status == RequestStatus.CANCELLED and cancelled.cancel_request
    assert fresh(started(request)).status == RequestStatus.CANCELLED  # the start task, late
    assert not MLTrainingProcess.objects.exists()


def test_cancel_in_progress_cancels_its_queued_process(trainable, provider, dataset):
    request = started(request_training(provider, trainable, [dataset]))
    cancelled = services.training_request_cancel(request_id=request.pk, user=provider)
    assert cancelled.status == RequestStatus.CANCELLED
    assert process_of(request).status == ProcessStatus.CANCELLED
    assert [e.target for e in request.events.all()] == [
        "NOT_STARTED", "TRAINING_IN_PROGRESS", "CANCELLING", "CANCELLED",
    ]  # fmt: skip
    assert execution.training_queue_run() is None  # nothing left to run


def test_cancel_suspended_and_suspend_then_resume(trainable, provider, dataset):
    request = started(request_training(provider, trainable, [dataset]))
    suspended = services.training_request_suspend(request_id=request.pk, user=provider)
    assert suspended.status == RequestStatus.SUSPENDED and suspended.suspend_request
    assert process_of(request).status == ProcessStatus.SUSPENDED
    assert execution.training_queue_run() is None  # a suspended process is not taken up
    resumed = services.training_request_resume(request_id=request.pk, user=provider)
    assert resumed.status == RequestStatus.TRAINING_IN_PROGRESS and not resumed.suspend_request
    assert process_of(request).status == ProcessStatus.NOT_STARTED
    services.training_request_suspend(request_id=request.pk, user=provider)
    cancelled = services.training_request_cancel(request_id=request.pk, user=provider)
    assert cancelled.status == RequestStatus.CANCELLED
    assert process_of(request).status == ProcessStatus.CANCELLED


def test_a_finished_request_cannot_be_cancelled_nor_suspended(trainable, provider, dataset):
    request = started(request_training(provider, trainable, [dataset]))
    execution.training_queue_run()
    assert fresh(request).status == RequestStatus.FINISHED
    for service in (services.training_request_cancel, services.training_request_suspend):
        error = refused(service, request_id=request.pk, user=provider)
        assert error.status == 409 and "it is FINISHED" in error.message
    error = refused(services.training_request_resume, request_id=request.pk, user=provider)
    assert "resume needs SUSPENDED" in error.message


def test_a_cancelled_request_cannot_be_suspended(trainable, provider, dataset):
    request = request_training(provider, trainable, [dataset])
    services.training_request_cancel(request_id=request.pk, user=provider)
    error = refused(services.training_request_suspend, request_id=request.pk, user=provider)
    assert error.status == 409
    assert "suspend needs NOT_STARTED or TRAINING_IN_PROGRESS" in error.message


def test_others_cannot_cancel(trainable, provider, other_provider, operator, dataset):
    request = request_training(provider, trainable, [dataset])
    assert (
        refused(services.training_request_cancel, request_id=request.pk, user=other_provider).status
        == 404
    )
    assert (
        services.training_request_cancel(request_id=request.pk, user=operator).status == "CANCELLED"
    )


def test_false_has_no_observable_result(trainable, provider, dataset):
    request = started(request_training(provider, trainable, [dataset]))
    events = request.events.count()
    for value in ("FALSE", False):
        same = services.training_request_attributes_set(
            request_id=request.pk, user=provider, cancel_request=value, suspend_request=value
        )
        assert same.status == RequestStatus.TRAINING_IN_PROGRESS
        assert not same.cancel_request and not same.suspend_request
    assert request.events.count() == events
    assert process_of(request).status == ProcessStatus.NOT_STARTED


@pytest.mark.parametrize("value", ["true", "yes", 1, "", "TRUE "])
def test_anything_but_true_or_false_is_refused(trainable, provider, dataset, value):
    request = request_training(provider, trainable, [dataset])
    error = refused(
        services.training_request_attributes_set,
        request_id=request.pk, user=provider, cancel_request=value,
    )  # fmt: skip
    assert error.status == 400
    assert 'cancelRequest must be "TRUE" or "FALSE" (TS 28.105 §7.5)' in error.message
    assert fresh(request).status == RequestStatus.NOT_STARTED


def test_true_cancels_and_true_again_changes_nothing(trainable, provider, dataset):
    request = request_training(provider, trainable, [dataset])
    first = services.training_request_attributes_set(
        request_id=request.pk, user=provider, cancel_request="TRUE"
    )
    again = services.training_request_attributes_set(
        request_id=request.pk, user=provider, cancel_request=True
    )
    assert first.status == again.status == RequestStatus.CANCELLED
    suspend = refused(
        services.training_request_attributes_set,
        request_id=request.pk, user=provider, suspend_request="TRUE",
    )  # fmt: skip
    assert suspend.status == 409


def test_process_flags_suspend_and_cancel(trainable, provider, dataset):
    request = started(request_training(provider, trainable, [dataset]))
    process = process_of(request)
    suspended = services.training_process_attributes_set(
        process_id=process.pk, user=provider, suspend_process="TRUE"
    )
    assert suspended.status == ProcessStatus.SUSPENDED and suspended.suspend_process
    cancelled = services.training_process_attributes_set(
        process_id=process.pk, user=provider, cancel_process="TRUE"
    )
    assert cancelled.status == ProcessStatus.CANCELLED
    assert fresh(request).status == RequestStatus.CANCELLED  # its only process was cancelled
    error = refused(services.training_process_suspend, process_id=process.pk, user=provider)
    assert error.status == 409 and "it is CANCELLED" in error.message


# --- runs lost with their worker ---------------------------------------------------------------


def lose_run(process, *, lost_runs: int) -> None:
    """What a SIGKILLed worker leaves: RUNNING, held by a run that no longer beats."""
    MLTrainingProcess.objects.filter(pk=process.pk).update(
        status=ProcessStatus.RUNNING,
        run_id="dead",
        heartbeat_at=timezone.now() - timedelta(seconds=60),
        started_at=timezone.now() - timedelta(seconds=70),
        lost_runs=lost_runs,
    )


def test_a_lost_run_is_taken_up_again_and_finishes(trainable, provider, dataset):
    request = started(request_training(provider, trainable, [dataset]))
    lose_run(process_of(request), lost_runs=0)
    assert execution.training_queue_run() == process_of(request).pk
    process = process_of(request)
    assert process.status == ProcessStatus.FINISHED and process.lost_runs == 1
    assert fresh(request).status == RequestStatus.FINISHED


def test_a_process_fails_with_the_reason_when_its_worker_is_lost_too_often(
    trainable, provider, dataset, settings
):
    settings.SAMHUB_TRAINING_MAX_LOST_RUNS = 2
    request = started(request_training(provider, trainable, [dataset]))
    lose_run(process_of(request), lost_runs=1)
    assert execution.training_queue_run() is None
    process = process_of(request)
    assert process.status == ProcessStatus.FAILED and process.run_id == ""
    assert "The worker running it was lost" in process.result_state_info
    assert "SAMHUB_TRAINING_MAX_LOST_RUNS is 2" in process.result_state_info
    assert fresh(request).status == RequestStatus.FINISHED  # ended, not lost


def test_a_process_without_usable_data_fails_saying_why(
    trainable, provider, organisation, tmp_path
):
    from tests.training.datasets import cell_kpis

    wrong = upload_dataset(provider, organisation, tmp_path, cell_kpis(), target="load_next_hour")
    request = started(request_training(provider, trainable, [wrong]))
    execution.training_queue_run()
    process = process_of(request)
    assert process.status == ProcessStatus.FAILED
    assert process.result_state_info.startswith("COLLECTING_DATA: No training data fits the model")
    assert f"dataset {wrong.pk}: it has 2 numeric feature columns" in process.result_state_info


# --- the report's conditions (table 7.3.3.3-1) -------------------------------------------------


def test_a_model_trained_before_names_its_last_training(trainable, provider, dataset):
    first = started(request_training(provider, trainable, [dataset]))
    execution.training_queue_run()
    first_report = process_of(first).report
    retrained = first_report.trained_version
    second = started(request_training(provider, retrained, []))
    execution.training_queue_run()
    report = process_of(second).report

    assert report.last_training == first_report
    assert report.are_consumer_training_data_used == ConsumerDataUse.NONE
    assert list(report.used_consumer_training_data.all()) == []
    assert report.are_new_training_data_used is True  # the data it was trained on before
    assert report.trained_version.parent == retrained


def test_report_conditions_are_enforced(trainable, provider, dataset):
    request = started(request_training(provider, trainable, [dataset]))
    execution.training_queue_run()
    report = process_of(request).report
    with pytest.raises(ValidationError) as caught:
        report.used_consumer_data_check([])
    assert "used_consumer_training_data" in caught.value.message_dict
    report.model_performance_training = []
    report.training_request = None
    with pytest.raises(ValidationError) as caught:
        report.full_clean()
    assert {"model_performance_training", "training_request"} <= set(caught.value.message_dict)
    copy = MLTrainingReport(
        ml_entity=report.ml_entity, are_consumer_training_data_used="NONE",
        model_performance_training=report.model_performance_validation,
    )  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        copy.clean()
    assert "last_training" in caught.value.message_dict  # that model was trained before


def test_a_dataset_a_request_names_cannot_be_deleted(trainable, provider, dataset):
    request_training(provider, trainable, [dataset])
    error = refused(services.dataset_delete, user=provider, dataset_id=dataset.pk)
    assert error.status == 409
