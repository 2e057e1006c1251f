"""Shapes every API shares (the error body, a reference by id or slug) and those of the API
token endpoints. A key appears in one answer only: the creation's."""

from collections.abc import Callable

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer

from core.models import ApiToken, TokenState
from core.services import MAX_LIFETIME_DAYS

DEFAULT_TOKEN_NAME = "API token"


class ErrorSerializer(serializers.Serializer):
    """The body of an error answer (core.api.exceptions)."""

    detail = serializers.CharField()
    code = serializers.CharField(required=False)
    errors = serializers.JSONField(required=False, help_text="Messages per field, when known.")


@extend_schema_field(OpenApiTypes.STR)
class IdOrSlugField(serializers.RelatedField):
    """A reference by numeric id or by slug to one of the objects `visible(user)` returns for
    the requesting user. Another object answers exactly like an unknown id, so the answer does
    not confirm that it exists or name it."""

    default_error_messages = {
        "does_not_exist": "There is no {kind} with id or slug {value!r} that you can see.",
        "incorrect_type": "Give the {kind}'s id (a number) or slug (a string).",
    }

    def __init__(self, *, kind: str, visible: Callable[..., QuerySet], **kwargs):
        self.kind = kind
        self.visible = visible
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.visible(self.context["request"].user)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str) or data == "":
            self.fail("incorrect_type", kind=self.kind)
        queryset, found = self.get_queryset(), None
        if str(data).isdigit():
            found = queryset.filter(pk=int(data)).first()
        if found is None and isinstance(data, str):
            found = queryset.filter(slug=data).first()
        if found is None:
            self.fail("does_not_exist", kind=self.kind, value=data)
        return found

    def to_representation(self, value):
        return value.slug


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
