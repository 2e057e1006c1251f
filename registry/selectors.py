"""Registry reads: what each user may see, the catalog and the audit queue."""

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, F, Min, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from core import roles
from core.errors import DomainError
from registry import permissions
from registry.models import (
    AuditDecision,
    AuditReview,
    ModelPerformance,
    ModelVersion,
    Organisation,
    SmallAIModel,
    VersionStatus,
    VersionTransition,
)

CATALOG_STATES = (VersionStatus.RELEASED,)
# Seen by every signed-in user: the catalog lists RELEASED versions only, but a DEPRECATED one
# still serves the subscriptions made before its deprecation (sharing.services), so it stays
# readable, with its deprecation shown, until it is retired.
PUBLISHED_STATES = (VersionStatus.RELEASED, VersionStatus.DEPRECATED)
# Catalog orders: by release time, or by the score of the chosen metric ("-" = descending).
CATALOG_SORTS = ("-released_at", "released_at", "-score", "score")


def versions_visible_to(user: User | AnonymousUser) -> QuerySet[ModelVersion]:
    """Consumers see released and deprecated versions; providers also their organisations'
    work; auditors and operators everything."""
    versions = ModelVersion.objects.select_related("sam", "sam__organisation", "parent")
    if not user.is_authenticated:
        return versions.none()
    if permissions.sees_every_version(user):
        return versions
    return versions.filter(
        Q(status__in=PUBLISHED_STATES) | Q(sam__organisation__members=user)
    ).distinct()


def version_visible_to(user: User | AnonymousUser, version_id: int) -> ModelVersion:
    """One version by id, under the rule of versions_visible_to(), in one query for released
    and deprecated versions (inference calls); raises ModelVersion.DoesNotExist."""
    version = ModelVersion.objects.select_related("sam").get(pk=version_id)
    if not user.is_authenticated:
        raise ModelVersion.DoesNotExist
    if version.status in PUBLISHED_STATES:
        return version
    if permissions.sees_every_version(user) or roles.is_member(user, version.sam.organisation_id):
        return version
    raise ModelVersion.DoesNotExist


def models_visible_to(user: User | AnonymousUser) -> QuerySet[SmallAIModel]:
    sams = SmallAIModel.objects.select_related("organisation").prefetch_related("tags")
    if not user.is_authenticated:
        return sams.none()
    if permissions.sees_every_version(user):
        return sams
    return sams.filter(
        Q(versions__status__in=PUBLISHED_STATES) | Q(organisation__members=user)
    ).distinct()


def organisations_visible_to(user: User | AnonymousUser) -> QuerySet[Organisation]:
    if not user.is_authenticated:
        return Organisation.objects.none()
    if permissions.sees_every_version(user):
        return Organisation.objects.all()
    return user.organisations.all()


# While a version is in one of these, its audit is pending or its approval not yet released.
AUDIT_PENDING_STATES = (VersionStatus.SUBMITTED, VersionStatus.APPROVED, VersionStatus.REGISTERED)
# A released version's audit covered the model's fields.
PUBLISHED_STATES = (VersionStatus.RELEASED, VersionStatus.DEPRECATED)


def sam_audit_freeze(sam: SmallAIModel) -> str | None:
    """Why the model's audited fields cannot change now, or None if they can.

    They are shared by its versions, so they are frozen while a version is audited or
    approved and not yet released (what is released is what was audited), and once a version
    is released they change only together with a new revision, a DRAFT that goes through the
    audit.
    """
    versions = list(sam.versions.order_by("created_at", "pk").values_list("version", "status"))
    for version, status in versions:
        if status in AUDIT_PENDING_STATES:
            return (
                f"{sam.name} {version} is {status}: the model's audited fields are frozen from "
                "submission until the version is released or rejected, so that what is "
                "released is what was audited."
            )
    statuses = {status for _, status in versions}
    if statuses & set(PUBLISHED_STATES) and VersionStatus.DRAFT not in statuses:
        return (
            f"A released version of {sam.name} was audited with the model's fields. Change "
            "them in a new version: start a DRAFT, edit it, and submit it for audit."
        )
    return None


def version_available_actions(version: ModelVersion, user: User | AnonymousUser) -> list[str]:
    """Lifecycle actions the user may take now: the state allows the transition and its
    registry.permissions guard (the one the service checks) allows the user."""
    return [
        transition.name
        for transition in version.get_all_status_transitions()
        if transition.source == version.status and transition.has_perm(version, user)
    ]


