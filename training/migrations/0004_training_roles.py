"""Give the role groups their permissions on the training NRM (core.roles.ROLE_PERMISSIONS)."""

from django.db import migrations

from core.roles import grant_role_permissions


def grant(apps, schema_editor):
    grant_role_permissions(apps, "training")


class Migration(migrations.Migration):
    dependencies = [("training", "0003_training_nrm")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
