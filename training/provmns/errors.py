"""ProvMnS errors in the shapes of TS 28.623 ComDefs: ErrorResponseDefault (`status`, `type`,
`title`, `reason`, `badAttributes`, `badObjects`) and, for a GET's query, ErrorResponseGet
(`badQueryParams`). DomainError and DRF's own refusals (credentials, a body that is not JSON,
a media type, a method) come out in them; anything else is logged and answered 500 without
its text."""

import logging
from http import HTTPStatus

from django.http import JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import INTERNAL_ERROR_MESSAGE, DomainError

logger = logging.getLogger(__name__)

# DomainError details name service fields; ProvMnS names attributes.
ATTRIBUTE_NAMES = {
    "ml_entity": "mLEntityId",
    "ml_entity_id": "mLEntityId",
    "candidate_training_data_source": "candidateTraingDataSource",
    "training_data_quality_score": "traingDataQualityScore",
    "training_request_source": "trainingRequestSource",
    "expected_runtime_context": "expectedRuntimeContext",
    "performance_requirements": "performanceRequirements",
}


class QueryError(DomainError):
    """A GET's query parameters are refused (ErrorResponseGet, `badQueryParams`)."""

    def __init__(self, message: str, params: list[str]) -> None:
        super().__init__(message, code="INVALID_QUERY_PARAMETER", details=params)


def body(status: int, reason: str, *, kind: str, **lists) -> dict:
    answer = {
        "status": str(status),
        "type": kind,
        "title": HTTPStatus(status).phrase,
        "reason": reason,
    }
    answer.update({name: value for name, value in lists.items() if value})
    return answer


def _attributes(details) -> list[str]:
    if not isinstance(details, dict):
        return []
    return [ATTRIBUTE_NAMES.get(k, k) for k in details if k not in ("__all__", "non_field_errors")]


def _flatten(detail, prefix: str = "") -> list[str]:
    if isinstance(detail, dict):
        return [m for k, v in detail.items() for m in _flatten(v, f"{prefix}{k}: ")]
    if isinstance(detail, list):
        return [m for v in detail for m in _flatten(v, prefix)]
    return [f"{prefix}{detail}"]


def exception_handler(exc, context):
    if isinstance(exc, QueryError):
        answer = body(400, exc.message, kind=exc.code, badQueryParams=exc.details)
        return Response(answer, status=400)
    if isinstance(exc, DomainError):
        answer = body(
            exc.status,
            exc.public_message,
            kind=exc.code.upper(),
            badAttributes=_attributes(exc.details) if exc.status != 500 else [],
        )
        return Response(answer, status=exc.status)
    if isinstance(exc, exceptions.ValidationError):
        reason = "Some attributes are not valid; nothing was changed: " + "; ".join(
            _flatten(exc.detail)
        )
        answer = body(400, reason, kind="INVALID_ATTRIBUTE", badAttributes=_attributes(exc.detail))
        return Response(answer, status=400)
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("ProvMnS request failed", exc_info=exc)
        return Response(body(500, INTERNAL_ERROR_MESSAGE, kind="SERVER_ERROR"), status=500)
    detail = getattr(exc, "detail", "")
    kind = str(getattr(detail, "code", "") or f"http_{response.status_code}").upper()
    response.data = body(response.status_code, str(detail), kind=kind)
    return response


def not_found(request, *args, **kwargs) -> JsonResponse:
    """An address under /ProvMnS/ that names nothing SAM Hub serves."""
    return JsonResponse(
        body(
            404,
            f"There is no resource at {request.path_info}: SAM Hub serves "
            "/ProvMnS/v1/SubNetwork=1/MLTrainingFunction=1/… and "
            "/ProvMnS/v1/SubNetwork=1/NtfSubscriptionControl=….",
            kind="NOT_FOUND",
        ),
        status=404,
    )
