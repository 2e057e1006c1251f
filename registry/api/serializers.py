"""Shapes of the registry REST API (/api/v1/): input serializers validate types only, the
services decide the rules; output serializers render what the selectors return."""

from django.utils.text import slugify
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.serializers import IdOrSlugField
from registry import extensions, selectors
from registry.checklist import REGISTRATION_FIELDS
from registry.models import (
    AccessType,
    AuditReview,
    InferenceType,
    ModelVersion,
    Organisation,
    SmallAIModel,
    VersionStatus,
    VersionTransition,
)

LIFECYCLE_ACTIONS = (
    "submit",
    "approve",
    "reject",
    "revise",
    "register",
    "release",
    "deprecate",
    "retire",
)


@extend_schema_field(OpenApiTypes.INT)
class VisibleVersionField(serializers.PrimaryKeyRelatedField):
    default_error_messages = {
        "does_not_exist": "There is no version with id {pk_value} that you can see.",
    }

    def get_queryset(self):
        return selectors.versions_visible_to(self.context["request"].user)


# --- organisations -----------------------------------------------------------------------


class OrganisationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = ["id", "name", "slug"]


# --- models (SAMs) -----------------------------------------------------------------------


class SamUpdateInputSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField(required=False, allow_blank=True)
    inference_type = serializers.ChoiceField(choices=InferenceType.choices)
    inference_name = serializers.CharField(required=False, allow_blank=True)
    domain = serializers.CharField(required=False, allow_blank=True)
    region = serializers.CharField(required=False, allow_blank=True)
    scenario = serializers.CharField(required=False, allow_blank=True)
    tags = serializers.ListField(child=serializers.CharField(), required=False)
    licence = serializers.CharField(required=False, allow_blank=True)
    intended_use = serializers.CharField(required=False, allow_blank=True)
    limitations = serializers.CharField(required=False, allow_blank=True)
    approval_required = serializers.BooleanField(
        required=False,
        help_text="Subscriptions wait for your organisation or an operator to grant them.",
    )


class SamCreateInputSerializer(SamUpdateInputSerializer):
    organisation = IdOrSlugField(
        kind="organisation",
        visible=selectors.organisations_visible_to,
        help_text="Id or slug of one of your organisations.",
    )


class SamSerializer(serializers.ModelSerializer):
    organisation = OrganisationSerializer(read_only=True)
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    created_by = serializers.CharField(source="created_by.username", read_only=True)

    class Meta:
        model = SmallAIModel
        fields = [
            "id",
            "slug",
            "name",
            "description",
            "organisation",
            "inference_type",
            "inference_name",
            "domain",
            "region",
            "scenario",
            "tags",
            "licence",
            "intended_use",
            "limitations",
            "approval_required",
            "created_by",
            "created_at",
            "updated_at",
        ]


class ExtendedSerializer(serializers.Serializer):
    """A registry answer with the read-only fields other apps add to its shape
    (registry.extensions.api_field_add), e.g. sharing's `sharing_methods`."""

    extension_shape: extensions.ApiShape

    def get_fields(self):
        fields = super().get_fields()
        for name, field in extensions.api_fields[self.extension_shape]:
            fields[name] = field()
        return fields


class VersionSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = ["id", "version", "status"]


class SamDetailSerializer(ExtendedSerializer, SamSerializer):
    extension_shape = "model"
    versions = serializers.SerializerMethodField(
        help_text="The versions of the model you can see, newest first."
    )

    class Meta(SamSerializer.Meta):
        fields = [*SamSerializer.Meta.fields, "versions"]

    @extend_schema_field(VersionSummarySerializer(many=True))
    def get_versions(self, sam: SmallAIModel) -> list[dict]:
        versions = selectors.versions_visible_to(self.context["request"].user).filter(sam=sam)
        return VersionSummarySerializer(versions, many=True).data


# --- versions ----------------------------------------------------------------------------


class PerformanceInputSerializer(serializers.Serializer):
    """TS 28.105 ModelPerformance, with its camelCase keys; validated into the snake_case keys
    the services take."""

    inferenceOutputName = serializers.CharField(source="inference_output_name")  # noqa: N815 (TS 28.105 attribute name)
    performanceMetric = serializers.CharField(source="performance_metric")  # noqa: N815
    performanceScore = serializers.FloatField(source="performance_score")  # noqa: N815
    decisionConfidenceScore = serializers.FloatField(  # noqa: N815
        source="decision_confidence_score", required=False, allow_null=True
    )


