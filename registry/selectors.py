"""Registry reads: what each user may see, the catalog, the audit queue and the comparison of
versions."""

import json
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.paginator import Page, Paginator
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    When,
)
from django.db.models.functions import Coalesce, Lower, Upper

from core import roles
from core.errors import DomainError
from registry import extensions, permissions
from registry.models import (
    AuditDecision,
    AuditReview,
    InferenceType,
    ModelPerformance,
    ModelVersion,
    Organisation,
    SmallAIModel,
    VersionStatus,
    VersionTransition,
)
from registry.templatetags.samhub import ERROR_METRICS, shape

CATALOG_STATES = (VersionStatus.RELEASED,)
# Seen by every signed-in user: the catalog lists RELEASED versions only, but a DEPRECATED one
# still serves the subscriptions made before its deprecation (sharing.services), so it stays
# readable, with its deprecation shown, until it is retired.
PUBLISHED_STATES = (VersionStatus.RELEASED, VersionStatus.DEPRECATED)
# Catalog orders of its own (registry.selectors.catalog_sorts adds those of other apps): by
# release time, by name, or by the score of the chosen metric ("-" = descending).
CATALOG_SORTS = ("-released_at", "released_at", "name", "-name", "-score", "score")
# Names compare case-insensitively, the same on every database.
CATALOG_ORDERS = {"released_at": F("released_at"), "name": Lower("sam__name")}


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


