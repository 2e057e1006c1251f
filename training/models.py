from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition

from core.heartbeat import LOST_AFTER_BEATS
from registry.models import ModelVersion, Organisation


class DatasetFormat(models.TextChoices):
    CSV = "CSV", "CSV"
    PARQUET = "PARQUET", "Parquet"


class Dataset(models.Model):
    """Training data an organisation uploads, checked and scored; referenced by id as a
    `candidateTraingDataSource` of an MLTrainingRequest, its score being the
    `traingDataQualityScore` (TS 28.105 §7.3.2.2 and §7.4)."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="datasets"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # In the warehouse under datasets/, by content hash (training.datasets.dataset_store).
    file = models.FileField(max_length=300)
    filename = models.CharField(max_length=255, help_text="The name the file was uploaded with.")
    format = models.CharField(max_length=16, choices=DatasetFormat.choices)
    size = models.PositiveBigIntegerField(help_text="Bytes.")
    sha256 = models.CharField(max_length=64)
    row_count = models.PositiveBigIntegerField()
    columns = models.JSONField(
        help_text='One entry per column, in file order: {"name", "type", "missing"}.'
    )
    target_column = models.CharField(max_length=255)
    quality_score = models.FloatField(help_text="0..100 (docs/training.md, Datasets).")
    missing_ratio = models.FloatField(help_text="Missing cells over all cells.")
    duplicate_ratio = models.FloatField(help_text="Rows repeating an earlier row, over all rows.")
    constant_columns = models.JSONField(
        default=list, blank=True, help_text="Columns with at most one distinct value."
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quality_score__gte=0, quality_score__lte=100),
                name="dataset_quality_score_0_100",
            ),
            models.CheckConstraint(
                condition=models.Q(format__in=["CSV", "PARQUET"]), name="dataset_format_known"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def feature_columns(self) -> list[str]:
        return [c["name"] for c in self.columns if c["name"] != self.target_column]


# --- TS 28.105 clause 7: the ML training NRM ------------------------------------------------

# The DN root of SAM Hub's MOIs (TS 32.156): one SubNetwork holding one MLTrainingFunction.
DN_ROOT = "SubNetwork=1"


class RequestStatus(models.TextChoices):
    """`requestStatus` (TS 28.105 §7.5, the seed's names win over the YAML's IN_PROGRESS)."""

    NOT_STARTED = "NOT_STARTED", "Not started"
    TRAINING_IN_PROGRESS = "TRAINING_IN_PROGRESS", "Training in progress"
    SUSPENDED = "SUSPENDED", "Suspended"
    FINISHED = "FINISHED", "Finished"
    CANCELLING = "CANCELLING", "Cancelling"
    CANCELLED = "CANCELLED", "Cancelled"


class ProcessStatus(models.TextChoices):
    """`progressStatus.status` of an MLTrainingProcess: the seed's RUNNING, SUSPENDED,
    CANCELLING, CANCELLED and FINISHED, plus NOT_STARTED (queued) and FAILED from the
    ProcessMonitor data type of TS 28.622, for a process waiting for a worker and one that
    could not finish."""

    NOT_STARTED = "NOT_STARTED", "Queued"
    RUNNING = "RUNNING", "Running"
    SUSPENDED = "SUSPENDED", "Suspended"
    CANCELLING = "CANCELLING", "Cancelling"
    CANCELLED = "CANCELLED", "Cancelled"
    FINISHED = "FINISHED", "Finished"
    FAILED = "FAILED", "Failed"


PROCESS_ENDED = (ProcessStatus.CANCELLED, ProcessStatus.FINISHED, ProcessStatus.FAILED)


class ProgressStateInfo(models.TextChoices):
    """`progressStatus.progressStateInfo` while RUNNING (TS 28.105 §7.3.4.1), in order."""

    COLLECTING_DATA = "COLLECTING_DATA", "Collecting data"
    PREPARING_TRAINING_DATA = "PREPARING_TRAINING_DATA", "Preparing training data"
    TRAINING = "TRAINING", "Training"


class TerminationCondition(models.TextChoices):
    """`terminationConditions` (TS 28.105 §7.5; the seed's stray spaces become underscores)."""

    MODEL_UPDATED_IN_INFERENCE_FUNCTION = (
        "MODEL_UPDATED_IN_INFERENCE_FUNCTION",
        "The model is updated in the inference function",
    )
    INFERENCE_FUNCTION_TERMINATED = (
        "INFERENCE_FUNCTION_TERMINATED",
        "The inference function is terminated",
    )
    INFERENCE_FUNCTION_UPGRADED = (
        "INFERENCE_FUNCTION_UPGRADED",
        "The inference function is upgraded",
    )
    INFERENCE_CONTEXT_CHANGED = "INFERENCE_CONTEXT_CHANGED", "The inference context changed"


class ConsumerDataUse(models.TextChoices):
    """`areConsumerTrainingDataUsed` (TS 28.105 §7.5)."""

    ALL = "ALL", "All"
    PARTIALLY = "PARTIALLY", "Partially"
    NONE = "NONE", "None"


PRIORITY_VALIDATORS = [MinValueValidator(0), MaxValueValidator(65535)]


class MLTrainingFunction(models.Model):
    """The entity that undertakes ML training and contains the requests, processes and
    reports (TS 28.105 §7.3.1); SAM Hub is one, `MLTrainingFunction=1`. Its `mLEntityList`
    is every version with a scikit-learn model file (training.selectors.ml_entities_of)."""

    user_label = models.CharField(max_length=200, default="SAM Hub training")

    def __str__(self) -> str:
        return self.dn

    @property
    def dn(self) -> str:
        return f"{DN_ROOT},MLTrainingFunction={self.pk}"


def default_function_id() -> int:
    return MLTrainingFunction.objects.get_or_create(pk=1)[0].pk


class MLTrainingRequest(ConcurrentTransitionMixin, models.Model):
    """A consumer's request to train an ML entity, a SAM Hub model version (TS 28.105
    §7.3.2, every attribute of table 7.3.2.2-1). Changed only through training.services."""

    function = models.ForeignKey(
        MLTrainingFunction,
        on_delete=models.PROTECT,
        default=default_function_id,
        related_name="requests",
    )
    # mLEntityId: the version to train.
    ml_entity = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="training_requests"
    )
    candidate_training_data_sources = models.ManyToManyField(
        Dataset, blank=True, related_name="training_requests"
    )
    # traingDataQualityScore: the candidates' quality scores weighted by their rows.
    training_data_quality_score = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    training_request_source = models.CharField(max_length=200)
    status = FSMField(
        max_length=24,
        choices=RequestStatus.choices,
        default=RequestStatus.NOT_STARTED,
        protected=True,
    )
    # expectedRuntimeContext: an MLContext {"inference_entity_ref": [DN], "data_provider_ref": [DN]}.
    expected_runtime_context = models.JSONField(default=dict, blank=True)
    # performanceRequirements: ModelPerformance entries (snake_case keys, as registry's).
    performance_requirements = models.JSONField(default=list, blank=True)
    cancel_request = models.BooleanField(default=False)
    suspend_request = models.BooleanField(default=False)
    # Not an attribute of the request in table 7.3.2.2-1: the priority its processes get
    # (§7.3.4.1, "related in a 1:1 manner with the priority of the MLTrainingRequest").
    priority = models.PositiveIntegerField(default=0, validators=PRIORITY_VALIDATORS)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # Retraining-sharing (ENI SAM clause 5, sharing steps 3-5): the consumer's RETRAINING
    # subscription that let them request it (training.permissions), and when they were told
    # that the version it produced was released (training.services.retrained_version_released).
    subscription = models.ForeignKey(
        "sharing.Subscription",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="training_requests",
    )
    subscriber_notified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "ML training request"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(priority__lte=65535), name="request_priority_0_65535"
            )
        ]

    def __str__(self) -> str:
        return f"MLTrainingRequest={self.pk}"

    @property
    def dn(self) -> str:
        return f"{DN_ROOT},MLTrainingFunction={self.function_id},MLTrainingRequest={self.pk}"

    @transition(
        field=status, source=RequestStatus.NOT_STARTED, target=RequestStatus.TRAINING_IN_PROGRESS
    )
    def start(self) -> None:
        pass

    @transition(
        field=status,
        source=[RequestStatus.NOT_STARTED, RequestStatus.TRAINING_IN_PROGRESS],
        target=RequestStatus.SUSPENDED,
    )
    def suspend(self) -> None:
        self.suspend_request = True

    @transition(
        field=status,
        source=RequestStatus.SUSPENDED,
        target=RETURN_VALUE(RequestStatus.NOT_STARTED, RequestStatus.TRAINING_IN_PROGRESS),
    )
    def resume(self, *, started: bool) -> str:
        self.suspend_request = False
        return RequestStatus.TRAINING_IN_PROGRESS if started else RequestStatus.NOT_STARTED

    @transition(
        field=status,
        source=[
            RequestStatus.NOT_STARTED,
            RequestStatus.TRAINING_IN_PROGRESS,
            RequestStatus.SUSPENDED,
        ],
        target=RequestStatus.CANCELLING,
    )
    def cancel(self) -> None:
        self.cancel_request = True

    @transition(field=status, source=RequestStatus.CANCELLING, target=RequestStatus.CANCELLED)
    def cancelled(self) -> None:
        pass

    @transition(
        field=status,
        source=[RequestStatus.TRAINING_IN_PROGRESS, RequestStatus.SUSPENDED],
        target=RequestStatus.FINISHED,
    )
    def finish(self) -> None:
        pass


