"""REST API of subscriptions (/api/v1/subscriptions/, /api/v1/subscription-requests/): a
consumer subscribes to a released model by one sharing method (ENI SAM clause 5 sharing,
step 2); the model's organisation or an operator grants, denies, suspends, resumes and revokes;
the consumer cancels. Validate input, call one service or selector, serialize the result;
subscriptions the user cannot see answer 404."""

from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from core.api.serializers import ErrorSerializer, IdOrSlugField
from core.errors import DomainError
from registry import selectors as registry_selectors
from sharing import permissions, selectors, services
from sharing.models import SharingMethod, Subscription, SubscriptionEvent, SubscriptionStatus

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input; `detail` says why."),
    403: OpenApiResponse(ErrorSerializer, description="You are not allowed to do this."),
    404: OpenApiResponse(
        ErrorSerializer, description="No such subscription, or you cannot see it."
    ),
    409: OpenApiResponse(
        ErrorSerializer,
        description="The subscription's (or the model's) state does not allow this.",
    ),
}


# --- serializers ---------------------------------------------------------------------------


class SubscriptionSerializer(serializers.ModelSerializer):
    model = serializers.SlugRelatedField(source="sam", slug_field="slug", read_only=True)
    model_name = serializers.CharField(source="sam.name", read_only=True)
    organisation = serializers.SlugRelatedField(
        source="sam.organisation", slug_field="slug", read_only=True
    )
    consumer = serializers.CharField(source="consumer.username", read_only=True)
    method_label = serializers.CharField(source="get_method_display", read_only=True)
    available_actions = serializers.SerializerMethodField(
        help_text="Actions you may take on the subscription now."
    )
    status_reason = serializers.SerializerMethodField(
        help_text="Why the subscription is in its status: the reason given with its latest "
        "change, e.g. why a PENDING request waits for a grant (approval required, or an "
        "earlier suspension, revocation or denial that still holds) or why it was suspended."
    )

    class Meta:
        model = Subscription
        fields = [
            "id",
            "model",
            "model_name",
            "organisation",
            "consumer",
            "method",
            "method_label",
            "status",
            "status_reason",
            "purpose",
            "created_at",
            "updated_at",
            "available_actions",
        ]
        read_only_fields = fields

    @extend_schema_field(
        serializers.ListField(
            child=serializers.ChoiceField(choices=list(selectors.SUBSCRIPTION_ACTIONS))
        )
    )
    def get_available_actions(self, subscription: Subscription) -> list[str]:
        return selectors.subscription_available_actions(subscription, self.context["request"].user)

    def get_status_reason(self, subscription: Subscription) -> str:
        return selectors.subscription_status_reason(subscription)


class SubscriptionEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", read_only=True)

    class Meta:
        model = SubscriptionEvent
        fields = ["id", "name", "source", "target", "actor", "reason", "created_at"]


class SubscriptionCreateInputSerializer(serializers.Serializer):
    model = IdOrSlugField(
        kind="model",
        visible=registry_selectors.models_visible_to,
        help_text="Id or slug of a released model.",
    )
    method = serializers.ChoiceField(
        choices=SharingMethod.choices, help_text="One of the sharing methods the model offers."
    )
    purpose = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="What you will use it for."
    )


class SubscriptionFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=SubscriptionStatus.choices, required=False)
    model = serializers.CharField(required=False, help_text="Slug of the model.")
    method = serializers.ChoiceField(choices=SharingMethod.choices, required=False)


class SubscriptionReasonInputSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class SubscriptionRequiredReasonInputSerializer(serializers.Serializer):
    reason = serializers.CharField(help_text="Why; the consumer sees it in the change log.")


# --- views ---------------------------------------------------------------------------------


def _action_schema(summary: str, request=None):
    return extend_schema(
        summary=summary, request=request, responses={200: SubscriptionSerializer, **ERRORS}
    )


