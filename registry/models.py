from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower, Upper
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from core.models import StateChange
from registry import permissions

SEMVER = RegexValidator(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$",
    "Use a semantic version such as 1.0.0 or 2.1.0-rc.1.",
)


class Organisation(models.Model):
    """A company or department whose providers publish SAMs (ENI SAM clause 5, "AI model provider")."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=200, unique=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="organisations", blank=True
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    """A free label used to categorise SAMs in the catalog (ENI SAM clause 5, step 5)."""

    name = models.SlugField(max_length=64, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class InferenceType(models.TextChoices):
    NWDAF_ANALYTICS = "NWDAF_ANALYTICS", "NWDAF Analytics ID"
    MDA = "MDA", "MDA type"
    VENDOR_SPECIFIC = "VENDOR_SPECIFIC", "Vendor-specific"


class SmallAIModel(models.Model):
    """A Smaller AI Model (SAM) as its provider signs it in (ENI SAM clause 5, step 1)."""

    name = models.CharField(max_length=200)
    # "<organisation slug>--<name slug>" (registry.services.sam_slug): unique without
    # revealing other organisations' models, so it has room for both slugs.
    slug = models.SlugField(max_length=420, unique=True)
    description = models.TextField(blank=True)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="models")
    inference_type = models.CharField(max_length=32, choices=InferenceType.choices)
    inference_name = models.CharField(
        max_length=128,
        blank=True,
        help_text="The NWDAF Analytics ID, MDA type or vendor name of what the model infers.",
    )
    domain = models.CharField(max_length=100, blank=True, help_text="Domain or specialty, e.g. RAN")
    region = models.CharField(max_length=100, blank=True)
    scenario = models.CharField(max_length=200, blank=True)
    tags = models.ManyToManyField(Tag, related_name="models", blank=True)
    licence = models.CharField(max_length=100, blank=True)
    intended_use = models.TextField(blank=True)
    limitations = models.TextField(blank=True)
    approval_required = models.BooleanField(
        default=False,
        help_text="Subscriptions wait for the organisation or an operator to grant them.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "small AI model"
        indexes = [
            # The catalog's sort by name (registry.selectors.CATALOG_ORDERS).
            models.Index(Lower("name"), name="sam_by_name")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"], name="unique_model_name_per_org"
            )
        ]

    def __str__(self) -> str:
        return self.name


class VersionStatus(models.TextChoices):
    DRAFT = "DRAFT", "Draft"
    SUBMITTED = "SUBMITTED", "Submitted for audit"
    APPROVED = "APPROVED", "Approved"
    REJECTED = "REJECTED", "Rejected"
    REGISTERED = "REGISTERED", "Registered"
    RELEASED = "RELEASED", "Released"
    DEPRECATED = "DEPRECATED", "Deprecated"
    RETIRED = "RETIRED", "Retired"


class AccessType(models.TextChoices):
    MODEL_FILE = "MODEL_FILE", "Model file in the warehouse"
    RUNTIME_BUNDLE = "RUNTIME_BUNDLE", "Runtime bundle (model plus runtime)"
    EXTERNAL_ENDPOINT = "EXTERNAL_ENDPOINT", "External inference endpoint"


class ArtifactFormat(models.TextChoices):
    ONNX = "onnx", "ONNX"
    SKOPS = "skops", "scikit-learn (skops)"


def _has_access_target(version: "ModelVersion") -> bool:
    if version.access_type == AccessType.EXTERNAL_ENDPOINT:
        return bool(version.endpoint_url)
    return bool(version.access_type and version.artifact_sha256)


def _file_is_the_approved_one(version: "ModelVersion") -> bool:
    """What is registered and released is the file the auditor approved (or no file at all)."""
    return version.artifact_sha256 == version.approved_sha256


class ModelVersion(ConcurrentTransitionMixin, models.Model):
    """One version of a SAM and its place in the ENI SAM lifecycle (clause 5, steps 1-5)."""

    sam = models.ForeignKey(SmallAIModel, on_delete=models.CASCADE, related_name="versions")
    version = models.CharField(max_length=64, validators=[SEMVER])
    status = FSMField(
        max_length=16, choices=VersionStatus.choices, default=VersionStatus.DRAFT, protected=True
    )
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    release_notes = models.TextField(blank=True)
    training_context = models.JSONField(
        default=dict, blank=True, help_text="Data, features and period the version was trained on."
    )
    access_type = models.CharField(max_length=32, choices=AccessType.choices, blank=True)
    endpoint_url = models.URLField(blank=True)
    artifact = models.FileField(max_length=300, blank=True)
    artifact_filename = models.CharField(max_length=255, blank=True)
    artifact_format = models.CharField(max_length=16, choices=ArtifactFormat.choices, blank=True)
    artifact_sha256 = models.CharField(max_length=64, blank=True)
    artifact_size = models.BigIntegerField(null=True, blank=True)
    artifact_uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Filled by the artifact checker (registry.artifact_inspection); null means unmeasured,
    # and the web process refuses to load an unmeasured model.
    artifact_loaded_bytes = models.BigIntegerField(
        null=True, blank=True, help_text="Memory that loading the model adds, measured at upload."
    )
    artifact_peak_memory = models.BigIntegerField(
        null=True, blank=True, help_text="Peak memory of the checker process on this file."
    )
    signature = models.JSONField(
        default=dict, blank=True, help_text="Inputs and outputs: name, element type, shape."
    )
    approved_sha256 = models.CharField(
        max_length=64,
        blank=True,
        help_text="sha256 of the model file the approval covers; empty if approved without one.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    deprecated_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When it was deprecated: it serves subscriptions made before then, until "
        "it is retired (the Deprecation header of its answers, RFC 9745).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sam__name", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["sam", "version"], name="unique_version_per_model")
        ]
        indexes = [
            # The catalog: released versions, newest release first (registry.selectors); its
            # facets count them by model from this index alone on PostgreSQL (include).
            models.Index(
                fields=["status", "-released_at"],
                include=["sam", "id"],
                name="version_by_status_release",
            )
        ]
        permissions = [
            ("submit_modelversion", "Can submit a model version for audit"),
            ("audit_modelversion", "Can approve or reject a submitted model version"),
            ("register_modelversion", "Can register a model version in the warehouse"),
            ("release_modelversion", "Can release a model version into the catalog"),
            ("retire_modelversion", "Can deprecate and retire a released model version"),
            ("operate_warehouse", "Can operate the warehouse for every organisation"),
        ]

    def __str__(self) -> str:
        return f"{self.sam.name} {self.version}"

    def example_inputs(self) -> dict:
        """Zeros in the shape of each input of the signature, one instance: the inputs of a
        call to start from, keyed by the model's real input names (a dimension without a
        fixed size, such as the batch, counts 1)."""

        def zeros(shape):
            if not shape:
                return 0.0
            n = shape[0] if isinstance(shape[0], int) else 1
            return [zeros(shape[1:]) for _ in range(n)]

        inputs = (self.signature or {}).get("inputs", [])
        return {spec["name"]: zeros(spec.get("shape") or [1]) for spec in inputs}

    @transition(
        field=status,
        source=VersionStatus.DRAFT,
        target=VersionStatus.SUBMITTED,
        permission=permissions.can_submit,
    )
    def submit(self, *, by) -> None:
        self.submitted_by = by
        self.submitted_at = timezone.now()

    @transition(
        field=status,
        source=VersionStatus.SUBMITTED,
        target=VersionStatus.APPROVED,
        permission=permissions.can_audit,
    )
    def approve(self) -> None:
        # The file is frozen from SUBMITTED on; register and release compare against this.
        self.approved_sha256 = self.artifact_sha256

    @transition(
        field=status,
        source=VersionStatus.SUBMITTED,
        target=VersionStatus.REJECTED,
        permission=permissions.can_audit,
    )
    def reject(self) -> None:
        pass

    @transition(
        field=status,
        source=VersionStatus.REJECTED,
        target=VersionStatus.DRAFT,
        permission=permissions.can_edit_version,
    )
    def revise(self) -> None:
        self.submitted_by = None
        self.submitted_at = None
        self.approved_sha256 = ""

    @transition(
        field=status,
        source=VersionStatus.APPROVED,
        target=VersionStatus.REGISTERED,
        permission=permissions.can_register,
        conditions=[_has_access_target, _file_is_the_approved_one],
    )
    def register(self) -> None:
        pass

    @transition(
        field=status,
        source=VersionStatus.REGISTERED,
        target=VersionStatus.RELEASED,
        permission=permissions.can_release,
        conditions=[_file_is_the_approved_one],
    )
    def release(self) -> None:
        self.released_at = timezone.now()

    @transition(
        field=status,
        source=VersionStatus.RELEASED,
        target=VersionStatus.DEPRECATED,
        permission=permissions.can_retire,
    )
    def deprecate(self) -> None:
        self.deprecated_at = timezone.now()

    @transition(
        field=status,
        source=VersionStatus.DEPRECATED,
        target=VersionStatus.RETIRED,
        permission=permissions.can_retire,
    )
    def retire(self) -> None:
        pass


class ModelPerformance(models.Model):
    """A measured score of one version's output (TS 28.105 ModelPerformance data type)."""

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="performance")
    inference_output_name = models.CharField(max_length=128)
    performance_metric = models.CharField(max_length=64)
    performance_score = models.FloatField()
    decision_confidence_score = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["inference_output_name", "performance_metric"]
        indexes = [
            # The catalog's metric filter and facet compare names case-insensitively.
            models.Index(Upper("performance_metric"), "version", name="performance_by_metric")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "inference_output_name", "performance_metric"],
                name="unique_metric_per_output",
            )
        ]

    def __str__(self) -> str:
        return f"{self.performance_metric}={self.performance_score:g}"


class VersionTransition(StateChange):
    """One step of a version through the lifecycle: who, when, from, to, why."""

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="transitions")
    source = models.CharField(max_length=16, choices=VersionStatus.choices)
    target = models.CharField(max_length=16, choices=VersionStatus.choices)

    def __str__(self) -> str:
        return f"{self.version}: {self.source} -> {self.target}"


class AuditDecision(models.TextChoices):
    APPROVED = "APPROVED", "Approved"
    REJECTED = "REJECTED", "Rejected"


class AuditReview(models.Model):
    """An auditor's decision on a submitted version (ENI SAM clause 5, step 2)."""

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="reviews")
    auditor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(max_length=16, choices=AuditDecision.choices)
    reason = models.TextField(blank=True)
    findings = models.JSONField(
        default=list, blank=True, help_text='Per-field findings: [{"field": ..., "message": ...}]'
    )
    checklist = models.JSONField(
        default=list, blank=True, help_text="The automatic checklist as the auditor saw it."
    )
    artifact_sha256 = models.CharField(
        max_length=64,
        blank=True,
        help_text="sha256 of the model file the auditor decided on; empty if there was none.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.version}: {self.decision}"
