import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from core.heartbeat import LOST_AFTER_BEATS
from core.models import StateChange
from registry.models import ModelVersion, SmallAIModel
from sharing import permissions


class SharingMethod(models.TextChoices):
    """The ways a SAM is shared (ENI SAM clause 6.1)."""

    RETRAINING = "RETRAINING", "Re-training sharing"
    INFERENCE = "INFERENCE", "Reasoning call (inference API)"
    SDK = "SDK", "Module embedded reference (SDK package)"
    BUNDLE = "BUNDLE", "Mirror download (model plus runtime)"


class SubscriptionStatus(models.TextChoices):
    PENDING = "PENDING", "Waiting for approval"
    ACTIVE = "ACTIVE", "Active"
    DENIED = "DENIED", "Denied"
    SUSPENDED = "SUSPENDED", "Suspended"
    REVOKED = "REVOKED", "Revoked"
    CANCELLED = "CANCELLED", "Cancelled by the consumer"


LIVE_SUBSCRIPTION_STATES = (
    SubscriptionStatus.PENDING,
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.SUSPENDED,
)

# Decisions of the model's organisation (or an operator) on a consumer's access by one method.
# The latest of them is remembered across that consumer's subscriptions: after one that took
# access away, a new request waits for a grant, whatever the model's approval setting, so that
# cancelling a suspended subscription, or subscribing again after a revocation or a denial,
# does not undo the decision. A later grant or resume lifts it.
WITHDRAWING_DECISIONS = ("deny", "suspend", "revoke")
RESTORING_DECISIONS = ("grant", "resume")


class Subscription(ConcurrentTransitionMixin, models.Model):
    """A consumer's subscription to a released SAM by one sharing method (ENI SAM clause 5
    sharing, step 2)."""

    consumer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="subscriptions"
    )
    sam = models.ForeignKey(SmallAIModel, on_delete=models.PROTECT, related_name="subscriptions")
    method = models.CharField(max_length=16, choices=SharingMethod.choices)
    status = FSMField(
        max_length=16,
        choices=SubscriptionStatus.choices,
        default=SubscriptionStatus.PENDING,
        protected=True,
    )
    purpose = models.TextField(blank=True, help_text="What the consumer will use the model for.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["consumer", "sam", "method"],
                condition=models.Q(status__in=["PENDING", "ACTIVE", "SUSPENDED"]),
                name="one_live_subscription_per_method",
            )
        ]

    def __str__(self) -> str:
        return f"{self.consumer} → {self.sam} ({self.method})"

    @transition(
        field=status,
        source=SubscriptionStatus.PENDING,
        target=SubscriptionStatus.ACTIVE,
        permission=permissions.can_decide_subscription,
    )
    def grant(self) -> None:
        pass

    @transition(
        field=status,
        source=SubscriptionStatus.PENDING,
        target=SubscriptionStatus.DENIED,
        permission=permissions.can_decide_subscription,
    )
    def deny(self) -> None:
        pass

    @transition(
        field=status,
        source=SubscriptionStatus.ACTIVE,
        target=SubscriptionStatus.SUSPENDED,
        permission=permissions.can_decide_subscription,
    )
    def suspend(self) -> None:
        pass

    @transition(
        field=status,
        source=SubscriptionStatus.SUSPENDED,
        target=SubscriptionStatus.ACTIVE,
        permission=permissions.can_decide_subscription,
    )
    def resume(self) -> None:
        pass

    @transition(
        field=status,
        source=[SubscriptionStatus.ACTIVE, SubscriptionStatus.SUSPENDED],
        target=SubscriptionStatus.REVOKED,
        permission=permissions.can_decide_subscription,
    )
    def revoke(self) -> None:
        pass

    @transition(
        field=status,
        source=list(LIVE_SUBSCRIPTION_STATES),
        target=SubscriptionStatus.CANCELLED,
        permission=permissions.can_cancel_subscription,
    )
    def cancel(self) -> None:
        pass


class SubscriptionEvent(StateChange):
    """One change of a subscription: who, when, from, to, why."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="events")
    source = models.CharField(max_length=16, blank=True)
    target = models.CharField(max_length=16, choices=SubscriptionStatus.choices)

    def __str__(self) -> str:
        return f"{self.subscription}: {self.source or '-'} -> {self.target}"


class InferenceOutcome(models.TextChoices):
    OK = "OK", "Answered"
    INVALID_INPUT = "INVALID_INPUT", "Refused: invalid input"
    UPSTREAM_ERROR = "UPSTREAM_ERROR", "External endpoint failed"
    UPSTREAM_TIMEOUT = "UPSTREAM_TIMEOUT", "External endpoint timed out"
    ERROR = "ERROR", "Model failed"


class InferenceDataSet(models.Model):
    """Where a caller keeps the inputs of its reasoning calls: a data set (TS 29.575 DataSetTag)
    held by an ADRF (adrfId) or an ADRF set (adrfSetId), named when ground truth is attached,
    so that the input of a wrong prediction can be found again for retraining (TS 23.288
    Nnwdaf_MLModelMonitor_Notify: "Input data used for inferencing indicated by DataSetTag
    with ADRF ID when the prediction ... is not correct"). One per owner and name."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    data_set_id = models.CharField(max_length=255, help_text="DataSetTag.dataSetId")
    data_set_desc = models.CharField(
        max_length=1000, blank=True, help_text="DataSetTag.dataSetDesc, as last given."
    )
    adrf_id = models.CharField(max_length=36, blank=True, help_text="NfInstanceId of the ADRF.")
    adrf_set_id = models.CharField(max_length=255, blank=True, help_text="NfSetId of the ADRFs.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "data_set_id", "adrf_id", "adrf_set_id"],
                name="one_data_set_per_owner_and_name",
            )
        ]

    def __str__(self) -> str:
        return self.data_set_id


