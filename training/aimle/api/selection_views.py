"""Aimles_AMLMSel over HTTP (/aimles-amlmsel/v1/, AIMLE assisted ML model selection): thin
views over training.aimle.selection, errors as ProblemDetails. Token authentication as on
/api/v1/."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.parsers import JSONParser
from core.api.problem import ProblemDetailsMixin
from training.aimle import selection, selection_selectors
from training.aimle.api import selection_serializers as s


class MergePatchParser(JSONParser):
    """RFC 7396 bodies of PATCH (application/merge-patch+json)."""

    media_type = "application/merge-patch+json"


class AimleView(ProblemDetailsMixin, APIView):
    parser_classes = (JSONParser, MergePatchParser)
    renderer_classes = (JSONRenderer,)


def _update(request, subscription_id: str, body) -> Response:
    serializer = s.AssistMLMdlSelSubscSerializer(data=body)
    serializer.is_valid(raise_exception=True)
    with s.named_as_in_the_body():
        updated = selection.model_selection_update(
            user=request.user, selection_id=subscription_id, **serializer.service_arguments()
        )
    return Response(s.subscription_representation(updated))


@extend_schema(exclude=True)  # TS 29.482's API; its shapes are in docs/model_selection.md
class SubscriptionCollection(AimleView):
    def post(self, request):
        serializer = s.AssistMLMdlSelSubscSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with s.named_as_in_the_body():
            created = selection.model_selection_create(
                user=request.user, **serializer.service_arguments()
            )
        location = request.build_absolute_uri(
            reverse("aimles-amlmsel:subscription", args=[created.pk])
        )
        return Response(
            s.subscription_representation(created),
            status=status.HTTP_201_CREATED,
            headers={"Location": location},
        )


@extend_schema(exclude=True)
class SubscriptionDocument(AimleView):
    def get(self, request, subscription_id: str):
        found = selection_selectors.model_selection_visible_to(request.user, subscription_id)
        return Response(s.subscription_representation(found))

    def put(self, request, subscription_id: str):
        return _update(request, subscription_id, request.data)

    def patch(self, request, subscription_id: str):
        """A JSON merge patch of the subscription as it is (its read-only parts left out)."""
        found = selection_selectors.model_selection_visible_to(request.user, subscription_id)
        current = s.subscription_representation(found)
        for name in s.READ_ONLY:
            current.pop(name)
        return _update(request, subscription_id, s.merge_patch(current, request.data))

    def delete(self, request, subscription_id: str):
        selection.model_selection_delete(user=request.user, selection_id=subscription_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
