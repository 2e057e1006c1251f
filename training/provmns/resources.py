"""The training MOIs as TS 28.532 resources: `{"id", "objectClass", "objectInstance",
"attributes"}` with the seed's attribute names (TS 28.105 Rel-17 §7.3–7.5, which win over the
Rel-19 YAML where they differ), children by class name (the hierarchical form of TS 32.158),
and how DNs map to ProvMnS URIs. Used by the ProvMnS views and by the notifications, so a
notification's attributeList is what a GET shows."""

from django.conf import settings

from training import selectors
from training.models import (
    DN_ROOT,
    MLTrainingFunction,
    MLTrainingProcess,
    MLTrainingReport,
    MLTrainingRequest,
    NtfSubscription,
)

FUNCTION_ID = "1"
FUNCTION_DN = f"{DN_ROOT},MLTrainingFunction={FUNCTION_ID}"
MNS_PATH = "ProvMnS/v1"

# The classes under MLTrainingFunction=1, in the order a subtree lists them.
CHILD_CLASSES = ("MLTrainingRequest", "MLTrainingProcess", "MLTrainingReport")

ATTRIBUTES = {
    "MLTrainingFunction": ("userLabel", "mLEntityList"),
    "MLTrainingRequest": (
        "mLEntityId", "candidateTraingDataSource", "traingDataQualityScore",
        "trainingRequestSource", "requestStatus", "expectedRuntimeContext",
        "performanceRequirements", "cancelRequest", "suspendRequest", "priority",
    ),
    "MLTrainingProcess": (
        "mLTrainingProcessId", "mLEntityId", "priority", "terminationConditions",
        "progressStatus", "cancelProcess", "suspendProcess", "trainingRequestRef",
        "trainingReportRef",
    ),
    "MLTrainingReport": (
        "mLEntityId", "areConsumerTrainingDataUsed", "usedConsumerTrainingData",
        "confidenceIndication", "modelPerformanceTraining", "modelPerformanceValidation",
        "dataRatioTrainingAndValidation", "areNewTrainingDataUsed", "trainingRequestRef",
        "trainingProcessRef", "lastTrainingRef",
    ),
    "NtfSubscriptionControl": (
        "notificationRecipientAddress", "notificationTypes", "scope",
    ),
}  # fmt: skip


def href(dn: str) -> str:
    """The ProvMnS URI of a DN: `{MnSRoot}/ProvMnS/v1/SubNetwork=1/MLTrainingFunction=1/…`."""
    return f"{settings.SAMHUB_PROVMNS_ROOT.rstrip('/')}/{MNS_PATH}/{dn.replace(',', '/')}"


def class_of(obj) -> str:
    if isinstance(obj, NtfSubscription):
        return "NtfSubscriptionControl"
    return type(obj).__name__


def _performance(entries) -> list[dict]:
    return [
        {
            "inferenceOutputName": e.get("inference_output_name", ""),
            "performanceMetric": e.get("performance_metric", ""),
            "performanceScore": e.get("performance_score"),
        }
        for e in entries or ()
    ]


def _context(context) -> dict:
    context = context or {}
    return {
        "inferenceEntityRef": list(context.get("inference_entity_ref", ())),
        "dataProviderRef": list(context.get("data_provider_ref", ())),
    }


def _time(value) -> str | None:
    return value.isoformat() if value is not None else None


def progress_status(process: MLTrainingProcess) -> dict:
    """`progressStatus`, TS 28.622 ProcessMonitor as TS 28.105 §7.3.4.1 specialises it."""
    return {
        "status": process.status,
        "progressStateInfo": process.progress_state_info,
        "progressPercentage": process.progress_percentage,
        "resultStateInfo": process.result_state_info,
        "startTime": _time(process.started_at),
        "endTime": _time(process.ended_at),
    }


def _request_attributes(request: MLTrainingRequest, user) -> dict:
    return {
        "mLEntityId": str(request.ml_entity_id),
        "candidateTraingDataSource": [
            str(d.pk) for d in sorted(request.candidate_training_data_sources.all(), key=_pk)
        ],
        "traingDataQualityScore": request.training_data_quality_score,
        "trainingRequestSource": request.training_request_source,
        "requestStatus": request.status,
        "expectedRuntimeContext": _context(request.expected_runtime_context),
        "performanceRequirements": _performance(request.performance_requirements),
        "cancelRequest": request.cancel_request,
        "suspendRequest": request.suspend_request,
        "priority": request.priority,
    }


