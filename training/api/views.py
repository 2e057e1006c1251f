"""Datasets over the REST API: thin views over training.services and training.selectors."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
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
