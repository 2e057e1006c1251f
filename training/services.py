"""Training writes: datasets (upload, checked and scored; delete), and the TS 28.105 clause 7
training requests and processes: create, cancel, suspend, resume (as the `cancelRequest`,
`suspendRequest`, `cancelProcess` and `suspendProcess` attributes of §7.5 say), and the steps
a worker runs (training.execution calls them).

Every change of `requestStatus` and `progressStatus` is written with an event row
(MLTrainingRequestEvent, MLTrainingProcessEvent), by core.transitions.transition_apply for a
person's action and by _request_event / _process_event for SAM Hub's own: the one record
that notifications (notifyMOIAttributeValueChanges) can be made from.
"""

import io
import logging
import math
import re
from datetime import timedelta
from typing import BinaryIO

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from core.errors import DomainError
from core.transitions import transition_apply
from registry import services as registry_services
from registry.models import ModelVersion, Organisation
from registry.selectors import version_visible_to
from training import datasets, learning, notices, permissions, selectors
from training.models import (
    PROCESS_ENDED,
    ConsumerDataUse,
    Dataset,
    MLTrainingProcess,
    MLTrainingReport,
    MLTrainingRequest,
    ProcessStatus,
    ProgressStateInfo,
    RequestStatus,
    TerminationCondition,
)

logger = logging.getLogger(__name__)


def dataset_upload(
    *,
    user: User,
    organisation: Organisation,
    name: str,
    stream: BinaryIO,
    filename: str,
    target_column: str,
    description: str = "",
) -> Dataset:
    """Check an uploaded CSV or Parquet file, score its quality and store it (TS 28.105
    `candidateTraingDataSource`). Spooling, parsing and storing run outside any transaction;
    only a file that passes every check reaches the warehouse, so a refusal stores nothing."""
    if not permissions.can_upload_dataset(user, organisation):
        raise DomainError.not_allowed(
            f"You cannot upload datasets for {organisation}: only its members (providers and "
            "consumers) and operators can."
        )
    name, target_column = name.strip(), target_column.strip()
    if not name:
        raise DomainError("Name the dataset.", details={"name": ["required"]})
    if not target_column:
        raise DomainError(
            "Name the target column (the value a model learns to predict).",
            details={"target_column": ["required"]},
        )
    format = datasets.dataset_format_of(filename)
    received = datasets.dataset_receive(stream=stream, filename=filename)
    try:
        found = datasets.dataset_inspect(received, format=format, target_column=target_column)
        dataset = Dataset(
            organisation=organisation,
            name=name,
            description=description,
            file=datasets.dataset_storage_name(sha256=received.sha256, format=format),
            filename=received.filename[:255],
            format=format,
            size=received.size,
            sha256=received.sha256,
            target_column=target_column,
            uploaded_by=user,
            **found,
        )
        try:
            dataset.full_clean()
        except ValidationError as exc:
            raise DomainError(
                "Some fields are not valid; nothing was stored.",
                code="invalid",
                details=exc.message_dict,
            ) from None
        datasets.dataset_store(received, format=format)
        with transaction.atomic():
            dataset.save()
        # A deletion of another dataset with the same bytes may have removed the file between
        # the store and the save (it saw no other row); storing again is a no-op otherwise.
        datasets.dataset_store(received, format=format)
    finally:
        received.discard()
    return dataset


def dataset_delete(*, user: User, dataset_id: int) -> None:
    """Delete a dataset and, when no other dataset holds the same bytes, its file."""
    dataset = selectors.dataset_visible_to(user, dataset_id)
    if not permissions.can_delete_dataset(dataset, user):
        raise DomainError.not_allowed(
            f"Only members of {dataset.organisation} and operators can delete this dataset."
        )
    if dataset.training_requests.exists() or dataset.training_reports.exists():
        raise DomainError.conflict(
            f"{dataset} is candidate training data of a training request or was used by a "
            "training, whose report names it; it stays."
        )
    name = dataset.file.name
    with transaction.atomic():
        Dataset.objects.filter(pk=dataset.pk).delete()
        shared = Dataset.objects.filter(file=name).exists()
    if not shared:
        default_storage.delete(name)  # after the commit: slow I/O stays outside the transaction


# --- training requests (TS 28.105 §7.3.2) ----------------------------------------------------

FLAG_VALUES = {True: True, False: False, "TRUE": True, "FALSE": False}
# A step's share of progressPercentage: collecting 0-30, preparing 30-60, training 60-100
# (of which registering the new version is the last tenth).
STEP_PERCENT = {
    ProgressStateInfo.COLLECTING_DATA: (0, 30),
    ProgressStateInfo.PREPARING_TRAINING_DATA: (30, 60),
    ProgressStateInfo.TRAINING: (60, 90),
}
REGISTERING_PERCENT = 90


def _flag(attribute: str, value) -> bool | None:
    """A §7.5 flag: "TRUE" or "FALSE" (or a JSON boolean); None when it is not given."""
    if value is None:
        return None
    if isinstance(value, bool | str) and value in FLAG_VALUES:
        return FLAG_VALUES[value]
    raise DomainError(
        f'{attribute} must be "TRUE" or "FALSE" (TS 28.105 §7.5), not {value!r}; nothing '
        "was changed.",
        details={attribute: ['"TRUE" or "FALSE"']},
    )


def _trainable_or_refuse(version: ModelVersion) -> learning.Features:
    if version.access_type == "EXTERNAL_ENDPOINT":
        raise DomainError(
            f"{version} is served by an external inference endpoint: SAM Hub has no model of "
            "it to train. Training needs a version with a scikit-learn model file (skops).",
            code="not_trainable",
            details={"ml_entity": ["external endpoint, nothing to train"]},
        )
    if not selectors.is_trainable(version):
        what = "an ONNX model only" if version.artifact_format == "onnx" else "no model file"
        raise DomainError(
            f"{version} has {what}: SAM Hub trains scikit-learn estimators (skops files), by "
            "cloning and fitting them, and an ONNX graph cannot be fitted again.",
            code="not_trainable",
            details={"ml_entity": [f"{what}, no scikit-learn estimator"]},
        )
    return learning.Features.of(version)


