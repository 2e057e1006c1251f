"""Datasets over the REST API: thin views over training.services and training.selectors."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from core.api.serializers import ErrorSerializer
from training import selectors, services
from training.api import serializers as s

ERRORS = {
    400: OpenApiResponse(
        ErrorSerializer, description="The file or a field fails a check; `detail` says which."
    ),
    403: OpenApiResponse(ErrorSerializer, description="You are not allowed to do this."),
    404: OpenApiResponse(ErrorSerializer, description="No such dataset, or you cannot see it."),
}


@extend_schema_view(
    list=extend_schema(summary="List the datasets you can see"),
    retrieve=extend_schema(
        summary="A dataset: its columns and quality",
        responses={200: s.DatasetSerializer, 404: ERRORS[404]},
    ),
)
@extend_schema(tags=["datasets"])
class DatasetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Training datasets (TS 28.105 `candidateTraingDataSource`), of the caller's organisations
    (every organisation's for auditors and operators)."""

    serializer_class = s.DatasetSerializer
    lookup_value_regex = r"\d+"
    parser_classes = (MultiPartParser,)  # the upload is the only body this API takes

    def get_queryset(self):
        return selectors.datasets_visible_to(self.request.user)

    @extend_schema(
        summary="Upload a dataset (multipart/form-data, field `file`)",
        description=(
            "A CSV (UTF-8 with a header line) or Parquet file, up to SAMHUB_DATASET_MAX_BYTES. "
            "It must parse, hold at least one row and one feature column besides the numeric "
            "`target_column`, and stay within the row and column caps; column names are "
            "unique. Only a file that passes every check is stored, with its quality score."
        ),
        request={"multipart/form-data": s.DatasetUploadSerializer},
        responses={
            201: s.DatasetSerializer,
            **ERRORS,
            413: OpenApiResponse(ErrorSerializer, description="Over SAMHUB_DATASET_MAX_BYTES."),
        },
    )
    def create(self, request):
        body = s.DatasetUploadSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        data = body.validated_data
        dataset = services.dataset_upload(
            user=request.user,
            organisation=data["organisation"],
            name=data["name"],
            description=data["description"],
            target_column=data["target_column"],
            stream=data["file"],
            filename=data["file"].name,
        )
        return Response(s.DatasetSerializer(dataset).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Delete a dataset", responses={204: None, **ERRORS})
    def destroy(self, request, pk=None):
        services.dataset_delete(user=request.user, dataset_id=int(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- TS 28.105 training requests, processes and reports --------------------------------------

TRAINING_ERRORS = {
    400: OpenApiResponse(
        ErrorSerializer, description="An attribute is not valid; `detail` says why."
    ),
    403: OpenApiResponse(ErrorSerializer, description="You are not allowed to do this."),
    404: OpenApiResponse(ErrorSerializer, description="No such object, or you cannot see it."),
    409: OpenApiResponse(
        ErrorSerializer, description="Its state does not allow it; `detail` names those that do."
    ),
}


def _step_schema(summary: str, out):
    return extend_schema(
        summary=summary, request=s.ReasonSerializer, responses={200: out, **TRAINING_ERRORS}
    )


@extend_schema_view(
    list=extend_schema(summary="List the training requests you can see"),
    retrieve=extend_schema(
        summary="A training request (TS 28.105 MLTrainingRequest)",
        responses={200: s.TrainingRequestSerializer, 404: TRAINING_ERRORS[404]},
    ),
)
@extend_schema(tags=["training"])
class TrainingRequestViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """TS 28.105 §7.3.2 training requests: yours, your organisations' models', or every one
    for auditors and operators."""

    serializer_class = s.TrainingRequestSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return selectors.training_requests_visible_to(self.request.user)

    def _out(self, training_request, status_code=status.HTTP_200_OK):
        fresh = selectors.training_requests_visible_to(self.request.user).get(
            pk=training_request.pk
        )
        return Response(s.TrainingRequestSerializer(fresh).data, status=status_code)

    @extend_schema(
        summary="Request training of a version (providers of its organisation)",
        description=(
            "The version needs a scikit-learn model file (skops): an ONNX-only version or an "
            "external endpoint is refused. The request starts NOT_STARTED; a worker then "
            "instantiates its MLTrainingProcess (TRAINING_IN_PROGRESS) and trains."
        ),
        request=s.TrainingRequestCreateSerializer,
        responses={201: s.TrainingRequestSerializer, **TRAINING_ERRORS},
    )
    def create(self, request):
        body = s.TrainingRequestCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        created = services.training_request_create(
            user=request.user,
            ml_entity_id=data["mLEntityId"],
            candidate_training_data_source=data["candidateTraingDataSource"],
            performance_requirements=data["performanceRequirements"],
            training_request_source=data["trainingRequestSource"],
            expected_runtime_context=data["expectedRuntimeContext"],
            priority=data["priority"],
        )
        return self._out(created, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Set cancelRequest / suspendRequest (TS 28.105 §7.5)",
        description='"TRUE" cancels or suspends where the state allows it, "FALSE" has no '
        "observable result, anything else is refused.",
        request=s.TrainingRequestAttributesSerializer,
        responses={200: s.TrainingRequestSerializer, **TRAINING_ERRORS},
    )
    def partial_update(self, request, pk=None):
        body = s.TrainingRequestAttributesSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        changed = services.training_request_attributes_set(
            request_id=int(pk),
            user=request.user,
            cancel_request=body.validated_data.get("cancelRequest"),
            suspend_request=body.validated_data.get("suspendRequest"),
        )
        return self._out(changed)

    def _step(self, service, pk):
        body = s.ReasonSerializer(data=self.request.data)
        body.is_valid(raise_exception=True)
        return self._out(
            service(
                request_id=int(pk), user=self.request.user, reason=body.validated_data["reason"]
            )
        )

    @_step_schema(
        "Cancel (NOT_STARTED, TRAINING_IN_PROGRESS or SUSPENDED)", s.TrainingRequestSerializer
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._step(services.training_request_cancel, pk)

    @_step_schema("Suspend (NOT_STARTED or TRAINING_IN_PROGRESS)", s.TrainingRequestSerializer)
    @action(detail=True, methods=["post"])
    def suspend(self, request, pk=None):
        return self._step(services.training_request_suspend, pk)

    @_step_schema("Resume a SUSPENDED request", s.TrainingRequestSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._step(services.training_request_resume, pk)


@extend_schema_view(
    list=extend_schema(summary="List the training processes you can see"),
    retrieve=extend_schema(
        summary="A training process and its progressStatus (TS 28.105 MLTrainingProcess)",
        responses={200: s.TrainingProcessSerializer, 404: TRAINING_ERRORS[404]},
    ),
)
@extend_schema(tags=["training"])
class TrainingProcessViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """TS 28.105 §7.3.4 training processes of the requests you can see."""

    serializer_class = s.TrainingProcessSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return selectors.training_processes_visible_to(self.request.user)

    def _out(self, process):
        return Response(s.TrainingProcessSerializer(self.get_queryset().get(pk=process.pk)).data)

    @extend_schema(
        summary="Set cancelProcess / suspendProcess (TS 28.105 §7.5)",
        request=s.TrainingProcessAttributesSerializer,
        responses={200: s.TrainingProcessSerializer, **TRAINING_ERRORS},
    )
    def partial_update(self, request, pk=None):
        body = s.TrainingProcessAttributesSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._out(
            services.training_process_attributes_set(
                process_id=int(pk),
                user=request.user,
                cancel_process=body.validated_data.get("cancelProcess"),
                suspend_process=body.validated_data.get("suspendProcess"),
            )
        )

    def _step(self, service, pk):
        body = s.ReasonSerializer(data=self.request.data)
        body.is_valid(raise_exception=True)
        return self._out(
            service(
                process_id=int(pk), user=self.request.user, reason=body.validated_data["reason"]
            )
        )

    @_step_schema("Cancel (until it has ended)", s.TrainingProcessSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._step(services.training_process_cancel, pk)

    @_step_schema(
        "Suspend (queued or RUNNING; it pauses at its next step)", s.TrainingProcessSerializer
    )
    @action(detail=True, methods=["post"])
    def suspend(self, request, pk=None):
        return self._step(services.training_process_suspend, pk)

    @_step_schema(
        "Resume a SUSPENDED process from the step where it paused", s.TrainingProcessSerializer
    )
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._step(services.training_process_resume, pk)


@extend_schema_view(
    list=extend_schema(summary="List the training reports you can see"),
    retrieve=extend_schema(
        summary="A training report (TS 28.105 MLTrainingReport)",
        responses={200: s.TrainingReportSerializer, 404: TRAINING_ERRORS[404]},
    ),
)
@extend_schema(tags=["training"])
class TrainingReportViewSet(viewsets.ReadOnlyModelViewSet):
    """TS 28.105 §7.3.3 reports of finished training processes, read-only."""

    serializer_class = s.TrainingReportSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return selectors.training_reports_visible_to(self.request.user)
