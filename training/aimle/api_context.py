"""AIMLE context transfer over the REST API (/api/v1/aimle/context-transfers/): the request of
TS 23.482 table 8.24.3.1-1 with the context information of table 8.24.3.1-2, in camelCase as
the AIMLE stage-3 APIs write their JSON. Success is 201 with the stored transfer and its
`Location`; failure is a ProblemDetails whose `cause` is the failure cause
(training.aimle.context; docs/aimle.md)."""

from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from core.api.parsers import JSONParser
from core.api.problem import ProblemDetailsMixin
from training.aimle import context
from training.aimle.api_clients import PROBLEMS, NameField
from training.models import AimleContextTransfer, MLTask


class ObjectField(serializers.JSONField):
    """A JSON object, kept as given."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError("Expected a JSON object.")
        return data


class ServiceStatusField(serializers.JSONField):
    """A status name ("active", "paused", "completed") or a percentage of completion."""

    def to_internal_value(self, data):
        if isinstance(data, str) and data.strip() and len(data) <= 255:
            return data
        if isinstance(data, int | float) and not isinstance(data, bool) and 0 <= data <= 100:
            return data
        raise serializers.ValidationError(
            "A status name (e.g. active, paused, completed) or a percentage from 0 to 100."
        )


class MLContextInfoSerializer(serializers.Serializer):
    valServiceInfo = serializers.JSONField(  # noqa: N815
        required=False, help_text="The VAL service the AIMLE task is for (e.g. its id)."
    )
    mlTask = serializers.ChoiceField(choices=MLTask.choices, required=False)  # noqa: N815
    mlTaskInfo = ObjectField(  # noqa: N815
        required=False, help_text="About the ML task: objective, status, results, job id, ..."
    )
    mlModelInfo = ObjectField(  # noqa: N815
        required=False,
        allow_null=True,
        help_text=(
            "Mandatory: the model identifier, where to fetch the model or its repository, its "
            "parameters. Without it the transfer fails with cause ML_MODEL_INFO_MISSING."
        ),
    )


class AimleContextInfoSerializer(serializers.Serializer):
    clientId = NameField()  # noqa: N815
    currentManagingServer = NameField(required=False)  # noqa: N815
    previousManagingServers = serializers.ListField(child=NameField(), required=False)  # noqa: N815
    serviceStatus = ServiceStatusField(required=False)  # noqa: N815
    serviceResults = serializers.JSONField(required=False)  # noqa: N815
    serviceApplicability = serializers.JSONField(required=False)  # noqa: N815
    mlContextInfo = MLContextInfoSerializer(required=False)  # noqa: N815


class ContextTransferRequestSerializer(serializers.Serializer):
    requestorId = NameField(help_text="E.g. the source AIMLE server.")  # noqa: N815
    contextInfo = AimleContextInfoSerializer()  # noqa: N815

    def service_arguments(self) -> dict:
        info = self.validated_data["contextInfo"]
        ml = info.get("mlContextInfo")
        return {
            "requestor_id": self.validated_data["requestorId"],
            "client_id": info["clientId"],
            "current_managing_server": info.get("currentManagingServer", ""),
            "previous_managing_servers": info.get("previousManagingServers", []),
            "service_status": info.get("serviceStatus"),
            "service_results": info.get("serviceResults"),
            "service_applicability": info.get("serviceApplicability"),
            "ml_context": None
            if ml is None
            else context.MLContext(
                val_service_info=ml.get("valServiceInfo"),
                ml_task=ml.get("mlTask", ""),
                ml_task_info=ml.get("mlTaskInfo"),
                ml_model_info=ml.get("mlModelInfo"),
            ),
        }


def _context_info(transfer: AimleContextTransfer) -> dict:
    """The context information as received; IEs that were not given are left out."""
    info = {
        "clientId": transfer.client.client_id,
        "currentManagingServer": transfer.current_managing_server or None,
        "previousManagingServers": transfer.previous_managing_servers or None,
        "serviceStatus": transfer.service_status,
        "serviceResults": transfer.service_results,
        "serviceApplicability": transfer.service_applicability,
    }
    if transfer.has_ml_context:
        ml = {
            "valServiceInfo": transfer.val_service_info,
            "mlTask": transfer.ml_task or None,
            "mlTaskInfo": transfer.ml_task_info,
            "mlModelInfo": transfer.ml_model_info,
        }
        info["mlContextInfo"] = {k: v for k, v in ml.items() if v is not None}
    return {k: v for k, v in info.items() if v is not None}


class ContextTransferSerializer(serializers.ModelSerializer):
    requestorId = serializers.CharField(source="requestor_id")  # noqa: N815
    contextInfo = serializers.SerializerMethodField()  # noqa: N815
    sourceServer = serializers.CharField(  # noqa: N815
        source="source_server",
        help_text="The managing server the client left with this transfer; empty if none.",
    )
    managingServer = serializers.CharField(  # noqa: N815
        source="client.managing_server", help_text="The client's managing server now."
    )
    transferredBy = serializers.CharField(source="transferred_by.username")  # noqa: N815
    transferredAt = serializers.DateTimeField(source="created_at")  # noqa: N815

    class Meta:
        model = AimleContextTransfer
        fields = [
            "id", "requestorId", "contextInfo", "sourceServer", "managingServer",
            "transferredBy", "transferredAt",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(AimleContextInfoSerializer)
    def get_contextInfo(self, transfer: AimleContextTransfer) -> dict:  # noqa: N802
        return _context_info(transfer)


@extend_schema_view(
    list=extend_schema(
        summary="List the AIMLE context transfers of the clients you can see",
        parameters=[OpenApiParameter("clientId", str, description="Only this client's.")],
    ),
    retrieve=extend_schema(
        summary="An AIMLE context transfer",
        responses={200: ContextTransferSerializer, 404: PROBLEMS[404]},
    ),
)
@extend_schema(tags=["aimle"])
class ContextTransferViewSet(
    ProblemDetailsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """AIMLE contexts transferred to SAM Hub's AIMLE server (TS 23.482 §8.24), newest first."""

    serializer_class = ContextTransferSerializer
    parser_classes = (JSONParser,)
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        transfers = context.context_transfers_visible_to(self.request.user).select_related(
            "transferred_by"
        )
        client_id = self.request.query_params.get("clientId")
        return transfers.filter(client__client_id=client_id) if client_id else transfers

    def get_object(self):
        return context.context_transfer_visible_to(self.request.user, int(self.kwargs["pk"]))

    @extend_schema(
        summary="Transfer the AIMLE context of a client (TS 23.482 §8.24)",
        description=(
            "Success: 201 with the stored context and its `Location`; a `currentManagingServer` "
            "other than the client's moves the client there. Failure: a ProblemDetails with "
            "`cause` ML_MODEL_INFO_MISSING (400), UNKNOWN_AIMLE_CLIENT (404) or "
            "REQUESTOR_NOT_MANAGING_SERVER (403); a body that is not valid is a 400 with "
            "`invalidParams`. Nothing is stored on a failure."
        ),
        request=ContextTransferRequestSerializer,
        responses={
            201: ContextTransferSerializer,
            **PROBLEMS,
            403: OpenApiResponse(
                description="ProblemDetails: not an AIMLE consumer, or the requestor does not "
                "manage the client (cause REQUESTOR_NOT_MANAGING_SERVER)."
            ),
            404: OpenApiResponse(description="ProblemDetails: cause UNKNOWN_AIMLE_CLIENT."),
        },
    )
    def create(self, request):
        body = ContextTransferRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        transfer = context.aimle_context_transfer_accept(
            user=request.user, **body.service_arguments()
        )
        location = request.build_absolute_uri(
            reverse("api:aimle-context-transfer-detail", args=[transfer.pk])
        )
        return Response(
            ContextTransferSerializer(transfer).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": location},
        )