def version_lineage(version: ModelVersion, user: User | AnonymousUser) -> list[ModelVersion]:
    """The ancestors the user can see, direct parent first."""
    chain, seen, parent = [], {version.pk}, version.parent
    while parent is not None and parent.pk not in seen:
        seen.add(parent.pk)
        chain.append(parent)
        parent = parent.parent
    visible = set(
        versions_visible_to(user).filter(pk__in=[v.pk for v in chain]).values_list("pk", flat=True)
    )
    return [v for v in chain if v.pk in visible]


def version_reviews(version: ModelVersion) -> QuerySet[AuditReview]:
    return version.reviews.select_related("auditor")


def organisation_models(user: User) -> QuerySet[SmallAIModel]:
    """The models of the user's organisations (a provider's own), by name."""
    return SmallAIModel.objects.filter(organisation__in=user.organisations.values("pk")).order_by(
        "name", "pk"
    )


def organisation_published_versions(user: User) -> QuerySet[ModelVersion]:
    """The released and deprecated versions of the user's organisations' models, by model
    name, newest release first."""
    return (
        ModelVersion.objects.filter(
            sam__organisation__in=user.organisations.values("pk"), status__in=PUBLISHED_STATES
        )
        .select_related("sam")
        .order_by("sam__name", "-released_at", "-pk")
    )


def organisation_version_counts(user: User) -> dict[int, dict[str, int]]:
    """How many versions of each of the user's organisations' models are in each state:
    {model id: {status: count}}, in one statement."""
    rows = (
        ModelVersion.objects.filter(sam__organisation__in=user.organisations.values("pk"))
        .order_by()
        .values("sam_id", "status")
        .annotate(count=Count("pk"))
    )
    counts: dict[int, dict[str, int]] = {}
    for row in rows:
        counts.setdefault(row["sam_id"], {})[row["status"]] = row["count"]
    return counts


def versions_with_findings(user: User) -> QuerySet[ModelVersion]:
    """The user's organisations' versions whose audit findings wait to be fixed: REJECTED
    ones, and DRAFTs revised after a rejection and not submitted again; each with its
    rejections, newest first, as `rejections`. Most recently changed first."""
    rejections = AuditReview.objects.filter(decision=AuditDecision.REJECTED)
    return (
        ModelVersion.objects.filter(
            sam__organisation__in=user.organisations.values("pk"),
            status__in=(VersionStatus.REJECTED, VersionStatus.DRAFT),
            pk__in=rejections.values("version_id"),
        )
        .select_related("sam")
        .prefetch_related(
            Prefetch("reviews", queryset=rejections.select_related("auditor"), to_attr="rejections")
        )
        .order_by("-updated_at", "-pk")
    )


def audit_decisions_of(user: User) -> QuerySet[AuditReview]:
    """The approvals and rejections the auditor made, newest first."""
    return AuditReview.objects.filter(auditor=user).select_related("version__sam")


def audit_queue(user: User) -> QuerySet[ModelVersion]:
    """Submitted versions waiting for an auditor, oldest first, minus those the auditor is a
    party to (permissions.audit_refusal): created, uploaded or submitted by them, or of one of
    their organisations."""
    return (
        ModelVersion.objects.filter(status=VersionStatus.SUBMITTED)
        .exclude(
            Q(submitted_by=user)
            | Q(created_by=user)
            | Q(artifact_uploaded_by=user)
            | Q(sam__organisation__in=user.organisations.all())
        )
        .select_related("sam", "sam__organisation", "submitted_by")
        .order_by("submitted_at", "pk")
    )


def auditors_of(version: ModelVersion) -> QuerySet[User]:
    """The active auditors who may audit the version: audit_queue's rule seen from the
    version (permissions.audit_refusal: no party to it, nobody of its organisation)."""
    return (
        User.objects.with_perm(roles.AUDIT, backend="django.contrib.auth.backends.ModelBackend")
        .exclude(  # `in` drops the Nones (no upload, not submitted yet)
            pk__in=[version.created_by_id, version.artifact_uploaded_by_id, version.submitted_by_id]
        )
        .exclude(organisations=version.sam.organisation_id)
    )


def version_history(version: ModelVersion) -> QuerySet[VersionTransition]:
    return version.transitions.select_related("actor")


