"""REST endpoints of the reasoning call (/api/v1/): infer on a version, read the metered
records, attach ground truth. Thin views over sharing.metering; the rules live there and in
registry.permissions, the engine in sharing.inference and sharing.broker."""

import io

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from core.api.authentication import TokenAuthentication
from core.api.parsers import JSONParser
from core.api.serializers import ErrorSerializer
from core.errors import DomainError
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


class DataSetTagSerializer(serializers.Serializer):
    """TS 29.575 DataSetTag."""

    dataSetId = serializers.CharField(source="data_set_id", max_length=255)  # noqa: N815
    dataSetDesc = serializers.CharField(  # noqa: N815
        source="data_set_desc", max_length=1000, required=False, allow_blank=True
    )


class InputDataSetSerializer(serializers.Serializer):
    """Where the caller keeps a call's inputs: a data set (TS 29.575 DataSetTag) and the ADRF,
    or ADRF set, holding it, named as the ML model monitor's notifications name them."""

    dataSetTag = DataSetTagSerializer(source="*")  # noqa: N815
    adrfId = serializers.UUIDField(source="adrf_id", required=False)  # noqa: N815
    adrfSetId = serializers.CharField(source="adrf_set_id", max_length=255, required=False)  # noqa: N815

    def to_representation(self, instance):
        body = super().to_representation(instance)
        # Unset parts of the stored data set are left out, not answered as empty strings.
        body["dataSetTag"] = {k: v for k, v in body["dataSetTag"].items() if v}
        return {k: v for k, v in body.items() if v}


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
    inputDataSet = InputDataSetSerializer(  # noqa: N815
        source="input_data_set", read_only=True, allow_null=True
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
            "inputDataSet",
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
    inputDataSet = InputDataSetSerializer(  # noqa: N815
        required=False,
        help_text=(
            "Where you keep the call's inputs: `dataSetTag` (`dataSetId`, optional "
            "`dataSetDesc`) and optionally the ADRF holding it (`adrfId`, an NF instance id) "
            "or its ADRF set (`adrfSetId`). ML model monitor notifications name it "
            "(`dataSetTag`, `adrfId`) when the call's prediction was wrong."
        ),
    )


# --- views -----------------------------------------------------------------------------------


def infer_answer(record: InferenceRecord) -> dict:
    """The answer of a reasoning call, as InferResultSerializer describes it (built directly:
    a serializer pass over the outputs would cost more than some models' prediction)."""
    version = record.version
    return {
        "inferenceId": str(record.pk),
        "modelVersion": {"id": version.pk, "model": version.sam.slug, "version": version.version},
        "outputs": record.outputs,
        "count": record.count,
        "latencyMs": round(record.latency_ms, 3),
    }


class InferenceTokenAuthentication(TokenAuthentication):
    """The API's token authentication, whose one statement also reads the call's grant
    (metering.grant_read_along): a granted call by token costs that SELECT and one INSERT."""

    def __init__(self, version_id: int) -> None:
        self.version_id = version_id

    def read_along(self) -> tuple[str, str, list]:
        return metering.grant_read_along(self.version_id)


class InferSchema(APIView):
    """Describes POST /versions/{id}/infer/ in the OpenAPI schema (drf-spectacular documents
    DRF views only); InferView answers it."""

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
            401: _error("No valid API token or session."),
            403: _error(
                "You need an active INFERENCE subscription to the model (made before the "
                "version's deprecation, for a DEPRECATED version)."
            ),
            404: _error("No such version, or you cannot see it."),
            409: _error("The version cannot answer calls (retired, or no model)."),
            413: _error("The body is over 2.5 MB (DATA_UPLOAD_MAX_MEMORY_SIZE): fewer rows."),
            415: _error("The body is not `application/json`."),
            429: _error("Too many calls (the API's throttles); `Retry-After` says when to retry."),
            500: _error("The model failed to load or to predict."),
            502: _error("The external endpoint failed or answered nonsense."),
            504: _error("The external endpoint did not answer in time."),
        },
    )
    def post(self, request, version_id: int):
        raise NotImplementedError("InferView answers this endpoint.")


