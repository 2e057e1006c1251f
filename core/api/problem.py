"""Errors of the 3GPP surfaces (/nnwdaf-mlmodelmonitor/v1/, /aimles-amlmsel/v1/) as
`application/problem+json` ProblemDetails (TS 29.571 §5.2.4.1), with the application error
`cause` of TS 29.500 table 5.2.7.2-1 and `invalidParams` naming each refused attribute as a
JSON pointer. A view of such a surface sets `ProblemDetailsMixin` first in its bases."""

from http import HTTPStatus

from django.http import JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import DomainError

PROBLEM_JSON = "application/problem+json"
# Path roots of the 3GPP surfaces: Django's own error pages answer ProblemDetails there too.
ROOTS = ("/nnwdaf-mlmodelmonitor/", "/aimles-amlmsel/")

# TS 29.500 table 5.2.7.2-1, by the HTTP status they go with when no other cause is known.
CAUSE_BY_STATUS = {
    400: "MANDATORY_IE_INCORRECT",
    403: "UNSPECIFIED",
    404: "RESOURCE_URI_STRUCTURE_NOT_FOUND",
    405: "UNSPECIFIED",
    409: "UNSPECIFIED",
    411: "INCORRECT_LENGTH",
    413: "UNSPECIFIED",
    415: "UNSPECIFIED",
    429: "NF_CONGESTION_RISK",
    500: "SYSTEM_FAILURE",
    503: "NF_CONGESTION",
}


def problem(status: int, detail: str, *, cause: str | None = None, invalid=None) -> dict:
    body = {"title": HTTPStatus(status).phrase, "status": status, "detail": detail}
    cause = cause or CAUSE_BY_STATUS.get(status)
    if cause:
        body["cause"] = cause
    if invalid:
        body["invalidParams"] = invalid
    return body


def _pointer(path: str) -> str:
    return "/" + path.strip("/") if path else "/"


def invalid_params(errors, path: str = "") -> list[dict]:
    """DRF's nested validation errors as [{param: JSON pointer, reason}]."""
    found = []
    if isinstance(errors, dict):
        for key, inner in errors.items():
            key = "" if key in ("non_field_errors", "__all__") else str(key)
            found += invalid_params(inner, f"{path}/{key}" if key else path)
    elif isinstance(errors, list) and errors and all(isinstance(e, str) for e in errors):
        found += [{"param": _pointer(path), "reason": str(e)} for e in errors]
    elif isinstance(errors, list):
        for index, inner in enumerate(errors):
            found += invalid_params(inner, f"{path}/{index}" if isinstance(inner, dict) else path)
    else:
        found.append({"param": _pointer(path), "reason": str(errors)})
    return found


def _missing(errors) -> bool:
    """Whether a required attribute is missing (DRF's "required" code)."""
    if isinstance(errors, dict):
        return any(_missing(inner) for inner in errors.values())
    if isinstance(errors, list):
        return any(_missing(inner) for inner in errors)
    return getattr(errors, "code", None) == "required"


def problem_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        details = exc.details if exc.status != 500 else None
        invalid = invalid_params(details) if isinstance(details, dict) else None
        cause = exc.code if exc.code.isupper() else None
        body = problem(exc.status, exc.public_message, cause=cause, invalid=invalid)
        return Response(body, status=exc.status, content_type=PROBLEM_JSON)
    if isinstance(exc, exceptions.ValidationError):
        body = problem(
            400,
            "The request body does not match the API's data types.",
            cause="MANDATORY_IE_MISSING" if _missing(exc.detail) else "MANDATORY_IE_INCORRECT",
            invalid=invalid_params(exc.detail),
        )
        return Response(body, status=400, content_type=PROBLEM_JSON)
    if isinstance(exc, exceptions.ParseError):
        body = problem(400, f"The body is not JSON: {exc.detail}", cause="INVALID_MSG_FORMAT")
        return Response(body, status=400, content_type=PROBLEM_JSON)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # an unexpected exception: Django's handler500 answers
    detail = response.data.get("detail") if isinstance(response.data, dict) else None
    response.data = problem(response.status_code, str(detail or HTTPStatus(response.status_code)))
    response.content_type = PROBLEM_JSON
    return response


def problem_response(status: int, detail: str, *, cause: str | None = None) -> JsonResponse:
    """A ProblemDetails answer made outside DRF (Django's error handlers)."""
    return JsonResponse(
        problem(status, detail, cause=cause), status=status, content_type=PROBLEM_JSON
    )


class ProblemDetailsMixin:
    """Errors of this view as ProblemDetails."""

    def get_exception_handler(self):
        return problem_exception_handler