def catalog_search(
    *,
    q: str = "",
    inference_type: str = "",
    domain: str = "",
    region: str = "",
    scenario: str = "",
    tags: list[str] | None = None,
    metric: str = "",
    min_score: float | None = None,
    max_score: float | None = None,
    sort: str = "-released_at",
) -> QuerySet[ModelVersion]:
    """Released versions matching the filters, newest release first unless `sort` (one of
    CATALOG_SORTS) says otherwise; text search is full-text on PostgreSQL."""
    if sort not in CATALOG_SORTS:
        raise DomainError(
            f"Sort by one of {', '.join(CATALOG_SORTS)}.", details={"sort": ["unknown order"]}
        )
    if sort.endswith("score") and not metric:
        raise DomainError(
            "Choose the metric whose score orders the catalog.",
            details={"metric": ["required to sort by score"]},
        )
    versions = (
        ModelVersion.objects.filter(status__in=CATALOG_STATES)
        .select_related("sam", "sam__organisation")
        .prefetch_related("performance", "sam__tags")
    )
    exact = {
        "sam__inference_type": inference_type,
        "sam__domain__iexact": domain,
        "sam__region__iexact": region,
        "sam__scenario__iexact": scenario,
    }
    versions = versions.filter(**{k: v for k, v in exact.items() if v})
    for tag in tags or []:
        versions = versions.filter(sam__tags__name=tag)
    if metric or min_score is not None or max_score is not None:
        score = Q()
        if metric:
            score &= Q(performance__performance_metric__iexact=metric)
        if min_score is not None:
            score &= Q(performance__performance_score__gte=min_score)
        if max_score is not None:
            score &= Q(performance__performance_score__lte=max_score)
        versions = versions.filter(pk__in=ModelVersion.objects.filter(score).values("pk"))
    if q:
        versions = _text_search(versions, q)
    if sort.endswith("score"):
        return _by_score(versions, metric, descending=sort.startswith("-"))
    return versions.order_by(sort, "pk")


def _by_score(
    versions: QuerySet[ModelVersion], metric: str, *, descending: bool
) -> QuerySet[ModelVersion]:
    """Order by the metric's score; a version scored on several outputs ranks by its best in
    the sort's direction. Versions without the metric go last, ties newest release first."""
    scores = ModelPerformance.objects.filter(
        version=OuterRef("pk"), performance_metric__iexact=metric
    ).order_by("-performance_score" if descending else "performance_score")
    score = F("metric_score")
    return versions.annotate(
        metric_score=Subquery(scores.values("performance_score")[:1])
    ).order_by(
        score.desc(nulls_last=True) if descending else score.asc(nulls_last=True),
        "-released_at",
        "pk",
    )


def _text_search(versions: QuerySet[ModelVersion], q: str) -> QuerySet[ModelVersion]:
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        from django.contrib.postgres.search import SearchQuery, SearchVector

        vector = (
            SearchVector("sam__name", weight="A")
            + SearchVector("sam__inference_name", weight="A")
            + SearchVector("sam__description", weight="B")
            + SearchVector("sam__domain", "sam__scenario", "sam__region", weight="B")
            + SearchVector("sam__intended_use", "release_notes", weight="C")
        )
        matching = ModelVersion.objects.annotate(search=vector).filter(
            search=SearchQuery(q, search_type="websearch")
        )
        tagged = ModelVersion.objects.filter(sam__tags__name__iexact=q)
        return versions.filter(Q(pk__in=matching.values("pk")) | Q(pk__in=tagged.values("pk")))
    text = Q()
    for word in q.split():
        text &= (
            Q(sam__name__icontains=word)
            | Q(sam__inference_name__icontains=word)
            | Q(sam__description__icontains=word)
            | Q(sam__domain__icontains=word)
            | Q(sam__scenario__icontains=word)
            | Q(sam__region__icontains=word)
            | Q(sam__intended_use__icontains=word)
            | Q(sam__tags__name__iexact=word)
        )
    return versions.filter(pk__in=ModelVersion.objects.filter(text).values("pk"))


def version_states_summary() -> list[dict]:
    """Every lifecycle state with how many versions are in it and when the one waiting longest
    entered it (its last transition; its creation for a DRAFT never submitted): the operators'
    dashboard."""
    entered = Coalesce(
        Subquery(
            VersionTransition.objects.filter(version=OuterRef("pk"))
            .order_by("-created_at", "-pk")
            .values("created_at")[:1]
        ),
        F("created_at"),
    )
    rows = {
        row["status"]: row
        for row in ModelVersion.objects.annotate(entered=entered)
        .order_by()
        .values("status")
        .annotate(count=Count("pk"), since=Min("entered"))
    }
    return [
        {
            "status": state.value,
            "label": state.label,
            "count": rows.get(state.value, {}).get("count", 0),
            "since": rows.get(state.value, {}).get("since"),
        }
        for state in VersionStatus
    ]
