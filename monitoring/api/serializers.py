"""The JSON of Nnwdaf_MLModelMonitor (TS29520_Nnwdaf_MLModelMonitor.yaml): field names,
required fields and types as the YAML has them (camelCase belongs to these serializers)."""

import re

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from monitoring.models import MonitorRegistration, MonitorSubscription, NotifyMethod

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
# eventReportReq attributes SAM Hub checks against their types, keeps and answers as given,
# without acting on them.
REPORTING_OPTIONS = (
    "sampRatio", "partitionCriteria", "grpRepTime", "notifFlag", "notifFlagInstruct",
    "mutingSetting",
)  # fmt: skip
# TS 29.571 DateTime: OpenAPI's "date-time", RFC 3339 (an offset or Z, unlike ISO 8601 at large).
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


class StrictBooleanField(serializers.BooleanField):
    """A JSON boolean, not "yes" or 1."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictCharField(serializers.CharField):
    """A JSON string, not a number turned into one, kept as given (not trimmed)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer (not a string, not a float, not a boolean)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class DateTime(serializers.DateTimeField):
    """TS 29.571 DateTime: an RFC 3339 date-time with its offset."""

    def to_internal_value(self, value):
        if not isinstance(value, str) or not RFC3339.match(value):
            raise serializers.ValidationError(
                "Expected an RFC 3339 date-time with an offset, e.g. 2030-01-01T00:00:00Z."
            )
        return super().to_internal_value(value)


class ObjectField(serializers.JSONField):
    """A JSON object kept as given (EventFilter, TargetUeInformation: validated by their
    consumers; SAM Hub stores and forwards them)."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError("Expected a JSON object.")
        return data


class Uinteger(StrictIntegerField):
    """TS 29.571 Uinteger: a JSON integer from 0."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 0)
        super().__init__(**kwargs)


class MLModelMonitorRegSerializer(serializers.Serializer):
    consumerId = serializers.RegexField(UUID_PATTERN, required=False)  # noqa: N815
    consumerSetId = serializers.CharField(required=False, max_length=255)  # noqa: N815
    modelId = Uinteger()  # noqa: N815
    modelAccuInd = StrictBooleanField(required=False)  # noqa: N815
    mLEvent = serializers.CharField(required=False, max_length=64)  # noqa: N815
    mLEventFilter = ObjectField(required=False)  # noqa: N815
    tgtUe = ObjectField(required=False)  # noqa: N815

    def validate(self, attrs):
        # oneOf: [required: [consumerId]], [required: [consumerSetId]]
        if "consumerId" in attrs and "consumerSetId" in attrs:
            raise serializers.ValidationError(
                {"consumerSetId": ["Give consumerId or consumerSetId, not both."]}
            )
        if "consumerId" not in attrs and "consumerSetId" not in attrs:
            raise serializers.ValidationError(
                {"consumerId": [ErrorDetail("Give consumerId or consumerSetId.", code="required")]}
            )
        return attrs

    def service_arguments(self) -> dict:
        data = self.validated_data
        return {
            "version_id": data["modelId"],
            "consumer_id": data.get("consumerId", ""),
            "consumer_set_id": data.get("consumerSetId", ""),
            "model_accuracy_transfer": data.get("modelAccuInd"),
            "analytics_id": data.get("mLEvent", ""),
            "analytics_filter": data.get("mLEventFilter"),
            "analytics_target": data.get("tgtUe"),
        }


def registration_representation(registration: MonitorRegistration) -> dict:
    body = {"modelId": registration.version_id}
    if registration.consumer_id:
        body["consumerId"] = registration.consumer_id
    if registration.consumer_set_id:
        body["consumerSetId"] = registration.consumer_set_id
    if registration.model_accuracy_transfer is not None:
        body["modelAccuInd"] = registration.model_accuracy_transfer
    if registration.analytics_id:
        body["mLEvent"] = registration.analytics_id
    if registration.analytics_filter:
        body["mLEventFilter"] = registration.analytics_filter
    if registration.analytics_target:
        body["tgtUe"] = registration.analytics_target
    return body


class MutingExceptionInstructionsSerializer(serializers.Serializer):
    """TS 29.571 MutingExceptionInstructions (its enumerations are open: any string)."""

    bufferedNotifs = StrictCharField(required=False)  # noqa: N815
    subscription = StrictCharField(required=False)


class MutingNotificationsSettingsSerializer(serializers.Serializer):
    """TS 29.571 MutingNotificationsSettings."""

    maxNoOfNotif = StrictIntegerField(required=False)  # noqa: N815
    durationBufferedNotif = StrictIntegerField(required=False)  # noqa: N815 (DurationSec)


