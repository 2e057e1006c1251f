"""Lockout of password sign-in after repeated failures, by account and by client address.

django-axes counts the failures of every `django.contrib.auth.authenticate()` call that has a
request (the login page, the admin's login, the API's token endpoint) and refuses the locked
ones before the password is checked. This module gives it SAM Hub's answers: a 429 page in the
portal, a 429 in the API's JSON error shape, with `Retry-After` when the lockout ends by itself.
An operator lifts a lockout by deleting its access attempts in the admin (or `manage.py
axes_reset_username <name>` / `axes_reset_ip <address>`).
"""

import ipaddress

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

LOCKOUT_CODE = "locked_out"
LOCKOUT_STATUS = 429


class LockoutBackend(AxesStandaloneBackend):
    """Axes' check before the password backends. A call without a request comes from code
    running on the server (a shell, a command, a test), which no outsider can repeat: only
    requests are counted and locked."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def client_address(request: HttpRequest) -> str | None:
    """The client's address. Behind SAMHUB_TRUSTED_PROXY_COUNT proxies, each appending the
    address it received from to X-Forwarded-For, the client is that many entries from the right:
    anything further left was written by the client and could be forged to dodge the count."""
    hops = settings.SAMHUB_TRUSTED_PROXY_COUNT
    if hops:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if len(forwarded) >= hops and _is_address(forwarded[-hops]):
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR")


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def lockout_message() -> str:
    minutes = settings.SAMHUB_LOGIN_LOCKOUT_MINUTES
    until = (
        f"for {minutes} minute{'s' if minutes != 1 else ''} after the last attempt"
        if minutes
        else "until an operator lifts the lockout"
    )
    return (
        f"Too many failed sign-in attempts for this account or from this address: sign-in is "
        f"locked {until}. An operator can lift the lockout in the admin."
    )


def lockout_body() -> dict:
    """The API's error shape for a refused sign-in."""
    return {"detail": lockout_message(), "code": LOCKOUT_CODE}


def retry_after(request: HttpRequest) -> dict[str, str]:
    """`Retry-After` headers: every attempt during a lockout restarts the cool-off, so it ends
    one full cool-off after this one."""
    cool_off = get_cool_off(request)
    return {"Retry-After": str(int(cool_off.total_seconds()))} if cool_off else {}


def lockout_response(request: HttpRequest, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: the answer to a locked sign-in that reached the middleware (the
    login page, the admin; the API's token endpoint is answered by its exception handler)."""
    if request.path.startswith("/api/"):
        return JsonResponse(lockout_body(), status=LOCKOUT_STATUS, headers=retry_after(request))
    response: HttpResponse = render(
        request,
        "registration/locked_out.html",
        {"message": lockout_message()},
        status=LOCKOUT_STATUS,
    )
    for name, value in retry_after(request).items():
        response[name] = value
    return response
