"""Django admin of the ML model monitor for operators: read-only (registrations, subscriptions
and notifications are written by monitoring.services only)."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin, ReadOnlyInline
from monitoring.models import (
    AnalyticsFeedback,
    DeliveryAttempt,
    MonitorNotification,
    MonitorRegistration,
    MonitorSubscription,
)


@admin.register(MonitorRegistration)
class MonitorRegistrationAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "owner",
        "consumer_id",
        "consumer_set_id",
        "version",
        "analytics_id",
        "status",
        "created_at",
        "termination_cause",
    )
    list_filter = ("status",)
    search_fields = ("consumer_id", "consumer_set_id", "owner__username", "version__sam__name")
    list_select_related = ("owner", "version", "version__sam")


@admin.register(MonitorSubscription)
class MonitorSubscriptionAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "owner",
        "notif_corr_id",
        "notification_uri",
        "notify_method",
        "period_seconds",
        "accuracy_threshold",
        "reports_sent",
        "status",
        "expires_at",
    )
    list_filter = ("status", "notify_method")
    search_fields = ("notif_corr_id", "notification_uri", "owner__username")
    list_select_related = ("owner",)


class DeliveryAttemptInline(ReadOnlyInline):
    model = DeliveryAttempt
    fields = ("number", "attempted_at", "duration_ms", "http_status", "error")
    readonly_fields = fields


@admin.register(MonitorNotification)
class MonitorNotificationAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "subscription",
        "kind",
        "status",
        "attempts",
        "created_at",
        "delivered_at",
        "last_error",
    )
    list_filter = ("status", "kind")
    list_select_related = ("subscription",)
    date_hierarchy = "created_at"
    inlines = (DeliveryAttemptInline,)


@admin.register(AnalyticsFeedback)
class AnalyticsFeedbackAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "owner",
        "analytics_ids",
        "affects_ground_truth",
        "action_at",
        "created_at",
    )
    list_select_related = ("owner",)