def _performance_requirements_clean(requirements, features: learning.Features) -> list[dict]:
    """performanceRequirements: ModelPerformance entries naming a metric SAM Hub measures for
    this kind of estimator, with a finite target score."""
    if not isinstance(requirements, list | tuple):
        raise DomainError(
            "performanceRequirements is a list of ModelPerformance entries (it may be empty).",
            details={"performance_requirements": ["a list"]},
        )
    cleaned, errors = [], []
    for entry in requirements:
        entry = entry if isinstance(entry, dict) else {}
        metric = entry.get("performance_metric")
        score = entry.get("performance_score")
        output = entry.get("inference_output_name") or features.output
        if metric not in features.metrics:
            errors.append(
                f"performanceMetric {metric!r}: SAM Hub measures "
                f"{', '.join(features.metrics)} for this model"
            )
        elif (
            isinstance(score, bool)
            or not isinstance(score, int | float)
            or not math.isfinite(score)
        ):
            errors.append(f"performanceScore of {metric} must be a finite number")
        elif output != features.output:
            errors.append(
                f"inferenceOutputName {output!r}: the model's output is {features.output!r}"
            )
        else:
            cleaned.append(
                {
                    "inference_output_name": output,
                    "performance_metric": metric,
                    "performance_score": float(score),
                }
            )
    if errors:
        raise DomainError(
            "Some performance requirements cannot be checked: " + "; ".join(errors) + ".",
            details={"performance_requirements": errors},
        )
    return cleaned


def _ml_context_clean(context) -> dict:
    """An MLContext: DN lists `inference_entity_ref` and `data_provider_ref`."""
    context = context or {}
    if not isinstance(context, dict) or set(context) - {
        "inference_entity_ref",
        "data_provider_ref",
    }:
        raise DomainError(
            "expectedRuntimeContext is an MLContext: inferenceEntityRef and dataProviderRef, "
            "each a list of DNs.",
            details={"expected_runtime_context": ["inferenceEntityRef, dataProviderRef"]},
        )
    for key, value in context.items():
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise DomainError(
                f"expectedRuntimeContext.{key} is a list of DNs.",
                details={"expected_runtime_context": [f"{key}: a list of DNs"]},
            )
    return selectors.ml_context(**context)


def _candidate_datasets(user: User, ids) -> list[Dataset]:
    ids = list(dict.fromkeys(ids or ()))
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise DomainError(
            "candidateTraingDataSource lists dataset ids.",
            details={"candidate_training_data_source": ["dataset ids"]},
        )
    found = {d.pk: d for d in selectors.datasets_usable_by(user).filter(pk__in=ids)}
    missing = [i for i in ids if i not in found]
    if missing:
        raise DomainError(
            "There is no dataset "
            + ", ".join(map(str, missing))
            + " that you can train with: candidate training data are your organisations' "
            "datasets.",
            details={"candidate_training_data_source": [f"unknown dataset {i}" for i in missing]},
        )
    return [found[i] for i in ids]


def _quality_score(candidates: list[Dataset]) -> float | None:
    """traingDataQualityScore: the candidates' quality scores weighted by their rows."""
    rows = sum(d.row_count for d in candidates)
    if not rows:
        return None
    return round(sum(d.quality_score * d.row_count for d in candidates) / rows, 1)


def training_request_create(
    *,
    user: User,
    ml_entity_id: int,
    performance_requirements: list[dict],
    candidate_training_data_source: list[int] = (),
    training_request_source: str = "",
    expected_runtime_context: dict | None = None,
    priority: int = 0,
    pk: int | None = None,
) -> MLTrainingRequest:
    """Accept a request to train a version (TS 28.105 §7.3.2) and queue its start: a worker
    then instantiates its MLTrainingProcess. A version SAM Hub cannot fit (ONNX only, external
    endpoint) is refused here, with the reason. `pk`: the id a ProvMnS PUT chose
    (training_request_put)."""
    try:
        version = version_visible_to(user, ml_entity_id)
    except ModelVersion.DoesNotExist:
        raise DomainError(
            f"There is no version {ml_entity_id} that you can see.", code="not_found", status=404
        ) from None
    version = ModelVersion.objects.select_related("sam", "sam__organisation").get(pk=version.pk)
    if not permissions.can_request_training(version, user):
        raise DomainError.not_allowed(
            f"You cannot request training of {version}: a training makes a new version of the "
            f"model, so {permissions.who_requests_training(version)} request it."
        )
    # A consumer retrains under their RETRAINING subscription (re-training sharing).
    subscription = (
        None
        if permissions.can_add_version(version.sam, user)
        else permissions.retraining_subscription(version, user)
    )
    features = _trainable_or_refuse(version)
    requirements = _performance_requirements_clean(performance_requirements, features)
    context = _ml_context_clean(expected_runtime_context)
    candidates = _candidate_datasets(user, candidate_training_data_source)
    request = MLTrainingRequest(
        pk=pk,
        ml_entity=version,
        training_data_quality_score=_quality_score(candidates),
        training_request_source=(training_request_source or user.username).strip()[:200],
        expected_runtime_context=context,
        performance_requirements=requirements,
        priority=priority,
        requested_by=user,
        subscription=subscription,
    )
    try:
        request.full_clean(exclude=["status", "function", "subscription"])
    except ValidationError as exc:
        raise DomainError(
            "Some attributes are not valid; no request was made.", details=exc.message_dict
        ) from None
    with transaction.atomic():
        request.save(force_insert=True)
        request.candidate_training_data_sources.set(candidates)
        _request_event(request, "create", RequestStatus.NOT_STARTED, actor=user)
        _enqueue_start(request.pk)
    return request


