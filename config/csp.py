"""The Content-Security-Policy header on every response.

The policy is fixed (settings.SECURE_CSP, in the format of Django 6.0's setting of the same
name, so that Django's own middleware can replace this one on upgrade), so its header is built
once per process: the reasoning call is benchmarked, and building it per response would cost
more than the rest of this file. A view that needs another policy (the API docs page) sets the
header itself and this middleware leaves it alone.
"""

from collections.abc import Callable, Mapping, Sequence

from django.conf import settings
from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"


def policy_header(directives: Mapping[str, Sequence[str]]) -> str:
    """`{"default-src": ["'self'"], ...}` as a header value."""
    return "; ".join(" ".join([name, *sources]) for name, sources in directives.items())


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.header = policy_header(settings.SECURE_CSP)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if HEADER not in response:
            response[HEADER] = self.header
        return response
