"""The JSON of Aimles_AMLMSel, AIMLE assisted ML model selection (TS 29.482 v20.0.0, API
1.1.0-alpha.1, as docs/model_selection.md summarises it): field names, required fields and
types (camelCase belongs to these serializers). The rules across fields (NOTE 1 and NOTE 2,
what a candidate may be) are the service's: training.aimle.selection."""

from contextlib import contextmanager

from rest_framework import serializers

from core.errors import DomainError
from training.aimle import selection as services
from training.aimle import selection_selectors
from training.aimle.api_computing import StrictIntegerField
from training.aimle.api_context import ObjectField
from training.aimle.selection_notifications import trained_model
from training.models import (
    AimleNotificationMethod,
    AimlePerformanceMetric,
    CandidateSource,
    ModelSelection,
)

# Where each service argument is in the JSON body (invalidParams of a refusal).
POINTERS = {
    "candidates": "/aimlProfile/candMLMdls",
    "model_requirements": "/aimlProfile/mlMdlReq",
    "datasets": "/aimlProfile/dataSetIds",
    "training_requirements": "/aimlProfile/trainReq",
    "client_set_ids": "/aimlProfile/clientList",
    "client_criteria": "/aimlProfile/clientSelCriteria",
    "client_number": "/aimlProfile/clNumber",
    # as the AIMLE client registry names them (training.aimle.clients)
    "criteria": "/aimlProfile/clientSelCriteria",
    "number": "/aimlProfile/clNumber",
    "notification_uri": "/notifUri",
    "reporting": "/repInfo",
}
READ_ONLY = ("subscriptionId", "opStatus", "trainMLModel")


@contextmanager
def named_as_in_the_body():
    """A service's refusal with each refused attribute named by its JSON pointer."""
    try:
        yield
    except DomainError as exc:
        if isinstance(exc.details, dict):
            exc.details = {POINTERS.get(k, k): v for k, v in exc.details.items()}
        raise