def training_request_start(*, request_id: int) -> MLTrainingRequest:
    """The producer starts an accepted request (run by a worker): TRAINING_IN_PROGRESS, with
    one MLTrainingProcess for its ML entity, queued by priority. Idempotent: a request that is
    not NOT_STARTED (started, suspended, cancelled meanwhile) is left alone."""
    with transaction.atomic():
        request = MLTrainingRequest.objects.select_for_update().get(pk=request_id)
        if request.status != RequestStatus.NOT_STARTED:
            return request
        source = request.status
        request.start()
        request.save()
        _request_event(request, "start", source)
        if not request.processes.exists():
            process = MLTrainingProcess.objects.create(
                function_id=request.function_id,
                training_request=request,
                ml_entity_id=request.ml_entity_id,
                priority=request.priority,
                termination_conditions=TerminationCondition.MODEL_UPDATED_IN_INFERENCE_FUNCTION,
            )
            _process_event(process, "create", ProcessStatus.NOT_STARTED)
            _enqueue_run(process.pk)
    return request


def _request_transition(
    *, request_id: int, user: User, name: str, reason: str = "", kwargs: dict | None = None
) -> MLTrainingRequest:
    selectors.training_request_visible_to(user, request_id)  # 404 for what they cannot see
    return transition_apply(
        rows=MLTrainingRequest.objects.all(),
        pk=request_id,
        name=name,
        user=user,
        allowed=permissions.can_manage_training,
        refusal=lambda r, u: (
            f"You cannot {name} training request {r.pk}: {permissions.who_manages_training(r)} can."
        ),
        label=lambda r: f"training request {r.pk}",
        log="events",
        changed_meanwhile=(
            f"Training request {request_id} changed while you were working on it; reload and "
            "try again."
        ),
        reason=reason,
        kwargs=kwargs,
    )


@transaction.atomic
def training_request_cancel(*, request_id: int, user: User, reason: str = "") -> MLTrainingRequest:
    """cancelRequest=TRUE (§7.5): possible when NOT_STARTED, TRAINING_IN_PROGRESS or
    SUSPENDED. The request is CANCELLING while a worker stops its running process (at once for
    one that is queued or paused), then CANCELLED; what the processes made is cleaned up."""
    request = _request_transition(request_id=request_id, user=user, name="cancel", reason=reason)
    for process in _open_processes(request):
        if process.status != ProcessStatus.CANCELLING:
            _process_transition_locked(process, "cancel", user=user, reason=reason)
        if not process.held():
            _process_cancel_complete(process)
    return _request_settle(request.pk)


@transaction.atomic
def training_request_suspend(*, request_id: int, user: User, reason: str = "") -> MLTrainingRequest:
    """suspendRequest=TRUE (§7.5): possible while NOT_STARTED or TRAINING_IN_PROGRESS (a
    FINISHED request cannot be suspended, nor one being or already cancelled). Its processes
    pause at their next step boundary."""
    request = _request_transition(request_id=request_id, user=user, name="suspend", reason=reason)
    for process in _open_processes(request):
        if process.status in (ProcessStatus.NOT_STARTED, ProcessStatus.RUNNING):
            _process_transition_locked(process, "suspend", user=user, reason=reason)
            if not process.held():
                _process_release(process)
    return request


@transaction.atomic
def training_request_resume(*, request_id: int, user: User, reason: str = "") -> MLTrainingRequest:
    """Take a SUSPENDED request up again (SAM Hub's counterpart of suspendRequest, which §7.5
    gives no way back): its processes continue from the step where they paused."""
    started = MLTrainingProcess.objects.filter(training_request_id=request_id).exists()
    request = _request_transition(
        request_id=request_id, user=user, name="resume", reason=reason, kwargs={"started": started}
    )
    if request.status == RequestStatus.NOT_STARTED:
        _enqueue_start(request.pk)
    for process in _open_processes(request):
        if process.status == ProcessStatus.SUSPENDED:
            _process_resume_locked(process, user=user, reason=reason)
    return request


def training_request_attributes_set(
    *, request_id: int, user: User, cancel_request=None, suspend_request=None
) -> MLTrainingRequest:
    """Set `cancelRequest` and `suspendRequest` as §7.5 says: "TRUE" cancels or suspends the
    request where its state allows it (a refusal names the states that do), "FALSE" has no
    observable result, anything else is refused. Setting TRUE again on a request it already
    cancelled or suspended changes nothing; with both TRUE, cancelling wins."""
    cancel = _flag("cancelRequest", cancel_request)
    suspend = _flag("suspendRequest", suspend_request)
    request = selectors.training_request_visible_to(user, request_id)
    if not permissions.can_manage_training(request, user):
        raise DomainError.not_allowed(
            f"You cannot change training request {request.pk}: "
            f"{permissions.who_manages_training(request)} can."
        )
    if cancel:
        if not (
            request.cancel_request
            and request.status in (RequestStatus.CANCELLING, RequestStatus.CANCELLED)
        ):
            training_request_cancel(request_id=request_id, user=user)
    elif suspend and not (request.suspend_request and request.status == RequestStatus.SUSPENDED):
        training_request_suspend(request_id=request_id, user=user)
    return MLTrainingRequest.objects.get(pk=request_id)


MAX_MOI_ID = 2**31 - 1


