"""Shapes of the datasets API."""

from rest_framework import serializers

from core.api.serializers import IdOrSlugField
from training import selectors
from training.models import (
    ConsumerDataUse,
    Dataset,
    DatasetFormat,
    MLTrainingProcess,
    MLTrainingReport,
    MLTrainingRequest,
    ProcessStatus,
    RequestStatus,
)


class DatasetColumnSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.ChoiceField(
        choices=["integer", "float", "boolean", "string", "datetime", "other"]
    )
    missing = serializers.IntegerField(help_text="Cells without a value.")


class DatasetSerializer(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    uploaded_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    format = serializers.ChoiceField(choices=DatasetFormat.choices, read_only=True)
    columns = DatasetColumnSerializer(many=True, read_only=True)
    constant_columns = serializers.ListField(child=serializers.CharField(), read_only=True)
    quality_score = serializers.FloatField(
        read_only=True,
        help_text="0..100, TS 28.105 traingDataQualityScore (formula: docs/training.md).",
    )

    class Meta:
        model = Dataset
        fields = [
            "id", "organisation", "name", "description", "filename", "format", "size",
            "sha256", "row_count", "columns", "target_column", "quality_score",
            "missing_ratio", "duplicate_ratio", "constant_columns", "uploaded_by", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class DatasetUploadSerializer(serializers.Serializer):
    """multipart/form-data: the file and what it is."""

    file = serializers.FileField(help_text="A .csv (UTF-8, header line) or .parquet file.")
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    target_column = serializers.CharField(
        max_length=255, help_text="The numeric column a model learns to predict."
    )
    organisation = IdOrSlugField(
        kind="organisation",
        visible=selectors.upload_organisations_of,
        required=False,
        help_text="Id or slug; may be left out by a member of one organisation.",
    )

    def validate(self, attrs):
        if "organisation" not in attrs:
            mine = list(selectors.upload_organisations_of(self.context["request"].user)[:2])
            if len(mine) != 1:
                raise serializers.ValidationError(
                    {"organisation": ["Say which organisation the dataset belongs to."]}
                )
            attrs["organisation"] = mine[0]
        return attrs


# --- TS 28.105 training requests, processes and reports --------------------------------------
# The NRM's attributes keep their 3GPP names (camelCase, the seed's spelling, e.g.
# candidateTraingDataSource); what SAM Hub adds (id, dn, priority of a request, who, when)
# is snake_case like the rest of the API.


class ModelPerformanceSerializer(serializers.Serializer):
    """TS 28.105 ModelPerformance (§7.4.1) with its camelCase keys, over snake_case dicts."""

    inferenceOutputName = serializers.CharField(  # noqa: N815 (TS 28.105 attribute name)
        source="inference_output_name", required=False
    )
    performanceMetric = serializers.CharField(source="performance_metric")  # noqa: N815
    performanceScore = serializers.FloatField(source="performance_score")  # noqa: N815


class MLContextSerializer(serializers.Serializer):
    """TS 28.105 MLContext (§7.4.3): who uses the ML entity and who provides its data (DNs)."""

    inferenceEntityRef = serializers.ListField(  # noqa: N815
        source="inference_entity_ref", child=serializers.CharField(), required=False
    )
    dataProviderRef = serializers.ListField(  # noqa: N815
        source="data_provider_ref", child=serializers.CharField(), required=False
    )


class FlagField(serializers.JSONField):
    """A §7.5 flag ("TRUE" / "FALSE", or a JSON boolean), passed as sent to the service, which
    refuses anything else."""


class TrainingRequestCreateSerializer(serializers.Serializer):
    mLEntityId = serializers.IntegerField(  # noqa: N815
        help_text="The id of the version to train (it needs a scikit-learn model file)."
    )
    candidateTraingDataSource = serializers.ListField(  # noqa: N815
        child=serializers.IntegerField(),
        required=False,
        default=list,
        help_text="Ids of your organisations' datasets SAM Hub may train on.",
    )
    performanceRequirements = ModelPerformanceSerializer(  # noqa: N815
        many=True,
        help_text="The held-out scores wanted: ACCURACY, F1 (classifiers); MAE, MSE, R2 "
        "(regressors). May be empty.",
    )
    trainingRequestSource = serializers.CharField(  # noqa: N815
        max_length=200, required=False, default="", help_text="Who asks; your username by default."
    )
    expectedRuntimeContext = MLContextSerializer(required=False, default=dict)  # noqa: N815
    priority = serializers.IntegerField(
        min_value=0,
        max_value=65535,
        default=0,
        help_text="The priority of its training process: lower runs first.",
    )


class TrainingRequestAttributesSerializer(serializers.Serializer):
    """PATCH: the writable flags of §7.5."""

    cancelRequest = FlagField(required=False)  # noqa: N815
    suspendRequest = FlagField(required=False)  # noqa: N815


class TrainingProcessAttributesSerializer(serializers.Serializer):
    cancelProcess = FlagField(required=False)  # noqa: N815
    suspendProcess = FlagField(required=False)  # noqa: N815


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class TrainingRequestSerializer(serializers.ModelSerializer):
    dn = serializers.CharField(read_only=True)
    mLEntityId = serializers.CharField(source="ml_entity_id", read_only=True)  # noqa: N815
    candidateTraingDataSource = serializers.PrimaryKeyRelatedField(  # noqa: N815
        source="candidate_training_data_sources", many=True, read_only=True
    )
    traingDataQualityScore = serializers.FloatField(  # noqa: N815
        source="training_data_quality_score", read_only=True, allow_null=True
    )
    trainingRequestSource = serializers.CharField(  # noqa: N815
        source="training_request_source", read_only=True
    )
    requestStatus = serializers.ChoiceField(  # noqa: N815
        source="status", choices=RequestStatus.choices, read_only=True
    )
    expectedRuntimeContext = MLContextSerializer(  # noqa: N815
        source="expected_runtime_context", read_only=True
    )
    performanceRequirements = ModelPerformanceSerializer(  # noqa: N815
        source="performance_requirements", many=True, read_only=True
    )
    cancelRequest = serializers.BooleanField(source="cancel_request", read_only=True)  # noqa: N815
    suspendRequest = serializers.BooleanField(source="suspend_request", read_only=True)  # noqa: N815
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)
    processes = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = MLTrainingRequest
        fields = [
            "id", "dn", "mLEntityId", "candidateTraingDataSource", "traingDataQualityScore",
            "trainingRequestSource", "requestStatus", "expectedRuntimeContext",
            "performanceRequirements", "cancelRequest", "suspendRequest", "priority",
            "requested_by", "processes", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class ProgressStatusSerializer(serializers.Serializer):
    """`progressStatus`: TS 28.622 ProcessMonitor as TS 28.105 §7.3.4.1 specialises it."""

    status = serializers.ChoiceField(choices=ProcessStatus.choices)
    progressStateInfo = serializers.CharField(source="progress_state_info")  # noqa: N815
    progressPercentage = serializers.IntegerField(source="progress_percentage")  # noqa: N815
    resultStateInfo = serializers.CharField(source="result_state_info")  # noqa: N815
    startTime = serializers.DateTimeField(source="started_at", allow_null=True)  # noqa: N815
    endTime = serializers.DateTimeField(source="ended_at", allow_null=True)  # noqa: N815


class TrainingProcessSerializer(serializers.ModelSerializer):
    dn = serializers.CharField(read_only=True)
    mLTrainingProcessId = serializers.CharField(source="pk", read_only=True)  # noqa: N815
    mLEntityId = serializers.CharField(source="ml_entity_id", read_only=True)  # noqa: N815
    terminationConditions = serializers.CharField(  # noqa: N815
        source="termination_conditions", read_only=True
    )
    progressStatus = ProgressStatusSerializer(source="*", read_only=True)  # noqa: N815
    cancelProcess = serializers.BooleanField(source="cancel_process", read_only=True)  # noqa: N815
    suspendProcess = serializers.BooleanField(source="suspend_process", read_only=True)  # noqa: N815
    trainingRequestRef = serializers.SerializerMethodField()  # noqa: N815
    trainingReportRef = serializers.SerializerMethodField()  # noqa: N815
    trained_version = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = MLTrainingProcess
        fields = [
            "id", "dn", "mLTrainingProcessId", "mLEntityId", "priority", "terminationConditions",
            "progressStatus", "cancelProcess", "suspendProcess", "trainingRequestRef",
            "trainingReportRef", "training_request", "trained_version", "lost_runs",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_trainingRequestRef(self, process) -> list[str]:  # noqa: N802
        return [process.training_request.dn] if process.training_request_id else []

    def get_trainingReportRef(self, process) -> str | None:  # noqa: N802
        report = getattr(process, "report", None)
        return report.dn if report is not None else None


class TrainingReportSerializer(serializers.ModelSerializer):
    dn = serializers.CharField(read_only=True)
    mLEntityId = serializers.CharField(source="ml_entity_id", read_only=True)  # noqa: N815
    areConsumerTrainingDataUsed = serializers.ChoiceField(  # noqa: N815
        source="are_consumer_training_data_used", choices=ConsumerDataUse.choices, read_only=True
    )
    usedConsumerTrainingData = serializers.PrimaryKeyRelatedField(  # noqa: N815
        source="used_consumer_training_data", many=True, read_only=True
    )
    confidenceIndication = serializers.IntegerField(  # noqa: N815
        source="confidence_indication", read_only=True, allow_null=True
    )
    modelPerformanceTraining = ModelPerformanceSerializer(  # noqa: N815
        source="model_performance_training", many=True, read_only=True
    )
    modelPerformanceValidation = ModelPerformanceSerializer(  # noqa: N815
        source="model_performance_validation", many=True, read_only=True
    )
    dataRatioTrainingAndValidation = serializers.IntegerField(  # noqa: N815
        source="data_ratio_training_and_validation", read_only=True, allow_null=True
    )
    areNewTrainingDataUsed = serializers.BooleanField(  # noqa: N815
        source="are_new_training_data_used", read_only=True, allow_null=True
    )
    trainingRequestRef = serializers.SerializerMethodField()  # noqa: N815
    trainingProcessRef = serializers.CharField(source="training_process.dn", read_only=True)  # noqa: N815
    lastTrainingRef = serializers.SerializerMethodField()  # noqa: N815
    trained_version = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = MLTrainingReport
        fields = [
            "id", "dn", "mLEntityId", "areConsumerTrainingDataUsed", "usedConsumerTrainingData",
            "confidenceIndication", "modelPerformanceTraining", "modelPerformanceValidation",
            "dataRatioTrainingAndValidation", "areNewTrainingDataUsed", "trainingRequestRef",
            "trainingProcessRef", "lastTrainingRef", "trained_version", "created_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_trainingRequestRef(self, report) -> list[str]:  # noqa: N802
        return [report.training_request.dn] if report.training_request_id else []

    def get_lastTrainingRef(self, report) -> str | None:  # noqa: N802
        return report.last_training.dn if report.last_training_id else None