class PerformanceSerializer(serializers.Serializer):
    """TS 28.105 ModelPerformance; decisionConfidenceScore is left out when unknown."""

    inferenceOutputName = serializers.CharField(source="inference_output_name")  # noqa: N815
    performanceMetric = serializers.CharField(source="performance_metric")  # noqa: N815
    performanceScore = serializers.FloatField(source="performance_score")  # noqa: N815
    decisionConfidenceScore = serializers.FloatField(  # noqa: N815
        source="decision_confidence_score", required=False
    )

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if data.get("decisionConfidenceScore") is None:
            data.pop("decisionConfidenceScore", None)
        return data


class VersionUpdateInputSerializer(serializers.Serializer):
    version = serializers.CharField(help_text="A semantic version such as 1.0.0.")
    release_notes = serializers.CharField(required=False, allow_blank=True)
    training_context = serializers.DictField(
        required=False, help_text="Data, features and period the version was trained on."
    )
    performance = PerformanceInputSerializer(many=True, required=False)

    def validate_performance(self, value: list[dict]) -> list[dict]:
        keys = [(p["inference_output_name"], p["performance_metric"]) for p in value]
        repeated = sorted(
            {f"{output}/{metric}" for output, metric in keys if keys.count((output, metric)) > 1}
        )
        if repeated:
            raise serializers.ValidationError(
                f"Give each output's metric once; repeated: {', '.join(repeated)}."
            )
        return value


class VersionCreateInputSerializer(VersionUpdateInputSerializer):
    model = IdOrSlugField(
        kind="model", visible=selectors.models_visible_to, help_text="Id or slug of the model."
    )
    parent = VisibleVersionField(
        required=False, allow_null=True, help_text="Id of the version this one derives from."
    )


class LineageEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.CharField()


class VersionSerializer(ExtendedSerializer, serializers.ModelSerializer):
    extension_shape = "version"
    model = serializers.SlugRelatedField(source="sam", slug_field="slug", read_only=True)
    model_name = serializers.CharField(source="sam.name", read_only=True)
    organisation = serializers.SlugRelatedField(
        source="sam.organisation", slug_field="slug", read_only=True
    )
    performance = PerformanceSerializer(many=True, read_only=True)
    lineage = serializers.SerializerMethodField(help_text="Ancestors of the version, parent first.")
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    submitted_by = serializers.CharField(
        source="submitted_by.username", read_only=True, allow_null=True
    )
    artifact_uploaded_by = serializers.CharField(
        source="artifact_uploaded_by.username", read_only=True, allow_null=True
    )
    approved_sha256 = serializers.CharField(
        read_only=True,
        help_text="sha256 of the model file the approval covers (empty before approval, or if "
        "approved without a file); register and release refuse any other file.",
    )
    available_actions = serializers.SerializerMethodField(
        help_text="Lifecycle actions you may take on the version now."
    )

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "model",
            "model_name",
            "organisation",
            "version",
            "status",
            "parent",
            "lineage",
            "release_notes",
            "training_context",
            "performance",
            "access_type",
            "endpoint_url",
            "artifact_filename",
            "artifact_format",
            "artifact_sha256",
            "artifact_size",
            "artifact_uploaded_by",
            "approved_sha256",
            "artifact_loaded_bytes",
            "signature",
            "created_by",
            "submitted_by",
            "submitted_at",
            "released_at",
            "deprecated_at",
            "created_at",
            "updated_at",
            "available_actions",
        ]
        read_only_fields = fields

    @extend_schema_field(LineageEntrySerializer(many=True))
    def get_lineage(self, version: ModelVersion) -> list[dict]:
        return [
            {"id": v.pk, "version": v.version}
            for v in selectors.version_lineage(version, self.context["request"].user)
        ]

    @extend_schema_field(
        serializers.ListField(child=serializers.ChoiceField(choices=LIFECYCLE_ACTIONS))
    )
    def get_available_actions(self, version: ModelVersion) -> list[str]:
        return selectors.version_available_actions(version, self.context["request"].user)


class VersionFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=VersionStatus.choices, required=False)
    model = serializers.CharField(required=False, help_text="Slug of the model.")


# --- lifecycle actions -------------------------------------------------------------------


class ReasonInputSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class FindingSerializer(serializers.Serializer):
    field = serializers.ChoiceField(choices=list(REGISTRATION_FIELDS.items()))
    message = serializers.CharField(allow_blank=True)


class RejectInputSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True)
    findings = FindingSerializer(many=True, help_text="The fields that fail and why.")


class RegisterInputSerializer(serializers.Serializer):
    access_type = serializers.ChoiceField(choices=AccessType.choices)
    endpoint_url = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="The inference endpoint, for EXTERNAL_ENDPOINT.",
    )


class TransitionSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", read_only=True)

    class Meta:
        model = VersionTransition
        fields = ["id", "name", "source", "target", "actor", "reason", "created_at"]


