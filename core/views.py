"""Portal pages of a user's API tokens (create: the key is shown once; list; revoke) and of
their notices (the inbox, open, mark read, the e-mail preference); the portal's icon."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from core import forms, notices, selectors, services
from core.errors import DomainError

NOTICES_PAGE_SIZE = 20


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever a page's <link rel="icon"> names (and for
    responses that are no page, such as a file download): send them to the SVG mark."""
    return redirect(static("favicon.svg"), permanent=True)


def _tokens_page(request: HttpRequest, form: forms.ApiTokenForm, status: int = 200):
    context = {"nav": "tokens", "form": form, "tokens": selectors.api_tokens_of(request.user)}
    return render(request, "core/api_tokens.html", context, status=status)


@login_required
@never_cache
def api_tokens(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _tokens_page(request, forms.ApiTokenForm())
    form = forms.ApiTokenForm(request.POST)
    if not form.is_valid():
        return _tokens_page(request, form, status=400)
    try:
        token, key = services.api_token_create(user=request.user, **form.cleaned_data)
    except DomainError as exc:
        form.add_error(None, exc.message)
        return _tokens_page(request, form, status=exc.status)
    # Rendered, not redirected: the key must not travel through the session or a message, and
    # never_cache keeps it out of the browser's and proxies' caches.
    return render(
        request, "core/api_token_created.html", {"nav": "tokens", "token": token, "key": key}
    )


@login_required
def api_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation, POST revokes."""
    token = selectors.api_tokens_of(request.user).filter(pk=pk).first()
    if token is None:
        raise Http404("No such API token.")
    if request.method != "POST":
        return render(request, "core/api_token_revoke.html", {"nav": "tokens", "token": token})
    services.api_token_revoke(user=request.user, token_id=token.pk)
    messages.success(request, f"The token “{token.name}” is revoked: it no longer works.")
    return redirect("core:api-tokens")


def _inbox_url(request: HttpRequest) -> str:
    """The inbox as the user left it (the page and the filter they were on)."""
    kept = {key: request.GET[key] for key in ("page", "show") if request.GET.get(key)}
    return reverse("core:notices") + (f"?{urlencode(kept)}" if kept else "")


@login_required
def notice_list(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("show") == "unread"
    shown = (selectors.unread_notices_of if unread_only else selectors.notices_of)(request.user)
    page = Paginator(shown, NOTICES_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "nav": "notices",
        "page": page,
        "unread_only": unread_only,
        "unread": selectors.unread_notices_of(request.user).exists(),
        "preference_form": forms.NoticePreferenceForm(
            initial={"email": notices.notice_preference_email(request.user)}
        ),
    }
    return render(request, "core/notices.html", context)


@login_required
def notice_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow a notice to the page where it is acted on, marking it read: opening it is
    reading it, as in any inbox (and marking read twice changes nothing)."""
    try:
        notice = notices.notice_read(user=request.user, notice_id=pk)
    except DomainError as exc:
        raise Http404(exc.message) from None
    # Notice URLs are written by SAM Hub; checked all the same, so that a row never turns this
    # page into an open redirect.
    if notice.url and url_has_allowed_host_and_scheme(
        notice.url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(notice.url)
    return redirect("core:notices")


@login_required
@require_POST
def notice_mark_read(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        notices.notice_read(user=request.user, notice_id=pk)
    except DomainError as exc:
        raise Http404(exc.message) from None
    return redirect(_inbox_url(request))


@login_required
@require_POST
def notices_mark_all_read(request: HttpRequest) -> HttpResponse:
    count = notices.notices_read_all(user=request.user)
    messages.success(request, f"{count} notice{'s' if count != 1 else ''} marked read.")
    return redirect(_inbox_url(request))


@login_required
@require_POST
def notice_preference(request: HttpRequest) -> HttpResponse:
    form = forms.NoticePreferenceForm(request.POST)
    form.is_valid()  # a checkbox: absent is False, anything else True
    email = form.cleaned_data["email"]
    notices.notice_preference_set(user=request.user, email=email)
    if email and not request.user.email:
        messages.warning(
            request,
            "Saved, but your account has no e-mail address: ask an operator to add one. "
            "Until then your notices stay in this inbox.",
        )
    else:
        messages.success(
            request, "Notices are e-mailed to you too." if email else "Notices stay in this inbox."
        )
    return redirect(_inbox_url(request))