def _process_attributes(process: MLTrainingProcess, user) -> dict:
    report = MLTrainingReport.objects.filter(training_process_id=process.pk).first()
    return {
        "mLTrainingProcessId": str(process.pk),
        "mLEntityId": str(process.ml_entity_id),
        "priority": process.priority,
        "terminationConditions": process.termination_conditions,
        "progressStatus": progress_status(process),
        "cancelProcess": process.cancel_process,
        "suspendProcess": process.suspend_process,
        "trainingRequestRef": [_dn(MLTrainingRequest, process.training_request_id)]
        if process.training_request_id
        else [],
        "trainingReportRef": report.dn if report is not None else None,
    }


def _report_attributes(report: MLTrainingReport, user) -> dict:
    return {
        "mLEntityId": str(report.ml_entity_id),
        "areConsumerTrainingDataUsed": report.are_consumer_training_data_used,
        "usedConsumerTrainingData": [
            str(d.pk) for d in sorted(report.used_consumer_training_data.all(), key=_pk)
        ],
        "confidenceIndication": report.confidence_indication,
        "modelPerformanceTraining": _performance(report.model_performance_training),
        "modelPerformanceValidation": _performance(report.model_performance_validation),
        "dataRatioTrainingAndValidation": report.data_ratio_training_and_validation,
        "areNewTrainingDataUsed": report.are_new_training_data_used,
        "trainingRequestRef": [_dn(MLTrainingRequest, report.training_request_id)]
        if report.training_request_id
        else [],
        "trainingProcessRef": _dn(MLTrainingProcess, report.training_process_id),
        "lastTrainingRef": _dn(MLTrainingReport, report.last_training_id)
        if report.last_training_id
        else None,
    }


def _function_attributes(function: MLTrainingFunction, user, wanted) -> dict:
    attributes = {"userLabel": function.user_label}
    if wanted is None or "mLEntityList" in wanted:  # one query per version: only when asked
        attributes["mLEntityList"] = [
            _ml_entity(selectors.ml_entity_of(v))
            for v in selectors.ml_entities_of(user).select_related("sam").order_by("pk")
        ]
    return attributes


def _ml_entity(entity) -> dict:
    """An MLEntity (§7.4.2) with its three MLContexts."""
    return {
        "mLEntityId": entity.ml_entity_id,
        "inferenceType": entity.inference_type,
        "mLEntityVersion": entity.version.version,
        "expectedRunTimeContext": _context(entity.expected_runtime_context),
        "trainingContext": _context(entity.training_context),
        "runTimeContext": _context(entity.runtime_context),
    }


def _subscription_attributes(subscription: NtfSubscription, user) -> dict:
    scope = {"scopeType": subscription.scope_type}
    if subscription.scope_level is not None:
        scope["scopeLevel"] = subscription.scope_level
    return {
        "notificationRecipientAddress": subscription.notification_recipient_address,
        "notificationTypes": list(subscription.notification_types),
        "scope": scope,
    }


def _pk(obj) -> int:
    return obj.pk


def _dn(model, pk) -> str:
    return f"{FUNCTION_DN},{model.__name__}={pk}"


def attributes_of(obj, user=None, wanted: set[str] | None = None) -> dict:
    """The object's attributes, only those in `wanted` when given."""
    if isinstance(obj, MLTrainingFunction):
        attributes = _function_attributes(obj, user, wanted)
    else:
        build = {
            MLTrainingRequest: _request_attributes,
            MLTrainingProcess: _process_attributes,
            MLTrainingReport: _report_attributes,
            NtfSubscription: _subscription_attributes,
        }[type(obj)]
        attributes = build(obj, user)
    if wanted is not None:
        attributes = {k: v for k, v in attributes.items() if k in wanted}
    return attributes


def resource(obj, user=None, wanted: set[str] | None = None) -> dict:
    """The TS 28.532 Resource of one object, without children."""
    return {
        "id": FUNCTION_ID if isinstance(obj, MLTrainingFunction) else str(_moi_id(obj)),
        "objectClass": class_of(obj),
        "objectInstance": obj.dn,
        "attributes": attributes_of(obj, user, wanted),
    }


def _moi_id(obj):
    return obj.moi_id if isinstance(obj, NtfSubscription) else obj.pk