def training_request_put(*, user: User, moi_id: str, **attributes) -> MLTrainingRequest:
    """Create the request MLTrainingRequest=`moi_id` (ProvMnS PUT: the consumer names the
    object): `moi_id` is a whole number from 1 that no request has; the rest is
    training_request_create. A request that exists is not replaced (its attributes change by
    PATCH, §7.5's flags)."""
    if not (isinstance(moi_id, str) and moi_id.isascii() and moi_id.isdigit()) or not (
        1 <= int(moi_id) <= MAX_MOI_ID
    ):
        raise DomainError(
            f"The id of an MLTrainingRequest is a whole number from 1 to {MAX_MOI_ID}, not "
            f"{moi_id!r}; nothing was stored.",
            details={"id": ["a whole number"]},
        )
    pk = int(moi_id)
    if MLTrainingRequest.objects.filter(pk=pk).exists():
        raise DomainError.conflict(
            f"MLTrainingRequest={pk} exists and is not replaced: change its cancelRequest or "
            "suspendRequest with PATCH, or choose another id for a new request."
        )
    try:
        with transaction.atomic():
            request = training_request_create(user=user, pk=pk, **attributes)
            _identity_catch_up(MLTrainingRequest)
    except IntegrityError:
        raise DomainError.conflict(
            f"MLTrainingRequest={pk} was made meanwhile; choose another id."
        ) from None
    return request


