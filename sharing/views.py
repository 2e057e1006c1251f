"""Portal pages of sharing (ENI SAM clause 5 sharing process, steps 2 and 6): a consumer
subscribes, follows their subscriptions and uses them (a reasoning call tried in the page, an
SDK wheel or mirror bundle built and downloaded); the model's organisation or an operator
decides requests and suspends, resumes or revokes what it granted; a released version's usage
is charted for its organisation, operators and its subscribers. A form checks the input, a
service does the work, and a refusal (DomainError) is shown on the form with what the person
typed still in it."""

import json

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Prefetch, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_POST

from core import roles
from core.errors import DomainError, error_message, error_to_form
from core.forms import ReasonForm, RequiredReasonForm
from registry import selectors as registry_selectors
from registry.deprecation import deprecation_headers
from registry.models import ModelVersion, SmallAIModel, VersionStatus
from sharing import (
    extensions,
    extraction,
    forms,
    metering,
    packaging,
    permissions,
    selectors,
    services,
    usage,
)
from sharing.models import (
    LIVE_SUBSCRIPTION_STATES,
    PackageStatus,
    SharingMethod,
    Subscription,
    SubscriptionEvent,
    SubscriptionStatus,
)

PAGE_SIZE = 20
# Each transition a portal button takes (services.subscription_transition): the form of its
# reason, and whose page it is on ("mine": the consumer's list; "requests": the deciding
# organisation's list).
ACTIONS: dict[str, tuple[type[django_forms.Form], str]] = {
    "grant": (ReasonForm, "requests"),
    "deny": (RequiredReasonForm, "requests"),
    "suspend": (RequiredReasonForm, "requests"),
    "resume": (ReasonForm, "requests"),
    "revoke": (RequiredReasonForm, "requests"),
    "cancel": (ReasonForm, "mine"),
}
DONE = {
    "grant": "granted",
    "deny": "denied",
    "suspend": "suspended",
    "resume": "resumed",
    "revoke": "revoked",
    "cancel": "cancelled",
}
# What the page asks before a destructive action is sent (static/js/confirm.js).
CONFIRM = {
    "deny": "Deny {consumer}'s {method} request for {model}?",
    "suspend": "Suspend {consumer}'s {method} subscription to {model}? "
    "It stops working until it is resumed.",
    "revoke": "Revoke {consumer}'s {method} subscription to {model}? "
    "It stops working and cannot be resumed.",
    "cancel": "Cancel your {method} subscription to {model}? "
    "It stops working at once and cannot be resumed.",
}


def _with_events(subscriptions: QuerySet[Subscription]) -> QuerySet[Subscription]:
    return subscriptions.prefetch_related(
        Prefetch("events", queryset=SubscriptionEvent.objects.select_related("actor"))
    )


def _rows(subscriptions, user, shown: tuple[str, ...], bound: dict) -> list[dict]:
    """Each subscription with a form per action the user may take on it now, and the question
    asked before each destructive one."""
    rows = []
    for subscription in subscriptions:
        pk, own = subscription.pk, bound.get(subscription.pk, {})
        actions = [
            a for a in selectors.subscription_available_actions(subscription, user) if a in shown
        ]
        rows.append(
            {
                "subscription": subscription,
                "status_reason": selectors.subscription_status_reason(subscription),
                "forms": {
                    action: own.get(action) or ACTIONS[action][0](auto_id=f"id_%s_{action}_{pk}")
                    for action in actions
                },
                "confirm": {
                    action: CONFIRM[action].format(
                        consumer=subscription.consumer,
                        method=subscription.method,
                        model=subscription.sam.name,
                    )
                    for action in actions
                    if action in CONFIRM
                },
            }
        )
    return rows


def _page_url(page: str, subscription: Subscription) -> str:
    name = "sharing:my-subscriptions" if page == "mine" else "sharing:subscription-requests"
    return reverse(name) + f"#s-{subscription.pk}"


# --- subscribe -------------------------------------------------------------------------------


def model_page_section(request: HttpRequest, sam: SmallAIModel) -> dict:
    """Sharing's section of the registry's model page (registry.extensions): the methods the
    model offers, whether only deprecated versions are left, the user's live subscriptions to
    it, and a subscribe form (posting to `subscribe`) when it has a release and the user may
    subscribe."""
    user = request.user
    methods = selectors.model_sharing_methods(sam)
    context = {
        "sam": sam,
        "methods": methods,
        # No release left, only deprecated ones: existing subscribers go on, nobody new comes in.
        "deprecated": not methods and bool(selectors.deprecated_versions(sam)),
        "live": [],
        "form": None,
    }
    if permissions.can_subscribe(user):
        context["live"] = list(
            selectors.subscriptions_of(user).filter(sam=sam, status__in=LIVE_SUBSCRIPTION_STATES)
        )
        context["form"] = forms.SubscribeForm(methods=methods) if methods else None
    return context


