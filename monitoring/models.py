"""NWDAF ML model monitoring (TS 23.288 §7.x Nnwdaf_MLModelMonitor, API TS 29.520
Nnwdaf_MLModelMonitor): registrations of a model's use, subscriptions to its measured accuracy,
the notifications sent for them and every attempt to deliver one."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from core.models import StateChange
from monitoring import permissions
from registry.models import ModelVersion


class RegistrationStatus(models.TextChoices):
    ACTIVE = "ACTIVE", "Registered"
    DEREGISTERED = "DEREGISTERED", "Deregistered"


class MonitorRegistration(ConcurrentTransitionMixin, models.Model):
    """Nnwdaf_MLModelMonitor_Register: a consumer (NWDAF containing AnLF) uses a model, for an
    analytics id, target and filter, and may monitor it (TS 29.520 MLModelMonitorReg)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    consumer_id = models.CharField(
        max_length=64, blank=True, help_text="NfInstanceId (consumerId)."
    )
    consumer_set_id = models.CharField(max_length=255, blank=True, help_text="NfSetId.")
    version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="monitor_registrations"
    )
    model_accuracy_transfer = models.BooleanField(
        null=True, blank=True, help_text="modelAccuInd: the ML model accuracy transfer indication."
    )
    analytics_id = models.CharField(max_length=64, blank=True, help_text="mLEvent (NwdafEvent).")
    analytics_filter = models.JSONField(null=True, blank=True, help_text="mLEventFilter.")
    analytics_target = models.JSONField(null=True, blank=True, help_text="tgtUe.")
    status = FSMField(
        max_length=16,
        choices=RegistrationStatus.choices,
        default=RegistrationStatus.ACTIVE,
        protected=True,
    )
    termination_cause = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    deregistered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.consumer_id or self.consumer_set_id} uses {self.version_id}"

    @transition(
        field=status,
        source=RegistrationStatus.ACTIVE,
        target=RegistrationStatus.DEREGISTERED,
        permission=permissions.owns,
    )
    def deregister(self, *, cause: str) -> None:
        self.termination_cause = cause
        self.deregistered_at = timezone.now()


class RegistrationEvent(StateChange):
    """One change of a registration: who, when, from, to, why."""

    registration = models.ForeignKey(
        MonitorRegistration, on_delete=models.CASCADE, related_name="events"
    )
    source = models.CharField(max_length=16, blank=True)
    target = models.CharField(max_length=16, choices=RegistrationStatus.choices)


class MonitorSubscriptionStatus(models.TextChoices):
    ACTIVE = "ACTIVE", "Active"
    UNSUBSCRIBED = "UNSUBSCRIBED", "Unsubscribed"


class NotifyMethod(models.TextChoices):
    """ReportingInformation.notifMethod (TS 29.508 NotificationMethod)."""

    PERIODIC = "PERIODIC", "Periodic"
    ONE_TIME = "ONE_TIME", "One time"
    ON_EVENT_DETECTION = "ON_EVENT_DETECTION", "On event detection"


