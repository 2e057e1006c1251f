"""Metered reasoning calls (ENI SAM clause 6.1, "reasoning call") and the ground truth that
later attaches to them; the monitoring of shared models builds on these records.

Every call that reaches a model, or is refused for its inputs, leaves one InferenceRecord whose
UUID is the inference id. Calls refused before that (401, 403, 404, 409 on the version's state)
are not calls of the model and leave none. The model runs outside any transaction; the record
is one INSERT after it.
"""

import logging
import time
import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils import timezone

from core.services import api_token_used
from registry import permissions
from registry.errors import DomainError
from registry.models import AccessType, ModelVersion, VersionStatus
from registry.selectors import version_visible_to
from sharing import broker, inference, selectors
from sharing.runtime import samhub_runtime
from sharing.models import InferenceOutcome, InferenceRecord, SharingMethod
from sharing.services import sharing_access_check

logger = logging.getLogger(__name__)


def inference_call(
    *, user: User, version_id: int, inputs: Any, outputs: list[str] | None = None
) -> InferenceRecord:
    """Answer `inputs` with the version's model, in the web process or through the broker, and
    meter the call; `outputs` picks some of the signature's outputs (default: all). Returns the record (its `outputs` are the answer); a refused or failed call
    raises DomainError after its record is written, with `inference_id` set on the error."""
    started = time.perf_counter()
    version = _visible_version(user, version_id)
    subscription = sharing_access_check(user=user, version=version, method=SharingMethod.INFERENCE)
    _check_callable(version)
    inference_id = uuid.uuid4()
    answers, count, outcome, failure = None, 0, InferenceOutcome.OK, None
    try:
        if version.access_type == AccessType.EXTERNAL_ENDPOINT:
            answers, count = _brokered(version, inputs, outputs, str(inference_id))
        else:
            answers, count = inference.run(version, inputs, outputs=outputs)
    except samhub_runtime.InvalidInput as exc:
        outcome, count = InferenceOutcome.INVALID_INPUT, exc.count
        failure = DomainError(
            exc.message,
            code="invalid_input",
            details={
                "inputs": {exc.input_name: [exc.message]} if exc.input_name else [exc.message]
            },
        )
    except broker.UpstreamRejected as exc:
        outcome = InferenceOutcome.INVALID_INPUT
        failure = DomainError(
            f"The external endpoint refused the inputs (HTTP {exc.status}): {exc.detail}",
            code="upstream_rejected",
            details={"upstream": exc.body},
        )
    except broker.UpstreamTimeout as exc:
        outcome = InferenceOutcome.UPSTREAM_TIMEOUT
        failure = DomainError(str(exc), code="upstream_timeout", status=504)
    except broker.UpstreamError as exc:
        outcome = InferenceOutcome.UPSTREAM_ERROR
        failure = DomainError(str(exc), code="upstream_error", status=502)
    except samhub_runtime.ModelFailure as exc:
        logger.exception("Inference on version %s failed", version.pk)
        outcome = InferenceOutcome.ERROR
        failure = DomainError(str(exc), code="model_error", status=500)
    except Exception:
        # Still a call of the model: meter it, keep the traceback in the log.
        logger.exception("Inference on version %s failed unexpectedly", version.pk)
        outcome = InferenceOutcome.ERROR
        failure = DomainError(
            "The call failed unexpectedly; the error is logged.", code="model_error", status=500
        )
    latency_ms = (time.perf_counter() - started) * 1000
    # Built by this code from checked values, so no full_clean(): the write stays one INSERT.
    record = InferenceRecord.objects.create(
        id=inference_id,
        version=version,
        caller=user,
        subscription=subscription,
        count=count,
        latency_ms=latency_ms,
        outcome=outcome,
        error=failure.message if failure else "",
        outputs=answers,
    )
    if failure is not None:
        failure.inference_id = record.pk
        raise failure
    return record


def inference_call_granted(
    *, token_key: str, version_id: int, inputs: Any, outputs: list[str] | None = None
) -> InferenceRecord | None:
    """The common reasoning call, and the one that must be fast: an API token holder with an
    ACTIVE INFERENCE subscription calls a RELEASED version that SAM Hub runs itself, and the
    call succeeds. One statement checks the rights and reads the version, one INSERT meters.

    Returns None, having written nothing, in every other case (no such grant, an external
    endpoint, no model file, inputs refused, the model failing); inference_call() then
    decides, answers and meters the call, so refusals and errors have one code path."""
    started = time.perf_counter()
    version = selectors.inference_grant(token_key, version_id)
    if version is None or version.access_type == AccessType.EXTERNAL_ENDPOINT:
        return None  # brokered calls wait on the network anyway
    # A dictionary look-up; an UPDATE at most once an hour per token and process.
    api_token_used(token_id=version.grant_token_id, digest=version.grant_token_digest)
    if not version.artifact_sha256:
        return None
    try:
        answers, count = inference.run(version, inputs, outputs=outputs)
    except Exception:  # refused or failed: inference_call() meters it, and logs failures
        return None
    return InferenceRecord.objects.create(
        id=uuid.uuid4(),
        version=version,
        caller_id=version.grant_user_id,
        subscription_id=version.grant_subscription_id,
        count=count,
        latency_ms=(time.perf_counter() - started) * 1000,
        outcome=InferenceOutcome.OK,
        error="",
        outputs=answers,
    )