class InferenceRecord(models.Model):
    """One metered reasoning call (ENI SAM clause 6.1 "reasoning call"); later ground truth
    attaches to it for accuracy monitoring, with the data set its inputs are kept in."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Each index is one more page every call writes (docs/benchmarks.md), so none that no
    # lookup needs: inference_by_version and inference_by_caller start with version and caller
    # and serve every lookup by either, and nothing looks calls up by subscription
    # (subscriptions are never deleted: the log of who had access when stays).
    version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="inferences", db_index=False
    )
    caller = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="inferences",
        db_index=False,
    )
    count = models.PositiveIntegerField(help_text="Instances in the call (batch size).")
    latency_ms = models.FloatField()
    outcome = models.CharField(max_length=16, choices=InferenceOutcome.choices)
    error = models.TextField(blank=True)
    outputs = models.JSONField(null=True, blank=True)
    ground_truth = models.JSONField(null=True, blank=True)
    ground_truth_at = models.DateTimeField(null=True, blank=True)
    # Named with the ground truth. No index of its own: every call would pay for it, and
    # the monitor finds the named calls of a version by inference_named_by_version.
    input_data_set = models.ForeignKey(
        InferenceDataSet,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,
        related_name="inferences",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["version", "-created_at"], name="inference_by_version"),
            models.Index(fields=["caller", "-created_at"], name="inference_by_caller"),
            # Only calls whose input data set is named: a call's INSERT never writes to it.
            models.Index(
                fields=["version", "created_at"],
                condition=models.Q(input_data_set__isnull=False),
                name="inference_named_by_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.version} {self.outcome} ×{self.count}"


class VersionPopularity(models.Model):
    """How many people subscribe to a released or deprecated version's model and how many
    reasoning calls the version answered, recounted every SAMHUB_POPULARITY_SECONDS by Celery
    beat (sharing.services.version_popularity_count): the catalog's cards and popularity sorts
    read it, so that no catalog page counts the metering table."""

    version = models.OneToOneField(
        ModelVersion, on_delete=models.CASCADE, primary_key=True, related_name="popularity"
    )
    subscribers = models.PositiveIntegerField(default=0)
    calls = models.PositiveBigIntegerField(default=0)
    counted_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "version popularity"

    def __str__(self) -> str:
        return f"{self.version}: {self.subscribers} subscribers, {self.calls} calls"


class DeliveryKind(models.TextChoices):
    ARTIFACT = "ARTIFACT", "Model file"
    SDK = "SDK", "SDK wheel"
    BUNDLE = "BUNDLE", "Mirror bundle"


class Delivery(models.Model):
    """A model taken out of the warehouse (ENI SAM clause 5 sharing, step 6)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="deliveries")
    kind = models.CharField(max_length=16, choices=DeliveryKind.choices)
    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, null=True, blank=True, related_name="deliveries"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.kind} of {self.version} to {self.user}"


class PackageKind(models.TextChoices):
    SDK = "SDK", "SDK wheel"
    BUNDLE = "BUNDLE", "Mirror bundle"


class PackageStatus(models.TextChoices):
    PENDING = "PENDING", "Queued"
    BUILDING = "BUILDING", "Building"
    READY = "READY", "Ready"
    FAILED = "FAILED", "Failed"


class VersionPackage(ConcurrentTransitionMixin, models.Model):
    """A generated SDK wheel or mirror bundle of a version, built once and cached."""

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="packages")
    kind = models.CharField(max_length=16, choices=PackageKind.choices)
    status = FSMField(
        max_length=16, choices=PackageStatus.choices, default=PackageStatus.PENDING, protected=True
    )
    file = models.FileField(max_length=300, blank=True)
    filename = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    build_started_at = models.DateTimeField(null=True, blank=True)
    # Refreshed every SAMHUB_PACKAGE_HEARTBEAT_SECONDS by the process building it: a BUILDING
    # package whose heartbeat stopped lost that process (killed pool process or worker).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    built_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "kind"], name="one_package_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.kind} of {self.version} ({self.status})"

    @transition(field=status, source=PackageStatus.PENDING, target=PackageStatus.BUILDING)
    def start(self) -> None:
        self.build_started_at = self.heartbeat_at = timezone.now()

    @transition(field=status, source=PackageStatus.BUILDING, target=PackageStatus.BUILDING)
    def restart(self) -> None:
        """Another run takes over a build whose process was lost, from the beginning."""
        self.build_started_at = self.heartbeat_at = timezone.now()

    def build_lost(self) -> bool:
        """BUILDING, but its process has not beaten for LOST_AFTER_BEATS heartbeats."""
        if self.status != PackageStatus.BUILDING:
            return False
        last = self.heartbeat_at or self.build_started_at
        lost_after = LOST_AFTER_BEATS * settings.SAMHUB_PACKAGE_HEARTBEAT_SECONDS
        return last is None or (timezone.now() - last).total_seconds() > lost_after

    @transition(field=status, source=PackageStatus.BUILDING, target=PackageStatus.READY)
    def finish(self) -> None:
        self.built_at = timezone.now()
        self.error = ""

    @transition(
        field=status,
        source=[PackageStatus.PENDING, PackageStatus.BUILDING],
        target=PackageStatus.FAILED,
    )
    def fail(self) -> None:
        pass

    @transition(field=status, source=PackageStatus.FAILED, target=PackageStatus.PENDING)
    def retry(self) -> None:
        self.error = ""