class MLTrainingRequestEvent(models.Model):
    """A change of a request's `requestStatus`: which step, who (none: SAM Hub itself), when,
    from, to, why. The one record of changes that notifications can be made from."""

    request = models.ForeignKey(MLTrainingRequest, on_delete=models.CASCADE, related_name="events")
    name = models.CharField(max_length=32)
    source = models.CharField(max_length=24, choices=RequestStatus.choices)
    target = models.CharField(max_length=24, choices=RequestStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.request}: {self.source} -> {self.target}"


class MLTrainingProcess(ConcurrentTransitionMixin, models.Model):
    """The training of one ML entity for a request (TS 28.105 §7.3.4): its priority,
    termination conditions and `progressStatus` (status, progressStateInfo, percentage), run
    step by step by a Celery worker (training.execution). Changed only through
    training.services and training.execution."""

    function = models.ForeignKey(
        MLTrainingFunction,
        on_delete=models.PROTECT,
        default=default_function_id,
        related_name="processes",
    )
    # trainingRequestRef (CM): SAM Hub instantiates one process per request and ML entity.
    training_request = models.ForeignKey(
        MLTrainingRequest,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="processes",
    )
    ml_entity = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="training_processes"
    )
    priority = models.PositiveIntegerField(default=0, validators=PRIORITY_VALIDATORS)
    termination_conditions = models.CharField(
        max_length=40,
        choices=TerminationCondition.choices,
        default=TerminationCondition.MODEL_UPDATED_IN_INFERENCE_FUNCTION,
    )
    # progressStatus (ProcessMonitor): status, progressStateInfo, progressPercentage,
    # resultStateInfo (why it failed or was cancelled, what it produced), startTime, endTime.
    status = FSMField(
        max_length=16,
        choices=ProcessStatus.choices,
        default=ProcessStatus.NOT_STARTED,
        protected=True,
    )
    progress_state_info = models.CharField(
        max_length=32, choices=ProgressStateInfo.choices, blank=True
    )
    progress_percentage = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(100)]
    )
    result_state_info = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    cancel_process = models.BooleanField(default=False)
    suspend_process = models.BooleanField(default=False)
    # The run that holds the process: a worker's run id and its heartbeat, refreshed every
    # SAMHUB_TRAINING_HEARTBEAT_SECONDS. Empty run: nobody holds it (queued, paused, ended);
    # a stale heartbeat: its worker was lost (training.execution).
    run_id = models.CharField(max_length=32, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    lost_runs = models.PositiveSmallIntegerField(
        default=0, help_text="Times the worker running it was lost (SAMHUB_TRAINING_MAX_LOST_RUNS)."
    )
    # What each step left for the next, so that a resumed or taken-over process continues
    # where it stopped: the data chosen, the prepared arrays, the fitted model and its scores.
    data_selection = models.JSONField(null=True, blank=True)
    prepared_file = models.CharField(max_length=300, blank=True)
    trained_file = models.CharField(max_length=300, blank=True)
    training_results = models.JSONField(null=True, blank=True)
    # The new version the training registered (a DRAFT until the process finishes and submits
    # it), kept so that a run taken over after a lost worker does not register a second one.
    trained_version = models.OneToOneField(
        ModelVersion,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="training_process",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "ML training process"
        verbose_name_plural = "ML training processes"
        indexes = [models.Index(fields=["status", "priority", "created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(priority__lte=65535), name="process_priority_0_65535"
            ),
            models.CheckConstraint(
                condition=models.Q(progress_percentage__lte=100), name="process_percentage_0_100"
            ),
        ]

    def __str__(self) -> str:
        return f"MLTrainingProcess={self.pk}"

    @property
    def dn(self) -> str:
        return f"{DN_ROOT},MLTrainingFunction={self.function_id},MLTrainingProcess={self.pk}"

    @transition(
        field=status,
        source=[ProcessStatus.NOT_STARTED, ProcessStatus.RUNNING],
        target=ProcessStatus.RUNNING,
    )
    def claim(self, *, run_id: str) -> None:
        """A worker's run takes it up: queued, resumed, or taken over from a lost run."""
        now = timezone.now()
        self.run_id, self.heartbeat_at = run_id, now
        self.started_at = self.started_at or now

    @transition(
        field=status,
        source=[ProcessStatus.NOT_STARTED, ProcessStatus.RUNNING],
        target=ProcessStatus.SUSPENDED,
    )
    def suspend(self) -> None:
        self.suspend_process = True

    @transition(
        field=status,
        source=ProcessStatus.SUSPENDED,
        target=RETURN_VALUE(ProcessStatus.NOT_STARTED, ProcessStatus.RUNNING),
    )
    def resume(self) -> str:
        self.suspend_process = False
        return ProcessStatus.RUNNING if self.started_at else ProcessStatus.NOT_STARTED

    @transition(
        field=status,
        source=[ProcessStatus.NOT_STARTED, ProcessStatus.RUNNING, ProcessStatus.SUSPENDED],
        target=ProcessStatus.CANCELLING,
    )
    def cancel(self) -> None:
        self.cancel_process = True

    @transition(field=status, source=ProcessStatus.CANCELLING, target=ProcessStatus.CANCELLED)
    def cancelled(self) -> None:
        self.run_id, self.ended_at = "", timezone.now()

    @transition(
        field=status,
        source=[ProcessStatus.RUNNING, ProcessStatus.SUSPENDED],
        target=ProcessStatus.FINISHED,
    )
    def finish(self) -> None:
        self.run_id, self.ended_at = "", timezone.now()
        self.progress_percentage = 100

    @transition(
        field=status,
        source=[
            ProcessStatus.NOT_STARTED,
            ProcessStatus.RUNNING,
            ProcessStatus.SUSPENDED,
            ProcessStatus.CANCELLING,
        ],
        target=ProcessStatus.FAILED,
    )
    def fail(self) -> None:
        self.run_id, self.ended_at = "", timezone.now()

    def held(self) -> bool:
        """Whether a live run holds it: a run id whose heartbeat is fresh."""
        if not self.run_id or self.heartbeat_at is None:
            return False
        lost_after = LOST_AFTER_BEATS * settings.SAMHUB_TRAINING_HEARTBEAT_SECONDS
        return (timezone.now() - self.heartbeat_at).total_seconds() <= lost_after


class MLTrainingProcessEvent(models.Model):
    """A change of a process's `progressStatus` (status, progressStateInfo, percentage), by
    whom (none: SAM Hub's worker), when and why: its progress history and the record that
    notifications can be made from."""

    process = models.ForeignKey(MLTrainingProcess, on_delete=models.CASCADE, related_name="events")
    name = models.CharField(max_length=32)
    source = models.CharField(max_length=16, choices=ProcessStatus.choices)
    target = models.CharField(max_length=16, choices=ProcessStatus.choices)
    progress_state_info = models.CharField(max_length=32, blank=True)
    progress_percentage = models.PositiveSmallIntegerField(default=0)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.process}: {self.name} {self.target} {self.progress_state_info}"


class MLTrainingReport(models.Model):
    """The report of a finished training process (TS 28.105 §7.3.3), with the conditions of
    table 7.3.3.3-1 enforced by clean(). Written once, by SAM Hub's worker."""

    function = models.ForeignKey(
        MLTrainingFunction,
        on_delete=models.PROTECT,
        default=default_function_id,
        related_name="reports",
    )
    # mLEntityId: the version that was trained.
    ml_entity = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="training_reports"
    )
    are_consumer_training_data_used = models.CharField(
        max_length=16, choices=ConsumerDataUse.choices
    )
    used_consumer_training_data = models.ManyToManyField(
        Dataset, blank=True, related_name="training_reports"
    )
    confidence_indication = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(100)]
    )
    # ModelPerformance entries measured on the training split (the seed's
    # modelPerformanceTraining), and on the held-out split (the YAML's
    # modelPerformanceValidation), with the split (dataRatioTrainingAndValidation, percent).
    model_performance_training = models.JSONField(default=list)
    model_performance_validation = models.JSONField(default=list, blank=True)
    data_ratio_training_and_validation = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(100)]
    )
    are_new_training_data_used = models.BooleanField(null=True, blank=True)
    training_request = models.ForeignKey(
        MLTrainingRequest,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reports",
    )
    training_process = models.OneToOneField(
        MLTrainingProcess, on_delete=models.PROTECT, related_name="report"
    )
    last_training = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The version the training produced (the YAML's mLModelGeneratedRef): a child of ml_entity.
    trained_version = models.OneToOneField(
        ModelVersion,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="training_report",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "ML training report"

    def __str__(self) -> str:
        return f"MLTrainingReport={self.pk}"

    @property
    def dn(self) -> str:
        return f"{DN_ROOT},MLTrainingFunction={self.function_id},MLTrainingReport={self.pk}"

    def clean(self) -> None:
        """Table 7.3.3.3-1, and what the report's other attributes need."""
        errors: dict[str, list[str]] = {}
        if not self.model_performance_training:
            # CM: SAM Hub supports "AI/ML training initiated by consumer".
            errors["model_performance_training"] = [
                "Required: SAM Hub supports training initiated by the consumer."
            ]
        process = self.training_process if self.training_process_id else None
        if process is not None and process.training_request_id != self.training_request_id:
            errors["training_request"] = [
                "Must be the request of the training process (the training was requested)."
            ]
        if process is not None and process.ml_entity_id != self.ml_entity_id:
            errors["ml_entity"] = ["Must be the ML entity of the training process."]
        previous = self.last_training_expected()
        if previous is not None and self.last_training_id is None:
            errors["last_training"] = [
                "Required: the model has been trained before (the last training's report)."
            ]
        if errors:
            raise ValidationError(errors)

    def last_training_expected(self) -> "MLTrainingReport | None":
        """The report of the model's last training, if it was trained before: the training
        that produced the version now trained, else the latest earlier report on it."""
        if not self.ml_entity_id:
            return None
        earlier = MLTrainingReport.objects.exclude(pk=self.pk)
        return (
            earlier.filter(trained_version_id=self.ml_entity_id).first()
            or earlier.filter(ml_entity_id=self.ml_entity_id).order_by("-created_at", "-pk").first()
        )

    def used_consumer_data_check(self, used: list) -> None:
        """usedConsumerTrainingData is there exactly when areConsumerTrainingDataUsed is ALL or
        PARTIALLY (table 7.3.3.3-1); a many-to-many field is checked before it is set."""
        if self.are_consumer_training_data_used == ConsumerDataUse.NONE and used:
            raise ValidationError(
                {"used_consumer_training_data": ["Empty when no consumer data was used (NONE)."]}
            )
        if self.are_consumer_training_data_used != ConsumerDataUse.NONE and not used:
            raise ValidationError(
                {"used_consumer_training_data": ["Required when the consumer's data was used."]}
            )


# --- ProvMnS notifications (TS 28.532 §11.1.1, TS 28.623 NtfSubscriptionControl) -------------


class NotificationType(models.TextChoices):
    """The configuration notifications of TS 28.105 §7.6.1 (TS 28.532 CmNotificationTypes)."""

    MOI_CREATION = "notifyMOICreation", "notifyMOICreation"
    MOI_DELETION = "notifyMOIDeletion", "notifyMOIDeletion"
    MOI_ATTRIBUTE_VALUE_CHANGES = (
        "notifyMOIAttributeValueChanges",
        "notifyMOIAttributeValueChanges",
    )
    EVENT = "notifyEvent", "notifyEvent"


class ScopeType(models.TextChoices):
    """TS 28.532 ScopeType: which objects below a base object are meant."""

    BASE_ONLY = "BASE_ONLY", "The base object only"
    BASE_NTH_LEVEL = "BASE_NTH_LEVEL", "The objects scopeLevel levels below the base"
    BASE_SUBTREE = "BASE_SUBTREE", "The base and its subtree down to scopeLevel"
    BASE_ALL = "BASE_ALL", "The base and its whole subtree"


class NtfSubscription(models.Model):
    """A ProvMnS notification subscription: an NtfSubscriptionControl MOI (TS 28.623) under
    `SubNetwork=1`, made by its owner with PUT. Notifications about the training MOIs its
    scope covers, of its notificationTypes, go to its notificationRecipientAddress, and only
    about objects its owner may see (training.selectors). notificationFilter is not
    supported (docs/training.md)."""

    moi_id = models.CharField(max_length=64, unique=True, help_text="The id in its DN.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ntf_subscriptions"
    )
    notification_recipient_address = models.CharField(max_length=2000)
    # Empty: every type of NotificationType.
    notification_types = models.JSONField(default=list, blank=True)
    scope_type = models.CharField(
        max_length=16, choices=ScopeType.choices, default=ScopeType.BASE_ALL
    )
    scope_level = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = "ProvMnS notification subscription"

    def __str__(self) -> str:
        return f"NtfSubscriptionControl={self.moi_id}"

    @property
    def dn(self) -> str:
        return f"{DN_ROOT},NtfSubscriptionControl={self.moi_id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    DELIVERED = "DELIVERED", "Delivered"
    FAILED = "FAILED", "Failed"


class MOINotification(models.Model):
    """One notification to one recipient, written in the transaction of the change it tells
    about and POSTed after the commit by a Celery task, retried with backoff
    (training.notifications). The body is kept without notificationId and subscriptionId,
    which are added when it is sent (notificationId is this row's id)."""

    subscription = models.ForeignKey(
        NtfSubscription,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notifications",
    )
    recipient_address = models.CharField(max_length=2000)
    notification_type = models.CharField(max_length=40, choices=NotificationType.choices)
    object_instance = models.CharField(max_length=300, help_text="The DN it is about.")
    body = models.JSONField()
    event_time = models.DateTimeField()
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = "ProvMnS notification"

    def __str__(self) -> str:
        return f"{self.notification_type} {self.object_instance} to {self.recipient_address}"


class MOINotificationAttempt(models.Model):
    """One POST of a notification: when, what came back (HTTP status, or none), why it failed."""

    notification = models.ForeignKey(
        MOINotification, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveSmallIntegerField()
    attempted_at = models.DateTimeField()
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.FloatField()

    class Meta:
        ordering = ["notification", "number"]

    def __str__(self) -> str:
        return f"{self.notification_id} #{self.number}: {self.http_status or self.error}"


# --- AIMLE clients, context transfer and hierarchical computing (TS 23.482, seed 003) ---------


def _is_list_of_names(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)


class AimleClient(models.Model):
    """An AIMLE client (TS 23.482 §5.2.3.2): the application client on a VAL UE that takes part
    in AIMLE services, managed by the AIMLE server of the edge service area it is in. AIMLE
    client set identifiers and client selection criteria of an ML model selection request
    (TS 23.482 §8.23.3.1, NOTE 1 and NOTE 2) are matched against these records."""

    client_id = models.CharField(max_length=255, unique=True)
    client_set_id = models.CharField(
        max_length=255, blank=True, db_index=True, help_text="The AIMLE client set it belongs to."
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="aimle_clients"
    )
    managing_server = models.CharField(
        max_length=255, help_text="The AIMLE server currently managing the client."
    )
    # Source servers of the client's moves, oldest first (context transfer, TS 23.482 §8.24).
    previous_managing_servers = models.JSONField(default=list, blank=True)
    service_area = models.CharField(max_length=255, db_index=True)
    capabilities = models.JSONField(
        default=list,
        blank=True,
        help_text='What the client can do, e.g. ["HFL_TRAINING", "INFERENCE"].',
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["client_id"]
        verbose_name = "AIMLE client"

    def __str__(self) -> str:
        return self.client_id

    def clean(self) -> None:
        errors = {}
        if not _is_list_of_names(self.capabilities):
            errors["capabilities"] = "A list of capability names (non-empty strings)."
        if not _is_list_of_names(self.previous_managing_servers):
            errors["previous_managing_servers"] = "A list of AIMLE server identifiers."
        if errors:
            raise ValidationError(errors)


class MLTask(models.TextChoices):
    """The ML task an AIMLE context continues at the target AIMLE server (TS 23.482 table
    8.24.3.1-2, "ML task")."""

    MODEL_TRAINING = "MODEL_TRAINING", "Model training"
    MODEL_TESTING = "MODEL_TESTING", "Model testing"
    MODEL_INFERENCE = "MODEL_INFERENCE", "Model inference"
    MODEL_TRANSFER = "MODEL_TRANSFER", "Model transfer"
    MODEL_OFFLOAD = "MODEL_OFFLOAD", "Model offload"
    MODEL_SPLIT = "MODEL_SPLIT", "Model split"
    INTERMEDIATE_OPERATION = "INTERMEDIATE_OPERATION", "Intermediate AI/ML operation or task"


class AimleContextTransfer(models.Model):
    """An AIMLE context transferred to SAM Hub's AIMLE server (TS 23.482 §8.24, tables
    8.24.3.1-1 and 8.24.3.1-2): the context information of one AIMLE client as the requestor
    sent it, kept so the ML task can be continued here. A transfer naming another current
    managing server moves the client (training.aimle.clients.aimle_client_move); the server it
    left is `source_server`."""

    client = models.ForeignKey(
        AimleClient, on_delete=models.CASCADE, related_name="context_transfers"
    )
    requestor_id = models.CharField(max_length=255)
    source_server = models.CharField(
        max_length=255, blank=True, help_text="The managing server the client left; '' if none."
    )
    current_managing_server = models.CharField(max_length=255, blank=True)
    previous_managing_servers = models.JSONField(default=list, blank=True)
    # "active", "paused", "completed" or a percentage of completion.
    service_status = models.JSONField(null=True, blank=True)
    service_results = models.JSONField(null=True, blank=True)
    service_applicability = models.JSONField(null=True, blank=True)
    # ML context information: when any of it is given, ML model information is (M).
    val_service_info = models.JSONField(null=True, blank=True)
    ml_task = models.CharField(max_length=32, choices=MLTask.choices, blank=True)
    ml_task_info = models.JSONField(null=True, blank=True)
    ml_model_info = models.JSONField(null=True, blank=True)
    transferred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "AIMLE context transfer"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ml_model_info__isnull=False)
                | models.Q(val_service_info__isnull=True, ml_task="", ml_task_info__isnull=True),
                name="aimle_context_ml_model_info_mandatory",
            ),
        ]

    def __str__(self) -> str:
        return f"Context of {self.client} from {self.requestor_id}"

    @property
    def has_ml_context(self) -> bool:
        return self.ml_model_info is not None

    def clean(self) -> None:
        errors = {}
        if not _is_list_of_names(self.previous_managing_servers):
            errors["previous_managing_servers"] = "A list of AIMLE server identifiers."
        status = self.service_status
        if status is not None and not (
            (isinstance(status, str) and 0 < len(status.strip()) <= 255)
            or (
                isinstance(status, int | float)
                and not isinstance(status, bool)
                and 0 <= status <= 100
            )
        ):
            errors["service_status"] = "A status name or a percentage of completion (0 to 100)."
        for field in ("ml_task_info", "ml_model_info"):
            if getattr(self, field) is not None and not isinstance(getattr(self, field), dict):
                errors[field] = "A JSON object."
        if errors:
            raise ValidationError(errors)


class HierarchyRole(models.TextChoices):
    """The role of a VAL server in a hierarchical computing process (TS 23.482 §8.25.1): one
    root, whose children are sub-roots, and leaves without children."""

    ROOT = "ROOT", "Root node"
    SUB_ROOT = "SUB_ROOT", "Sub-root node"
    LEAF = "LEAF", "Leaf node"


class ComputingTaskType(models.TextChoices):
    """The type of a hierarchical computing task (TS 23.482 table 8.25.3.1-1)."""

    VFL = "VFL", "Vertical federated learning"
    HFL = "HFL", "Horizontal federated learning"


class AssistanceInfoType(models.TextChoices):
    """The assistance information a hierarchical computing assistance request asks for."""

    CANDIDATE_NODES = "CANDIDATE_NODES", "Candidate execution node list"
    PREPARATION_STATUS = "PREPARATION_STATUS", "Computing preparation status"


class PreparationStatus(models.TextChoices):
    """How far an execution node is in preparing to compute (its environment, model, data)."""

    NOT_PREPARED = "NOT_PREPARED", "Not prepared"
    PREPARING = "PREPARING", "Preparing"
    PREPARED = "PREPARED", "Prepared"


class ExecutionNode(models.Model):
    """An execution node (e.g. an EAS of TS 23.558) that SAM Hub's AIMLE server offers to
    hierarchical computing processes (TS 23.482 §8.25): where it is, how many computing tasks
    it can run at once and runs now, which task types it takes, and its computing preparation
    status. Candidates are chosen by the rule of training.aimle.computing (docs/aimle.md)."""

    node_id = models.CharField(max_length=255, unique=True)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="execution_nodes"
    )
    service_area = models.CharField(max_length=255, db_index=True)
    capacity = models.PositiveIntegerField(
        validators=[MinValueValidator(1)], help_text="Computing tasks it can run at once."
    )
    current_load = models.PositiveIntegerField(
        default=0, help_text="Computing tasks it runs now (at most its capacity)."
    )
    task_types = models.JSONField(help_text='The computing task types it takes: ["HFL", "VFL"].')
    preparation_status = models.CharField(
        max_length=16, choices=PreparationStatus.choices, default=PreparationStatus.NOT_PREPARED
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["node_id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(capacity__gte=1), name="execution_node_capacity_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(current_load__lte=models.F("capacity")),
                name="execution_node_load_within_capacity",
            ),
        ]

    def __str__(self) -> str:
        return self.node_id

    @property
    def free_capacity(self) -> int:
        return self.capacity - self.current_load

    def clean(self) -> None:
        types = self.task_types
        if (
            not isinstance(types, list)
            or not types
            or not set(types) <= set(ComputingTaskType.values)
            or len(set(types)) != len(types)
        ):
            raise ValidationError(
                {
                    "task_types": f"A non-empty list of distinct {'/'.join(ComputingTaskType.values)}."
                }
            )
        load, capacity = self.current_load, self.capacity
        if load is not None and capacity is not None and load > capacity:
            raise ValidationError({"current_load": "At most the capacity."})