class ChecklistItemSerializer(serializers.Serializer):
    field = serializers.CharField()
    label = serializers.CharField()
    ok = serializers.BooleanField()
    required = serializers.BooleanField()
    message = serializers.CharField(allow_blank=True)


class ReviewSerializer(serializers.ModelSerializer):
    auditor = serializers.CharField(source="auditor.username", read_only=True)
    findings = FindingSerializer(many=True, read_only=True)
    checklist = ChecklistItemSerializer(many=True, read_only=True)

    class Meta:
        model = AuditReview
        fields = [
            "id",
            "decision",
            "auditor",
            "reason",
            "findings",
            "checklist",
            "artifact_sha256",
            "created_at",
        ]
        extra_kwargs = {
            "artifact_sha256": {"help_text": "sha256 of the model file the auditor decided on."}
        }


# --- artifacts ---------------------------------------------------------------------------


class ArtifactFormInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The ONNX (.onnx) or skops (.skops) model file.")


class ArtifactRawQuerySerializer(serializers.Serializer):
    filename = serializers.CharField(
        required=False,
        help_text="The file's name; else taken from the Content-Disposition header.",
    )


# --- catalog -----------------------------------------------------------------------------


def _number(name: str) -> serializers.FloatField:
    return serializers.FloatField(
        required=False,
        error_messages={"invalid": f"{name} must be a number, such as 0.9."},
        help_text=f"{name.replace('_', ' ').capitalize()} of the metric's performanceScore.",
    )


class CatalogQuerySerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, help_text="Free text.")
    inference_type = serializers.ChoiceField(
        choices=InferenceType.choices, required=False, allow_blank=True
    )
    domain = serializers.CharField(required=False, allow_blank=True)
    region = serializers.CharField(required=False, allow_blank=True)
    scenario = serializers.CharField(required=False, allow_blank=True)
    tags = serializers.CharField(
        required=False, allow_blank=True, help_text="Comma-separated; all must match."
    )
    metric = serializers.CharField(
        required=False, allow_blank=True, help_text="performanceMetric the scores refer to."
    )
    min_score = _number("min_score")
    max_score = _number("max_score")
    sort = serializers.ChoiceField(
        choices=selectors.CATALOG_SORTS,
        required=False,
        help_text="Newest release first by default; `name` and `-name` by the model's name. "
        "`-score` (highest first) and `score` (lowest first, for error metrics such as MAE) "
        "order by the score of `metric`, which they need; a version scored on several outputs "
        "ranks by its best in that direction. `-<count>` for each count another app keeps "
        "(sharing: `-subscribers`, `-calls`), most first.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # With the counts other apps keep (registry.extensions), registered when apps are ready.
        self.fields["sort"].choices = selectors.catalog_sorts()

    def validate_tags(self, value: str) -> list[str]:
        return [slugify(tag) for tag in value.split(",") if slugify(tag)]

    def validate(self, attrs: dict) -> dict:
        low, high = attrs.get("min_score"), attrs.get("max_score")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError(
                {"min_score": [f"min_score ({low:g}) is above max_score ({high:g})."]}
            )
        return attrs


class CatalogEntrySerializer(ExtendedSerializer, serializers.ModelSerializer):
    """A released version with the categories it is found by (ENI SAM clause 5, step 5)."""

    extension_shape = "catalog"

    model = serializers.SlugRelatedField(source="sam", slug_field="slug", read_only=True)
    model_name = serializers.CharField(source="sam.name", read_only=True)
    description = serializers.CharField(source="sam.description", read_only=True)
    organisation = OrganisationSerializer(source="sam.organisation", read_only=True)
    inference_type = serializers.CharField(source="sam.inference_type", read_only=True)
    inference_name = serializers.CharField(source="sam.inference_name", read_only=True)
    domain = serializers.CharField(source="sam.domain", read_only=True)
    region = serializers.CharField(source="sam.region", read_only=True)
    scenario = serializers.CharField(source="sam.scenario", read_only=True)
    tags = serializers.SlugRelatedField(
        source="sam.tags", many=True, read_only=True, slug_field="name"
    )
    licence = serializers.CharField(source="sam.licence", read_only=True)
    performance = PerformanceSerializer(many=True, read_only=True)
    approval_required = serializers.BooleanField(source="sam.approval_required", read_only=True)

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "model",
            "model_name",
            "version",
            "description",
            "organisation",
            "inference_type",
            "inference_name",
            "domain",
            "region",
            "scenario",
            "tags",
            "licence",
            "access_type",
            "endpoint_url",
            "artifact_format",
            "artifact_sha256",
            "artifact_size",
            "signature",
            "performance",
            "approval_required",
            "released_at",
        ]
        read_only_fields = fields
