"""Keep the keys of DRF's plain-text tokens (rest_framework.authtoken) working as ApiTokens
that store only the key's sha256, then delete the plain keys.

The emptied authtoken_token table is left in place: dropping it while django_migrations still
records authtoken as applied would break a later re-install of that app. An operator may drop
it by hand."""

import hashlib
from datetime import UTC, datetime

from django.db import migrations

DRF_TABLE = "authtoken_token"


def hash_drf_tokens(apps, schema_editor):
    connection = schema_editor.connection
    if DRF_TABLE not in connection.introspection.table_names():
        return  # a database created after authtoken left INSTALLED_APPS
    ApiToken = apps.get_model("core", "ApiToken")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id, created FROM {DRF_TABLE}")
        rows = cursor.fetchall()
    issued = {}
    for key, user_id, created in rows:
        digest = hashlib.sha256(key.encode()).hexdigest()
        ApiToken.objects.create(
            user_id=user_id, name="API token (from before hashing)", digest=digest, prefix=key[:4]
        )
        if isinstance(created, str):  # SQLite without declared-type conversion
            created = datetime.fromisoformat(created)
        if created is not None:
            issued[digest] = created if created.tzinfo else created.replace(tzinfo=UTC)
    # auto_now_add stamped the rows now; keep when each key was really issued.
    for digest, created in issued.items():
        ApiToken.objects.filter(digest=digest).update(created_at=created)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {DRF_TABLE}")


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    # Irreversible in effect: the plain keys are gone; going back leaves the hashed tokens.
    operations = [migrations.RunPython(hash_drf_tokens, migrations.RunPython.noop)]
