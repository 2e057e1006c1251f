"""REST endpoints of the reasoning call (/api/v1/): infer on a version, read the metered
records, attach ground truth. Thin views over sharing.metering; the rules live there and in
registry.permissions, the engine in sharing.inference and sharing.broker."""

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.authentication import get_authorization_header
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from core import json_input
from core.api.parsers import JSONParser
from core.api.serializers import ErrorSerializer
from registry.deprecation import deprecation_headers
from sharing import metering, selectors
from sharing.models import InferenceOutcome, InferenceRecord

INFERENCE_ID_HEADER = "X-Inference-Id"


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


# --- serializers -----------------------------------------------------------------------------


class InferInputSerializer(serializers.Serializer):
    inputs = serializers.DictField(
        help_text=(
            "One nested list per input of the version's signature, keyed by input name. The "
            "leading dimension is the batch: `[[...], [...]]` is two instances. When the "
            "signature's first dimension is dynamic (null or a name), a single instance may be "
            "sent without it, e.g. `[1.0, 2.0]` for an input of shape `[null, 2]`; the outputs "
            "always keep the batch dimension."
        )
    )
    outputs = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        allow_empty=False,
        help_text="Names of the outputs to compute; all of the signature's when left out.",
    )


class VersionRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    model = serializers.CharField(source="sam.slug", help_text="Slug of the model.")
    version = serializers.CharField()


@extend_schema_field(
    {"type": "object", "additionalProperties": {}, "description": "Per output name."}
)
class OutputsField(serializers.JSONField):
    pass


class InferResultSerializer(serializers.Serializer):
    """The answer of a reasoning call (documents the shape; the view builds it directly)."""

    inferenceId = serializers.UUIDField(  # noqa: N815 (the API's JSON names are camelCase)
        help_text="Id of the metered call; attach ground truth to it later."
    )
    modelVersion = VersionRefSerializer()  # noqa: N815
    outputs = OutputsField(
        help_text="One nested list per output of the signature, one entry per instance."
    )
    count = serializers.IntegerField(help_text="Instances in the call (batch size).")
    latencyMs = serializers.FloatField(  # noqa: N815
        help_text="Time SAM Hub spent on the call, from inputs received to outputs ready."
    )


class InferenceRecordSerializer(serializers.ModelSerializer):
    inferenceId = serializers.UUIDField(source="id", read_only=True)  # noqa: N815
    modelVersion = VersionRefSerializer(source="version", read_only=True)  # noqa: N815
    caller = serializers.CharField(source="caller.username", read_only=True)
    subscription = serializers.IntegerField(
        source="subscription_id", read_only=True, allow_null=True
    )
    latencyMs = serializers.FloatField(source="latency_ms", read_only=True)  # noqa: N815
    outputs = OutputsField(read_only=True, allow_null=True)
    groundTruth = OutputsField(source="ground_truth", read_only=True, allow_null=True)  # noqa: N815
    groundTruthAt = serializers.DateTimeField(  # noqa: N815
        source="ground_truth_at", read_only=True, allow_null=True
    )
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)  # noqa: N815

    class Meta:
        model = InferenceRecord
        fields = [
            "inferenceId",
            "modelVersion",
            "caller",
            "subscription",
            "count",
            "latencyMs",
            "outcome",
            "error",
            "outputs",
            "groundTruth",
            "groundTruthAt",
            "createdAt",
        ]
        read_only_fields = fields


class InferenceFilterSerializer(serializers.Serializer):
    version = serializers.IntegerField(required=False, help_text="Id of the version.")
    outcome = serializers.ChoiceField(choices=InferenceOutcome.choices, required=False)


class GroundTruthInputSerializer(serializers.Serializer):
    groundTruth = serializers.DictField(  # noqa: N815
        child=serializers.ListField(),
        help_text=(
            "The true values per output name, one entry per instance of the call, in the order "
            "of its outputs (null where unknown)."
        ),
    )


# --- views -----------------------------------------------------------------------------------


def _infer_answer(record: InferenceRecord, model_slug: str) -> dict:
    # Built by hand: the hot path skips a serializer pass over the outputs.
    version = record.version
    return {
        "inferenceId": str(record.pk),
        "modelVersion": {"id": version.pk, "model": model_slug, "version": version.version},
        "outputs": record.outputs,
        "count": record.count,
        "latencyMs": round(record.latency_ms, 3),
    }


def _granted_answer(request: HttpRequest, version_id: int) -> JsonResponse | None:
    """The answer of metering.inference_call_granted() to a well-formed token request, or
    None: then DRF parses, authenticates and answers (the body stays readable for it)."""
    authorization = get_authorization_header(request).split()
    if len(authorization) != 2 or authorization[0].lower() != b"token":
        return None
    if request.content_type != "application/json":
        return None
    try:
        token_key = authorization[1].decode()
        body = json_input.loads(request.body)
    except (ValueError, RequestDataTooBig):  # UnicodeDecodeError, InvalidJSON included
        return None
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), dict):
        return None
    outputs = body.get("outputs")
    if "outputs" in body and not (
        isinstance(outputs, list) and outputs and all(isinstance(name, str) for name in outputs)
    ):
        return None
    record = metering.inference_call_granted(
        token_key=token_key, version_id=version_id, inputs=body["inputs"], outputs=outputs
    )
    if record is None:
        return None
    version = record.version
    headers = {INFERENCE_ID_HEADER: str(record.pk)}
    if version.deprecated_at is not None:  # one attribute test for the common, released call
        headers.update(deprecation_headers(version, version.grant_model_slug))
    return JsonResponse(_infer_answer(record, version.grant_model_slug), headers=headers)