@extend_schema_view(
    list=extend_schema(
        summary="List the subscriptions you can see",
        description="Consumers see their own; providers also those to their organisations' "
        "models; operators all of them.",
        parameters=[SubscriptionFilterSerializer],
    ),
    create=extend_schema(
        summary="Subscribe to a released model by one sharing method",
        description="ACTIVE at once, or PENDING when the model needs approval or when the "
        "model's organisation or an operator denied, suspended or revoked your earlier "
        "subscription by the method and has not granted one since (cancelling a suspended "
        "subscription does not lift the suspension); `status_reason` says why. 409 when you "
        "already hold a live subscription by the method or the model has no release (or only "
        "deprecated ones, which take no new subscribers); 400 when the model does not offer "
        "the method.",
        request=SubscriptionCreateInputSerializer,
        responses={201: SubscriptionSerializer, **ERRORS},
    ),
    retrieve=extend_schema(
        summary="A subscription", responses={200: SubscriptionSerializer, 404: ERRORS[404]}
    ),
)
@extend_schema(tags=["subscriptions"])
class SubscriptionViewSet(viewsets.GenericViewSet):
    """Subscriptions and their lifecycle: PENDING → ACTIVE | DENIED; ACTIVE ⇄ SUSPENDED;
    ACTIVE or SUSPENDED → REVOKED; any live state → CANCELLED by the consumer (a suspension
    outlives the cancel: the next request waits for a grant). Each action answers with the
    updated subscription; one its state does not allow answers 409."""

    serializer_class = SubscriptionSerializer
    queryset = Subscription.objects.none()  # for the schema; see get_queryset

    def get_queryset(self):
        # The events give each subscription's status_reason without a query per row.
        return selectors.subscriptions_visible_to(self.request.user).prefetch_related("events")

    def _out(self, subscription: Subscription, code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(subscription).data, status=code)

    def list(self, request):
        filters = SubscriptionFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        lookups = {"status": "status", "model": "sam__slug", "method": "method"}
        subscriptions = self.get_queryset().filter(
            **{lookups[key]: value for key, value in filters.validated_data.items()}
        )
        page = self.paginate_queryset(subscriptions)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def create(self, request):
        body = SubscriptionCreateInputSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        subscription = services.subscription_request(
            user=request.user, sam=fields.pop("model"), **fields
        )
        return self._out(subscription, status.HTTP_201_CREATED)

    def retrieve(self, request, pk=None):
        return self._out(self.get_object())

    def _transition(self, name: str, body_serializer) -> Response:
        subscription = self.get_object()
        body = body_serializer(data=self.request.data)
        body.is_valid(raise_exception=True)
        return self._out(
            services.subscription_transition(
                subscription_id=subscription.pk,
                user=self.request.user,
                name=name,
                **body.validated_data,
            )
        )

    @_action_schema(
        "Grant a PENDING request (the model's organisation, operators)",
        SubscriptionReasonInputSerializer,
    )
    @action(detail=True, methods=["post"])
    def grant(self, request, pk=None):
        return self._transition("grant", SubscriptionReasonInputSerializer)

    @_action_schema(
        "Deny a PENDING request with a reason (the model's organisation, operators)",
        SubscriptionRequiredReasonInputSerializer,
    )
    @action(detail=True, methods=["post"])
    def deny(self, request, pk=None):
        return self._transition("deny", SubscriptionRequiredReasonInputSerializer)

    @_action_schema(
        "Suspend an ACTIVE subscription with a reason (the model's organisation, operators)",
        SubscriptionRequiredReasonInputSerializer,
    )
    @action(detail=True, methods=["post"])
    def suspend(self, request, pk=None):
        return self._transition("suspend", SubscriptionRequiredReasonInputSerializer)

    @_action_schema(
        "Resume a SUSPENDED subscription (the model's organisation, operators)",
        SubscriptionReasonInputSerializer,
    )
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._transition("resume", SubscriptionReasonInputSerializer)

    @_action_schema(
        "Revoke an ACTIVE or SUSPENDED subscription with a reason (the model's organisation, "
        "operators)",
        SubscriptionRequiredReasonInputSerializer,
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        return self._transition("revoke", SubscriptionRequiredReasonInputSerializer)

    @_action_schema(
        "Cancel your own live subscription (the consumer); a suspension is not lifted by it",
        SubscriptionReasonInputSerializer,
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._transition("cancel", SubscriptionReasonInputSerializer)

    @extend_schema(
        summary="The subscription's change log, oldest first",
        responses={200: SubscriptionEventSerializer(many=True), 404: ERRORS[404]},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def events(self, request, pk=None):
        events = self.get_object().events.select_related("actor")
        return Response(SubscriptionEventSerializer(events, many=True).data)


@extend_schema(tags=["subscriptions"])
class SubscriptionRequestsView(GenericAPIView):
    """Subscription requests waiting for your decision, oldest first (providers of the model's
    organisation and operators)."""

    serializer_class = SubscriptionSerializer

    @extend_schema(
        summary="Pending subscription requests you may grant or deny",
        responses={200: SubscriptionSerializer(many=True), 403: ERRORS[403]},
    )
    def get(self, request):
        user = request.user
        if not permissions.decides_subscription_requests(user):
            raise DomainError.not_allowed(
                "Only providers of an organisation and operators decide subscription requests."
            )
        page = self.paginate_queryset(
            selectors.pending_requests_for(user).prefetch_related("events")
        )
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
