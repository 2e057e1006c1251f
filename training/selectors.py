"""Training reads: the datasets each user may see, and where they may upload."""

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet

from core.errors import DomainError
from registry.models import AccessType, ArtifactFormat, ModelVersion, Organisation
from registry.selectors import organisations_visible_to, versions_visible_to
from training import permissions
from training.models import (
    DN_ROOT,
    Dataset,
    MLTrainingProcess,
    MLTrainingReport,
    MLTrainingRequest,
)


def datasets_visible_to(user: User | AnonymousUser) -> QuerySet[Dataset]:
    datasets = Dataset.objects.select_related("organisation", "uploaded_by")
    if not user.is_authenticated:
        return datasets.none()
    if permissions.sees_every_dataset(user):
        return datasets
    return datasets.filter(organisation__members=user)


def dataset_visible_to(user: User | AnonymousUser, dataset_id: int) -> Dataset:
    """One dataset the user may see; another answers like an unknown id (404)."""
    try:
        return datasets_visible_to(user).get(pk=dataset_id)
    except Dataset.DoesNotExist:
        raise DomainError(
            f"There is no dataset {dataset_id} that you can see.", code="not_found", status=404
        ) from None


def upload_organisations_of(user: User | AnonymousUser) -> QuerySet[Organisation]:
    """The organisations the user may upload a dataset for."""
    return Organisation.objects.filter(
        pk__in=[
            o.pk for o in organisations_visible_to(user) if permissions.can_upload_dataset(user, o)
        ]
    )


# --- training requests, processes and reports ------------------------------------------------


def datasets_usable_by(user: User | AnonymousUser) -> QuerySet[Dataset]:
    """The datasets the user may name as candidate training data (training.permissions)."""
    if not user.is_authenticated:
        return Dataset.objects.none()
    if permissions.is_operator(user):
        return Dataset.objects.all()
    return Dataset.objects.filter(organisation__members=user)


def training_requests_visible_to(user: User | AnonymousUser) -> QuerySet[MLTrainingRequest]:
    """The requester's, their organisations' models', and all of them for auditors and
    operators (training.permissions)."""
    requests = MLTrainingRequest.objects.select_related(
        "ml_entity", "ml_entity__sam", "ml_entity__sam__organisation", "requested_by"
    ).prefetch_related("candidate_training_data_sources")
    if not user.is_authenticated:
        return requests.none()
    if permissions.sees_every_training(user):
        return requests
    return requests.filter(
        Q(requested_by=user) | Q(ml_entity__sam__organisation__members=user)
    ).distinct()


def training_processes_visible_to(user: User | AnonymousUser) -> QuerySet[MLTrainingProcess]:
    processes = MLTrainingProcess.objects.select_related(
        "training_request", "ml_entity", "ml_entity__sam", "ml_entity__sam__organisation"
    ).prefetch_related("report")
    if not user.is_authenticated:
        return processes.none()
    if permissions.sees_every_training(user):
        return processes
    return processes.filter(training_request__in=training_requests_visible_to(user).values("pk"))


def training_reports_visible_to(user: User | AnonymousUser) -> QuerySet[MLTrainingReport]:
    reports = MLTrainingReport.objects.select_related(
        "ml_entity", "ml_entity__sam", "trained_version", "training_request", "training_process"
    ).prefetch_related("used_consumer_training_data")
    if not user.is_authenticated:
        return reports.none()
    if permissions.sees_every_training(user):
        return reports
    return reports.filter(training_request__in=training_requests_visible_to(user).values("pk"))


def _one(queryset, pk: int, what: str):
    try:
        return queryset.get(pk=pk)
    except queryset.model.DoesNotExist:
        raise DomainError(
            f"There is no {what} {pk} that you can see.", code="not_found", status=404
        ) from None


def training_request_visible_to(user: User | AnonymousUser, request_id: int) -> MLTrainingRequest:
    return _one(training_requests_visible_to(user), request_id, "training request")


def training_process_visible_to(user: User | AnonymousUser, process_id: int) -> MLTrainingProcess:
    return _one(training_processes_visible_to(user), process_id, "training process")


def is_trainable(version: ModelVersion) -> bool:
    """A scikit-learn estimator in the warehouse, which training clones and fits."""
    return (
        version.artifact_format == ArtifactFormat.SKOPS
        and bool(version.artifact_sha256)
        and version.access_type != AccessType.EXTERNAL_ENDPOINT
    )


@dataclass(frozen=True)
class MLEntity:
    """A SAM Hub model version seen as a TS 28.105 MLEntity (§7.4.2) with its three
    MLContexts (§7.4.3): where it is expected to run (the latest request's
    expectedRuntimeContext), what it was trained on (its training context) and where it runs
    (the consumers whose subscriptions it serves)."""

    version: ModelVersion
    expected_runtime_context: dict
    training_context: dict
    runtime_context: dict

    @property
    def ml_entity_id(self) -> str:
        return str(self.version.pk)

    @property
    def inference_type(self) -> str:
        sam = self.version.sam
        return sam.inference_name or sam.inference_type


