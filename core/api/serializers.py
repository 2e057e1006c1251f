"""Shapes of the API token endpoints. A key appears in one answer only: the creation's."""

from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer

from core.models import ApiToken, TokenState
from core.services import MAX_LIFETIME_DAYS

DEFAULT_TOKEN_NAME = "API token"


class TokenCreateSerializer(AuthTokenSerializer):
    """The username and password (checked by AuthTokenSerializer with authenticate()) and what
    the new token is called and how long it lives."""

    name = serializers.CharField(max_length=100, required=False, default=DEFAULT_TOKEN_NAME)
    expires_in_days = serializers.IntegerField(
        min_value=1,
        max_value=MAX_LIFETIME_DAYS,
        required=False,
        allow_null=True,
        default=None,
        help_text="Days until the token stops working; left out or null: it never expires.",
    )


class ApiTokenSerializer(serializers.ModelSerializer):
    state = serializers.ChoiceField(choices=TokenState.choices, read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            "id", "name", "prefix", "state",
            "created_at", "expires_at", "last_used_at", "revoked_at",
        ]  # fmt: skip
        read_only_fields = fields


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.SerializerMethodField(
        help_text="The key, for `Authorization: Token <key>`. Shown only in this answer."
    )

    class Meta(ApiTokenSerializer.Meta):
        fields = ["token", *ApiTokenSerializer.Meta.fields]
        read_only_fields = fields

    def get_token(self, token: ApiToken) -> str:
        return self.context["key"]
