"""Portal pages of a user's API tokens: create (the key is shown once), list, revoke."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from core import forms, selectors, services
from core.errors import DomainError


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
