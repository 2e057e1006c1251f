"""Reads of AIMLE model selections: which ones a user sees, the released versions that may be
candidates, the catalog's further candidates picked by mlMdlReq, and the ranking as the
portal, the REST API and notifications show it."""

import uuid

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from django.utils import timezone

from core.errors import DomainError
from registry.models import ModelVersion, VersionStatus
from training import permissions, selectors
from training.aimle import selection_learning
from training.learning import Features
from training.models import (
    CANDIDATE_ENDED,
    CandidateStatus,
    ModelSelection,
    ModelSelectionCandidate,
    SelectionStatus,
)


def model_selections_visible_to(user: User | AnonymousUser) -> QuerySet[ModelSelection]:
    selections = ModelSelection.objects.select_related("requested_by")
    if not user.is_authenticated:
        return selections.none()
    if permissions.sees_every_model_selection(user):
        return selections
    return selections.filter(requested_by=user)


def model_selection_visible_to(user: User | AnonymousUser, selection_id) -> ModelSelection:
    """One selection the user may see; any other id answers like an unknown one (404)."""
    try:
        pk = uuid.UUID(str(selection_id))
        return model_selections_visible_to(user).get(pk=pk)
    except (ValueError, ModelSelection.DoesNotExist):
        raise DomainError(
            f"There is no model selection {selection_id} that you can see.",
            code="not_found",
            status=404,
        ) from None


def candidate_versions_for(user: User | AnonymousUser) -> QuerySet[ModelVersion]:
    """Released versions SAM Hub can train (a scikit-learn model file): what may be a
    candidate of a model selection."""
    return (
        selectors.ml_entities_of(user)
        .filter(status=VersionStatus.RELEASED)
        .select_related("sam", "sam__organisation")
        .order_by("sam__name", "-released_at", "-pk")
    )


def catalog_candidates(
    user: User, *, requirements: dict, metric: str, fits, exclude: set[int]
) -> list[ModelVersion]:
    """The further candidates mlMdlReq picks from the catalog: per model its latest released
    trainable version whose model has the inference type and domain asked for, which records a
    score on the metric asked for, predicts what the ranking metric measures (a classifier
    for ACCURACY, PRECISION, RECALL; a regressor for the errors) and whose features the
    datasets hold (`fits(version)`); newest first."""
    versions = candidate_versions_for(user).exclude(pk__in=exclude)
    if requirements.get("inferenceType"):
        versions = versions.filter(sam__inference_type=requirements["inferenceType"])
    if requirements.get("domain"):
        versions = versions.filter(sam__domain__iexact=requirements["domain"])
    if requirements.get("perfMetric"):
        versions = versions.filter(
            performance__performance_metric__iexact=requirements["perfMetric"]
        )
    picked, models = [], set()
    classifier = selection_learning.for_classifiers(metric)
    for version in versions.distinct().order_by("-released_at", "-pk"):
        if version.sam_id in models:
            continue
        models.add(version.sam_id)
        if Features.of(version).classifier == classifier and fits(version):
            picked.append(version)
    return picked


def candidates_of(selection: ModelSelection) -> list[ModelSelectionCandidate]:
    """The candidates in ranking order: ranked ones first, then the others as made."""
    candidates = selection.candidates.select_related("version", "version__sam", "trained_version")
    return sorted(candidates, key=lambda c: (c.rank is None, c.rank or 0, c.pk))


def winner_of(selection: ModelSelection) -> ModelSelectionCandidate | None:
    return (
        selection.candidates.filter(rank=1)
        .select_related("version", "version__sam", "trained_version")
        .first()
    )


def elapsed_seconds(selection: ModelSelection) -> int:
    """How long the job has run: from its start (or its creation while queued) to its end."""
    start = selection.started_at or selection.created_at
    return max(0, int(((selection.ended_at or timezone.now()) - start).total_seconds()))


def candidate_summary(candidate: ModelSelectionCandidate) -> dict:
    """One candidate as the portal's ranking table and chart show it (polled JSON)."""
    version = candidate.version
    return {
        "id": candidate.pk,
        "version_id": version.pk,
        "model": version.sam.name,
        "version": version.version,
        "source": candidate.source,
        "status": candidate.status,
        "status_label": candidate.get_status_display(),
        "rounds_done": candidate.rounds_done,
        "score": candidate.score,
        "scores": candidate.scores,
        "rank": candidate.rank,
        "error": candidate.error,
        "ended": candidate.status in CANDIDATE_ENDED,
        "trained_version_id": candidate.trained_version_id,
    }


def selection_progress(selection: ModelSelection) -> dict:
    """The job and its candidates as the portal polls them."""
    candidates = candidates_of(selection)
    return {
        "id": str(selection.pk),
        "status": selection.status,
        "status_label": selection.get_status_display(),
        "percentage": selection.percentage,
        "metric": selection.metric,
        "higher_is_better": selection_learning.higher_is_better(selection.metric),
        "rounds": selection.rounds,
        "target_reached": selection.target_reached_at is not None,
        "elapsed_seconds": elapsed_seconds(selection),
        "result_state_info": selection.result_state_info,
        "ended": selection.status in (SelectionStatus.FINISHED, SelectionStatus.FAILED),
        "finished": sum(c.status == CandidateStatus.FINISHED for c in candidates),
        "candidates": [candidate_summary(c) for c in candidates],
    }