class MonitorSubscription(ConcurrentTransitionMixin, models.Model):
    """Nnwdaf_MLModelMonitor_Subscribe: a consumer's subscription to the monitored accuracy of
    one or more models, notified at notificationUri (TS 29.520 MLModelMonitorSub). It ends when
    unsubscribed, at its expiry (monDur, or the operator's policy) or after maxReportNbr
    reports."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    versions = models.ManyToManyField(ModelVersion, related_name="monitor_subscriptions")
    notification_uri = models.URLField(max_length=2000)
    notif_corr_id = models.CharField(max_length=255)
    metric = models.CharField(max_length=32, default="ACCURACY", help_text="modelMetric")
    accuracy_threshold = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="accuThreshold, in percent."
    )
    notify_method = models.CharField(max_length=24, choices=NotifyMethod.choices)
    period_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="repPeriod")
    max_reports = models.PositiveIntegerField(null=True, blank=True, help_text="maxReportNbr")
    expires_at = models.DateTimeField(null=True, blank=True, help_text="monDur or the policy's")
    # The rest of eventReportReq (sampling, muting...), kept and answered as given.
    report_options = models.JSONField(default=dict, blank=True)
    analytics_id = models.CharField(max_length=64, blank=True, help_text="mLEvent")
    analytics_filter = models.JSONField(null=True, blank=True, help_text="mLEventFilter")
    analytics_target = models.JSONField(null=True, blank=True, help_text="tgtUe")
    supported_features = models.CharField(max_length=64, blank=True, help_text="suppFeat")
    status = FSMField(
        max_length=16,
        choices=MonitorSubscriptionStatus.choices,
        default=MonitorSubscriptionStatus.ACTIVE,
        protected=True,
    )
    reports_sent = models.PositiveIntegerField(default=0)
    # The current monitoring interval starts here; the next periodic report is due then.
    interval_start = models.DateTimeField(default=timezone.now)
    next_report_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Per model (version id as a string): whether its accuracy met accuThreshold when last
    # measured; a change is a crossing, notified once.
    threshold_met = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.notif_corr_id} → {self.notification_uri}"

    @transition(
        field=status,
        source=MonitorSubscriptionStatus.ACTIVE,
        target=MonitorSubscriptionStatus.UNSUBSCRIBED,
        permission=permissions.owns,
    )
    def unsubscribe(self) -> None:
        self.next_report_at = None


class MonitorSubscriptionEvent(StateChange):
    """One change of a monitor subscription: who, when, from, to, why."""

    subscription = models.ForeignKey(
        MonitorSubscription, on_delete=models.CASCADE, related_name="events"
    )
    source = models.CharField(max_length=16, blank=True)
    target = models.CharField(max_length=16, choices=MonitorSubscriptionStatus.choices)


class NotificationKind(models.TextChoices):
    IMMEDIATE = "IMMEDIATE", "Immediate report (in the 201 answer)"
    PERIODIC = "PERIODIC", "Periodic report"
    THRESHOLD = "THRESHOLD", "Accuracy crossed the threshold"
    FEEDBACK = "FEEDBACK", "Analytics feedback"


class DeliveryStatus(models.TextChoices):
    PENDING = "PENDING", "Waiting to be delivered"
    DELIVERED = "DELIVERED", "Delivered"
    FAILED = "FAILED", "Failed after every attempt"


class MonitorNotification(models.Model):
    """One Nnwdaf_MLModelMonitor_Notify (MLModelMonitorNotify) for a subscription: the body as
    sent, and whether it reached the consumer."""

    subscription = models.ForeignKey(
        MonitorSubscription, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=16, choices=NotificationKind.choices)
    # The periodic report's number (1, 2, ...): one report per period, whoever runs the cycle.
    sequence = models.PositiveIntegerField(null=True, blank=True)
    body = models.JSONField()
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "kind", "sequence"],
                condition=models.Q(sequence__isnull=False),
                name="one_report_per_period",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.subscription_id} ({self.status})"


class DeliveryAttempt(models.Model):
    """One POST of a notification to the subscriber's notificationUri."""

    notification = models.ForeignKey(
        MonitorNotification, on_delete=models.CASCADE, related_name="delivery_attempts"
    )
    number = models.PositiveSmallIntegerField()
    attempted_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.FloatField()
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["attempted_at", "pk"]

    def __str__(self) -> str:
        return f"attempt {self.number}: {self.http_status or self.error}"


class AnalyticsFeedback(models.Model):
    """Analytics Feedback Information (TS 29.520 AnalyticsFeedback): a consumer of the analytics
    took an action influenced by them; forwarded to the models' subscribers as anaFeedbacks."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    versions = models.ManyToManyField(ModelVersion, related_name="analytics_feedbacks")
    analytics_ids = models.JSONField(help_text="events: the NwdafEvents acted on.")
    affects_ground_truth = models.BooleanField(default=False, help_text="groundDataImpactInd")
    action_at = models.DateTimeField(null=True, blank=True, help_text="timeStamp")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"feedback {self.pk} on {', '.join(self.analytics_ids)}"
