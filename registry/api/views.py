"""REST API of the model registry (/api/v1/): validate input, call one service or selector,
serialize the result. Who may do what is decided by registry.permissions and the services;
objects the user cannot see answer 404."""

import io

from django.conf import settings
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.http import parse_header_parameters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from core import roles
from core.api.negotiation import JsonOnlyNegotiation
from core.api.serializers import ErrorSerializer
from core.errors import DomainError
from registry import extensions, selectors, services
from registry.api import serializers as s
from registry.artifacts import artifact_file_response
from registry.checklist import version_checklist
from registry.deprecation import deprecation_headers
from registry.models import ModelVersion, Organisation, SmallAIModel

# Token first, so that a request without credentials gets 401 with `WWW-Authenticate: Token`
# (DRF takes that header from the first class; session auth has none and would give 403).
# A multipart body carries boundaries and part headers around the file; the exact limit on
# the file itself is enforced while it streams (registry.artifacts.artifact_receive).
MULTIPART_OVERHEAD_BYTES = 64 * 1024

ERRORS = {
    400: OpenApiResponse(
        ErrorSerializer, description="Invalid input; `detail` or per-field messages say why."
    ),
    403: OpenApiResponse(ErrorSerializer, description="You are not allowed to do this."),
    404: OpenApiResponse(ErrorSerializer, description="No such object, or you cannot see it."),
    409: OpenApiResponse(
        ErrorSerializer, description="The version's state does not allow this action."
    ),
}


def _downloadable_version(user, version_id: int) -> ModelVersion:
    """The version whose model file the user may download, else 404; then the checks other apps
    add (registry.extensions): sharing's answers 403 without an active BUNDLE subscription
    (warehouse extraction, ENI SAM clause 5 sharing step 6) and logs the delivery."""
    version = get_object_or_404(selectors.versions_visible_to(user), pk=version_id)
    if not version.artifact:
        raise Http404("This version has no model file in the warehouse.")
    extensions.artifact_download_check(user=user, version=version)
    return version


def _check_declared_size(request, *, overhead: int = 0) -> None:
    """Refuse an upload by its Content-Length before a byte of it is read."""
    declared = request.META.get("CONTENT_LENGTH") or ""
    if not declared.strip():
        raise DomainError(
            "Send the file with a Content-Length header (chunked uploads are not accepted).",
            code="length_required",
            status=411,
        )
    try:
        size = int(declared)
    except ValueError:
        raise DomainError(f"The Content-Length header {declared!r} is not a number.") from None
    limit = settings.SAMHUB_ARTIFACT_MAX_BYTES
    if size > limit + overhead:
        raise DomainError(
            f"The file is {size:,} bytes, above the limit of {limit:,} bytes; nothing was stored.",
            code="artifact_too_large",
            status=413,
        )


def _raw_upload_filename(request) -> str:
    query = s.ArtifactRawQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    filename = query.validated_data.get("filename", "")
    if not filename:
        try:
            _, params = parse_header_parameters(request.META.get("HTTP_CONTENT_DISPOSITION", ""))
        except ValueError:
            params = {}
        filename = params.get("filename", "")
    if not filename.strip():
        raise DomainError(
            "Name the file: add ?filename=model.onnx or a Content-Disposition header.",
            details={"filename": ["required"]},
        )
    return filename


@extend_schema(tags=["organisations"])
class OrganisationViewSet(viewsets.ReadOnlyModelViewSet):
    """Your organisations (auditors and operators: all of them)."""

    serializer_class = s.OrganisationSerializer
    queryset = Organisation.objects.none()  # for the schema; see get_queryset

    def get_queryset(self):
        return selectors.organisations_visible_to(self.request.user)


