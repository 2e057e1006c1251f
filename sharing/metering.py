"""Metered reasoning calls (ENI SAM clause 6.1, "reasoning call") and the ground truth that
later attaches to them; the monitoring of shared models builds on these records.

Every call that reaches a model, or is refused for its inputs, leaves one InferenceRecord whose
UUID is the inference id. Calls refused before that (401, 403, 404, 409 on the version's state)
are not calls of the model and leave none. The model runs outside any transaction; the record
is one INSERT after it.
"""

import functools
import logging
import time
import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from core.errors import DomainError
from registry.models import AccessType, ModelVersion, SmallAIModel, VersionStatus
from registry.selectors import PUBLISHED_STATES, version_visible_to
from sharing import broker, inference, permissions, selectors
from sharing.models import (
    InferenceDataSet,
    InferenceOutcome,
    InferenceRecord,
    SharingMethod,
    Subscription,
    SubscriptionStatus,
)
from sharing.runtime import samhub_runtime
from sharing.services import sharing_access_check

logger = logging.getLogger(__name__)


def inference_call(*, caller: User, version_id: int, body: Any) -> InferenceRecord:
    """Answer a reasoning call's body, `{"inputs": {...}, "outputs": [...]}` (outputs, some of
    the signature's, optional), with the version's model, in the web process or through the
    broker, and meter it. Returns the record (its `outputs` are the answer); a refused or
    failed call raises DomainError, after writing its record when the call reached the model
    (`inference_id` set on the error)."""
    started = time.perf_counter()
    inputs, outputs = _call_body(body)
    version, subscription = _granted(caller, version_id)
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
    record = InferenceRecord(
        id=inference_id,
        version=version,
        caller=caller,
        subscription=subscription,
        count=count,
        latency_ms=(time.perf_counter() - started) * 1000,
        outcome=outcome,
        error=failure.message if failure else "",
        outputs=answers,
    )
    _record_insert(record)
    if failure is not None:
        failure.inference_id = record.pk
        raise failure
    return record