@login_required
def subscribe(request: HttpRequest, slug: str) -> HttpResponse:
    """Ask for a subscription to a released model by one of the methods it offers."""
    user = request.user
    sam = get_object_or_404(registry_selectors.models_visible_to(user), slug=slug)
    if not permissions.can_subscribe(user):
        raise PermissionDenied("Your role cannot subscribe to models.")
    offered = selectors.model_sharing_methods(sam)
    form = forms.SubscribeForm(request.POST or None, methods=offered)
    status = 200
    if request.method == "POST" and not offered:
        try:
            services.subscription_offer_check(sam=sam)
        except DomainError as exc:
            error_to_form(exc, form)
            status = exc.status
    elif request.method == "POST" and form.is_valid():
        try:
            subscription = services.subscription_request(
                user=user,
                sam=sam,
                method=form.cleaned_data["method"],
                purpose=form.cleaned_data["purpose"],
            )
        except DomainError as exc:
            error_to_form(exc, form)
            status = exc.status
        else:
            if subscription.status == SubscriptionStatus.PENDING:
                reason = selectors.subscription_status_reason(subscription)
                messages.success(
                    request,
                    f"Your request for {sam.name} ({subscription.get_method_display()}) "
                    + (
                        f"waits for {sam.organisation} to approve it."
                        if reason == services.APPROVAL_REQUIRED
                        else f"is pending. {reason}"
                    ),
                )
            else:
                messages.success(
                    request,
                    f"You are subscribed to {sam.name} ({subscription.get_method_display()}).",
                )
            return redirect(_page_url("mine", subscription))
    elif request.method == "POST":
        status = 400
    context = {
        "sam": sam,
        "form": form,
        "methods": offered,
        "deprecated": not offered and bool(selectors.deprecated_versions(sam)),
        "live": selectors.subscriptions_of(user).filter(
            sam=sam, status__in=LIVE_SUBSCRIPTION_STATES
        ),
        "nav": "subscriptions",
    }
    return render(request, "sharing/subscribe.html", context, status=status)


# --- the consumer's subscriptions ------------------------------------------------------------