class InferView(APIView):
    """Reasoning call on a version (ENI SAM clause 6.1): inputs checked against the version's
    signature, run in SAM Hub or forwarded to the version's external endpoint, metered."""

    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]

    @extend_schema(
        tags=["inference"],
        summary="Run the version's model on inputs (reasoning call)",
        description=(
            "Needs an ACTIVE subscription with method INFERENCE (providers of the model's "
            "organisation, auditors and operators need none). Every answered or refused call "
            "is metered; its id is `inferenceId` (also in the `X-Inference-Id` header, errors "
            "included). Versions with an external endpoint are brokered with a timeout. A "
            "DEPRECATED version still answers subscriptions made before its deprecation, with "
            '`Deprecation: @<unix seconds>` (RFC 9745) and a `Link` with rel="deprecation"; '
            "a RETIRED one answers nobody."
        ),
        request=InferInputSerializer,
        responses={
            200: InferResultSerializer,
            400: _error("Inputs do not match the signature; `detail` names the input and why."),
            403: _error(
                "You need an active INFERENCE subscription to the model (made before the "
                "version's deprecation, for a DEPRECATED version)."
            ),
            404: _error("No such version, or you cannot see it."),
            409: _error("The version cannot answer calls (retired, or no model)."),
            413: _error("The body is over 2.5 MB (DATA_UPLOAD_MAX_MEMORY_SIZE): fewer rows."),
            500: _error("The model failed to load or to predict."),
            502: _error("The external endpoint failed or answered nonsense."),
            504: _error("The external endpoint did not answer in time."),
        },
    )
    def post(self, request, version_id: int):
        body = InferInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        record = metering.inference_call(
            user=request.user,
            version_id=version_id,
            inputs=body.validated_data["inputs"],
            outputs=body.validated_data.get("outputs"),
        )
        version = record.version
        return Response(
            _infer_answer(record, version.sam.slug),
            headers={
                INFERENCE_ID_HEADER: str(record.pk),
                **deprecation_headers(version, version.sam.slug),
            },
        )

    def dispatch(self, request, *args, **kwargs):
        # DRF's request cycle costs more than the model's prediction, so the common call (a
        # token holder's, with an active subscription, that succeeds) is answered before it.
        # Every other request, refusals and errors included, goes through DRF and post().
        if request.method == "POST":
            answer = _granted_answer(request, kwargs["version_id"])
            if answer is not None:
                return answer
        return super().dispatch(request, *args, **kwargs)

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        inference_id = getattr(exc, "inference_id", None)
        if inference_id is not None:
            response[INFERENCE_ID_HEADER] = str(inference_id)
        return response


@extend_schema(tags=["inference"])
class InferenceListView(ListAPIView):
    """Metered calls: your own; providers also every call of their organisations' versions;
    operators all. Newest first."""

    serializer_class = InferenceRecordSerializer
    queryset = InferenceRecord.objects.none()  # for the schema; see get_queryset

    def get_queryset(self):
        filters = InferenceFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        records = selectors.inferences_visible_to(self.request.user)
        if "version" in filters.validated_data:
            records = records.filter(version_id=filters.validated_data["version"])
        if "outcome" in filters.validated_data:
            records = records.filter(outcome=filters.validated_data["outcome"])
        return records

    @extend_schema(
        summary="List metered inference calls",
        parameters=[InferenceFilterSerializer],
        responses={200: InferenceRecordSerializer(many=True), 400: _error("Bad filter.")},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["inference"])
class InferenceDetailView(GenericAPIView):
    serializer_class = InferenceRecordSerializer

    @extend_schema(
        summary="A metered inference call with its outputs and ground truth",
        responses={200: InferenceRecordSerializer, 404: _error("No such inference you can see.")},
    )
    def get(self, request, inference_id):
        record = metering.inference_get(user=request.user, inference_id=inference_id)
        return Response(self.get_serializer(record).data)


@extend_schema(tags=["inference"])
class GroundTruthView(GenericAPIView):
    serializer_class = InferenceRecordSerializer

    @extend_schema(
        summary="Attach the ground truth of an inference call, once",
        request=GroundTruthInputSerializer,
        responses={
            200: InferenceRecordSerializer,
            400: _error("Not one entry per instance, or an unknown output."),
            403: _error("Only the caller, the model's providers and operators may attach."),
            404: _error("No such inference you can see."),
            409: _error("Ground truth is attached already, or the call was not answered."),
        },
    )
    def post(self, request, inference_id):
        body = GroundTruthInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        record = metering.inference_ground_truth_attach(
            user=request.user,
            inference_id=inference_id,
            ground_truth=body.validated_data["groundTruth"],
        )
        return Response(self.get_serializer(record).data)
