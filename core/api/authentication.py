"""Token authentication for systems outside SAM Hub (ENI SAM clause 6: sharing through the
API broker). Keys are looked up by their sha256 (core.models.ApiToken)."""

import functools

from django.contrib.auth.models import User
from django.db import connections, router
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from core import services
from core.models import ApiToken, key_digest

# Expiry is checked against the database's clock (CURRENT_TIMESTAMP, UTC on SQLite as Django
# stores it): no datetime to build and adapt per request. Expiry is counted in days, so
# SQLite's whole seconds are precise enough.
_USER_BY_TOKEN_SQL = """
    SELECT {user}, t.id, t.revoked_at IS NOT NULL,
           (t.expires_at IS NOT NULL AND t.expires_at <= CURRENT_TIMESTAMP)
           {columns}
    FROM core_apitoken t JOIN auth_user u ON u.id = t.user_id {joins} WHERE t.digest = %s
"""


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's `Authorization: Token <key>`, with the key checked against the stored digests and
    the token's expiry and revocation in one raw statement: building the ORM query costs
    0.2 ms per request, a tenth of a reasoning call (docs/benchmarks.md)."""

    def authenticate_credentials(self, key: str) -> tuple[User, ApiToken]:
        digest = key_digest(key)
        columns, joins, params = self.read_along()
        alias = router.db_for_read(User)
        connection = connections[alias]
        user_list, user_columns = _user_columns(alias)
        n = len(user_columns)
        statement = _USER_BY_TOKEN_SQL.format(user=user_list, columns=columns, joins=joins)
        # A cursor, not User.objects.raw(): the RawQuerySet works out its columns' mapping and
        # converters anew on every request, which costs more than the statement itself.
        with connection.cursor() as cursor:
            cursor.execute(statement, [*params, digest])
            row = cursor.fetchone()
            read_along = [column[0] for column in cursor.description[n + 3 :]]
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        token_id, token_revoked, token_expired = row[n : n + 3]
        if token_revoked:
            raise exceptions.AuthenticationFailed(
                _("This API token was revoked; create a new one on your API tokens page.")
            )
        if token_expired:
            raise exceptions.AuthenticationFailed(
                _("This API token has expired; create a new one on your API tokens page.")
            )
        values = []
        for value, (column, converters) in zip(row[:n], user_columns, strict=True):
            for convert in converters:
                value = convert(value, column, connection)
            values.append(value)
        user = User.from_db(alias, None, values)  # all fields, in the model's order
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        # The endpoint's columns, as attributes of the user.
        for name, value in zip(read_along, row[n + 3 :], strict=True):
            setattr(user, name, value)
        services.api_token_used(token_id=token_id, digest=digest)
        # The token as loaded from the database with its other fields deferred.
        token = ApiToken.from_db(
            router.db_for_read(ApiToken), ["id", "user_id"], [token_id, user.pk]
        )
        token.user = user
        return user, token

    def read_along(self) -> tuple[str, str, list]:
        """What an endpoint reads in the same statement as the token's user, so that its
        common call costs no second one: columns (each after a comma), LEFT JOINs on the user
        `u`, and the parameters of both, in that order. The columns come back as attributes of
        the user. Nothing by default; sharing's reasoning call reads the caller's grant."""
        return "", "", []


@functools.cache
def _user_columns(alias: str) -> tuple[str, list[tuple[object, list]]]:
    """The user's columns in the order Model.from_db() takes a whole row: as the statement
    selects them, and each with the ORM's converters for it (SQLite answers booleans as
    integers, dates as text); worked out once per process."""
    connection = connections[alias]
    fields = User._meta.concrete_fields
    columns = []
    for field in fields:
        column = field.get_col(User._meta.db_table)
        columns.append(
            (column, connection.ops.get_db_converters(column) + field.get_db_converters(connection))
        )
    return ", ".join(f"u.{field.column}" for field in fields), columns
