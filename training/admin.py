"""Django admin of datasets for operators: read-only (uploads and deletions go through the
portal and the API, i.e. training.services)."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from training.models import Dataset


@admin.register(Dataset)
class DatasetAdmin(ReadOnlyAdmin):
    list_display = (
        "name", "organisation", "format", "row_count", "quality_score", "size",
        "uploaded_by", "created_at",
    )  # fmt: skip
    list_filter = ("format", "organisation")
    search_fields = ("name", "filename", "sha256", "organisation__name")
    list_select_related = ("organisation", "uploaded_by")
    date_hierarchy = "created_at"