def _record_insert(record: InferenceRecord) -> None:
    """The call's one INSERT. Built by this code from checked values, so no full_clean();
    and no Model.save(): its machinery (signals, the compiler building the statement anew)
    costs more than the write itself on every call (docs/benchmarks.md). The values are
    converted by each field, as save() converts them."""
    statement, fields = _record_insert_sql(connection.vendor)
    values = [field.get_db_prep_save(field.pre_save(record, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(statement, values)
    record._state.adding, record._state.db = False, connection.alias


@functools.cache
def _record_insert_sql(vendor: str) -> tuple[str, list]:
    fields = InferenceRecord._meta.concrete_fields
    quote = connection.ops.quote_name
    statement = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(InferenceRecord._meta.db_table),
        ", ".join(quote(field.column) for field in fields),
        ", ".join(["%s"] * len(fields)),
    )
    return statement, fields


def _call_body(body: Any) -> tuple[dict, list[str] | None]:
    """The inputs and the output names asked for, once the body has the call's shape; the
    inputs themselves are the runtime's to check against the signature."""
    if not isinstance(body, dict):
        body = {}  # a list or a single value: no inputs
    errors = {}
    if not isinstance(body.get("inputs"), dict):
        errors["inputs"] = ["Required: an object mapping each input name to a nested list."]
    outputs = body.get("outputs")
    if "outputs" in body:
        if (
            isinstance(outputs, list)
            and outputs
            and all(isinstance(name, str) and name.strip() for name in outputs)
        ):
            outputs = [name.strip() for name in outputs]  # as the names are shown, trimmed
        else:
            errors["outputs"] = ["A non-empty list of output names, or left out for all."]
    if errors:
        raise DomainError("Some fields are not valid.", code="invalid", details=errors)
    return body["inputs"], outputs


# --- the caller's grant: one statement -------------------------------------------------------

# A reasoning call reads, besides its caller, the version (only the columns the call uses: the
# others stay deferred), its model's slug and name, and the caller's ACTIVE INFERENCE
# subscription to the model (at most one, by a constraint), in one statement. By API token it
# is read along with the token's user (sharing.api.inference.InferenceTokenAuthentication), so
# that a granted call costs one SELECT and the record's INSERT: the ORM queries for the same
# cost three times the model's prediction (docs/benchmarks.md). The statement only reads; the
# access rules are the ones every caller goes through (_granted).
_GRANT_READ = {
    "v": (ModelVersion, ("id", "sam", "version", "status", "access_type", "endpoint_url",
                         "artifact", "artifact_format", "artifact_sha256",
                         "artifact_loaded_bytes", "signature", "deprecated_at")),
    "m": (SmallAIModel, ("id", "slug", "name")),
    "s": (Subscription, ("id", "status", "created_at")),  # status: django-fsm reads it on load
}  # fmt: skip
_GRANT_JOINS = """
    LEFT JOIN {version} v ON v.id = %s
    LEFT JOIN {model} m ON m.id = v.sam_id
    LEFT JOIN {subscription} s ON s.consumer_id = u.id AND s.sam_id = v.sam_id
         AND s.method = %s AND s.status = %s
"""


@functools.cache
def _grant_sql() -> tuple[str, str]:
    """The statement's columns (the version asked for, then each model's, as
    grant_<alias>_<column>) and its joins on the caller `u`, with the models' table names."""
    columns = ", %s AS grant_for" + "".join(
        f", {alias}.{field.column} AS grant_{alias}_{field.column}"
        for alias, (model, names) in _GRANT_READ.items()
        for field in _fields(model, names)
    )
    joins = _GRANT_JOINS.format(
        version=ModelVersion._meta.db_table,
        model=SmallAIModel._meta.db_table,
        subscription=Subscription._meta.db_table,
    )
    return columns, joins


def grant_read_along(version_id: int) -> tuple[str, str, list]:
    """The grant's columns, joins and parameters, for the statement that finds the caller."""
    columns, joins = _grant_sql()
    params = [version_id, version_id, SharingMethod.INFERENCE, SubscriptionStatus.ACTIVE]
    return columns, joins, params


def _grant_read(caller: User, version_id: int):
    """The caller's row with the grant's columns: the one read along with the API token, or,
    for a caller signed in otherwise, the same statement keyed by the user's id."""
    if getattr(caller, "grant_for", None) == version_id:
        return caller
    columns, joins, params = grant_read_along(version_id)
    statement = f"SELECT u.id {columns} FROM {User._meta.db_table} u {joins} WHERE u.id = %s"
    return next(iter(User.objects.raw(statement, [*params, caller.pk])), None)


def _granted(caller: User, version_id: int) -> tuple[ModelVersion, Subscription | None]:
    """The version the caller may call, and the subscription that lets them (None for those
    who need none); DomainError 404, 403 or 409 otherwise. The granted call, a subscriber's
    on a version that serves them, decides on what the one statement read."""
    row = _grant_read(caller, version_id)
    if row is None or row.grant_v_id is None:
        raise _no_such_version(version_id)
    version = _instance(row, "v")
    version.sam = _instance(row, "m")
    if version.status not in PUBLISHED_STATES:
        _visible_version(caller, version_id)  # unpublished: only its organisation and staff
    subscription = _instance(row, "s") if row.grant_s_id is not None else None
    if subscription is None or not selectors.serves_subscription(version, subscription):
        subscription = sharing_access_check(
            user=caller, version=version, method=SharingMethod.INFERENCE
        )
    _check_callable(version)
    return version, subscription


@functools.cache
def _fields(model, names: tuple[str, ...]) -> list:
    # In the model's field order: Model.from_db() takes the values of a partial row so.
    wanted = {model._meta.get_field(name) for name in names}
    return [field for field in model._meta.concrete_fields if field in wanted]


def _instance(row, alias: str):
    """One model's instance from the statement's columns, converted as the ORM converts them
    (dates and JSON arrive as text from SQLite); the fields not read stay deferred."""
    model, names = _GRANT_READ[alias]
    values = []
    for attribute, column, converters in _converters(alias, connection.vendor):
        value = getattr(row, attribute)
        for convert in converters:
            value = convert(value, column, connection)
        values.append(value)
    return model.from_db(row._state.db, _attnames(model, names), values)


@functools.cache
def _attnames(model, names: tuple[str, ...]) -> frozenset[str]:
    # A set: Model.from_db() looks each of the model's fields up in it.
    return frozenset(field.attname for field in _fields(model, names))


@functools.cache
def _converters(alias: str, vendor: str) -> list[tuple[str, object, list]]:
    # Per column: its attribute on the row, its expression and the ORM's converters for it,
    # worked out once per process (converting the values is all that is left per call).
    model, names = _GRANT_READ[alias]
    converters = []
    for field in _fields(model, names):
        column = field.get_col(model._meta.db_table)
        converters.append(
            (
                f"grant_{alias}_{field.column}",
                column,
                connection.ops.get_db_converters(column) + field.get_db_converters(connection),
            )
        )
    return converters


def _no_such_version(version_id: int) -> DomainError:
    return DomainError(
        f"There is no version {version_id} that you can see.", code="not_found", status=404
    )


def _visible_version(user: User, version_id: int) -> ModelVersion:
    try:
        return version_visible_to(user, version_id)
    except ModelVersion.DoesNotExist:
        raise _no_such_version(version_id) from None


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
    *,
    user: User,
    inference_id: uuid.UUID | str,
    ground_truth: Any,
    input_data_set: dict | None = None,
) -> InferenceRecord:
    """Attach the true values of a call's outputs, one entry per instance (null where unknown),
    for accuracy monitoring. Once per inference: a second attempt is refused with 409.
    `input_data_set` names where the user keeps the call's inputs (data_set_id, and optional
    data_set_desc, adrf_id, adrf_set_id: a TS 29.575 DataSetTag and its ADRF), so that the
    monitor can point to the input of a wrong prediction; the user's data set of that name is
    made the first time (its description is the one last given)."""
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
    named = _input_data_set_clean(user, input_data_set) if input_data_set is not None else None
    now = timezone.now()
    with transaction.atomic():
        data_set = _input_data_set_name(named) if named is not None else None
        # A conditional UPDATE, so two concurrent attachments cannot both succeed.
        updated = InferenceRecord.objects.filter(pk=record.pk, ground_truth_at__isnull=True).update(
            ground_truth=ground_truth, ground_truth_at=now, input_data_set=data_set
        )
        if not updated:
            transaction.set_rollback(True)  # a data set named by this attempt goes with it
    if not updated:
        record.refresh_from_db(fields=["ground_truth_at"])
        raise DomainError.conflict(_already_attached(record))
    record.ground_truth, record.ground_truth_at = ground_truth, now
    record.input_data_set = data_set
    return record


def _input_data_set_clean(user: User, named: Any) -> InferenceDataSet:
    """The data set as named, checked (not saved): a DataSetTag's dataSetId (and dataSetDesc),
    the NfInstanceId (a UUID) of the ADRF holding it or the NfSetId of its ADRF set."""
    named = named if isinstance(named, dict) else {}
    adrf_id = named.get("adrf_id") or ""
    errors = {}
    if adrf_id:
        try:
            adrf_id = str(uuid.UUID(str(adrf_id)))
        except ValueError:
            errors["adrfId"] = ["an NfInstanceId: a UUID"]
    data_set = InferenceDataSet(
        owner=user,
        data_set_id=named.get("data_set_id") or "",
        data_set_desc=named.get("data_set_desc") or "",
        adrf_id=adrf_id if not errors else "",
        adrf_set_id=named.get("adrf_set_id") or "",
    )
    try:
        data_set.full_clean(exclude=["owner"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        names = {"data_set_id": "dataSetTag.dataSetId", "data_set_desc": "dataSetTag.dataSetDesc",
                 "adrf_set_id": "adrfSetId"}  # fmt: skip
        errors |= {
            names.get(field, field): messages for field, messages in exc.message_dict.items()
        }
    if errors:
        name, (message, *_) = next(iter(errors.items()))
        raise DomainError(f"Input data set: {name}: {message}", details={"inputDataSet": errors})
    return data_set


def _input_data_set_name(named: InferenceDataSet) -> InferenceDataSet:
    data_set, created = InferenceDataSet.objects.get_or_create(
        owner=named.owner,
        data_set_id=named.data_set_id,
        adrf_id=named.adrf_id,
        adrf_set_id=named.adrf_set_id,
        defaults={"data_set_desc": named.data_set_desc},
    )
    if not created and named.data_set_desc and named.data_set_desc != data_set.data_set_desc:
        data_set.data_set_desc = named.data_set_desc
        data_set.save(update_fields=["data_set_desc"])
    return data_set


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
