"""AIMLE model selections over the REST API (/api/v1/model-selections/): the Aimles_AMLMSel
body, answers and errors in the REST API's shapes, and taking the winner into the audit flow.
Thin views over training.aimle.selection."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api.serializers import ErrorSerializer
from training.aimle import selection, selection_selectors
from training.aimle.api import selection_serializers as s

ERRORS = {
    400: OpenApiResponse(
        ErrorSerializer, description="The body breaks a rule; `detail` says which."
    ),
    403: OpenApiResponse(ErrorSerializer, description="You are not allowed to do this."),
    404: OpenApiResponse(ErrorSerializer, description="No such model selection that you can see."),
    409: OpenApiResponse(ErrorSerializer, description="Its state does not allow it."),
}


@extend_schema_view(
    list=extend_schema(summary="List the model selections you can see"),
    retrieve=extend_schema(
        summary="A model selection: its profile, opStatus and ranked candidates",
        responses={200: s.ModelSelectionSerializer, 404: ERRORS[404]},
    ),
)
@extend_schema(tags=["model selection"])
class ModelSelectionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """AIMLE assisted ML model selections (TS 23.482 §8.23): yours, or every one for auditors
    and operators. The same resource as /aimles-amlmsel/v1/subscriptions."""

    serializer_class = s.ModelSelectionSerializer
    lookup_value_regex = r"[0-9a-fA-F-]{36}"

    def get_queryset(self):
        return selection_selectors.model_selections_visible_to(self.request.user)

    def get_object(self):
        return selection_selectors.model_selection_visible_to(self.request.user, self.kwargs["pk"])

    @extend_schema(
        summary="Ask for a model selection (AssistMLMdlSelSubsc)",
        description=(
            "Candidates are released versions with a scikit-learn model file; clientList or "
            "clientSelCriteria is required (NOTE 1), clNumber with clientSelCriteria (NOTE 2). "
            "Each candidate is trained trainCount rounds on the datasets by a Celery worker "
            "and ranked by the first perfMetric. A refusal stores nothing."
        ),
        request=s.AssistMLMdlSelSubscSerializer,
        responses={201: s.ModelSelectionSerializer, **ERRORS},
    )
    def create(self, request):
        body = s.AssistMLMdlSelSubscSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        created = selection.model_selection_create(user=request.user, **body.service_arguments())
        return Response(s.subscription_representation(created), status=status.HTTP_201_CREATED)

    @extend_schema(summary="End a model selection", responses={204: None, **ERRORS})
    def destroy(self, request, pk=None):
        selection.model_selection_delete(user=request.user, selection_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Take the winner into the audit flow as a new version (SUBMITTED)",
        request=None,
        responses={201: s.SubmittedVersionSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="submit-winner")
    def submit_winner(self, request, pk=None):
        version = selection.model_selection_winner_submit(user=request.user, selection_id=pk)
        return Response(s.SubmittedVersionSerializer(version).data, status=status.HTTP_201_CREATED)