class Number(serializers.FloatField):
    """A JSON number (not a string)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


class MLModelSerializer(serializers.Serializer):
    """A candidate: mlMdlId (a SAM Hub version id) and its initial parameters."""

    mlMdlId = serializers.CharField(max_length=64)  # noqa: N815
    mlMdlParam = ObjectField(required=False)  # noqa: N815


class PerformanceRequirementSerializer(serializers.Serializer):
    perfMetric = serializers.ChoiceField(choices=AimlePerformanceMetric.values)  # noqa: N815
    perfTarget = Number(required=False)  # noqa: N815


class TrainingRequirementSerializer(serializers.Serializer):
    perfReq = PerformanceRequirementSerializer(many=True, allow_empty=False)  # noqa: N815
    trainCount = StrictIntegerField(min_value=1)  # noqa: N815
    sampleCount = StrictIntegerField(min_value=1)  # noqa: N815


class AimlProfileSerializer(serializers.Serializer):
    candMLMdls = MLModelSerializer(many=True, allow_empty=False)  # noqa: N815
    mlMdlReq = ObjectField(required=False)  # noqa: N815
    dataSetIds = serializers.ListField(  # noqa: N815
        child=serializers.CharField(max_length=20), allow_empty=False
    )
    trainReq = TrainingRequirementSerializer(many=True, allow_empty=False)  # noqa: N815
    clientList = serializers.ListField(  # noqa: N815
        child=serializers.CharField(max_length=255), required=False
    )
    clientSelCriteria = ObjectField(required=False)  # noqa: N815
    clNumber = StrictIntegerField(min_value=1, required=False)  # noqa: N815


class TimeWindowSerializer(serializers.Serializer):
    startTime = serializers.DateTimeField()  # noqa: N815
    stopTime = serializers.DateTimeField()  # noqa: N815


class ReportingInformationSerializer(serializers.Serializer):
    notifMethod = serializers.ChoiceField(  # noqa: N815
        choices=AimleNotificationMethod.values, required=False
    )
    jobPercentage = StrictIntegerField(min_value=1, max_value=100, required=False)  # noqa: N815
    repPeriod = StrictIntegerField(min_value=1, required=False)  # noqa: N815
    timeWindow = TimeWindowSerializer(required=False)  # noqa: N815


class AssistMLMdlSelSubscSerializer(serializers.Serializer):
    aimlProfile = AimlProfileSerializer()  # noqa: N815
    notifUri = serializers.CharField(max_length=2000, required=False)  # noqa: N815
    repInfo = ReportingInformationSerializer(required=False)  # noqa: N815
    suppFeat = serializers.RegexField(r"^[A-Fa-f0-9]*$", required=False, max_length=64)  # noqa: N815

    def service_arguments(self) -> dict:
        data = self.validated_data
        profile = data["aimlProfile"]
        report = data.get("repInfo")
        window = (report or {}).get("timeWindow") or {}
        return {
            "candidates": [
                services.Candidate(c["mlMdlId"], c.get("mlMdlParam", {}))
                for c in profile["candMLMdls"]
            ],
            "model_requirements": profile.get("mlMdlReq"),
            "dataset_ids": profile["dataSetIds"],
            "training_requirements": [
                services.TrainingRequirement(
                    performance=tuple(
                        services.PerformanceRequirement(p["perfMetric"], p.get("perfTarget"))
                        for p in t["perfReq"]
                    ),
                    rounds=t["trainCount"],
                    samples=t["sampleCount"],
                )
                for t in profile["trainReq"]
            ],
            "client_set_ids": profile.get("clientList", []),
            "client_criteria": profile.get("clientSelCriteria"),
            "client_number": profile.get("clNumber"),
            "notification_uri": data.get("notifUri", ""),
            "reporting": None
            if report is None
            else services.Reporting(
                method=report.get("notifMethod", AimleNotificationMethod.ON_JOB_COMPLETION),
                job_percentage=report.get("jobPercentage"),
                period_seconds=report.get("repPeriod"),
                window_start=window.get("startTime"),
                window_end=window.get("stopTime"),
            ),
            "supported_features": data.get("suppFeat", ""),
        }


def _time(value) -> str:
    return serializers.DateTimeField().to_representation(value)


def subscription_representation(selection: ModelSelection) -> dict:
    """AssistMLMdlSelSubsc as stored, with what SAM Hub adds read-only: subscriptionId, the
    job's opStatus and the candidates trained so far (trainMLModel, ranked once it ends)."""
    requested = selection.candidates.filter(source=CandidateSource.REQUESTED).order_by("pk")
    profile = {
        "candMLMdls": [
            {"mlMdlId": str(c.version_id), **({"mlMdlParam": c.params} if c.params else {})}
            for c in requested
        ],
        "dataSetIds": [str(i) for i in selection.dataset_order],
        "trainReq": selection.training_requirements,
    }
    if selection.model_requirements:
        profile["mlMdlReq"] = selection.model_requirements
    if selection.client_set_ids:
        profile["clientList"] = selection.client_set_ids
    if selection.client_criteria is not None:
        profile["clientSelCriteria"] = selection.client_criteria
    if selection.client_number is not None:
        profile["clNumber"] = selection.client_number
    body = {"aimlProfile": profile}
    if selection.notification_uri:
        body["notifUri"] = selection.notification_uri
        report = {"notifMethod": selection.notification_method}
        if selection.job_percentage is not None:
            report["jobPercentage"] = selection.job_percentage
        if selection.period_seconds is not None:
            report["repPeriod"] = selection.period_seconds
        if selection.window_start is not None and selection.window_end is not None:
            report["timeWindow"] = {
                "startTime": _time(selection.window_start),
                "stopTime": _time(selection.window_end),
            }
        body["repInfo"] = report
    if selection.supported_features:
        body["suppFeat"] = selection.supported_features
    body["subscriptionId"] = str(selection.pk)
    body["opStatus"] = {
        "status": selection.status,
        "percentage": selection.percentage,
        "targetReached": selection.target_reached_at is not None,
    }
    body["trainMLModel"] = [trained_model(c) for c in selection_selectors.candidates_of(selection)]
    return body


def merge_patch(target, patch):
    """RFC 7396 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --- /api/v1/model-selections: the same resource in the REST API's error shape ---------------


class OpStatusSerializer(serializers.Serializer):
    status = serializers.CharField()
    percentage = serializers.IntegerField(min_value=0, max_value=100)
    targetReached = serializers.BooleanField()  # noqa: N815


class MlModelPerformanceSerializer(serializers.Serializer):
    perfMetric = serializers.CharField()  # noqa: N815
    perfValue = serializers.FloatField()  # noqa: N815


class TrainedModelSerializer(serializers.Serializer):
    mlMdlInfo = serializers.DictField(  # noqa: N815
        help_text="mlMdlId, mlMdlName, mlMdlVersion, inferenceType, domain, source, mlMdlParam."
    )
    mlMdlPerf = MlModelPerformanceSerializer(many=True)  # noqa: N815
    status = serializers.CharField()
    trainRounds = serializers.IntegerField()  # noqa: N815
    rank = serializers.IntegerField(required=False)
    error = serializers.CharField(required=False)


class ModelSelectionSerializer(AssistMLMdlSelSubscSerializer):
    """A model selection as the REST API answers it: AssistMLMdlSelSubsc and the job."""

    subscriptionId = serializers.UUIDField(read_only=True)  # noqa: N815
    opStatus = OpStatusSerializer(read_only=True)  # noqa: N815
    trainMLModel = TrainedModelSerializer(many=True, read_only=True)  # noqa: N815

    def to_representation(self, instance):
        return subscription_representation(instance)


class SubmittedVersionSerializer(serializers.Serializer):
    """The version made from a winner (the registry's /api/v1/versions/{id}/ has the rest)."""

    id = serializers.IntegerField()
    model = serializers.CharField(source="sam.slug")
    version = serializers.CharField()
    status = serializers.CharField()
    parent = serializers.IntegerField(source="parent_id")
