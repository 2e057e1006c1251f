"""REST endpoints of warehouse extraction as packages (/api/v1/versions/{id}/sdk/ and
/bundle/): download the SDK wheel or mirror bundle once built, ask for (another) build. The rules
live in sharing.extraction; the building in sharing.packaging, run by a Celery task."""

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.negotiation import JsonOnlyNegotiation
from core.api.serializers import ErrorSerializer
from core.errors import DomainError
from registry import selectors
from registry.deprecation import deprecation_headers
from sharing import extraction
from sharing.models import PackageKind, PackageStatus, VersionPackage

RETRY_AFTER_SECONDS = 5


class PackageStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=PackageStatus.choices)
    detail = serializers.CharField()
    retryAfter = serializers.IntegerField(  # noqa: N815 (the API's JSON names are camelCase)
        allow_null=True, help_text="Seconds to wait before asking again while it builds."
    )
    filename = serializers.CharField(allow_blank=True)
    sha256 = serializers.CharField(allow_blank=True)
    size = serializers.IntegerField(allow_null=True)


def _status_body(package: VersionPackage) -> dict:
    label = extraction.PACKAGE_NAMES[package.kind]
    building = package.status in (PackageStatus.PENDING, PackageStatus.BUILDING)
    return {
        "status": package.status,
        "detail": "Building; try again shortly." if building else f"The {label} is ready.",
        "retryAfter": RETRY_AFTER_SECONDS if building else None,
        "filename": package.filename,
        "sha256": package.sha256,
        "size": package.size,
    }


def _building(package: VersionPackage) -> Response:
    return Response(
        _status_body(package),
        status=status.HTTP_202_ACCEPTED,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _failed(package: VersionPackage, url: str) -> DomainError:
    return DomainError.conflict(
        f"The {extraction.PACKAGE_NAMES[package.kind]} could not be built: "
        f"{package.error.rstrip('.')}. POST {url} to build it again.",
        details={"error": [package.error]},
    )


def _schema(kind: str, media_type: str):
    label = extraction.PACKAGE_NAMES[kind]
    method = "SDK" if kind == PackageKind.SDK else "BUNDLE"
    errors = {
        403: OpenApiResponse(
            ErrorSerializer, description=f"You need an active {method} subscription."
        ),
        404: OpenApiResponse(ErrorSerializer, description="No such version you can see."),
    }
    accepted = OpenApiResponse(
        PackageStatusSerializer,
        description="Queued or building; ask again after `Retry-After` seconds.",
    )
    get = extend_schema(
        summary=f"Download the version's {label}",
        description=(
            f"Needs an ACTIVE subscription with method {method} (providers of the model's "
            "organisation, auditors and operators need none); every download is logged as a "
            "delivery. The first request queues the build and answers 202."
        ),
        responses={
            (200, media_type): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="The file, with `X-Checksum-SHA256` holding its sha256.",
            ),
            202: accepted,
            **errors,
            409: OpenApiResponse(
                ErrorSerializer,
                description="No model file to package, or the build failed (POST to retry).",
            ),
        },
    )
    post = extend_schema(
        summary=f"Build the version's {label} (again, after a failure)",
        request=None,
        responses={
            200: OpenApiResponse(PackageStatusSerializer, description="Built already."),
            202: accepted,
            **errors,
            409: OpenApiResponse(ErrorSerializer, description="No model file to package."),
        },
    )
    return get, post


class _PackageView(APIView):
    kind: str = ""
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JsonOnlyNegotiation

    def _package(self, request, version_id: int, *, retry: bool) -> VersionPackage:
        version = get_object_or_404(selectors.versions_visible_to(request.user), pk=version_id)
        return extraction.package_request(
            user=request.user, version_id=version.pk, kind=self.kind, retry=retry
        )

    def download(self, request, version_id: int):
        package = self._package(request, version_id, retry=False)
        if package.status == PackageStatus.FAILED:
            raise _failed(package, request.path)
        if package.status != PackageStatus.READY:
            return _building(package)
        handle = extraction.package_open(user=request.user, package=package)
        response = FileResponse(handle, as_attachment=True, filename=package.filename)
        response["X-Checksum-SHA256"] = package.sha256
        version = package.version
        for name, value in deprecation_headers(version, version.sam.slug).items():
            response[name] = value
        return response

    def build(self, request, version_id: int):
        package = self._package(request, version_id, retry=True)
        if package.status == PackageStatus.READY:
            return Response(_status_body(package))
        return _building(package)


_SDK_GET, _SDK_POST = _schema(PackageKind.SDK, "application/octet-stream")
_BUNDLE_GET, _BUNDLE_POST = _schema(PackageKind.BUNDLE, "application/gzip")


@extend_schema(tags=["packages"])
class SdkView(_PackageView):
    """The version as a pip-installable wheel with a `predict()` API (ENI SAM clause 6.1,
    module embedded reference)."""

    kind = PackageKind.SDK

    @_SDK_GET
    def get(self, request, version_id: int):
        return self.download(request, version_id)

    @_SDK_POST
    def post(self, request, version_id: int):
        return self.build(request, version_id)


@extend_schema(tags=["packages"])
class BundleView(_PackageView):
    """The version as a mirror bundle: model, runtime, serve script, pinned requirements,
    Dockerfile and a manifest of sha256 sums (ENI SAM clause 6.1, mirror download)."""

    kind = PackageKind.BUNDLE

    @_BUNDLE_GET
    def get(self, request, version_id: int):
        return self.download(request, version_id)

    @_BUNDLE_POST
    def post(self, request, version_id: int):
        return self.build(request, version_id)
