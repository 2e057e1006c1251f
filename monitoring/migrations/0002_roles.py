"""Give the role groups their monitoring permissions (core.roles.ROLE_PERMISSIONS)."""

from django.db import migrations

from core.roles import grant_role_permissions


def grant(apps, schema_editor):
    grant_role_permissions(apps, "monitoring")


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0001_initial"),
        ("registry", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