def _visible_version(user: User, version_id: int) -> ModelVersion:
    try:
        return version_visible_to(user, version_id)
    except ModelVersion.DoesNotExist:
        raise DomainError(
            f"There is no version {version_id} that you can see.", code="not_found", status=404
        ) from None


def _check_callable(version: ModelVersion) -> None:
    if version.status == VersionStatus.RETIRED:
        raise DomainError.conflict(
            f"{version.sam.name} {version.version} is retired and no longer answers calls."
        )
    if version.access_type == AccessType.EXTERNAL_ENDPOINT:
        if not version.endpoint_url:
            raise DomainError.conflict(
                f"{version.sam.name} {version.version} has no external endpoint URL."
            )
    elif not version.artifact_sha256:
        raise DomainError.conflict(
            f"{version.sam.name} {version.version} has no model file to run yet."
        )


def _brokered(
    version: ModelVersion, inputs: Any, wanted: list[str] | None, inference_id: str
) -> tuple[dict, int]:
    count = None
    if version.signature.get("inputs"):
        # A signature is known (a file was uploaded too): refuse bad inputs here, as for
        # models the hub runs itself, without a round trip.
        count = samhub_runtime.prepare_inputs(
            version.signature, inputs, max_batch=settings.SAMHUB_INFERENCE_MAX_BATCH
        ).count
        wanted = samhub_runtime.output_names(version.signature, wanted) if wanted else None
    answer = broker.forward(
        url=version.endpoint_url,
        inputs=inputs,
        outputs=wanted,
        inference_id=inference_id,
        timeout=settings.SAMHUB_BROKER_TIMEOUT_SECONDS,
        max_bytes=settings.SAMHUB_BROKER_MAX_RESPONSE_BYTES,
    )
    answers = answer["outputs"]
    if wanted:
        answers = {name: answers[name] for name in wanted if name in answers}
    if count is None:
        count = _answered_count(answer, answers)
    return answers, count


def _answered_count(answer: dict, outputs: dict) -> int:
    count = answer.get("count")
    if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
        return count
    first = next(iter(outputs.values()), None)
    return len(first) if isinstance(first, list) else 1


# --- ground truth ----------------------------------------------------------------------------


def inference_ground_truth_attach(
    *, user: User, inference_id: uuid.UUID | str, ground_truth: Any
) -> InferenceRecord:
    """Attach the true values of a call's outputs, one entry per instance (null where unknown),
    for accuracy monitoring. Once per inference: a second attempt is refused with 409."""
    record = inference_get(user=user, inference_id=inference_id)
    if not permissions.can_attach_ground_truth(record, user):
        raise DomainError.not_allowed(
            "Only the caller who made the inference, providers of the model's organisation and "
            "operators can attach its ground truth."
        )
    if record.outcome != InferenceOutcome.OK:
        raise DomainError.conflict(
            f"Inference {record.pk} was not answered ({record.outcome}); there are no outputs "
            "to compare ground truth with."
        )
    if record.ground_truth_at is not None:
        raise DomainError.conflict(_already_attached(record))
    _check_ground_truth(record, ground_truth)
    now = timezone.now()
    # A conditional UPDATE, so two concurrent attachments cannot both succeed.
    updated = InferenceRecord.objects.filter(pk=record.pk, ground_truth_at__isnull=True).update(
        ground_truth=ground_truth, ground_truth_at=now
    )
    if not updated:
        record.refresh_from_db(fields=["ground_truth_at"])
        raise DomainError.conflict(_already_attached(record))
    record.ground_truth, record.ground_truth_at = ground_truth, now
    return record


def _already_attached(record: InferenceRecord) -> str:
    return (
        f"Ground truth was attached to inference {record.pk} already, at "
        f"{record.ground_truth_at:%Y-%m-%d %H:%M:%S} UTC."
    )


def _check_ground_truth(record: InferenceRecord, ground_truth: Any) -> None:
    names = list(record.outputs or {})
    if not isinstance(ground_truth, dict) or not ground_truth:
        raise DomainError(
            f'Send "groundTruth" as an object mapping output names ({", ".join(names)}) to lists.',
            details={"groundTruth": ["an object with at least one output"]},
        )
    errors = {}
    for name, values in ground_truth.items():
        if name not in names:
            errors[name] = [f"unknown output; the call's outputs are {', '.join(names)}"]
        elif not isinstance(values, list) or len(values) != record.count:
            got = f"{len(values)} entries" if isinstance(values, list) else "not a list"
            errors[name] = [
                f"expected a list of {record.count} entries (one per instance), got {got}"
            ]
    if errors:
        name, (message,) = next(iter(errors.items()))
        raise DomainError(
            f"Ground truth for output {name!r}: {message}.",
            details={"groundTruth": errors},
        )


# --- reads -----------------------------------------------------------------------------------


def inference_get(*, user: User, inference_id: uuid.UUID | str) -> InferenceRecord:
    try:
        return selectors.inferences_visible_to(user).get(pk=inference_id)
    except (InferenceRecord.DoesNotExist, ValidationError):
        raise DomainError(
            f"There is no inference {inference_id} that you can see.", code="not_found", status=404
        ) from None