@extend_schema_view(
    list=extend_schema(summary="List the models you can see"),
    create=extend_schema(
        summary="Sign a new model in for one of your organisations",
        request=s.SamCreateInputSerializer,
        responses={201: s.SamDetailSerializer, **ERRORS},
    ),
    retrieve=extend_schema(
        summary="A model by its slug, with the versions you can see",
        responses={200: s.SamDetailSerializer, 404: ERRORS[404]},
    ),
    partial_update=extend_schema(
        summary="Change a model's registration fields",
        request=s.SamUpdateInputSerializer,
        responses={200: s.SamDetailSerializer, **ERRORS},
    ),
)
@extend_schema(tags=["models"])
class SamViewSet(viewsets.GenericViewSet):
    """Small AI models (SAMs). A model is addressed by its slug: /api/v1/models/{slug}/."""

    serializer_class = s.SamSerializer
    queryset = SmallAIModel.objects.none()  # for the schema; see get_queryset
    lookup_field = "slug"
    lookup_value_regex = "[-a-zA-Z0-9_]+"

    def get_queryset(self):
        return selectors.models_visible_to(self.request.user).select_related("created_by")

    def _detail(self, sam: SmallAIModel) -> dict:
        return s.SamDetailSerializer(sam, context=self.get_serializer_context()).data

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def create(self, request):
        body = s.SamCreateInputSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        sam = services.sam_create(user=request.user, **body.validated_data)
        return Response(self._detail(sam), status=status.HTTP_201_CREATED)

    def retrieve(self, request, slug=None):
        return Response(self._detail(self.get_object()))

    def partial_update(self, request, slug=None):
        sam = self.get_object()
        body = s.SamUpdateInputSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        sam = services.sam_update(sam=sam, user=request.user, **body.validated_data)
        return Response(self._detail(sam))


def _lifecycle_schema(summary: str, request=None):
    return extend_schema(
        summary=summary,
        request=request,
        responses={200: s.VersionSerializer, **ERRORS},
    )


