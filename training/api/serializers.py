"""Shapes of the datasets API."""

from rest_framework import serializers

from core.api.serializers import IdOrSlugField
from training import selectors
from training.models import Dataset, DatasetFormat


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