def _render_mine(request: HttpRequest, *, bound: dict | None = None, status: int = 200):
    user = request.user
    if not permissions.can_subscribe(user):
        raise PermissionDenied("Your role cannot subscribe to models.")
    page = Paginator(_with_events(selectors.subscriptions_of(user)), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = _rows(page.object_list, user, ("cancel",), bound or {})
    deprecations = selectors.deprecations_for(page.object_list)
    for row in rows:
        live = row["subscription"].status in LIVE_SUBSCRIPTION_STATES
        row["deprecated"] = deprecations[row["subscription"].pk] if live else []
    context = {"page": page, "rows": rows, "nav": "subscriptions"}
    return render(request, "sharing/my_subscriptions.html", context, status=status)


@login_required
def my_subscriptions(request: HttpRequest) -> HttpResponse:
    return _render_mine(request)


# --- the provider's requests -----------------------------------------------------------------


def _render_requests(request: HttpRequest, *, bound: dict | None = None, status: int = 200):
    user = request.user
    if not permissions.decides_subscription_requests(user):
        raise PermissionDenied(
            "Only providers of an organisation and operators decide subscription requests."
        )
    bound = bound or {}
    page = Paginator(_with_events(selectors.subscriptions_decided_by(user)), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "pending": _rows(
            _with_events(selectors.pending_requests_for(user)), user, ("grant", "deny"), bound
        ),
        "page": page,
        "rows": _rows(page.object_list, user, ("suspend", "resume", "revoke"), bound),
        "nav": "requests",
    }
    return render(request, "sharing/subscription_requests.html", context, status=status)


@login_required
def subscription_requests(request: HttpRequest) -> HttpResponse:
    return _render_requests(request)


# --- actions ---------------------------------------------------------------------------------


@login_required
@require_POST
def subscription_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    subscription = get_object_or_404(selectors.subscriptions_visible_to(request.user), pk=pk)
    form_class, page = ACTIONS[action]
    form = form_class(request.POST, auto_id=f"id_%s_{action}_{pk}")
    if not form.is_valid():
        messages.error(request, f"The subscription was not {DONE[action]}; see the form below.")
        status = 400
    else:
        try:
            subscription = services.subscription_transition(
                subscription_id=pk,
                user=request.user,
                name=action,
                reason=form.cleaned_data["reason"],
            )
        except DomainError as exc:
            # Also as a message: the subscription may have moved to where this form is not.
            error_message(request, exc, prefix=f"The subscription was not {DONE[action]}: ")
            error_to_form(exc, form)
            status = exc.status
        else:
            messages.success(
                request,
                f"{subscription.consumer}'s subscription to {subscription.sam.name} "
                f"({subscription.get_method_display()}) is {DONE[action]}.",
            )
            return redirect(_page_url(page, subscription))
    render_page = _render_mine if page == "mine" else _render_requests
    return render_page(request, bound={pk: {action: form}}, status=status)


# --- using a subscription --------------------------------------------------------------------

PACKAGE_METHODS = (SharingMethod.SDK, SharingMethod.BUNDLE)
REFRESH_SECONDS = 3
ANSWER_ROWS = 100  # instances of a tried call shown as a table (all of them in the JSON)


def _own_subscription(request: HttpRequest, pk: int) -> Subscription:
    return get_object_or_404(selectors.subscriptions_of(request.user), pk=pk)


def _use_url(subscription: Subscription) -> str:
    return reverse("sharing:subscription-use", args=[subscription.pk])


def _answer_rows(outputs: dict, count: int) -> list[list[str]]:
    """The first ANSWER_ROWS instances of an answer, one cell per output, for a table."""
    return [
        [
            _cell(values[i]) if isinstance(values, list) and i < len(values) else ""
            for values in outputs.values()
        ]
        for i in range(min(count, ANSWER_ROWS))
    ]


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value)
    return str(value)


@login_required
def subscription_use(request: HttpRequest, pk: int) -> HttpResponse:
    """How to use an active subscription with the model's latest release (or, when none is
    left, the deprecated version that still serves it), with a notice for each deprecated
    version it still uses: for a reasoning call, the API call to make and a form to try it
    (metered like any call); for an SDK wheel or a mirror bundle, its build, shown until it is
    ready, and the download."""
    subscription = _own_subscription(request, pk)
    version = selectors.subscription_version(subscription)
    usable = subscription.status == SubscriptionStatus.ACTIVE and version is not None
    context = {
        "subscription": subscription,
        "version": version,
        "usable": usable,
        "deprecated": selectors.deprecations_for([subscription])[subscription.pk],
        "latest_release": version if version and version.status == VersionStatus.RELEASED else None,
    }
    context["nav"] = "subscriptions"
    status = 200
    if usable and subscription.method == SharingMethod.INFERENCE:
        example_inputs = version.example_inputs()
        example = json.dumps(example_inputs)
        form = forms.TryInferenceForm(
            request.POST or None, initial={"inputs": example}, input_names=list(example_inputs)
        )
        if request.method == "POST" and form.is_valid():
            try:
                answer = metering.inference_call(
                    caller=request.user,
                    version_id=version.pk,
                    body={"inputs": form.cleaned_data["inputs"]},
                )
                context["answer"] = answer
                context["answer_names"] = list(answer.outputs)
                context["answer_rows"] = _answer_rows(answer.outputs, answer.count)
            except DomainError as exc:
                error_to_form(exc, form)
                status = exc.status
        elif request.method == "POST":
            status = 400
        context["form"] = form
        context["api_url"] = request.build_absolute_uri(
            reverse("api:version-infer", args=[version.pk])
        )
        context["token_url"] = request.build_absolute_uri(reverse("api:token"))
        context["example_body"] = json.dumps({"inputs": json.loads(example)})
    elif usable and subscription.method in PACKAGE_METHODS:
        package = selectors.version_package(version, subscription.method)
        context["package"] = package
        if package and package.status in (PackageStatus.PENDING, PackageStatus.BUILDING):
            context["refresh_seconds"] = REFRESH_SECONDS
        if subscription.method == SharingMethod.SDK:
            context["import_name"] = packaging.sdk_import_name(version)
            # predict() takes the inputs by the model's own names (its signature).
            context["sdk_example"] = json.dumps(version.example_inputs())
    elif usable:
        # What apps built on sharing add for this method (sharing.extensions), e.g.
        # training's retraining section for RETRAINING.
        context["sections"] = extensions.use_page_sections_for(request, subscription, version)
        if request.method == "POST":
            status = 405
    elif request.method == "POST":
        status = 405
    return render(request, "sharing/subscription_use.html", context, status=status)