@method_decorator(csrf_exempt, name="dispatch")  # as DRF's views: SessionAuthentication checks it
class InferView(View):
    """Reasoning call on a version (ENI SAM clause 6.1): inputs checked against the version's
    signature, run in SAM Hub or forwarded to the version's external endpoint, metered.

    A plain view: DRF's request cycle costs more than a small model's prediction. It applies
    the API's parts directly, in DRF's order: the API's authentication classes (the token one
    reading the grant along), its throttles, its JSON parser, then one service, and every
    refusal or error through the API's exception handler, in the API's error shape."""

    http_method_names = ["post", "options"]

    @classmethod
    def as_view(cls, **initkwargs):
        view = super().as_view(**initkwargs)
        # What drf-spectacular reads to document the endpoint, as on DRF's views.
        view.cls, view.initkwargs = InferSchema, initkwargs
        return view

    def post(self, request: HttpRequest, version_id: int) -> HttpResponse:
        api_request = Request(request, authenticators=self._authenticators(version_id))
        try:
            return self._answer(request, api_request, version_id)
        finally:
            # DRF's Request refers to itself (parser_context["request"]). Without that cycle
            # the call's objects are freed when it returns, not by a garbage collection some
            # calls later: half the garbage a call leaves (docs/benchmarks.md).
            api_request.parser_context.clear()

    def _answer(self, request: HttpRequest, api_request: Request, version_id: int) -> HttpResponse:
        try:
            self._check_caller(api_request)
            record = metering.inference_call(
                caller=api_request.user, version_id=version_id, body=_json_body(request)
            )
        except (exceptions.APIException, DomainError, RequestDataTooBig) as exc:
            return self._refusal(exc, api_request)
        version = record.version
        return JsonResponse(
            infer_answer(record),
            headers={
                INFERENCE_ID_HEADER: str(record.pk),
                **deprecation_headers(version, version.sam.slug),
            },
        )

    def http_method_not_allowed(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return self._refusal(exceptions.MethodNotAllowed(request.method), request)

    @staticmethod
    def _authenticators(version_id: int) -> list:
        return [
            InferenceTokenAuthentication(version_id)
            if issubclass(authentication, TokenAuthentication)
            else authentication()
            for authentication in api_settings.DEFAULT_AUTHENTICATION_CLASSES
        ]

    def _check_caller(self, api_request: Request) -> None:
        """APIView.initial()'s checks: authenticated (IsAuthenticated, the API's default
        permission), then within the API's throttles."""
        if not api_request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        for throttle_class in api_settings.DEFAULT_THROTTLE_CLASSES:
            throttle = throttle_class()
            if not throttle.allow_request(api_request, self):
                raise exceptions.Throttled(throttle.wait())

    def _refusal(self, exc: Exception, request: Request | HttpRequest) -> HttpResponse:
        """The API's answer to the exception (registry.api.exceptions), rendered as DRF
        renders it, with the inference id of a metered call."""
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            # As APIView.handle_exception: 401 naming the first scheme (Token), else 403.
            first = api_settings.DEFAULT_AUTHENTICATION_CLASSES[0]()
            exc.auth_header = first.authenticate_header(request)
            if not exc.auth_header:
                exc.status_code = 403
        response = api_settings.EXCEPTION_HANDLER(exc, {"request": request, "view": self})
        response.accepted_renderer = JSONRenderer()
        response.accepted_media_type = JSONRenderer.media_type
        response.renderer_context = {}
        response.render()
        inference_id = getattr(exc, "inference_id", None)
        if inference_id is not None:
            response[INFERENCE_ID_HEADER] = str(inference_id)
        return response


def _json_body(request: HttpRequest):
    """The body parsed by the API's JSON parser (nesting bounded, UTF-8 only, no NaN); 415
    for another media type, as DRF's negotiation answers."""
    if request.content_type != JSONParser.media_type:
        raise exceptions.UnsupportedMediaType(request.META.get("CONTENT_TYPE", ""))
    return JSONParser().parse(
        io.BytesIO(request.body), JSONParser.media_type, {"encoding": request.encoding}
    )


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
        summary="Attach the ground truth of an inference call, once, and name its input data set",
        request=GroundTruthInputSerializer,
        responses={
            200: InferenceRecordSerializer,
            400: _error(
                "Not one entry per instance, an unknown output, or an input data set that is "
                "not one (no dataSetId, an adrfId that is not a UUID)."
            ),
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
            input_data_set=body.validated_data.get("inputDataSet"),
        )
        return Response(self.get_serializer(record).data)