class ReportingInformationSerializer(serializers.Serializer):
    """TS 29.523 ReportingInformation: every attribute checked against its TS 29.571 type.
    SAM Hub acts on immRep, notifMethod, maxReportNbr, monDur and repPeriod; the others are
    kept and answered as given (`options`). notifMethod is TS 29.508 NotificationMethod, whose
    file is not among the YAML SAM Hub builds on: its three values are the ones SAM Hub
    acts on, and any other is refused."""

    immRep = StrictBooleanField(required=False)  # noqa: N815
    notifMethod = serializers.ChoiceField(choices=NotifyMethod.values, required=False)  # noqa: N815
    maxReportNbr = Uinteger(required=False, min_value=1)  # noqa: N815
    monDur = DateTime(required=False)  # noqa: N815
    repPeriod = Uinteger(required=False, min_value=1)  # noqa: N815 (DurationSec)
    sampRatio = StrictIntegerField(required=False, min_value=1, max_value=100)  # noqa: N815
    partitionCriteria = serializers.ListField(  # noqa: N815
        child=StrictCharField(), required=False, min_length=1
    )
    grpRepTime = StrictIntegerField(required=False)  # noqa: N815 (DurationSec)
    notifFlag = StrictCharField(required=False)  # noqa: N815 (NotificationFlag, open)
    notifFlagInstruct = MutingExceptionInstructionsSerializer(required=False)  # noqa: N815
    mutingSetting = MutingNotificationsSettingsSerializer(required=False)  # noqa: N815

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        values["options"] = {
            name: values[name] for name in (*REPORTING_OPTIONS, "notifMethod") if name in values
        }
        return values


class MLModelMonitorSubSerializer(serializers.Serializer):
    modelIds = serializers.ListField(child=Uinteger(), min_length=1)  # noqa: N815
    notificationUri = serializers.CharField(max_length=2000)  # noqa: N815
    notifCorrId = serializers.CharField(max_length=255)  # noqa: N815
    modelMetric = serializers.CharField(required=False, max_length=32)  # noqa: N815
    accuThreshold = Uinteger(required=False, max_value=100)  # noqa: N815
    eventReportReq = ReportingInformationSerializer(required=False)  # noqa: N815
    mLEvent = serializers.CharField(required=False, max_length=64)  # noqa: N815
    mLEventFilter = ObjectField(required=False)  # noqa: N815
    tgtUe = ObjectField(required=False)  # noqa: N815
    suppFeat = serializers.RegexField(r"^[A-Fa-f0-9]*$", required=False, max_length=64)  # noqa: N815

    def service_arguments(self, reporting_class) -> dict:
        data = self.validated_data
        report = data.get("eventReportReq") or {}
        return {
            "version_ids": data["modelIds"],
            "notification_uri": data["notificationUri"],
            "notif_corr_id": data["notifCorrId"],
            "metric": data.get("modelMetric", "ACCURACY"),
            "accuracy_threshold": data.get("accuThreshold"),
            "reporting": reporting_class(
                immediate=report.get("immRep", False),
                method=report.get("notifMethod"),
                period_seconds=report.get("repPeriod"),
                max_reports=report.get("maxReportNbr"),
                until=report.get("monDur"),
                options=report.get("options", {}),
            ),
            "analytics_id": data.get("mLEvent", ""),
            "analytics_filter": data.get("mLEventFilter"),
            "analytics_target": data.get("tgtUe"),
            "supported_features": data.get("suppFeat", ""),
        }


def subscription_representation(
    subscription: MonitorSubscription, *, immediate: dict | None = None
) -> dict:
    """MLModelMonitorSub as stored; eventReportReq.monDur carries the expiry (the consumer's,
    or the operator policy's when earlier)."""
    report = dict(subscription.report_options)  # notifMethod among them when it was given
    if subscription.period_seconds:
        report["repPeriod"] = subscription.period_seconds
    if subscription.max_reports:
        report["maxReportNbr"] = subscription.max_reports
    if subscription.expires_at:
        report["monDur"] = serializers.DateTimeField().to_representation(subscription.expires_at)
    body = {
        "modelIds": sorted(v.pk for v in subscription.versions.all()),
        "notificationUri": subscription.notification_uri,
        "notifCorrId": subscription.notif_corr_id,
        "modelMetric": subscription.metric,
        "eventReportReq": report,
    }
    if subscription.accuracy_threshold is not None:
        body["accuThreshold"] = subscription.accuracy_threshold
    if immediate is not None:
        body["immReport"] = immediate
        report["immRep"] = True
    if subscription.analytics_id:
        body["mLEvent"] = subscription.analytics_id
    if subscription.analytics_filter:
        body["mLEventFilter"] = subscription.analytics_filter
    if subscription.analytics_target:
        body["tgtUe"] = subscription.analytics_target
    if subscription.supported_features:
        body["suppFeat"] = subscription.supported_features
    return body


class AnalyticsFeedbackSerializer(serializers.Serializer):
    """TS 29.520 AnalyticsFeedback."""

    events = serializers.ListField(child=serializers.CharField(max_length=64), min_length=1)
    modelIds = serializers.ListField(child=Uinteger(), min_length=1)  # noqa: N815
    groundDataImpactInd = StrictBooleanField(required=False, default=False)  # noqa: N815
    timeStamp = DateTime(required=False)  # noqa: N815
