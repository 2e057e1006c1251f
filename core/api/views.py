"""API tokens over the REST API: get one with a username and password, list and revoke one's
own. Thin views over core.services; keys are never listed."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, parsers, renderers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from core import selectors, services
from core.api import serializers as s


class TokenCreateView(APIView):
    """POST /api/v1/auth/token/ with a username and password: a new named token."""

    # The username and password are the credentials; throttling is the login's own.
    permission_classes = ()
    throttle_classes = ()
    parser_classes = (parsers.FormParser, parsers.MultiPartParser, parsers.JSONParser)
    renderer_classes = (renderers.JSONRenderer,)

    @extend_schema(
        request=s.TokenCreateSerializer,
        responses={
            200: s.ApiTokenCreatedSerializer,
            400: OpenApiResponse(s.ErrorSerializer, description="Wrong username or password."),
        },
        summary="Create an API token",
        description=(
            "A new token of the user whose username and password are given, named `name`, "
            "expiring after `expires_in_days` (never when left out). The key is in this "
            "answer only: SAM Hub stores its sha256 and cannot show it again."
        ),
    )
    def post(self, request, *args, **kwargs):
        serializer = s.TokenCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        token, key = services.api_token_create(
            user=serializer.validated_data["user"],
            name=serializer.validated_data["name"],
            expires_in_days=serializer.validated_data["expires_in_days"],
        )
        answer = s.ApiTokenCreatedSerializer(token, context={"key": key}).data
        # 200, not 201: scripts written against DRF's obtain_auth_token check for it.
        return Response(answer, headers={"Cache-Control": "no-store"})


@extend_schema(tags=["auth"])
class TokenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The caller's own API tokens, without keys; DELETE revokes one."""

    serializer_class = s.ApiTokenSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return selectors.api_tokens_of(self.request.user)

    @extend_schema(
        responses={
            204: None,
            404: OpenApiResponse(s.ErrorSerializer, description="Not one of your tokens."),
        },
        summary="Revoke an API token",
    )
    def destroy(self, request, pk=None):
        services.api_token_revoke(user=request.user, token_id=int(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
