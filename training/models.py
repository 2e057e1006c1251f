from django.conf import settings
from django.db import models

from registry.models import Organisation


class DatasetFormat(models.TextChoices):
    CSV = "CSV", "CSV"
    PARQUET = "PARQUET", "Parquet"


class Dataset(models.Model):
    """Training data an organisation uploads, checked and scored; referenced by id as a
    `candidateTraingDataSource` of an MLTrainingRequest, its score being the
    `traingDataQualityScore` (TS 28.105 §7.3.2.2 and §7.4)."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="datasets"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # In the warehouse under datasets/, by content hash (training.datasets.dataset_store).
    file = models.FileField(max_length=300)
    filename = models.CharField(max_length=255, help_text="The name the file was uploaded with.")
    format = models.CharField(max_length=16, choices=DatasetFormat.choices)
    size = models.PositiveBigIntegerField(help_text="Bytes.")
    sha256 = models.CharField(max_length=64)
    row_count = models.PositiveBigIntegerField()
    columns = models.JSONField(
        help_text='One entry per column, in file order: {"name", "type", "missing"}.'
    )
    target_column = models.CharField(max_length=255)
    quality_score = models.FloatField(help_text="0..100 (docs/training.md, Datasets).")
    missing_ratio = models.FloatField(help_text="Missing cells over all cells.")
    duplicate_ratio = models.FloatField(help_text="Rows repeating an earlier row, over all rows.")
    constant_columns = models.JSONField(
        default=list, blank=True, help_text="Columns with at most one distinct value."
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quality_score__gte=0, quality_score__lte=100),
                name="dataset_quality_score_0_100",
            ),
            models.CheckConstraint(
                condition=models.Q(format__in=["CSV", "PARQUET"]), name="dataset_format_known"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def feature_columns(self) -> list[str]:
        return [c["name"] for c in self.columns if c["name"] != self.target_column]
