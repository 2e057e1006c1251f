"""The AIMLE client registry over the REST API (/api/v1/aimle/clients/): thin views over
training.aimle.clients, errors as ProblemDetails like the other AIMLE operations."""

from collections.abc import Callable

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from core.api.parsers import JSONParser
from core.api.problem import ProblemDetailsMixin
from core.api.serializers import IdOrSlugField
from registry.selectors import organisations_visible_to
from training.aimle import clients
from training.models import AimleClient

# The error answers of every AIMLE endpoint, for the schema.
PROBLEMS = {
    400: OpenApiResponse(
        description="ProblemDetails: the body is not valid; `invalidParams` names each field."
    ),
    403: OpenApiResponse(description="ProblemDetails: you are not allowed to do this."),
    404: OpenApiResponse(description="ProblemDetails: no such object, or you cannot see it."),
}


class NameField(serializers.CharField):
    """An identifier or name: a JSON string (not a number turned into one), at most 255."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 255)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class AimleClientSerializer(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = AimleClient
        fields = [
            "client_id", "client_set_id", "organisation", "managing_server",
            "previous_managing_servers", "service_area", "capabilities", "created_at",
            "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class AimleClientChangeSerializer(serializers.Serializer):
    """PATCH: what may change (a new managing server is a move)."""

    client_set_id = NameField(required=False, allow_blank=True)
    managing_server = NameField(required=False)
    service_area = NameField(required=False)
    capabilities = serializers.ListField(child=NameField(), required=False)


class AimleClientRegisterSerializer(AimleClientChangeSerializer):
    client_id = NameField()
    organisation = IdOrSlugField(
        kind="organisation",
        visible=organisations_visible_to,
        help_text="Id or slug of the organisation whose UE runs the client.",
    )
    managing_server = NameField()
    service_area = NameField()


class AimleResourceViewSet(
    ProblemDetailsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """A registry of organisations' AIMLE resources (clients, execution nodes): read, register,
    change, remove, each through one service that the subclass names."""

    parser_classes = (JSONParser,)
    lookup_value_regex = r"[^/]+"
    register_serializer: type[serializers.Serializer]
    change_serializer: type[serializers.Serializer]
    # (user) -> queryset, (user, id) -> resource, and the three writes (keyword arguments). Not
    # named create/update/destroy: the router would route requests to those names.
    selector_all: Callable
    selector_one: Callable
    service_register: Callable
    service_update: Callable
    service_remove: Callable

    def get_queryset(self):
        return self.selector_all(self.request.user)

    def get_object(self):
        return self.selector_one(self.request.user, self.kwargs[self.lookup_field])

    def create(self, request):
        body = self.register_serializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        resource = self.service_register(user=request.user, **body.validated_data)
        return Response(self.get_serializer(resource).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, **kwargs):
        body = self.change_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        resource = self.service_update(user=request.user, **kwargs, **body.validated_data)
        return Response(self.get_serializer(resource).data)

    def destroy(self, request, **kwargs):
        self.service_remove(user=request.user, **kwargs)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(summary="List the AIMLE clients you can see"),
    retrieve=extend_schema(
        summary="An AIMLE client",
        responses={200: AimleClientSerializer, 404: PROBLEMS[404]},
    ),
    create=extend_schema(
        summary="Register an AIMLE client",
        description="Providers of the organisation and operators.",
        request=AimleClientRegisterSerializer,
        responses={201: AimleClientSerializer, **PROBLEMS},
    ),
    partial_update=extend_schema(
        summary="Change an AIMLE client",
        description=(
            "A new `managing_server` is a move: the server the client leaves is appended to "
            "`previous_managing_servers`."
        ),
        request=AimleClientChangeSerializer,
        responses={200: AimleClientSerializer, **PROBLEMS},
    ),
    destroy=extend_schema(
        summary="Remove an AIMLE client (and the contexts transferred for it)",
        responses={204: None, **PROBLEMS},
    ),
)
@extend_schema(tags=["aimle"])
class AimleClientViewSet(AimleResourceViewSet):
    """AIMLE clients (TS 23.482 §5.2.3.2) of your organisations; every one for auditors and
    operators. Client sets and selection criteria of ML model selection match these."""

    serializer_class = AimleClientSerializer
    register_serializer = AimleClientRegisterSerializer
    change_serializer = AimleClientChangeSerializer
    lookup_field = "client_id"
    selector_all = staticmethod(clients.aimle_clients_visible_to)
    selector_one = staticmethod(clients.aimle_client_visible_to)
    service_register = staticmethod(clients.aimle_client_register)
    service_update = staticmethod(clients.aimle_client_update)
    service_remove = staticmethod(clients.aimle_client_remove)
