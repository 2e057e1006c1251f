"""Map DomainError (and DRF's own errors) to one JSON error shape on /api/v1/."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core import lockout
from core.api import problem
from core.errors import INTERNAL_ERROR_MESSAGE, DomainError

# An unhandled exception's text is the operator's to read in the log, not the caller's.
INTERNAL_ERROR = {"detail": INTERNAL_ERROR_MESSAGE, "code": "server_error"}


def exception_handler(exc, context):
    if getattr(context.get("request"), "axes_locked_out", False):
        # django-axes refused the sign-in inside authenticate() (the token endpoint's serializer)
        # and flagged the request; the view saw only "wrong credentials".
        request = context["request"]
        return Response(lockout.lockout_body(), status=429, headers=lockout.retry_after(request))
    if isinstance(exc, DomainError):
        body = {"detail": exc.public_message, "code": exc.code}
        if exc.details and exc.status != 500:
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
    response = drf_exception_handler(exc, context)
    if response is not None:
        # DRF's own errors (a body that is not JSON, credentials, not found, method not
        # allowed, throttling) keep their code on the exception: give them the one shape.
        response.data = _one_shape(response.data, response.status_code)
    return response


def _one_shape(data, status: int) -> dict:
    detail = data.get("detail") if isinstance(data, dict) else None
    if isinstance(detail, str) and len(data) == 1:
        return {"detail": str(detail), "code": getattr(detail, "code", None) or f"http_{status}"}
    return {"detail": "The request was refused.", "code": f"http_{status}", "errors": data}


def error_response(detail: str, *, code: str, status: int) -> JsonResponse:
    """The error shape, for answers made outside DRF (middleware, Django's error handlers)."""
    return JsonResponse({"detail": detail, "code": code}, status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: Django's refusals of a request (too many fields, a bad host) as JSON on
    /api/, as the usual page elsewhere."""
    if request.path_info.startswith("/api/"):
        return error_response("The request is malformed.", code="bad_request", status=400)
    if request.path_info.startswith(problem.ROOTS):
        return problem.problem_response(
            400, "The request is malformed.", cause="INVALID_MSG_FORMAT"
        )
    return defaults.bad_request(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: an address under /api/ that no endpoint answers gets the error shape."""
    if request.path_info.startswith("/api/"):
        return error_response(
            f"There is no API endpoint at {request.path_info}.", code="not_found", status=404
        )
    if request.path_info.startswith(problem.ROOTS):
        return problem.problem_response(404, f"There is no resource at {request.path_info}.")
    return defaults.page_not_found(request, exception)


def server_error(request, *args, **kwargs):
    """handler500: an unhandled exception (logged by Django with its traceback) is answered in
    the API's JSON shape on /api/, without the exception's text; the portal keeps Django's page.
    With DEBUG on, Django shows its technical page instead, as everywhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(INTERNAL_ERROR, status=500)
    if request.path.startswith(problem.ROOTS):
        return problem.problem_response(500, INTERNAL_ERROR_MESSAGE)
    return defaults.server_error(request, *args, **kwargs)
