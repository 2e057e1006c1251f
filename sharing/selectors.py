"""Sharing reads: which methods a version offers, subscriptions people may see."""

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Expression, F, Q, QuerySet
from django.db.models.functions import Coalesce

from core import roles
from registry.models import AccessType, ArtifactFormat, ModelVersion, SmallAIModel, VersionStatus
from sharing.models import (
    RESTORING_DECISIONS,
    WITHDRAWING_DECISIONS,
    Delivery,
    InferenceRecord,
    PackageStatus,
    SharingMethod,
    Subscription,
    SubscriptionEvent,
    SubscriptionStatus,
    VersionPackage,
)

# The order in which subscription actions are offered.
SUBSCRIPTION_ACTIONS = ("grant", "deny", "suspend", "resume", "revoke", "cancel")


def version_sharing_methods(version: ModelVersion) -> list[str]:
    """What a released version can be shared by (ENI SAM clause 6.1), from its access type."""
    if version.access_type == AccessType.EXTERNAL_ENDPOINT:
        return [SharingMethod.INFERENCE]
    if not version.artifact_sha256:
        return []
    methods = [SharingMethod.INFERENCE, SharingMethod.SDK, SharingMethod.BUNDLE]
    if version.artifact_format == ArtifactFormat.SKOPS:
        # scikit-learn estimators can be cloned and fitted on the consumer's data.
        methods.append(SharingMethod.RETRAINING)
    return methods


def catalog_subscribers() -> Expression:
    """Per version of the registry's catalog query: the people with an active subscription to
    its model, by any method, as last counted (VersionPopularity; registry.extensions)."""
    return Coalesce(F("popularity__subscribers"), 0)


def catalog_calls() -> Expression:
    """Per version of the registry's catalog query: its metered reasoning calls, whatever
    their outcome, as last counted (VersionPopularity; registry.extensions)."""
    return Coalesce(F("popularity__calls"), 0)


def latest_release(sam: SmallAIModel) -> ModelVersion | None:
    from registry.models import VersionStatus

    return (
        sam.versions.filter(status=VersionStatus.RELEASED).order_by("-released_at", "-pk").first()
    )


def deprecated_versions(sam: SmallAIModel) -> list[ModelVersion]:
    """The model's DEPRECATED versions, most recently deprecated first."""
    return list(
        sam.versions.filter(status=VersionStatus.DEPRECATED).order_by("-deprecated_at", "-pk")
    )


def serves_subscription(version: ModelVersion, subscription: Subscription) -> bool:
    """Whether a RELEASED or DEPRECATED version serves the subscription by its state: a
    deprecated version takes no new subscribers, so only subscriptions made before its
    deprecation (the rule sharing.api.inference's token statement applies in SQL)."""
    if version.status == VersionStatus.RELEASED:
        return True
    return (
        version.status == VersionStatus.DEPRECATED
        and version.deprecated_at is not None
        and subscription.created_at <= version.deprecated_at
    )


def subscription_version(subscription: Subscription) -> ModelVersion | None:
    """The version a subscription works on in the portal: the model's latest release, or,
    when the model has none left, its most recently deprecated version that still serves the
    subscription; None when neither exists."""
    version = latest_release(subscription.sam)
    if version is not None:
        return version
    return next(
        (v for v in deprecated_versions(subscription.sam) if serves_subscription(v, subscription)),
        None,
    )


def deprecations_for(subscriptions) -> dict[int, list[ModelVersion]]:
    """Per subscription id, the DEPRECATED versions of its model that still serve it (what the
    portal warns about), in one query for all the subscriptions."""
    subscriptions = list(subscriptions)
    deprecated = ModelVersion.objects.filter(
        sam_id__in={s.sam_id for s in subscriptions}, status=VersionStatus.DEPRECATED
    ).order_by("-deprecated_at", "-pk")
    found: dict[int, list[ModelVersion]] = {s.pk: [] for s in subscriptions}
    for version in deprecated:
        for subscription in subscriptions:
            if subscription.sam_id == version.sam_id and serves_subscription(version, subscription):
                found[subscription.pk].append(version)
    return found


def version_package(version: ModelVersion, kind: str) -> VersionPackage | None:
    return VersionPackage.objects.filter(version=version, kind=kind).first()


def model_sharing_methods(sam: SmallAIModel) -> list[str]:
    version = latest_release(sam)
    return version_sharing_methods(version) if version else []


def subscriptions_visible_to(user: User | AnonymousUser) -> QuerySet[Subscription]:
    """A consumer sees their own; a provider also those to their organisations' models;
    operators all."""
    subscriptions = Subscription.objects.select_related("consumer", "sam", "sam__organisation")
    if not user.is_authenticated:
        return subscriptions.none()
    if roles.is_operator(user):
        return subscriptions
    return subscriptions.filter(Q(consumer=user) | Q(sam__organisation__members=user)).distinct()


