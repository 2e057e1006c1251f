"""Let operators see and revoke API tokens in the admin."""

from django.db import migrations

from core.roles import grant_role_permissions


def grant(apps, schema_editor):
    grant_role_permissions(apps, "core")


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_hash_drf_tokens"),
        ("registry", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