def audits_by(user: User) -> QuerySet[AuditReview]:
    """The auditor's decisions, newest first, with the version and model each was on."""
    return AuditReview.objects.filter(auditor=user).select_related(
        "version", "version__sam", "version__sam__organisation"
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


@dataclass(frozen=True)
class FacetValue:
    """One value of a catalog facet and how many released versions have it."""

    value: str  # what the filter takes
    label: str
    count: int


# The filters catalog_search takes, with their "no filter" values.
CATALOG_FILTERS = {
    "q": "",
    "inference_type": "",
    "domain": "",
    "region": "",
    "scenario": "",
    "tags": (),
    "metric": "",
    "min_score": None,
    "max_score": None,
}
# Facets list this many values each, most frequent first (a chosen one always among them).
FACET_LIMIT = 12


def catalog_sorts() -> tuple[str, ...]:
    """The catalog's orders: by release time, by name, by the score of the chosen metric
    ("-" = descending), and by each count other apps keep (registry.extensions), most first."""
    return CATALOG_SORTS + tuple(f"-{count.name}" for count in extensions.catalog_counts)


def catalog_search(*, sort: str = "-released_at", **filters) -> QuerySet[ModelVersion]:
    """Released versions matching the filters (the keys of CATALOG_FILTERS), newest release
    first unless `sort` (one of catalog_sorts()) says otherwise; text search is full-text on
    PostgreSQL. Each version comes with what a catalog entry shows: its model, organisation,
    scores, tags and the counts of registry.extensions.catalog_counts."""
    return _with_entry_data(_catalog_ordered(sort, filters))


def catalog_page(*, number, per_page: int, sort: str = "-released_at", **filters) -> Page:
    """One page of catalog_search(). The page's versions are found on narrow rows (sorting
    10,000 versions carries only their keys), then read whole: the same result, without
    joining and sorting every column of every match (docs/benchmarks.md, issue 12)."""
    ordered = _catalog_ordered(sort, filters)
    page = Paginator(ordered.values_list("pk", flat=True), per_page).get_page(number)
    ids = list(page.object_list)
    found = _with_entry_data(ModelVersion.objects.filter(pk__in=ids)).in_bulk()
    page.object_list = [found[pk] for pk in ids]
    return page


def _with_entry_data(versions: QuerySet[ModelVersion]) -> QuerySet[ModelVersion]:
    return (
        versions.select_related("sam", "sam__organisation")
        .prefetch_related("performance", "sam__tags")
        .annotate(**{count.name: count.expression() for count in extensions.catalog_counts})
    )


def _catalog_ordered(sort: str, filters: dict) -> QuerySet[ModelVersion]:
    if sort not in catalog_sorts():
        raise DomainError(
            f"Sort by one of {', '.join(catalog_sorts())}.", details={"sort": ["unknown order"]}
        )
    metric = filters.get("metric", "")
    if sort.endswith("score") and not metric:
        raise DomainError(
            "Choose the metric whose score orders the catalog.",
            details={"metric": ["required to sort by score"]},
        )
    versions = _catalog_versions(filters)
    if sort.endswith("score"):
        return _by_score(versions, metric, descending=sort.startswith("-"))
    if sort.lstrip("-") in CATALOG_ORDERS:
        order = CATALOG_ORDERS[sort.lstrip("-")]
        return versions.order_by(order.desc() if sort.startswith("-") else order.asc(), "pk")
    # A count of another app: most first, then the newest release.
    count = next(c for c in extensions.catalog_counts if c.name == sort[1:])
    return versions.order_by(count.expression().desc(), "-released_at", "pk")


def catalog_facets(**filters) -> dict[str, list[FacetValue]]:
    """The values of each facet (inference type, domain, region, scenario, tags, metric) among
    the released versions matching the filters, with how many versions have each, one GROUP
    BY per facet. A facet that takes one value counts under the other filters only, so it
    shows what choosing another value would find; tags, which combine, count under all."""

    def under_others(*names: str) -> QuerySet[ModelVersion]:
        return _catalog_versions({**filters, **{n: CATALOG_FILTERS[n] for n in names}})

    def top(rows, *chosen: str):
        # The chosen values first, so they are shown however rare; then the most frequent.
        # (No constant when none is chosen: PostgreSQL reads ORDER BY 1 as the first column.)
        first = [Case(When(key__in=chosen, then=0), default=1)] if any(chosen) else []
        return rows.order_by(*first, "-n", "key")[:FACET_LIMIT]

    labels = dict(InferenceType.choices)
    chosen_type = filters.get("inference_type", "")
    facets = {
        "inference_type": [
            FacetValue(row["key"], labels.get(row["key"], row["key"]), row["n"])
            for row in top(
                under_others("inference_type")
                .values(key=F("sam__inference_type"))
                .annotate(n=Count("*")),
                chosen_type,
            )
        ]
    }
    for name in ("domain", "region", "scenario"):
        # Filtered case-insensitively, so counted that way: "RAN" and "ran" are one value.
        rows = (
            under_others(name)
            .exclude(**{f"sam__{name}": ""})
            .values(key=Lower(f"sam__{name}"))
            .annotate(label=Min(f"sam__{name}"), n=Count("*"))
        )
        facets[name] = [
            FacetValue(row["label"], row["label"], row["n"])
            for row in top(rows, (filters.get(name) or "").lower())
        ]
    chosen_tags = list(filters.get("tags") or ())
    tag_rows = (
        _catalog_versions(filters)
        .filter(sam__tags__isnull=False)
        .values(key=F("sam__tags__name"))
        .annotate(n=Count("*"))
    )
    facets["tags"] = [
        FacetValue(row["key"], row["key"], row["n"]) for row in top(tag_rows, *chosen_tags)
    ]
    # A version counts under a metric when a score of that metric is within the bounds.
    scored = ModelPerformance.objects.filter(
        version__in=under_others("metric", "min_score", "max_score").values("pk"),
        **_score_bounds(filters.get("min_score"), filters.get("max_score")),
    )
    metric_rows = scored.values(key=Upper("performance_metric")).annotate(
        n=Count("version_id", distinct=True)
    )
    facets["metric"] = [
        FacetValue(row["key"], row["key"], row["n"])
        for row in top(metric_rows, (filters.get("metric") or "").upper())
    ]
    return facets


def metric_ranges(metrics) -> dict[str, tuple[float, float]]:
    """The lowest and highest score of each metric (by upper-case name) among released
    versions: the scale on which a score without natural bounds (an error such as MAE) is
    drawn."""
    names = {m.upper() for m in metrics}
    if not names:
        return {}
    rows = (
        ModelPerformance.objects.filter(version__status__in=CATALOG_STATES)
        .annotate(key=Upper("performance_metric"))
        .filter(key__in=names)
        .values("key")
        .annotate(low=Min("performance_score"), high=Max("performance_score"))
        .order_by()
    )
    return {row["key"]: (row["low"], row["high"]) for row in rows}


def _score_bounds(min_score: float | None, max_score: float | None) -> dict:
    bounds = {}
    if min_score is not None:
        bounds["performance_score__gte"] = min_score
    if max_score is not None:
        bounds["performance_score__lte"] = max_score
    return bounds


def _catalog_versions(filters: dict) -> QuerySet[ModelVersion]:
    """Released versions matching the filters; tags and scores as EXISTS subqueries, so a
    version is one row whatever it matches (no DISTINCT, no join a facet could reuse)."""
    unknown = set(filters) - set(CATALOG_FILTERS)
    if unknown:
        raise TypeError(f"Unknown catalog filters: {', '.join(sorted(unknown))}")
    f = {**CATALOG_FILTERS, **filters}
    versions = ModelVersion.objects.filter(status__in=CATALOG_STATES)
    exact = {
        "sam__inference_type": f["inference_type"],
        "sam__domain__iexact": f["domain"],
        "sam__region__iexact": f["region"],
        "sam__scenario__iexact": f["scenario"],
    }
    versions = versions.filter(**{k: v for k, v in exact.items() if v})
    tagged = SmallAIModel.tags.through.objects.filter(smallaimodel_id=OuterRef("sam_id"))
    for tag in f["tags"] or ():
        versions = versions.filter(Exists(tagged.filter(tag__name=tag)))
    bounds = _score_bounds(f["min_score"], f["max_score"])
    if f["metric"] or bounds:
        scores = ModelPerformance.objects.filter(version_id=OuterRef("pk"), **bounds)
        if f["metric"]:
            scores = scores.filter(performance_metric__iexact=f["metric"])
        versions = versions.filter(Exists(scores))
    if f["q"]:
        versions = _text_search(versions, f["q"])
    return versions


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


# The catalog's text search on PostgreSQL: full text on these expressions, each on a GIN index
# (migration 0010); the configuration is fixed so that the index can hold the vectors.
TEXT_SEARCH_CONFIG = "english"
SAM_TEXT_FIELDS = (
    "name",
    "inference_name",
    "description",
    "domain",
    "scenario",
    "region",
    "intended_use",
)


def _text_search(versions: QuerySet[ModelVersion], q: str) -> QuerySet[ModelVersion]:
    """Versions whose model's text or own release notes match, or whose model has the tag."""
    tagged = SmallAIModel.tags.through.objects.filter(tag__name__iexact=q.strip())
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        from django.contrib.postgres.search import SearchQuery, SearchVector

        query = SearchQuery(q, search_type="websearch", config=TEXT_SEARCH_CONFIG)
        sams = SmallAIModel.objects.annotate(
            search=SearchVector(*SAM_TEXT_FIELDS, config=TEXT_SEARCH_CONFIG)
        ).filter(search=query)
        noted = ModelVersion.objects.annotate(
            search=SearchVector("release_notes", config=TEXT_SEARCH_CONFIG)
        ).filter(search=query)
        return versions.filter(
            Q(sam_id__in=sams.values("pk"))
            | Q(pk__in=noted.values("pk"))
            | Q(sam_id__in=tagged.values("smallaimodel_id"))
        )
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
            | Q(release_notes__icontains=word)
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


# --- comparing versions of a model (the compare page) ---------------------------------------

COMPARE_MAX_VERSIONS = 6


def versions_to_compare(
    *, user: User | AnonymousUser, sam: SmallAIModel, version_ids: list[int]
) -> list[ModelVersion]:
    """The versions of `sam` with these ids, oldest first (the first is the baseline), with
    their performance. An id the user cannot see is answered like an unknown one (404); a
    version of another model is refused (400)."""
    found = {
        v.pk: v
        for v in versions_visible_to(user)
        .filter(pk__in=version_ids)
        .prefetch_related("performance")
    }
    missing = [pk for pk in version_ids if pk not in found]
    if missing:
        raise DomainError(
            f"There is no version {missing[0]} that you can see.", code="not_found", status=404
        )
    others = [v for v in found.values() if v.sam_id != sam.pk]
    if others:
        raise DomainError(
            f"Version {others[0].version} (id {others[0].pk}) is a version of "
            f"{others[0].sam.name}, not of {sam.name}: compare versions of one model.",
            details={"v": ["a version of another model"]},
        )
    return sorted(found.values(), key=lambda v: (v.created_at, v.pk))


def _finite(score: float | None) -> bool:
    return score is not None and math.isfinite(score)


def metric_comparison(versions: list[ModelVersion]) -> dict[str, list[dict]]:
    """The scores of the versions, one row per metric of each output (a score per version,
    None where a version has none, and its change from the first version), split by the axis
    they are drawn on: "score" rows on 0..1, and "error" rows on an axis of their own, being an
    error metric (lower is better: MAE, RMSE, loss) or having a score outside [0, 1], which a
    0..1 axis would cut off."""
    rows: dict[tuple[str, str], dict] = {}
    for i, version in enumerate(versions):
        for p in version.performance.all():
            row = rows.setdefault(
                (p.inference_output_name, p.performance_metric.upper()),
                {
                    "output": p.inference_output_name,
                    "metric": p.performance_metric,
                    "lower_is_better": p.performance_metric.upper() in ERROR_METRICS,
                    "scores": [None] * len(versions),
                },
            )
            row["scores"][i] = p.performance_score
    several_outputs = len({output for output, _ in rows}) > 1
    split: dict[str, list[dict]] = {"score": [], "error": []}
    for key in sorted(rows):
        row = rows[key]
        scores, base = row["scores"], row["scores"][0]
        row["label"] = f"{row['metric']} · {row['output']}" if several_outputs else row["metric"]
        row["cells"] = []
        for i, score in enumerate(scores):
            delta = score - base if i and _finite(score) and _finite(base) else None
            row["cells"].append(
                {
                    "score": score,
                    "score_text": "—" if score is None else f"{score:.4g}",
                    "delta": delta,
                    "delta_text": "" if delta is None else f"{delta:+.4g}",
                    "trend": None
                    if not delta
                    else ("better" if (delta < 0) == row["lower_is_better"] else "worse"),
                }
            )
        own_scale = row["lower_is_better"] or any(not 0 <= s <= 1 for s in scores if _finite(s))
        split["error" if own_scale else "score"].append(row)
    return split


def metric_chart(versions: list[ModelVersion], rows: list[dict]) -> dict:
    """One grouped bar chart's data (static/js/version-compare-chart.js): a group per metric
    row, a bar per version; a missing or non-finite score is a gap (null)."""
    return {
        "labels": [row["label"] for row in rows],
        "series": [
            {
                "version": version.version,
                "scores": [s if _finite(s) else None for s in (r["scores"][i] for r in rows)],
            }
            for i, version in enumerate(versions)
        ],
    }


# What is compared of each input and output of a signature (registry.artifact_inspection).
SIGNATURE_FIELDS = ("type", "shape", "feature_names", "classes")


def _signature_entries(signature, direction: str) -> dict[str, dict]:
    entries = signature.get(direction) if isinstance(signature, dict) else None
    if not isinstance(entries, list):
        return {}
    return {str(e["name"]): e for e in entries if isinstance(e, dict) and "name" in e}


def _signature_text(field: str, value) -> str:
    if field == "shape":
        return shape(value) if isinstance(value, list) or value is None else str(value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "—" if value is None else str(value)


def _entry_change(field: str, before, after) -> dict:
    change = {
        "field": field,
        "before": _signature_text(field, before),
        "after": _signature_text(field, after),
    }
    if (
        field in ("feature_names", "classes")
        and isinstance(before, list)
        and isinstance(after, list)
    ):
        # Long lists: say which items came and went (or that only the order changed).
        change["added"] = [str(v) for v in after if v not in before]
        change["removed"] = [str(v) for v in before if v not in after]
        change["reordered"] = not change["added"] and not change["removed"]
    return change


def _spec_text(entry: dict) -> str:
    return f"{entry.get('type', '?')} {_signature_text('shape', entry.get('shape'))}"


def _json_text(value) -> str:
    if value is None:
        return "—"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def signature_diff(before: dict, after: dict) -> dict:
    """What changed from one signature to the next: each input and output added or removed
    (with its type and shape), or changed (which of its type, shape, feature names or classes,
    before and after), and the other top-level entries that differ (the estimator, the ONNX
    opsets). `missing` names the side without a signature (no model file), if any."""
    before = before if isinstance(before, dict) else {}
    after = after if isinstance(after, dict) else {}
    changes = []
    for direction in ("inputs", "outputs"):
        old, new = _signature_entries(before, direction), _signature_entries(after, direction)
        kind = direction.removesuffix("s")
        for name in [*old, *(n for n in new if n not in old)]:
            if name not in new:
                changes.append(
                    {
                        "direction": kind,
                        "name": name,
                        "change": "removed",
                        "spec": _spec_text(old[name]),
                    }
                )
            elif name not in old:
                changes.append(
                    {
                        "direction": kind,
                        "name": name,
                        "change": "added",
                        "spec": _spec_text(new[name]),
                    }
                )
            else:
                fields = [
                    _entry_change(f, old[name].get(f), new[name].get(f))
                    for f in SIGNATURE_FIELDS
                    if old[name].get(f) != new[name].get(f)
                ]
                if fields:
                    changes.append(
                        {"direction": kind, "name": name, "change": "changed", "fields": fields}
                    )
    other = [
        {"name": key, "before": _json_text(before.get(key)), "after": _json_text(after.get(key))}
        for key in sorted((set(before) | set(after)) - {"inputs", "outputs"}, key=str)
        if before.get(key) != after.get(key)
    ]
    missing = [
        side
        for side, signature in (("before", before), ("after", after))
        if not (_signature_entries(signature, "inputs") or _signature_entries(signature, "outputs"))
    ]
    return {"changes": changes, "other": other, "missing": missing}


def signature_diffs(versions: list[ModelVersion]) -> list[dict]:
    """signature_diff of each version against the one before it in the comparison."""
    return [
        {"before": a, "after": b, **signature_diff(a.signature, b.signature)}
        for a, b in zip(versions, versions[1:], strict=False)
    ]


# Nested objects of a training context are compared key by key down to this depth; deeper
# ones, and lists, as a whole.
CONTEXT_DEPTH = 3
CONTEXT_TEXT_MAX = 300


def _context_items(value, prefix: str = "", depth: int = 0):
    if isinstance(value, dict) and value and depth < CONTEXT_DEPTH:
        for key, inner in value.items():
            yield from _context_items(inner, f"{prefix}{key}.", depth + 1)
    else:
        yield prefix.removesuffix("."), value


def _context_text(value) -> str:
    text = _json_text(value)
    return text if len(text) <= CONTEXT_TEXT_MAX else text[: CONTEXT_TEXT_MAX - 1] + "…"


def training_context_comparison(versions: list[ModelVersion]) -> list[dict]:
    """The versions' training contexts side by side: a row per key (nested keys joined with
    dots), a value per version (None where it has none), and whether the values differ."""
    columns = [
        dict(_context_items(v.training_context)) if v.training_context else {} for v in versions
    ]
    keys = list(dict.fromkeys(key for column in columns for key in column))
    missing = object()
    rows = []
    for key in keys:
        values = [column.get(key, missing) for column in columns]
        rows.append(
            {
                "key": key or "(the whole context)",  # a context that is not an object
                "values": [None if v is missing else _context_text(v) for v in values],
                "differs": len(
                    {None if v is missing else json.dumps(v, sort_keys=True) for v in values}
                )
                > 1,
            }
        )
    return rows


# The lineage graph's layout in SVG units: a column per generation, a row per branch.
GRAPH_NODE_WIDTH, GRAPH_NODE_HEIGHT = 128, 40
GRAPH_COLUMN, GRAPH_ROW, GRAPH_MARGIN = 168, 56, 8
GRAPH_LABEL_MAX = 15


def lineage_graph(
    *, sam: SmallAIModel, visible: Iterable[ModelVersion], highlighted: Iterable[int] = ()
) -> dict:
    """The model's versions the user can see (`visible`, from versions_visible_to) and their
    parent links, laid out for an SVG: a version one column right of its parent, each branch
    on a row of its own, oldest first. Where a parent is hidden from the user the edge goes
    to the nearest ancestor they can see, marked `indirect`. `highlighted` versions (the ones
    compared) and the edges between two of them are marked `compared`."""
    versions = sorted(visible, key=lambda v: (v.created_at, v.pk))
    shown = {v.pk: v for v in versions}
    highlighted = set(highlighted)
    # Every version's parent, the hidden ones' too, to find the nearest visible ancestor.
    parent_of = dict(ModelVersion.objects.filter(sam=sam).values_list("pk", "parent_id"))

    def shown_ancestor(pk: int) -> tuple[int | None, bool]:
        parent, direct, seen = parent_of.get(pk), True, {pk}
        while parent is not None and parent not in seen:  # a loop of links ends the walk
            if parent in shown:
                return parent, direct
            seen.add(parent)
            parent, direct = parent_of.get(parent), False
        return None, True

    ancestor = {pk: shown_ancestor(pk) for pk in shown}
    children: dict[int | None, list[int]] = defaultdict(list)
    for v in versions:
        children[ancestor[v.pk][0]].append(v.pk)
    # Depth-first from the roots: a first child stays on its parent's row, a later one opens
    # a new row below the rows its older siblings took, so edges do not cross.
    place: dict[int, tuple[int, int]] = {}
    row = -1
    # The roots, then any version a loop of parent links left unreached.
    for start in [*children[None], *shown]:
        stack = [(start, 0, False)]
        while stack:
            pk, column, first_child = stack.pop()
            if pk in place:
                continue
            if not first_child:
                row += 1
            place[pk] = (column, row)
            kids = children.get(pk, [])
            stack.extend((kid, column + 1, i == 0) for i, kid in reversed(list(enumerate(kids))))
    nodes = []
    for v in versions:
        column, row_ = place[v.pk]
        label = v.version
        if len(label) > GRAPH_LABEL_MAX:
            label = label[: GRAPH_LABEL_MAX - 1] + "…"
        nodes.append(
            {
                "version": v,
                "label": label,
                "x": GRAPH_MARGIN + column * GRAPH_COLUMN,
                "y": GRAPH_MARGIN + row_ * GRAPH_ROW,
                "compared": v.pk in highlighted,
            }
        )
    at = {n["version"].pk: n for n in nodes}
    edges = []
    for v in versions:
        parent, direct = ancestor[v.pk]
        if parent is None:
            continue
        a, b = at[parent], at[v.pk]
        x1, y1 = a["x"] + GRAPH_NODE_WIDTH, a["y"] + GRAPH_NODE_HEIGHT // 2
        x2, y2 = b["x"] - 6, b["y"] + GRAPH_NODE_HEIGHT // 2  # room for the arrowhead
        middle = (x1 + x2) // 2
        edges.append(
            {
                "parent": a["version"],
                "child": v,
                "path": f"M{x1} {y1} C{middle} {y1} {middle} {y2} {x2} {y2}",
                "indirect": not direct,
                "compared": parent in highlighted and v.pk in highlighted,
            }
        )
    columns = max((c for c, _ in place.values()), default=-1) + 1
    rows = max((r for _, r in place.values()), default=-1) + 1
    return {
        "nodes": nodes,
        "edges": edges,
        "width": 2 * GRAPH_MARGIN + max(columns - 1, 0) * GRAPH_COLUMN + GRAPH_NODE_WIDTH,
        "height": 2 * GRAPH_MARGIN + max(rows - 1, 0) * GRAPH_ROW + GRAPH_NODE_HEIGHT,
        "node_width": GRAPH_NODE_WIDTH,
        "node_height": GRAPH_NODE_HEIGHT,
    }