@extend_schema_view(
    list=extend_schema(
        summary="List the versions you can see", parameters=[s.VersionFilterSerializer]
    ),
    create=extend_schema(
        summary="Start a new DRAFT version of a model",
        request=s.VersionCreateInputSerializer,
        responses={201: s.VersionSerializer, **ERRORS},
    ),
    retrieve=extend_schema(
        summary="A version",
        description="A DEPRECATED version answers with `Deprecation: @<unix seconds>` "
        '(RFC 9745) and a `Link` with rel="deprecation" to its page.',
        responses={200: s.VersionSerializer, 404: ERRORS[404]},
    ),
    partial_update=extend_schema(
        summary="Edit a DRAFT version",
        request=s.VersionUpdateInputSerializer,
        responses={200: s.VersionSerializer, **ERRORS},
    ),
)
@extend_schema(tags=["versions"])
class VersionViewSet(viewsets.GenericViewSet):
    """Model versions and their lifecycle (ETSI ENI SAM centralised management):
    DRAFT → SUBMITTED → APPROVED → REGISTERED → RELEASED → DEPRECATED → RETIRED, with
    SUBMITTED → REJECTED → DRAFT. Each action answers with the updated version; an action the
    version's state does not allow answers 409 and changes nothing."""

    serializer_class = s.VersionSerializer
    queryset = ModelVersion.objects.none()  # for the schema; see get_queryset

    def get_queryset(self):
        return (
            selectors.versions_visible_to(self.request.user)
            .select_related("created_by", "submitted_by", "artifact_uploaded_by")
            .prefetch_related("performance")
        )

    def _out(self, version: ModelVersion, code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(version).data, status=code)

    def list(self, request):
        filters = s.VersionFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        versions = self.get_queryset()
        if "status" in filters.validated_data:
            versions = versions.filter(status=filters.validated_data["status"])
        if "model" in filters.validated_data:
            versions = versions.filter(sam__slug=filters.validated_data["model"])
        page = self.paginate_queryset(versions)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def create(self, request):
        body = s.VersionCreateInputSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        version = services.version_create(sam=fields.pop("model"), user=request.user, **fields)
        return self._out(version, status.HTTP_201_CREATED)

    def retrieve(self, request, pk=None):
        version = self.get_object()
        return Response(
            self.get_serializer(version).data,
            headers=deprecation_headers(version, version.sam.slug),
        )

    def partial_update(self, request, pk=None):
        version = self.get_object()
        body = s.VersionUpdateInputSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        version = services.version_update(
            version_id=version.pk, user=request.user, **body.validated_data
        )
        return self._out(version)

    # --- lifecycle ----------------------------------------------------------------------

    def _transition(self, service, body_serializer=None) -> Response:
        version = self.get_object()
        fields = {}
        if body_serializer is not None:
            body = body_serializer(data=self.request.data)
            body.is_valid(raise_exception=True)
            fields = body.validated_data
        return self._out(service(version_id=version.pk, user=self.request.user, **fields))

    @_lifecycle_schema("Submit a DRAFT for audit (provider)")
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._transition(services.version_submit)

    @_lifecycle_schema(
        "Approve a SUBMITTED version and the sha256 of its model file (an auditor who is not "
        "its creator, uploader or submitter, nor a member of its organisation)",
        s.ReasonInputSerializer,
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._transition(services.version_approve, s.ReasonInputSerializer)

    @_lifecycle_schema(
        "Reject a SUBMITTED version with per-field findings (an auditor who is not a party to it)",
        s.RejectInputSerializer,
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._transition(services.version_reject, s.RejectInputSerializer)

    @_lifecycle_schema("Take a REJECTED version back to DRAFT (provider)")
    @action(detail=True, methods=["post"])
    def revise(self, request, pk=None):
        return self._transition(services.version_revise)

    @_lifecycle_schema(
        "Choose the access type of an APPROVED version and register it with the approved model "
        "file (provider)",
        s.RegisterInputSerializer,
    )
    @action(detail=True, methods=["post"])
    def register(self, request, pk=None):
        return self._transition(services.version_register, s.RegisterInputSerializer)

    @_lifecycle_schema("Release a REGISTERED version into the catalog (provider, operator)")
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        return self._transition(services.version_release)

    @_lifecycle_schema("Deprecate a RELEASED version (provider, operator)", s.ReasonInputSerializer)
    @action(detail=True, methods=["post"])
    def deprecate(self, request, pk=None):
        return self._transition(services.version_deprecate, s.ReasonInputSerializer)

    @_lifecycle_schema("Retire a DEPRECATED version (provider, operator)", s.ReasonInputSerializer)
    @action(detail=True, methods=["post"])
    def retire(self, request, pk=None):
        return self._transition(services.version_retire, s.ReasonInputSerializer)

    # --- history, audit, checklist ------------------------------------------------------

    @extend_schema(
        summary="The version's lifecycle history, oldest first",
        responses={200: s.TransitionSerializer(many=True), 404: ERRORS[404]},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def transitions(self, request, pk=None):
        history = selectors.version_history(self.get_object())
        return Response(s.TransitionSerializer(history, many=True).data)

    @extend_schema(
        summary="The version's audit reviews with findings and checklist, newest first",
        responses={200: s.ReviewSerializer(many=True), 404: ERRORS[404]},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def reviews(self, request, pk=None):
        reviews = selectors.version_reviews(self.get_object())
        return Response(s.ReviewSerializer(reviews, many=True).data)

    @extend_schema(
        summary="The live audit checklist of the version's registration fields",
        responses={200: s.ChecklistItemSerializer(many=True), 404: ERRORS[404]},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def checklist(self, request, pk=None):
        items = [item.as_dict() for item in version_checklist(self.get_object())]
        return Response(s.ChecklistItemSerializer(items, many=True).data)

    # --- artifact -----------------------------------------------------------------------

    @extend_schema(
        summary="Download the version's model file",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="The file, with `X-Checksum-SHA256` holding its sha256.",
            ),
            403: OpenApiResponse(
                ErrorSerializer, description="You need an active BUNDLE subscription."
            ),
            404: ERRORS[404],
        },
    )
    @action(
        detail=True,
        methods=["get"],
        parser_classes=[MultiPartParser],
        renderer_classes=[JSONRenderer],
        content_negotiation_class=JsonOnlyNegotiation,
    )
    def artifact(self, request, pk=None):
        version = _downloadable_version(request.user, pk)
        response = artifact_file_response(version)
        for name, value in deprecation_headers(version, version.sam.slug).items():
            response[name] = value
        return response

    @extend_schema(
        summary="Upload the model file of a DRAFT as the raw request body",
        description=(
            "Only while the version is a DRAFT: the file is audited with it and frozen from "
            "submission on. Send the bytes as `application/octet-stream` with a Content-Length; name the file "
            "with `?filename=` or a Content-Disposition header. The body streams to disk, is "
            "checked (ONNX or skops only; pickle is refused) and stored under its sha256."
        ),
        parameters=[s.ArtifactRawQuerySerializer],
        request={"application/octet-stream": OpenApiTypes.BINARY},
        responses={
            200: s.VersionSerializer,
            **ERRORS,
            411: OpenApiResponse(ErrorSerializer, description="No Content-Length."),
            413: OpenApiResponse(ErrorSerializer, description="Over SAMHUB_ARTIFACT_MAX_BYTES."),
        },
    )
    @artifact.mapping.put
    def artifact_upload_raw(self, request, pk=None):
        version = self.get_object()
        filename = _raw_upload_filename(request)
        _check_declared_size(request)
        # request.stream is the WSGI input behind Django's LimitedStream (None for an empty
        # body); the service reads it in chunks. Never touch request.data or request.body
        # here: either would load the whole file into memory.
        stream = request.stream or io.BytesIO()
        return self._out(
            services.version_artifact_upload(
                version_id=version.pk, user=request.user, stream=stream, filename=filename
            )
        )

    @extend_schema(
        summary="Upload the model file of a DRAFT as multipart/form-data (field `file`)",
        request={"multipart/form-data": s.ArtifactFormInputSerializer},
        responses={
            200: s.VersionSerializer,
            **ERRORS,
            413: OpenApiResponse(ErrorSerializer, description="Over SAMHUB_ARTIFACT_MAX_BYTES."),
        },
    )
    @artifact.mapping.post
    def artifact_upload_form(self, request, pk=None):
        version = self.get_object()
        _check_declared_size(request, overhead=MULTIPART_OVERHEAD_BYTES)
        body = s.ArtifactFormInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        upload = body.validated_data["file"]
        return self._out(
            services.version_artifact_upload(
                version_id=version.pk, user=request.user, stream=upload, filename=upload.name
            )
        )


@extend_schema(tags=["audit"])
class AuditQueueView(GenericAPIView):
    """Submitted versions waiting for an auditor, oldest first, minus your own (auditors only)."""

    serializer_class = s.VersionSerializer

    @extend_schema(
        summary="The audit queue",
        responses={200: s.VersionSerializer(many=True), 403: ERRORS[403]},
    )
    def get(self, request):
        if not roles.is_auditor(request.user):
            raise DomainError.not_allowed("Only auditors can see the audit queue.")
        page = self.paginate_queryset(selectors.audit_queue(request.user))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@extend_schema(tags=["catalog"])
class CatalogView(GenericAPIView):
    """Released versions, found by text and categories (ENI SAM clause 5, step 5)."""

    serializer_class = s.CatalogEntrySerializer

    @extend_schema(
        summary="Search the catalog",
        parameters=[s.CatalogQuerySerializer],
        responses={200: s.CatalogEntrySerializer(many=True), 400: ERRORS[400]},
    )
    def get(self, request):
        query = s.CatalogQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = self.paginate_queryset(selectors.catalog_search(**query.validated_data))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