def ml_context(*, inference_entity_ref=(), data_provider_ref=()) -> dict:
    """An MLContext (§7.4.3): the DNs of who uses the entity and who provides its data."""
    return {
        "inference_entity_ref": sorted(set(inference_entity_ref)),
        "data_provider_ref": sorted(set(data_provider_ref)),
    }


def ml_entity_of(version: ModelVersion) -> MLEntity:
    from sharing.models import Subscription, SubscriptionStatus

    latest = version.training_requests.order_by("-created_at", "-pk").first()
    context = version.training_context or {}
    consumers = Subscription.objects.filter(
        sam_id=version.sam_id, status=SubscriptionStatus.ACTIVE
    ).values_list("consumer__username", flat=True)
    return MLEntity(
        version=version,
        expected_runtime_context=latest.expected_runtime_context if latest else ml_context(),
        training_context=ml_context(
            inference_entity_ref=context.get("inference_entity_ref", ()),
            data_provider_ref=context.get("data_provider_ref", ()),
        ),
        runtime_context=ml_context(inference_entity_ref=[f"Consumer={u}" for u in consumers]),
    )


def ml_entities_of(user: User | AnonymousUser) -> QuerySet[ModelVersion]:
    """`mLEntityList` of the training function as the user sees it: the versions SAM Hub can
    train (a scikit-learn model file in the warehouse)."""
    return (
        versions_visible_to(user)
        .filter(artifact_format=ArtifactFormat.SKOPS, artifact_sha256__gt="")
        .exclude(access_type=AccessType.EXTERNAL_ENDPOINT)
    )


def version_trainable_by(user: User | AnonymousUser, version: ModelVersion) -> bool:
    """Whether the user may request a training of the version and SAM Hub can train it (the
    training request form offers it)."""
    return (
        permissions.can_request_training(version, user)
        and ml_entities_of(user).filter(pk=version.pk).exists()
    )


def dataset_dn(dataset_id: int) -> str:
    """How a dataset is addressed as a data provider (dataProviderRef, candidate sources)."""
    return f"{DN_ROOT},Dataset={dataset_id}"


def retrained_version_of(request: MLTrainingRequest) -> ModelVersion | None:
    """The version the request's training produced, if it has one yet."""
    process = (
        request.processes.filter(trained_version__isnull=False)
        .select_related("trained_version", "trained_version__sam")
        .first()
    )
    return process.trained_version if process else None


def retraining_requests_of(subscription) -> QuerySet[MLTrainingRequest]:
    """The training requests a consumer made under a RETRAINING subscription, newest first,
    with their processes, reports and the versions they produced."""
    return (
        MLTrainingRequest.objects.filter(subscription=subscription)
        .select_related("ml_entity", "ml_entity__sam")
        .prefetch_related(
            "candidate_training_data_sources",
            "processes__report",
            "processes__trained_version",
        )
        .order_by("-created_at", "-pk")
    )


def trainable_versions_for(user: User | AnonymousUser) -> list[ModelVersion]:
    """The versions the user may request a training of (training.permissions), newest first:
    their organisations' trainable versions, and for a consumer the released ones their
    RETRAINING subscriptions serve."""
    versions = ml_entities_of(user).select_related("sam", "sam__organisation")
    return [
        v
        for v in versions.order_by("sam__name", "-created_at", "-pk")
        if permissions.can_request_training(v, user)
    ]


def training_report_visible_to(user: User | AnonymousUser, report_id: int) -> MLTrainingReport:
    return _one(training_reports_visible_to(user), report_id, "training report")


def training_reports_of(
    user: User | AnonymousUser, versions: list[ModelVersion]
) -> dict[int, MLTrainingReport]:
    """The report of the training that produced each of the versions, by version id, for those
    whose report the user may see (training_reports_visible_to)."""
    reports = training_reports_visible_to(user).filter(trained_version__in=[v.pk for v in versions])
    return {report.trained_version_id: report for report in reports}


# The order in which the portal offers the actions on a request or a process.
TRAINING_ACTIONS = ("suspend", "resume", "cancel")


def training_actions_for(obj: MLTrainingRequest | MLTrainingProcess, user) -> list[str]:
    """The actions (cancel, suspend, resume) the user may take on a request or a process now:
    its state allows them and training.permissions lets the user manage its request."""
    request = obj if isinstance(obj, MLTrainingRequest) else obj.training_request
    if request is None or not permissions.can_manage_training(request, user):
        return []
    allowed = {t.name for t in obj.get_all_status_transitions() if t.source == obj.status}
    return [name for name in TRAINING_ACTIONS if name in allowed]


def report_comparison(report: MLTrainingReport) -> list[dict]:
    """Per metric the report measured: the parent version's score (as the registry records
    it), the new version's on the held-out rows (its performance) and on the training rows."""
    parent = {p.performance_metric: p.performance_score for p in report.ml_entity.performance.all()}
    training = {
        p["performance_metric"]: p["performance_score"] for p in report.model_performance_training
    }
    return [
        {
            "metric": p["performance_metric"],
            "output": p.get("inference_output_name", ""),
            "parent": parent.get(p["performance_metric"]),
            "validation": p["performance_score"],
            "training": training.get(p["performance_metric"]),
            "lower_is_better": p["performance_metric"] in ("MAE", "MSE"),
        }
        for p in report.model_performance_validation
    ]
