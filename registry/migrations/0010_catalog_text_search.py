"""GIN indexes for the catalog's full-text search (registry.selectors._text_search), on
PostgreSQL only: other databases search with LIKE and need none."""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations

# The same expressions as registry.selectors (SAM_TEXT_FIELDS, TEXT_SEARCH_CONFIG): PostgreSQL
# uses an expression index only for the very expression the query has.
INDEXES = {
    "SmallAIModel": GinIndex(
        SearchVector(
            "name",
            "inference_name",
            "description",
            "domain",
            "scenario",
            "region",
            "intended_use",
            config="english",
        ),
        name="sam_text_search",
    ),
    "ModelVersion": GinIndex(
        SearchVector("release_notes", config="english"), name="version_notes_search"
    ),
}


def add_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for model, index in INDEXES.items():
            schema_editor.add_index(apps.get_model("registry", model), index)


def remove_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for model, index in INDEXES.items():
            schema_editor.remove_index(apps.get_model("registry", model), index)


class Migration(migrations.Migration):
    dependencies = [("registry", "0009_catalog_indexes")]

    operations = [migrations.RunPython(add_indexes, remove_indexes)]