@login_required
@require_POST
def subscription_package_build(request: HttpRequest, pk: int) -> HttpResponse:
    """Build the SDK wheel or mirror bundle of the latest release (again, after a failure)."""
    subscription = _own_subscription(request, pk)
    version = selectors.subscription_version(subscription)
    label = extraction.PACKAGE_NAMES.get(subscription.method, "package")
    if version is None or subscription.method not in PACKAGE_METHODS:
        messages.error(request, f"{subscription.sam.name} has no {label} to build.")
        return redirect(_use_url(subscription))
    try:
        extraction.package_request(
            user=request.user, version_id=version.pk, kind=subscription.method, retry=True
        )
    except DomainError as exc:
        error_message(request, exc, prefix=f"The {label} was not built: ")
    return redirect(_use_url(subscription))


@login_required
def subscription_package_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The built SDK wheel or mirror bundle of the latest release; each download is logged."""
    subscription = _own_subscription(request, pk)
    version = selectors.subscription_version(subscription)
    if version is None or subscription.method not in PACKAGE_METHODS:
        return redirect(_use_url(subscription))
    try:
        package = extraction.package_request(
            user=request.user, version_id=version.pk, kind=subscription.method
        )
        if package.status != PackageStatus.READY:
            return redirect(_use_url(subscription))
        handle = extraction.package_open(user=request.user, package=package)
    except DomainError as exc:
        error_message(request, exc, prefix="Nothing was downloaded: ")
        return redirect(_use_url(subscription))
    response = FileResponse(handle, as_attachment=True, filename=package.filename)
    response["X-Checksum-SHA256"] = package.sha256
    for name, value in deprecation_headers(version, subscription.sam.slug).items():
        response[name] = value
    return response


# --- usage -----------------------------------------------------------------------------------


def usage_link_visible(user, version: ModelVersion) -> bool:
    """Whether the user sees the version's usage page (and its link on the model page)."""
    return permissions.sees_version_usage(
        version,
        user,
        subscribed=lambda: selectors.granted_subscription_exists(user, version.sam_id),
    )


def _usage_chart(periods: list[usage.UsagePeriod], window: usage.UsageWindow) -> dict:
    """The charts' data for static/js/usage-charts.js (json_script): per period, its label,
    calls, errors, error rate in % and latency percentiles in ms (None without answered
    calls)."""
    return {
        "labels": [date_format(timezone.localtime(p.start), window.label_format) for p in periods],
        "calls": [p.calls for p in periods],
        "errors": [p.errors for p in periods],
        "errorRate": [p.error_percent for p in periods],
        "latency": {str(q): [p.percentile(q) for p in periods] for q in usage.PERCENTILES},
    }


@login_required
def version_usage(request: HttpRequest, pk: int) -> HttpResponse:
    """How a released version is used, per hour (last 48 h) or per day (last 30 days): calls,
    errors and error rate, latency percentiles, and what apps built on sharing add (the
    accuracy against ground truth, from monitoring). Providers of the model's organisation and
    operators see every call; a subscribed consumer sees their own."""
    user = request.user
    try:
        version = registry_selectors.version_visible_to(user, pk)
    except ModelVersion.DoesNotExist:
        raise Http404("No such version.") from None
    if not usage_link_visible(user, version):
        raise Http404("No such version.")  # as for a version one cannot see
    every_call = permissions.sees_every_call(version, user)
    by = request.GET.get("by")
    by = by if by in usage.PERIODS else "hour"
    window = usage.usage_window(by)
    periods, total = usage.version_usage(version.pk, window, caller=None if every_call else user)
    context = {
        "version": version,
        "sam": version.sam,
        "every_call": every_call,
        "by": by,
        "window": window,
        "total": total,
        "periods": [p for p in periods if p.calls],
        "percentiles": usage.PERCENTILES,
        "chart": _usage_chart(periods, window),
        # What apps built on sharing add (sharing.extensions): monitoring's accuracy.
        "sections": extensions.usage_page_sections_for(request, version, window),
        "nav": "mine" if roles.is_member(user, version.sam.organisation_id) else "catalog",
    }
    return render(request, "sharing/version_usage.html", context)
