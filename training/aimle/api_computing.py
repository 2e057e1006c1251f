"""Hierarchical computing assistance over the REST API (/api/v1/aimle/computing-assistance/,
TS 23.482 tables 8.25.3.1-1 and 8.25.3.2-1) and the execution node registry it draws on
(/api/v1/aimle/execution-nodes/): thin views over training.aimle.computing. Success is 200
with the assistance information; failure a ProblemDetails whose `cause` is the failure cause,
so exactly one of the two answers (NOTE 1)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.parsers import JSONParser
from core.api.problem import ProblemDetailsMixin
from core.api.serializers import IdOrSlugField
from registry.selectors import organisations_visible_to
from training.aimle import computing
from training.aimle.api_clients import PROBLEMS, AimleResourceViewSet, NameField
from training.models import (
    AssistanceInfoType,
    ComputingTaskType,
    ExecutionNode,
    HierarchyRole,
    PreparationStatus,
)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer (not a string, not a float, not a boolean) that a database column holds."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_value", 2_147_483_647)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


# --- execution nodes -------------------------------------------------------------------------


class ExecutionNodeSerializer(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    free_capacity = serializers.IntegerField(read_only=True)

    class Meta:
        model = ExecutionNode
        fields = [
            "node_id", "organisation", "service_area", "capacity", "current_load",
            "free_capacity", "task_types", "preparation_status", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class ExecutionNodeChangeSerializer(serializers.Serializer):
    """PATCH: what a node reports."""

    service_area = NameField(required=False)
    capacity = StrictIntegerField(min_value=1, required=False)
    current_load = StrictIntegerField(min_value=0, required=False)
    task_types = serializers.ListField(
        child=serializers.ChoiceField(choices=ComputingTaskType.choices),
        min_length=1,
        required=False,
    )
    preparation_status = serializers.ChoiceField(choices=PreparationStatus.choices, required=False)


class ExecutionNodeRegisterSerializer(ExecutionNodeChangeSerializer):
    node_id = NameField()
    organisation = IdOrSlugField(
        kind="organisation",
        visible=organisations_visible_to,
        help_text="Id or slug of the organisation running the node.",
    )
    service_area = NameField()
    capacity = StrictIntegerField(min_value=1)
    task_types = serializers.ListField(
        child=serializers.ChoiceField(choices=ComputingTaskType.choices), min_length=1
    )


@extend_schema_view(
    list=extend_schema(summary="List the execution nodes offered to hierarchical computing"),
    retrieve=extend_schema(
        summary="An execution node",
        responses={200: ExecutionNodeSerializer, 404: PROBLEMS[404]},
    ),
    create=extend_schema(
        summary="Register an execution node",
        description="Providers of the organisation and operators.",
        request=ExecutionNodeRegisterSerializer,
        responses={201: ExecutionNodeSerializer, **PROBLEMS},
    ),
    partial_update=extend_schema(
        summary="Change what an execution node reports (load, capacity, preparation status...)",
        request=ExecutionNodeChangeSerializer,
        responses={200: ExecutionNodeSerializer, **PROBLEMS},
    ),
    destroy=extend_schema(summary="Remove an execution node", responses={204: None, **PROBLEMS}),
)
@extend_schema(tags=["aimle"])
class ExecutionNodeViewSet(AimleResourceViewSet):
    """Execution nodes (TS 23.482 §8.25) that candidate execution nodes are chosen from. AIMLE
    consumers, auditors and operators see them; their organisation's providers and operators
    register, change and remove them."""

    serializer_class = ExecutionNodeSerializer
    register_serializer = ExecutionNodeRegisterSerializer
    change_serializer = ExecutionNodeChangeSerializer
    lookup_field = "node_id"
    selector_all = staticmethod(computing.execution_nodes_visible_to)
    selector_one = staticmethod(computing.execution_node_visible_to)
    service_register = staticmethod(computing.execution_node_register)
    service_update = staticmethod(computing.execution_node_update)
    service_remove = staticmethod(computing.execution_node_remove)


# --- assistance ------------------------------------------------------------------------------


class ComputingAssistanceRequestSerializer(serializers.Serializer):
    requestorId = NameField()  # noqa: N815
    originalRequestorId = NameField(  # noqa: N815
        required=False, help_text="E.g. a VAL server, EAS or CAS ID."
    )
    role = serializers.ChoiceField(choices=HierarchyRole.choices)
    computingTaskType = serializers.ChoiceField(choices=ComputingTaskType.choices)  # noqa: N815
    assistanceInfoTypes = serializers.ListField(  # noqa: N815
        child=serializers.ChoiceField(choices=AssistanceInfoType.choices),
        min_length=1,
        max_length=len(AssistanceInfoType.values),
        help_text="The assistance information needed: one or both types.",
    )
    executionNodes = serializers.ListField(  # noqa: N815
        child=NameField(),
        required=False,
        min_length=1,
        help_text=(
            "IDs of one execution node or a list of candidates: candidates are chosen among "
            "them, and their preparation status is given."
        ),
    )
    serviceArea = NameField(  # noqa: N815
        required=False,
        help_text=(
            "SAM Hub's addition: the service area candidates must be in; by default the "
            "requesting node's when it is a registered execution node, else any."
        ),
    )

    def validate_assistanceInfoTypes(self, value):  # noqa: N802
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Give each assistance information type once.")
        return value

    def service_arguments(self) -> dict:
        data = self.validated_data
        return {
            "requestor_id": data["requestorId"],
            "original_requestor_id": data.get("originalRequestorId", ""),
            "role": data["role"],
            "task_type": data["computingTaskType"],
            "info_types": data["assistanceInfoTypes"],
            "execution_node_ids": data.get("executionNodes"),
            "service_area": data.get("serviceArea", ""),
        }


class CandidateNodeSerializer(serializers.Serializer):
    nodeId = serializers.CharField(source="node_id")  # noqa: N815
    serviceArea = serializers.CharField(source="service_area")  # noqa: N815
    capacity = serializers.IntegerField()
    currentLoad = serializers.IntegerField(source="current_load")  # noqa: N815
    freeCapacity = serializers.IntegerField(source="free_capacity")  # noqa: N815


class PreparationStatusSerializer(serializers.Serializer):
    nodeId = serializers.CharField(source="node_id")  # noqa: N815
    preparationStatus = serializers.ChoiceField(  # noqa: N815
        source="preparation_status", choices=PreparationStatus.choices
    )


class AssistanceInfoSerializer(serializers.Serializer):
    """At least one of the two is present (NOTE 2)."""

    candidateNodes = CandidateNodeSerializer(  # noqa: N815
        source="candidate_nodes", many=True, required=False, help_text="Best first."
    )
    preparationStatus = PreparationStatusSerializer(  # noqa: N815
        source="preparation_status", many=True, required=False
    )

    def to_representation(self, instance):
        body = super().to_representation(instance)
        return {key: value for key, value in body.items() if value is not None}


class ComputingAssistanceResponseSerializer(serializers.Serializer):
    assistanceInfo = AssistanceInfoSerializer(source="*")  # noqa: N815


@extend_schema(tags=["aimle"])
class ComputingAssistanceView(ProblemDetailsMixin, APIView):
    parser_classes = (JSONParser,)

    @extend_schema(
        summary="Ask for hierarchical computing assistance (TS 23.482 §8.25)",
        description=(
            "Success: 200 with candidate execution nodes (best first, by the rule of "
            "docs/aimle.md) and/or the preparation status at the named nodes. Failure: a "
            "ProblemDetails with `cause` NO_CHILD_NODES_FOR_LEAF, EXECUTION_NODES_MISSING, "
            "COMPUTING_TASK_NOT_SUPPORTED (400), UNKNOWN_EXECUTION_NODE (404) or "
            "NO_CANDIDATE_NODES (409). Nothing is stored."
        ),
        request=ComputingAssistanceRequestSerializer,
        responses={
            200: ComputingAssistanceResponseSerializer,
            **PROBLEMS,
            409: OpenApiResponse(description="ProblemDetails: cause NO_CANDIDATE_NODES."),
        },
    )
    def post(self, request):
        body = ComputingAssistanceRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        assistance = computing.hierarchical_computing_assist(
            user=request.user, **body.service_arguments()
        )
        return Response(ComputingAssistanceResponseSerializer(assistance).data)