def subscriptions_of(user: User) -> QuerySet[Subscription]:
    # With the consumer: each row's confirmation question names it (sharing.views._rows).
    return Subscription.objects.filter(consumer=user).select_related(
        "consumer", "sam", "sam__organisation"
    )


def pending_requests_for(user: User) -> QuerySet[Subscription]:
    """Subscription requests waiting for this user's decision, oldest first."""
    pending = Subscription.objects.filter(status=SubscriptionStatus.PENDING).select_related(
        "consumer", "sam", "sam__organisation"
    )
    if not roles.is_operator(user):
        pending = pending.filter(sam__organisation__members=user)
    return pending.order_by("created_at", "pk")


def access_withdrawal(user: User, sam_id: int, method: str) -> SubscriptionEvent | None:
    """The latest decision of the model's organisation or an operator on the user's access to
    the model by the method, when it withdrew access (a denial, suspension or revocation) and
    no grant or resume came after it; None otherwise. Spans all the user's subscriptions to
    the model by the method, cancelled ones included."""
    latest = (
        SubscriptionEvent.objects.filter(
            subscription__consumer=user,
            subscription__sam_id=sam_id,
            subscription__method=method,
            name__in=WITHDRAWING_DECISIONS + RESTORING_DECISIONS,
        )
        .select_related("actor")
        .order_by("-created_at", "-pk")
        .first()
    )
    return latest if latest is not None and latest.name in WITHDRAWING_DECISIONS else None


def subscription_status_reason(subscription: Subscription) -> str:
    """Why the subscription is in its status: the reason given with its latest change (for a
    PENDING one, why it waits for a grant). Uses prefetched events when there are."""
    events = list(subscription.events.all())
    return events[-1].reason if events else ""


def active_subscription(user: User, sam_id: int, method: str) -> Subscription | None:
    return Subscription.objects.filter(
        consumer=user, sam_id=sam_id, method=method, status=SubscriptionStatus.ACTIVE
    ).first()


def granted_subscription_exists(user: User | AnonymousUser, sam_id: int) -> bool:
    """Whether the user holds a granted subscription to the model, by any method: ACTIVE, or
    SUSPENDED (access paused, the calls made before still theirs to look at)."""
    return user.is_authenticated and (
        Subscription.objects.filter(
            consumer=user,
            sam_id=sam_id,
            status__in=(SubscriptionStatus.ACTIVE, SubscriptionStatus.SUSPENDED),
        ).exists()
    )


def deliveries_of(user: User) -> QuerySet[Delivery]:
    """The model files, SDK wheels and bundles the user took out of the warehouse, newest
    first."""
    return Delivery.objects.filter(user=user).select_related("version__sam")


def subscription_available_actions(subscription: Subscription, user: User) -> list[str]:
    """Transitions the user may take now: the state allows them and their guard (the one the
    service checks, from sharing.permissions) allows the user."""
    allowed = {
        t.name
        for t in subscription.get_all_status_transitions()
        if t.source == subscription.status and t.has_perm(subscription, user)
    }
    return [name for name in SUBSCRIPTION_ACTIONS if name in allowed]


def subscriptions_decided_by(user: User) -> QuerySet[Subscription]:
    """Granted subscriptions to the user's organisations' models (operators: all of them)."""
    decided = subscriptions_visible_to(user).filter(
        status__in=[SubscriptionStatus.ACTIVE, SubscriptionStatus.SUSPENDED]
    )
    if not roles.is_operator(user):
        decided = decided.filter(sam__organisation__in=user.organisations.all())
    return decided.order_by("sam__name", "-updated_at", "-pk")


def inferences_visible_to(user: User | AnonymousUser) -> QuerySet[InferenceRecord]:
    """A caller sees their own calls; members of the model's organisation all calls of its
    versions; operators everything."""
    records = InferenceRecord.objects.select_related(
        "version", "version__sam", "version__sam__organisation", "caller", "input_data_set"
    )
    if not user.is_authenticated:
        return records.none()
    if roles.is_operator(user):
        return records
    # A subquery rather than a join on members: no duplicate rows, so no DISTINCT over JSON.
    return records.filter(
        Q(caller=user) | Q(version__sam__organisation__in=user.organisations.values("pk"))
    )


def subscriptions_waiting_for_grant() -> QuerySet[Subscription]:
    """Requests no one has decided yet, oldest first (the operators' dashboard)."""
    return (
        Subscription.objects.filter(status=SubscriptionStatus.PENDING)
        .select_related("sam", "consumer")
        .order_by("created_at")
    )


def package_builds_unfinished() -> QuerySet[VersionPackage]:
    """SDK wheels and bundles queued, building or failed, oldest first (the operators'
    dashboard; a failed one is queued again when someone retries it)."""
    return (
        VersionPackage.objects.filter(
            status__in=(PackageStatus.PENDING, PackageStatus.BUILDING, PackageStatus.FAILED)
        )
        .select_related("version__sam")
        .order_by("created_at")
    )