def _identity_catch_up(model) -> None:
    """After a row was inserted with an id of its own: on PostgreSQL the id sequence moves up
    to it, so that the next id handed out is free (SQLite's AUTOINCREMENT does so by itself)."""
    if connection.vendor != "postgresql":
        return
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(s::regclass, GREATEST(COALESCE(pg_sequence_last_value(s::regclass), 1), "
            f"(SELECT MAX(id) FROM {connection.ops.quote_name(table)}))) "
            "FROM pg_get_serial_sequence(%s, 'id') AS s",
            [table],
        )


def training_request_delete(*, user: User, request_id: int) -> None:
    """Delete a request that has ended (FINISHED or CANCELLED) with its processes (ProvMnS
    DELETE). One that is still open is cancelled first (cancelRequest); one whose training
    wrote a report stays, since the report is the record of how a version was made."""
    request = selectors.training_request_visible_to(user, request_id)
    if not permissions.can_manage_training(request, user):
        raise DomainError.not_allowed(
            f"You cannot delete training request {request.pk}: "
            f"{permissions.who_manages_training(request)} can."
        )
    with transaction.atomic():
        request = MLTrainingRequest.objects.select_for_update().get(pk=request_id)
        ended = (RequestStatus.FINISHED, RequestStatus.CANCELLED)
        if request.status not in ended:
            raise DomainError.conflict(
                f"Training request {request.pk} is {request.status}: only a FINISHED or "
                "CANCELLED request is deleted; set cancelRequest to TRUE first."
            )
        reports = list(request.reports.order_by("pk"))
        if reports:
            raise DomainError.conflict(
                f"Training request {request.pk} stays: its report "
                + ", ".join(r.dn for r in reports)
                + " records the training that made a version."
            )
        for process in request.processes.order_by("pk"):
            process.delete()
        request.delete()


def _open_processes(request: MLTrainingRequest) -> list[MLTrainingProcess]:
    return list(
        MLTrainingProcess.objects.select_for_update()
        .filter(training_request=request)
        .exclude(status__in=PROCESS_ENDED)
        .order_by("pk")
    )


def _request_settle(request_id: int) -> MLTrainingRequest:
    """When every process of the request has ended, so has the request: CANCELLED when it was
    being cancelled or all its processes were, FINISHED otherwise (§7.3.2.1: "when all of the
    training processes associated to this request are completed"); a process that FAILED
    ends its request too, FINISHED, the process saying why (requestStatus has no failure)."""
    request = MLTrainingRequest.objects.select_for_update().get(pk=request_id)
    statuses = list(request.processes.values_list("status", flat=True))
    if request.status == RequestStatus.CANCELLING and all(s in PROCESS_ENDED for s in statuses):
        request.cancelled()
        request.save()
        _request_event(request, "cancelled", RequestStatus.CANCELLING)
    elif (
        request.status in (RequestStatus.TRAINING_IN_PROGRESS, RequestStatus.SUSPENDED)
        and statuses
        and all(s in PROCESS_ENDED for s in statuses)
    ):
        source = request.status
        if all(s == ProcessStatus.CANCELLED for s in statuses):
            request.cancel()
            request.cancelled()
            name = "cancelled"
        else:
            request.finish()
            name = "finish"
        request.save()
        _request_event(request, name, source, reason="all its training processes have ended")
        notices.training_request_ended(request=request)
    return request


def _request_event(request, name: str, source: str, *, actor=None, reason: str = "") -> None:
    request.events.create(
        name=name, source=source, target=request.status, actor=actor, reason=reason
    )


# --- training processes (TS 28.105 §7.3.4) ---------------------------------------------------


def _process_event(process, name: str, source: str, *, actor=None, reason: str = "") -> None:
    process.events.create(
        name=name,
        source=source,
        target=process.status,
        progress_state_info=process.progress_state_info,
        progress_percentage=process.progress_percentage,
        actor=actor,
        reason=reason,
    )


def _process_transition_locked(process, name: str, *, user: User | None, reason: str = "") -> None:
    source = process.status
    getattr(process, name)()
    process.save()
    _process_event(process, name, source, actor=user, reason=reason)


def _process_release(process) -> None:
    """No run holds the process any more (it paused, or its run was lost)."""
    process.run_id, process.heartbeat_at = "", None
    process.save(update_fields=["run_id", "heartbeat_at", "updated_at"])


def _process_resume_locked(process, *, user: User | None, reason: str = "") -> None:
    source = process.status
    process.resume()
    process.save()
    _process_event(process, "resume", source, actor=user, reason=reason)
    if not process.held():  # a run still finishing its step just goes on
        _process_release(process)
        _enqueue_run(process.pk)


def _process_cancel_complete(process) -> None:
    """A CANCELLING process stops: the new version it registered (still a DRAFT) and its
    scratch files go, and it is CANCELLED."""
    process.cancelled()
    process.save()
    _process_event(process, "cancelled", ProcessStatus.CANCELLING)
    _results_discard(process)


def _results_discard(process) -> None:
    """After the commit: the scratch files of an ended process and the new version it had
    registered, while that is still a DRAFT (a submitted one is the audit's to decide on)."""
    version_id = process.trained_version_id
    names = (process.prepared_file, process.trained_file)
    request = process.training_request if process.training_request_id else None
    requester = request.requested_by if request else None
    granted_by = _retraining_grant(request) if request else ""

    def clean_up() -> None:
        learning.scratch_delete(*names)
        if version_id is not None and requester is not None:
            try:
                registry_services.version_discard(
                    version_id=version_id, user=requester, granted_by=granted_by
                )
            except DomainError as exc:
                logger.warning("Training %s: version %s kept: %s", process, version_id, exc)

    transaction.on_commit(clean_up)


def _process_manage(
    *, process_id: int, user: User, name: str, reason: str = ""
) -> MLTrainingProcess:
    process = selectors.training_process_visible_to(user, process_id)
    request = process.training_request
    if request is None or not permissions.can_manage_training(request, user):
        raise DomainError.not_allowed(
            f"You cannot {name} training process {process_id}: "
            + (permissions.who_manages_training(request) if request else "operators")
            + " can."
        )
    with transaction.atomic():
        process = MLTrainingProcess.objects.select_for_update().get(pk=process_id)
        sources = sorted(
            str(t.source) for t in process.get_all_status_transitions() if t.name == name
        )
        if process.status not in sources:
            raise DomainError.conflict(
                f"Cannot {name} training process {process_id}: it is {process.status}, and "
                f"{name} needs {' or '.join(sources)}."
            )
        if name == "resume":
            _process_resume_locked(process, user=user, reason=reason)
        else:
            _process_transition_locked(process, name, user=user, reason=reason)
            if not process.held():
                if name == "cancel":
                    _process_cancel_complete(process)
                else:
                    _process_release(process)
        if process.training_request_id:
            _request_settle(process.training_request_id)
    return MLTrainingProcess.objects.get(pk=process_id)


def training_process_cancel(*, process_id: int, user: User, reason: str = "") -> MLTrainingProcess:
    """cancelProcess=TRUE (§7.5): possible until the process has ended; a running one stops
    at its next step boundary (CANCELLING, then CANCELLED)."""
    return _process_manage(process_id=process_id, user=user, name="cancel", reason=reason)


def training_process_suspend(*, process_id: int, user: User, reason: str = "") -> MLTrainingProcess:
    """suspendProcess=TRUE (§7.5): possible while queued or RUNNING (not FINISHED, CANCELLING
    or CANCELLED); a running process pauses at its next step boundary."""
    return _process_manage(process_id=process_id, user=user, name="suspend", reason=reason)


def training_process_resume(*, process_id: int, user: User, reason: str = "") -> MLTrainingProcess:
    """A SUSPENDED process continues from the step where it paused."""
    return _process_manage(process_id=process_id, user=user, name="resume", reason=reason)


def training_process_attributes_set(
    *, process_id: int, user: User, cancel_process=None, suspend_process=None
) -> MLTrainingProcess:
    """`cancelProcess` and `suspendProcess` as §7.5 says: "TRUE" cancels or suspends where
    allowed, "FALSE" has no observable result, anything else is refused. Setting TRUE again on
    a process it already cancelled or suspended changes nothing; with both TRUE, cancelling
    wins."""
    cancel = _flag("cancelProcess", cancel_process)
    suspend = _flag("suspendProcess", suspend_process)
    process = selectors.training_process_visible_to(user, process_id)
    request = process.training_request
    if request is None or not permissions.can_manage_training(request, user):
        raise DomainError.not_allowed(
            f"You cannot change training process {process_id}: "
            + (permissions.who_manages_training(request) if request else "operators")
            + " can."
        )
    cancelled = (ProcessStatus.CANCELLING, ProcessStatus.CANCELLED)
    if cancel:
        if not (process.cancel_process and process.status in cancelled):
            return training_process_cancel(process_id=process_id, user=user)
    elif suspend and not (process.suspend_process and process.status == ProcessStatus.SUSPENDED):
        return training_process_suspend(process_id=process_id, user=user)
    return process


# --- the steps a worker runs (training.execution) --------------------------------------------


def training_process_step_next(*, process_id: int, run_id: str) -> str | None:
    """At a step boundary, under the process's lock: the next step for the run `run_id` to
    take (a ProgressStateInfo, or "REGISTERING"), or None when it must stop: another run took
    the process over, it was suspended (it pauses here, held by nobody), cancelled (it stops
    and cleans up here), or it has ended."""
    with transaction.atomic():
        process = MLTrainingProcess.objects.select_for_update().get(pk=process_id)
        if process.run_id != run_id:
            return None
        if process.status == ProcessStatus.SUSPENDED:
            _process_release(process)
            _process_event(process, "pause", process.status, reason="paused at a step boundary")
            return None
        if process.status == ProcessStatus.CANCELLING:
            _process_cancel_complete(process)
            if process.training_request_id:
                _request_settle(process.training_request_id)
            return None
        if process.status != ProcessStatus.RUNNING:
            return None
        if process.data_selection is None:
            step = ProgressStateInfo.COLLECTING_DATA
        elif not process.prepared_file:
            step = ProgressStateInfo.PREPARING_TRAINING_DATA
        elif not process.trained_file:
            step = ProgressStateInfo.TRAINING
        else:
            step = "REGISTERING"
        state = ProgressStateInfo.TRAINING if step == "REGISTERING" else step
        percent = REGISTERING_PERCENT if step == "REGISTERING" else STEP_PERCENT[step][0]
        if (process.progress_state_info, process.progress_percentage) != (state, percent):
            process.progress_state_info, process.progress_percentage = state, percent
            process.save(update_fields=["progress_state_info", "progress_percentage", "updated_at"])
            _process_event(process, "progress", process.status)
        return step


def _progress_save(process_id: int, run_id: str, step: str, done: float) -> None:
    """Save the percentage reached `done` (0..1) of the way through `step`."""
    low, high = STEP_PERCENT[step]
    percent = int(low + (high - low) * max(0.0, min(1.0, done)))
    with transaction.atomic():
        process = MLTrainingProcess.objects.select_for_update().get(pk=process_id)
        if process.run_id == run_id and process.progress_percentage < percent:
            process.progress_percentage = percent
            process.save(update_fields=["progress_percentage", "updated_at"])
            _process_event(process, "progress", process.status)


def _step_save(process_id: int, run_id: str, **fields) -> bool:
    """Keep what a step made, if the run still holds the process (another run took it over
    otherwise, and the step's output is dropped)."""
    with transaction.atomic():
        process = MLTrainingProcess.objects.select_for_update().get(pk=process_id)
        if process.run_id != run_id:
            return False
        for name, value in fields.items():
            setattr(process, name, value)
        process.save(update_fields=[*fields, "updated_at"])
        return True


def _previous_training_datasets(version: ModelVersion) -> list[int]:
    """Datasets SAM Hub trained this version on before (its training context), if any."""
    return [i for i in (version.training_context or {}).get("datasets", []) if isinstance(i, int)]


def training_process_collect(*, process_id: int, run_id: str) -> None:
    """COLLECTING_DATA: examine the consumer's candidate datasets and choose none, some or all
    of them (those whose columns fit the estimator), plus the data the version was trained
    on before (§7.3.2.1, "other training data that are available")."""
    process = MLTrainingProcess.objects.select_related("ml_entity", "training_request").get(
        pk=process_id
    )
    features = learning.Features.of(process.ml_entity)
    request = process.training_request
    candidates = list(request.candidate_training_data_sources.order_by("pk")) if request else []
    candidate_ids = {d.pk for d in candidates}
    others = list(
        Dataset.objects.filter(pk__in=_previous_training_datasets(process.ml_entity))
        .exclude(pk__in=candidate_ids)
        .order_by("pk")
    )
    chosen, skipped = [], []
    for i, dataset in enumerate([*candidates, *others]):
        try:
            columns = learning.dataset_columns_for(dataset, features)
        except learning.TrainingFailure as exc:
            skipped.append({"dataset": dataset.pk, "reason": str(exc)})
        else:
            chosen.append(
                {
                    "dataset": dataset.pk,
                    "columns": columns,
                    "consumer": dataset.pk in candidate_ids,
                    "rows": dataset.row_count,
                }
            )
        _progress_save(
            process_id,
            run_id,
            ProgressStateInfo.COLLECTING_DATA,
            (i + 1) / (len(candidates) + len(others)),
        )
    used = [c["dataset"] for c in chosen if c["consumer"]]
    if not candidates or not used:
        use = ConsumerDataUse.NONE
    else:
        use = ConsumerDataUse.ALL if len(used) == len(candidates) else ConsumerDataUse.PARTIALLY
    if not chosen:
        raise learning.TrainingFailure(
            "No training data fits the model: "
            + ("; ".join(f"dataset {s['dataset']}: {s['reason']}" for s in skipped) or "none given")
        )
    _step_save(
        process_id,
        run_id,
        data_selection={"chosen": chosen, "skipped": skipped, "consumer_data_used": use},
    )


def training_process_prepare(*, process_id: int, run_id: str) -> None:
    """PREPARING_TRAINING_DATA: read the chosen datasets, drop rows with missing values, join
    them and split them into training and held-out rows; the arrays go to the warehouse."""
    import numpy as np

    process = MLTrainingProcess.objects.get(pk=process_id)
    chosen = process.data_selection["chosen"]
    datasets_by_id = Dataset.objects.in_bulk([c["dataset"] for c in chosen])
    xs, ys = [], []
    for i, entry in enumerate(chosen):
        dataset = datasets_by_id.get(entry["dataset"])
        if dataset is None:
            raise learning.TrainingFailure(f"dataset {entry['dataset']} was deleted meanwhile")
        x, y = learning.dataset_read(dataset, entry["columns"])
        xs.append(x)
        ys.append(y)
        _progress_save(
            process_id,
            run_id,
            ProgressStateInfo.PREPARING_TRAINING_DATA,
            (i + 1) / (len(chosen) + 1),
        )
    arrays = learning.split(np.concatenate(xs), np.concatenate(ys), seed=process_id)
    name = learning.arrays_store(process_id, arrays)
    if not _step_save(process_id, run_id, prepared_file=name):
        return
    logger.info(
        "Training %s: %s training and %s held-out rows",
        process,
        len(arrays["y_train"]),
        len(arrays["y_validation"]),
    )


def training_process_train(*, process_id: int, run_id: str) -> None:
    """TRAINING: fit a clone of the version's estimator on the training rows, score it on them
    (modelPerformanceTraining) and on the held-out rows, and keep the fitted model."""
    process = MLTrainingProcess.objects.select_related("ml_entity", "training_request").get(
        pk=process_id
    )
    features = learning.Features.of(process.ml_entity)
    arrays = learning.arrays_load(process.prepared_file)
    _progress_save(process_id, run_id, ProgressStateInfo.TRAINING, 0.1)
    estimator = learning.fit(process.ml_entity, arrays)
    _progress_save(process_id, run_id, ProgressStateInfo.TRAINING, 0.8)
    training = learning.scores(estimator, features, arrays["x_train"], arrays["y_train"])
    validation = learning.scores(
        estimator, features, arrays["x_validation"], arrays["y_validation"]
    )
    requirements = (
        process.training_request.performance_requirements if process.training_request else []
    )
    results = {
        "training": training,
        "validation": validation,
        "confidence": learning.confidence(features, validation),
        "rows": {"training": len(arrays["y_train"]), "validation": len(arrays["y_validation"])},
        "requirements_unmet": learning.requirements_unmet(requirements, validation, features),
    }
    name = learning.estimator_store(process_id, estimator)
    _step_save(process_id, run_id, trained_file=name, training_results=results)


def _next_version_number(version: ModelVersion) -> str:
    match = re.match(r"^(\d+)\.(\d+)\.(\d+)", version.version)
    major, minor, patch = (int(p) for p in match.groups()) if match else (0, 0, 0)
    taken = set(
        ModelVersion.objects.filter(sam_id=version.sam_id).values_list("version", flat=True)
    )
    patch += 1
    while f"{major}.{minor}.{patch}" in taken:
        patch += 1
    return f"{major}.{minor}.{patch}"


def _trained_context(process: MLTrainingProcess) -> dict:
    """The new version's training context: an MLContext (§7.4.3) naming the data providers
    (the datasets used) and the expected inference entities, with what SAM Hub did."""
    request = process.training_request
    chosen = process.data_selection["chosen"]
    expected = request.expected_runtime_context if request else {}
    return {
        **selectors.ml_context(
            inference_entity_ref=expected.get("inference_entity_ref", ()),
            data_provider_ref=[selectors.dataset_dn(c["dataset"]) for c in chosen],
        ),
        "datasets": [c["dataset"] for c in chosen],
        "features": chosen[0]["columns"],
        "trained_from": process.ml_entity.version,
        "training_request": request.dn if request else None,
        "training_process": process.dn,
        "rows": process.training_results["rows"],
    }


def training_process_register(*, process_id: int, run_id: str) -> MLTrainingProcess:
    """The end of TRAINING: register the fitted model as a new version of the model (parent:
    the trained version; training context and performance filled), write the MLTrainingReport,
    submit the version to the audit (SUBMITTED), and FINISH. A cancel that arrived meanwhile
    discards the new version instead."""
    process = MLTrainingProcess.objects.select_related(
        "ml_entity", "ml_entity__sam", "training_request", "training_request__requested_by"
    ).get(pk=process_id)
    requester = process.training_request.requested_by
    granted_by = _retraining_grant(process.training_request)
    if process.trained_version_id is None:
        content = learning.scratch_read(process.trained_file)
        version = registry_services.version_create(
            sam=process.ml_entity.sam,
            user=requester,
            version=_next_version_number(process.ml_entity),
            parent=process.ml_entity,
            performance=process.training_results["validation"],
            artifact=(io.BytesIO(content), f"trained-{process.ml_entity.sam.slug}.skops"),
            training_context=_trained_context(process),
            release_notes=(
                f"Trained by SAM Hub from version {process.ml_entity.version} ({process.dn})."
            ),
            granted_by=granted_by,
        )
        if not _step_save(process_id, run_id, trained_version=version):
            registry_services.version_discard(
                version_id=version.pk, user=requester, granted_by=granted_by
            )
            return process
    with transaction.atomic():
        process = MLTrainingProcess.objects.select_for_update().get(pk=process_id)
        if process.run_id != run_id:
            return process
        if process.status == ProcessStatus.CANCELLING:
            _process_cancel_complete(process)
            _request_settle(process.training_request_id)
            return process
        report = _report_write(process)
        registry_services.version_submit(
            version_id=process.trained_version_id, user=requester, granted_by=granted_by
        )
        source = process.status
        process.finish()
        unmet = process.training_results["requirements_unmet"]
        process.result_state_info = (
            f"Version {process.trained_version.version} registered and submitted for audit; "
            f"report {report.dn}."
            + (f" Performance requirements not met: {', '.join(unmet)}." if unmet else "")
        )
        process.save()
        _process_event(process, "finish", source)
        _request_settle(process.training_request_id)
        names = (process.prepared_file, process.trained_file)
        transaction.on_commit(lambda: learning.scratch_delete(*names))
    return process


def _retraining_grant(request: MLTrainingRequest) -> str:
    """What lets a consumer's retraining add a version to another organisation's model (the
    registry logs it with the submission); empty for a provider's own training."""
    if request.subscription_id is None:
        return ""
    return (
        f"retrained by {request.requested_by} under their Re-training sharing subscription "
        f"{request.subscription_id} ({request.dn})"
    )


def _report_write(process: MLTrainingProcess) -> MLTrainingReport:
    selection, results = process.data_selection, process.training_results
    used = [c["dataset"] for c in selection["chosen"] if c["consumer"]]
    report = MLTrainingReport(
        function_id=process.function_id,
        ml_entity_id=process.ml_entity_id,
        are_consumer_training_data_used=selection["consumer_data_used"],
        confidence_indication=results["confidence"],
        model_performance_training=results["training"],
        model_performance_validation=results["validation"],
        data_ratio_training_and_validation=round(100 * (1 - learning.VALIDATION_SHARE)),
        are_new_training_data_used=any(not c["consumer"] for c in selection["chosen"]),
        training_request_id=process.training_request_id,
        training_process=process,
        trained_version_id=process.trained_version_id,
    )
    report.last_training = report.last_training_expected()
    report.full_clean()
    report.used_consumer_data_check(used)
    report.save()
    report.used_consumer_training_data.set(used)
    return report


def training_process_fail(*, process_id: int, run_id: str | None, reason: str) -> MLTrainingProcess:
    """The process cannot go on: FAILED with the reason (resultStateInfo); a new version it had
    registered is discarded, and its request ends when its other processes have."""
    with transaction.atomic():
        process = MLTrainingProcess.objects.select_for_update().get(pk=process_id)
        if run_id is not None and process.run_id != run_id:
            return process
        if process.status in PROCESS_ENDED:
            return process
        if process.status == ProcessStatus.CANCELLING:
            _process_cancel_complete(process)
        else:
            source = process.status
            process.fail()
            process.result_state_info = reason
            process.save()
            _process_event(process, "fail", source, reason=reason)
            _results_discard(process)
        if process.training_request_id:
            _request_settle(process.training_request_id)
    logger.warning("Training %s failed: %s", process, reason)
    return process


# --- the queue: claiming by priority, and runs lost with their worker ------------------------


def _lost_before():
    from core.heartbeat import LOST_AFTER_BEATS

    beats = LOST_AFTER_BEATS * settings.SAMHUB_TRAINING_HEARTBEAT_SECONDS
    return timezone.now() - timedelta(seconds=beats)


def training_processes_lost_recover() -> list[int]:
    """Processes whose run stopped beating (its worker was killed): a RUNNING one is released
    to be taken up again from the last step it finished, or FAILS with the reason the
    SAMHUB_TRAINING_MAX_LOST_RUNS-th time; a CANCELLING one is CANCELLED; a SUSPENDED one is
    released (it was pausing). Returns the ids released to run again."""
    released = []
    with transaction.atomic():
        lost = (
            MLTrainingProcess.objects.select_for_update(skip_locked=True)
            .filter(
                status__in=(
                    ProcessStatus.RUNNING,
                    ProcessStatus.CANCELLING,
                    ProcessStatus.SUSPENDED,
                ),
                run_id__gt="",
                heartbeat_at__lt=_lost_before(),
            )
            .order_by("pk")
        )
        for process in lost:
            since = process.heartbeat_at
            if process.status == ProcessStatus.CANCELLING:
                _process_cancel_complete(process)
            elif process.status == ProcessStatus.SUSPENDED:
                _process_release(process)
                continue
            else:
                process.lost_runs += 1
                process.save(update_fields=["lost_runs", "updated_at"])
                reason = (
                    f"The worker running it was lost (no heartbeat since {since:%Y-%m-%d %H:%M:%S} "
                    f"UTC), {process.lost_runs} time(s)"
                )
                if process.lost_runs >= settings.SAMHUB_TRAINING_MAX_LOST_RUNS:
                    source = process.status
                    process.fail()
                    process.result_state_info = (
                        f"{reason}; SAMHUB_TRAINING_MAX_LOST_RUNS is "
                        f"{settings.SAMHUB_TRAINING_MAX_LOST_RUNS}, so it was not taken up again."
                    )
                    process.save()
                    _process_event(process, "fail", source, reason=process.result_state_info)
                else:
                    _process_release(process)
                    _process_event(
                        process, "lost", process.status,
                        reason=f"{reason}; it continues from {process.progress_state_info}.",
                    )  # fmt: skip
                    released.append(process.pk)
                    logger.warning(
                        "Training %s: %s; taking it up again from %s",
                        process, reason, process.progress_state_info,
                    )  # fmt: skip
            if process.training_request_id:
                _request_settle(process.training_request_id)
    return released


def training_process_claim_next(*, run_id: str) -> MLTrainingProcess | None:
    """Take up the next process waiting for a worker, by `priority` (lower first, §7.5) then
    age: a queued one, or a RUNNING one that no run holds (resumed, or its worker was lost).
    Rows other workers are claiming are skipped (SKIP LOCKED where the database has it; SQLite
    takes its write lock when the transaction begins, so claims there run one at a time)."""
    with transaction.atomic():
        process = (
            MLTrainingProcess.objects.select_for_update(skip_locked=True)
            .filter(
                Q(status=ProcessStatus.NOT_STARTED) | Q(status=ProcessStatus.RUNNING, run_id="")
            )
            .order_by("priority", "created_at", "pk")
            .first()
        )
        if process is None:
            return None
        source = process.status
        process.claim(run_id=run_id)
        process.save()
        _process_event(process, "claim", source)
    return process


def training_processes_waiting() -> tuple[list[int], list[int]]:
    """(requests NOT_STARTED, processes a worker should take up or check on): what a worker
    that starts queues again, since a killed worker may have taken their messages with it."""
    requests = list(
        MLTrainingRequest.objects.filter(status=RequestStatus.NOT_STARTED).values_list(
            "pk", flat=True
        )
    )
    processes = list(
        MLTrainingProcess.objects.filter(
            status__in=(ProcessStatus.NOT_STARTED, ProcessStatus.RUNNING, ProcessStatus.CANCELLING)
        ).values_list("pk", flat=True)
    )
    return requests, processes


def _enqueue_start(request_id: int) -> None:
    from training.tasks import training_request_start_task

    transaction.on_commit(lambda: training_request_start_task.delay(request_id))


def _enqueue_run(process_id: int) -> None:
    from training.tasks import training_process_run_task

    transaction.on_commit(lambda: training_process_run_task.delay(process_id))


# --- retraining-sharing: telling the consumer (ENI SAM clause 5, sharing steps 3-5) ----------


def retrained_version_released(*, version: ModelVersion) -> None:
    """A version was released (registry.extensions.version_released, in the release's
    transaction): when a consumer's retraining produced it, tell them (training.notices), once;
    `subscriber_notified_at` records when."""
    requests = MLTrainingRequest.objects.select_related("ml_entity").filter(
        processes__trained_version=version,
        subscription__isnull=False,
        subscriber_notified_at__isnull=True,
    )
    for request in requests:
        claimed = MLTrainingRequest.objects.filter(
            pk=request.pk, subscriber_notified_at__isnull=True
        ).update(subscriber_notified_at=timezone.now())
        if claimed:
            notices.retrained_version_released(request=request, version=version)
