"""Map DomainError (and DRF's own errors) to one JSON error shape on /api/v1/."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from registry.errors import DomainError


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        body = {"detail": exc.message, "code": exc.code}
        if exc.details:
            body["errors"] = exc.details
        return Response(body, status=exc.status)
    if isinstance(exc, RequestDataTooBig):  # raised by Django, not DRF: would be an HTML 400
        body = {
            "detail": (
                f"The request body is over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes, the "
                "most SAM Hub reads into memory (DATA_UPLOAD_MAX_MEMORY_SIZE); send fewer "
                "instances per call."
            ),
            "code": "too_large",
        }
        return Response(body, status=413)
    if isinstance(exc, ValidationError):
        body = {"detail": "Some fields are not valid.", "code": "invalid", "errors": exc.detail}
        return Response(body, status=exc.status_code)
    return drf_exception_handler(exc, context)
