"""Request bodies are refused by their declared size before a byte of them is read.

Django streams multipart files to temporary files, and CSRF checking reads the form of every
POST, so without this a 200 MB body to the sign-in page was written to disk before anything
refused it. Limits, per route and caller:

- sign-in pages and the token endpoint, and any request without credentials:
  SAMHUB_ANONYMOUS_MAX_BODY_BYTES (64 KiB);
- everything else: DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MiB), the most Django reads into memory;
- the model file uploads (API and portal): SAMHUB_ARTIFACT_MAX_BYTES, for a signed-in user.

Django wraps the WSGI input in a stream limited to the Content-Length before any middleware
runs, so once the length is checked nothing can read past it: a body longer than it says is
cut at the limit, and a body without a length (chunked) would be read as empty, so it is
refused (411) rather than silently dropped.
"""

from contextlib import suppress
from functools import cache
from importlib import import_module
from types import SimpleNamespace

from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from rest_framework import exceptions
from rest_framework.authentication import get_authorization_header

from core.api.exceptions import error_response

# Views that take a model file (registry.views, registry.api.views); URL names, resolved only
# for bodies over the general limit.
ARTIFACT_ROUTES = frozenset(
    {
        "registry:model-create",
        "registry:version-create",
        "registry:version-upload",
        "registry:version-register",
        "api:version-register",
        "api:version-artifact",
    }
)
# Where people and systems sign in: nobody there is signed in yet, whatever they send.
SIGN_IN_ROUTES = ("core:login", "api:token", "admin:login")
# Form fields and multipart boundaries around a model file.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


class RequestBodyLimitMiddleware:
    """First in MIDDLEWARE: it must answer before anything reads the body."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refusal = body_refusal(request)
        return refusal if refusal is not None else self.get_response(request)


def body_refusal(request: HttpRequest) -> HttpResponse | None:
    declared = request.META.get("CONTENT_LENGTH")
    if not declared:
        if request.META.get("HTTP_TRANSFER_ENCODING"):
            return _refuse(
                request,
                "Send the body with a Content-Length header; SAM Hub does not read chunked bodies.",
                code="length_required",
                status=411,
            )
        return None
    try:
        size = int(declared)
    except ValueError:
        size = -1
    if size < 0:
        return _refuse(request, f"The Content-Length {declared!r} is not a size.", code="invalid")
    if size <= settings.SAMHUB_ANONYMOUS_MAX_BODY_BYTES:
        return None  # every route takes this much: the reasoning call ends here
    limit, who = _limit(request, size)
    if size <= limit:
        return None
    return _refuse(
        request,
        f"The request body is {size:,} bytes, over the limit of {limit:,} bytes {who}; none "
        "of it was read.",
        code="too_large",
        status=413,
    )


def _limit(request: HttpRequest, size: int) -> tuple[int, str]:
    anonymous = settings.SAMHUB_ANONYMOUS_MAX_BODY_BYTES, "without signing in"
    if request.path in _sign_in_paths() or not _claims_credentials(request):
        return anonymous
    general = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if general is None or size <= general:
        return general or size, "for this address"
    if _is_artifact_route(request):
        # Only a real user may send a large file: checking costs a query, paid by uploads only.
        if not _authenticated(request):
            return anonymous
        return settings.SAMHUB_ARTIFACT_MAX_BYTES + MULTIPART_OVERHEAD_BYTES, "for a model file"
    return general, "for this address"


@cache
def _sign_in_paths() -> frozenset[str]:
    paths = set()
    for name in SIGN_IN_ROUTES:
        with suppress(NoReverseMatch):  # a sign-in route that is not installed
            paths.add(reverse(name))
    return frozenset(paths)


def _claims_credentials(request: HttpRequest) -> bool:
    return "HTTP_AUTHORIZATION" in request.META or settings.SESSION_COOKIE_NAME in request.COOKIES


def _is_artifact_route(request: HttpRequest) -> bool:
    try:
        return resolve(request.path_info).view_name in ARTIFACT_ROUTES
    except Resolver404:
        return False


def _authenticated(request: HttpRequest) -> bool:
    from core.api.authentication import TokenAuthentication

    authorization = get_authorization_header(request).split()
    if authorization:
        if len(authorization) != 2 or authorization[0].lower() != b"token":
            return False
        try:
            TokenAuthentication().authenticate_credentials(authorization[1].decode())
        except (exceptions.AuthenticationFailed, UnicodeDecodeError):
            return False
        return True
    # The session as SessionMiddleware and AuthenticationMiddleware will load it after this.
    store = import_module(settings.SESSION_ENGINE).SessionStore(
        request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    )
    return auth.get_user(SimpleNamespace(session=store)).is_authenticated


def _refuse(request: HttpRequest, message: str, *, code: str, status: int = 400) -> HttpResponse:
    if request.path_info.startswith("/api/"):
        return error_response(message, code=code, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
