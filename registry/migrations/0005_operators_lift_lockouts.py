"""Operators may read sign-in attempts and lift lockouts (django-axes, core.lockout)."""

from django.db import migrations

from core.roles import grant_role_permissions


def grant(apps, schema_editor):
    grant_role_permissions(apps, "axes")


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0004_audit_integrity"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
