"""Django admin of sharing for operators: subscriptions decided through the services, and the
records of metering, deliveries and packages, read-only.

Subscriptions change only by changelist actions that call sharing.services, so the admin obeys
the same state machine and guards as the portal and the API; the status is never editable.
"""

from functools import partial

from django.contrib import admin

from core import roles
from core.admin import ReadOnlyAdmin, ReadOnlyInline, ServiceActionsMixin
from core.forms import RequiredReasonForm
from sharing import selectors, services
from sharing.models import (
    Delivery,
    InferenceRecord,
    Subscription,
    SubscriptionEvent,
    VersionPackage,
)


class EventInline(ReadOnlyInline):
    model = SubscriptionEvent
    fields = ("created_at", "name", "source", "target", "actor", "reason")
    readonly_fields = fields
    verbose_name_plural = "change log"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


@admin.register(Subscription)
class SubscriptionAdmin(ServiceActionsMixin, admin.ModelAdmin):
    """Operators decide, suspend and revoke subscriptions here through the same services."""

    service_id_kwarg = "subscription_id"
    list_display = (
        "sam",
        "consumer",
        "method",
        "status",
        "organisation",
        "created_at",
        "updated_at",
    )
    list_filter = ("status", "method", "sam__organisation")
    search_fields = ("sam__name", "sam__slug", "consumer__username", "purpose")
    list_select_related = ("sam", "sam__organisation", "consumer")
    date_hierarchy = "created_at"
    fields = ("sam", "consumer", "method", "status", "purpose", "created_at", "updated_at")
    readonly_fields = fields
    inlines = (EventInline,)
    actions = (
        "grant_subscriptions",
        "deny_subscriptions",
        "suspend_subscriptions",
        "resume_subscriptions",
        "revoke_subscriptions",
    )

    def get_queryset(self, request):
        return selectors.subscriptions_visible_to(request.user)

    def has_add_permission(self, request):
        # Consumers subscribe in the portal or the API, choosing a method the model offers.
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # The log of who had access when stays.
        return False

    def has_decide_permission(self, request) -> bool:
        # Organisation scope is checked per subscription by the services.
        return roles.is_operator(request.user) or roles.is_provider(request.user)

    @admin.display(description="Organisation", ordering="sam__organisation__name")
    def organisation(self, obj: Subscription):
        return obj.sam.organisation

    def _with_reason(self, request, queryset, *, action: str, service, done: str, title: str):
        """Ask for the reason on an intermediate page, then apply the action with it."""
        form = RequiredReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            self._transition(request, queryset, service, done, reason=form.cleaned_data["reason"])
            return None
        return self._action_page(
            request, queryset, action=action, title=title, submit=done, form=form
        )

    @admin.action(description="Grant selected subscription requests", permissions=["decide"])
    def grant_subscriptions(self, request, queryset):
        self._transition(
            request, queryset, partial(services.subscription_transition, name="grant"), "Granted"
        )

    @admin.action(
        description="Deny selected subscription requests (reason)…", permissions=["decide"]
    )
    def deny_subscriptions(self, request, queryset):
        return self._with_reason(
            request,
            queryset,
            action="deny_subscriptions",
            service=partial(services.subscription_transition, name="deny"),
            done="Denied",
            title="Deny subscription requests",
        )

    @admin.action(description="Suspend selected subscriptions (reason)…", permissions=["decide"])
    def suspend_subscriptions(self, request, queryset):
        return self._with_reason(
            request,
            queryset,
            action="suspend_subscriptions",
            service=partial(services.subscription_transition, name="suspend"),
            done="Suspended",
            title="Suspend subscriptions",
        )

    @admin.action(description="Resume selected suspended subscriptions", permissions=["decide"])
    def resume_subscriptions(self, request, queryset):
        self._transition(
            request, queryset, partial(services.subscription_transition, name="resume"), "Resumed"
        )

    @admin.action(description="Revoke selected subscriptions (reason)…", permissions=["decide"])
    def revoke_subscriptions(self, request, queryset):
        return self._with_reason(
            request,
            queryset,
            action="revoke_subscriptions",
            service=partial(services.subscription_transition, name="revoke"),
            done="Revoked",
            title="Revoke subscriptions",
        )


@admin.register(SubscriptionEvent)
class SubscriptionEventAdmin(ReadOnlyAdmin):
    list_display = ("subscription", "name", "source", "target", "actor", "created_at", "reason")
    list_filter = ("name", "source", "target")
    search_fields = ("subscription__sam__name", "subscription__consumer__username", "reason")
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        visible = selectors.subscriptions_visible_to(request.user).values("pk")
        return (
            super()
            .get_queryset(request)
            .filter(subscription__in=visible)
            .select_related("subscription__sam", "subscription__consumer", "actor")
        )


@admin.register(InferenceRecord)
class InferenceRecordAdmin(ReadOnlyAdmin):
    """Metering of reasoning calls (ENI SAM clause 6.1)."""

    list_display = ("created_at", "version", "caller", "count", "latency_ms", "outcome")
    list_filter = ("outcome", "version__sam__organisation", "created_at")
    search_fields = ("id", "version__sam__name", "caller__username")
    list_select_related = ("version__sam", "caller")
    date_hierarchy = "created_at"


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    """Models taken out of the warehouse (ENI SAM clause 5 sharing, step 6)."""

    list_display = ("created_at", "kind", "version", "user", "subscription")
    list_filter = ("kind", "version__sam__organisation", "created_at")
    search_fields = ("version__sam__name", "user__username")
    list_select_related = ("version__sam", "user", "subscription")
    date_hierarchy = "created_at"


@admin.register(VersionPackage)
class VersionPackageAdmin(ReadOnlyAdmin):
    """Generated SDK wheels and mirror bundles."""

    list_display = ("version", "kind", "status", "filename", "size", "created_at", "built_at")
    list_filter = ("kind", "status")
    search_fields = ("version__sam__name", "filename", "sha256")
    list_select_related = ("version__sam",)
