"""Operators correct and resubmit a rejected version and register approved ones (ENI SAM
clause 5, steps 2-4; core.roles)."""

from django.db import migrations

from core.roles import grant_role_permissions

ADDED = (
    "change_smallaimodel",
    "change_modelversion",
    "submit_modelversion",
    "register_modelversion",
)


def grant(apps, schema_editor):
    grant_role_permissions(apps, "registry")


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    operator = Group.objects.filter(name="operator").first()
    if operator is not None:
        operator.permissions.remove(
            *Permission.objects.filter(content_type__app_label="registry", codename__in=ADDED)
        )


class Migration(migrations.Migration):
    dependencies = [("registry", "0007_modelversion_deprecated_at")]

    operations = [migrations.RunPython(grant, revoke)]
