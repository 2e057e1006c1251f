"""Token authentication for systems outside SAM Hub (ENI SAM clause 6: sharing through the
API broker). Keys are looked up by their sha256 (core.models.ApiToken)."""

from django.contrib.auth.models import User
from django.db import router
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from core import services
from core.models import ApiToken, key_digest

# Expiry is checked against the database's clock (CURRENT_TIMESTAMP, UTC on SQLite as Django
# stores it): no datetime to build and adapt per request. Expiry is counted in days, so
# SQLite's whole seconds are precise enough.
_USER_BY_TOKEN_SQL = """
    SELECT u.*, t.id AS token_id, t.revoked_at IS NOT NULL AS token_revoked,
           (t.expires_at IS NOT NULL AND t.expires_at <= CURRENT_TIMESTAMP) AS token_expired
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
        statement = _USER_BY_TOKEN_SQL.format(columns=columns, joins=joins)
        user = next(iter(User.objects.raw(statement, [*params, digest])), None)
        if user is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if user.token_revoked:
            raise exceptions.AuthenticationFailed(
                _("This API token was revoked; create a new one on your API tokens page.")
            )
        if user.token_expired:
            raise exceptions.AuthenticationFailed(
                _("This API token has expired; create a new one on your API tokens page.")
            )
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        services.api_token_used(token_id=user.token_id, digest=digest)
        # The token as loaded from the database with its other fields deferred.
        token = ApiToken.from_db(
            router.db_for_read(ApiToken), ["id", "user_id"], [user.token_id, user.pk]
        )
        token.user = user
        return user, token

    def read_along(self) -> tuple[str, str, list]:
        """What an endpoint reads in the same statement as the token's user, so that its
        common call costs no second one: columns (each after a comma), LEFT JOINs on the user
        `u`, and the parameters of both, in that order. The columns come back as attributes of
        the user. Nothing by default; sharing's reasoning call reads the caller's grant."""
        return "", "", []
