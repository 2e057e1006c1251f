"""AIMLE assisted ML model selection (TS 23.482 §8.23; TS 29.482 Aimles_AMLMSel): the writes.

A requestor asks SAM Hub to train candidate ML models on datasets and rank them
(model_selection_create); it may change where and how it is told (model_selection_update) and
end it (model_selection_delete); the winner may go into the audit flow as a new version of its
model (model_selection_winner_submit). Every refusal is a DomainError raised before anything
is written: a refused request stores nothing.

**Execution.** One Celery task per candidate, all queued at once as a group when the request
commits, so that N workers train N candidates at a time (training.aimle.selection_tasks). The
tasks call candidate_claim, candidate_round_next, candidate_round_record, candidate_finish and
candidate_fail here, each under the selection's row lock (then the candidate's: always in that
order). Whoever ends the last open candidate ranks the finished ones and completes the job:
the group's join (a chord) is kept in the database, so it survives a worker restart and needs
no result backend. When a candidate's mean scores meet every performance target, the job
stops early: candidates not started are SKIPPED, running ones STOP before their next round.
"""

import io
import logging
import math
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from core.errors import DomainError
from core.outbound import OutboundRefused, outbound_addresses
from registry import services as registry_services
from registry.models import InferenceType, ModelVersion, VersionStatus
from registry.permissions import can_add_version
from registry.selectors import version_visible_to
from training import learning, permissions, selectors
from training.aimle import clients, selection_learning, selection_selectors
from training.aimle.selection_notifications import selection_notify
from training.models import (
    CANDIDATE_ENDED,
    AimleNotificationMethod,
    AimlePerformanceMetric,
    CandidateSource,
    CandidateStatus,
    Dataset,
    ModelSelection,
    ModelSelectionCandidate,
    SelectionNotificationKind,
    SelectionStatus,
)
from training.services import next_version_number

logger = logging.getLogger(__name__)

MAX_CLIENT_SET_IDS = 100
MODEL_REQUIREMENT_KEYS = ("inferenceType", "domain", "perfMetric")


@dataclass(frozen=True)
class Candidate:
    """A candidate ML model as asked for: a version id (mlMdlId) and initial parameters."""

    version_id: object
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class PerformanceRequirement:
    """PerformanceRequirement: a metric and, optionally, the target that is good enough."""

    metric: str
    target: float | None = None


@dataclass(frozen=True)
class TrainingRequirement:
    """TrainingRequirement (table 8.23.3.1-2): perfReq, trainCount, sampleCount."""

    performance: tuple[PerformanceRequirement, ...]
    rounds: int
    samples: int


@dataclass(frozen=True)
class Reporting:
    """ReportingInformation: notifMethod, jobPercentage, repPeriod and timeWindow."""

    method: str = AimleNotificationMethod.ON_JOB_COMPLETION
    job_percentage: int | None = None
    period_seconds: int | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None


@dataclass(frozen=True)
class _Profile:
    """The aimlProfile checked without touching the warehouse: what update compares."""

    candidates: list[tuple[int, dict]]
    model_requirements: dict | None
    dataset_ids: list[int]
    training_requirements: list[dict]
    client_set_ids: list[str]
    client_criteria: dict | None
    client_number: int | None


def _refuse(name: str, message: str, *, code: str = "invalid") -> DomainError:
    return DomainError(f"{message} Nothing was stored.", code=code, details={name: [message]})


def _whole(value, *, minimum: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


# --- checking a request ----------------------------------------------------------------------


def _training_requirements_clean(requirements) -> list[dict]:
    """trainReq (at least one), as stored: [{perfReq: [{perfMetric, perfTarget?}], trainCount,
    sampleCount}]. The metrics of all of them are of one kind (a classifier's or a
    regressor's): the same candidates are measured on each."""
    if not isinstance(requirements, list | tuple) or not requirements:
        raise _refuse("training_requirements", "trainReq needs at least one training requirement.")
    cleaned, kinds = [], set()
    most = settings.SAMHUB_MODEL_SELECTION_MAX_ROUNDS
    for number, requirement in enumerate(requirements, 1):
        if not isinstance(requirement, TrainingRequirement) or not requirement.performance:
            raise _refuse(
                "training_requirements",
                f"Training requirement {number} needs perfReq: at least one performance metric.",
            )
        if not _whole(requirement.rounds, minimum=1) or requirement.rounds > most:
            raise _refuse(
                "training_requirements",
                f"trainCount of training requirement {number} is a whole number from 1 to "
                f"{most} (SAMHUB_MODEL_SELECTION_MAX_ROUNDS).",
            )
        if not _whole(requirement.samples, minimum=1):
            raise _refuse(
                "training_requirements",
                f"sampleCount of training requirement {number} is a whole number from 1.",
            )
        performance = []
        for wanted in requirement.performance:
            if wanted.metric not in AimlePerformanceMetric.values:
                raise _refuse(
                    "training_requirements",
                    f"perfMetric {wanted.metric!r} is not one of "
                    f"{', '.join(AimlePerformanceMetric.values)}.",
                )
            target = wanted.target
            if target is not None and (
                isinstance(target, bool)
                or not isinstance(target, int | float)
                or not math.isfinite(target)
                or target < 0
                or (selection_learning.higher_is_better(wanted.metric) and target > 1)
            ):
                raise _refuse(
                    "training_requirements",
                    f"perfTarget of {wanted.metric} must be a number "
                    + (
                        "from 0 to 1."
                        if selection_learning.higher_is_better(wanted.metric)
                        else "from 0."
                    ),
                )
            kinds.add(selection_learning.for_classifiers(wanted.metric))
            entry = {"perfMetric": wanted.metric}
            if target is not None:
                entry["perfTarget"] = float(target)
            performance.append(entry)
        cleaned.append(
            {
                "perfReq": performance,
                "trainCount": requirement.rounds,
                "sampleCount": requirement.samples,
            }
        )
    if len(kinds) > 1:
        raise _refuse(
            "training_requirements",
            "The performance metrics mix a classifier's (ACCURACY, PRECISION, RECALL) and a "
            "regressor's (MEAN_SQUARED_ERROR, MEAN_ABSOLUTE_ERROR): no candidate has both.",
        )
    return cleaned


def training_requirements_derived(requirements: list[dict]) -> dict:
    """What the job uses from trainReq: the first perfMetric ranks the candidates; every
    perfTarget must be met to stop early; the most trainCount and sampleCount asked for."""
    performance = [p for r in requirements for p in r["perfReq"]]
    metrics = list(dict.fromkeys(p["perfMetric"] for p in performance))
    return {
        "metric": metrics[0],
        "metrics": metrics,
        "targets": [p for p in performance if "perfTarget" in p],
        "rounds": max(r["trainCount"] for r in requirements),
        "sample_count": max(r["sampleCount"] for r in requirements),
    }


def _clients_clean(client_set_ids, client_criteria, client_number) -> tuple:
    """clientList, clientSelCriteria and clNumber as the AIMLE client registry takes them; it
    enforces NOTE 1 and NOTE 2 of table 8.23.2.1-1 (training.aimle.clients)."""
    client_set_ids = list(client_set_ids or [])
    if len(client_set_ids) > MAX_CLIENT_SET_IDS or not all(
        isinstance(i, str) and 0 < len(i.strip()) <= 255 for i in client_set_ids
    ):
        raise _refuse(
            "client_set_ids",
            f"clientList holds up to {MAX_CLIENT_SET_IDS} AIMLE client set identifiers, "
            "each 1 to 255 characters.",
        )
    return [i.strip() for i in client_set_ids], client_criteria, client_number


def _model_requirements_clean(requirements) -> dict | None:
    """mlMdlReq: the catalog's fields further candidates are picked by."""
    if requirements is None:
        return None
    if not isinstance(requirements, dict) or not requirements:
        raise _refuse(
            "model_requirements",
            f"mlMdlReq is an object with any of {', '.join(MODEL_REQUIREMENT_KEYS)}.",
        )
    unknown = sorted(set(requirements) - set(MODEL_REQUIREMENT_KEYS))
    if unknown:
        raise _refuse(
            "model_requirements",
            f"mlMdlReq has no {', '.join(unknown)}: SAM Hub picks further candidates by "
            f"{', '.join(MODEL_REQUIREMENT_KEYS)}.",
        )
    if not all(isinstance(v, str) and v.strip() for v in requirements.values()):
        raise _refuse("model_requirements", "Each mlMdlReq value is a non-empty string.")
    inference_type = requirements.get("inferenceType")
    if inference_type is not None and inference_type not in InferenceType.values:
        raise _refuse(
            "model_requirements",
            f"mlMdlReq.inferenceType is one of {', '.join(InferenceType.values)}.",
        )
    return {k: v.strip() for k, v in requirements.items()}


def _id_of(value) -> int | None:
    if _whole(value, minimum=1):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 12:
        return int(value)
    return None


def _params_clean(number: int, params) -> dict:
    params = {} if params is None else params
    if not isinstance(params, dict) or not all(
        isinstance(k, str)
        and (
            isinstance(v, selection_learning.PARAM_TYPES)
            or (
                isinstance(v, list)
                and all(isinstance(i, selection_learning.PARAM_TYPES) for i in v)
            )
        )
        for k, v in params.items()
    ):
        raise _refuse(
            "candidates",
            f"mlMdlParam of candidate {number} is an object of parameter names to numbers, "
            "strings, booleans, null or lists of them.",
        )
    for value in params.values():
        if isinstance(value, float) and not math.isfinite(value):
            raise _refuse(
                "candidates", f"mlMdlParam of candidate {number} holds a non-finite number."
            )
    return params


def _profile_clean(
    *,
    candidates,
    model_requirements,
    dataset_ids,
    training_requirements,
    client_set_ids,
    client_criteria,
    client_number,
) -> _Profile:
    if not isinstance(candidates, list | tuple) or not candidates:
        raise _refuse("candidates", "candMLMdls needs at least one candidate ML model.")
    if len(candidates) > settings.SAMHUB_MODEL_SELECTION_MAX_CANDIDATES:
        raise _refuse(
            "candidates",
            f"At most {settings.SAMHUB_MODEL_SELECTION_MAX_CANDIDATES} candidates "
            "(SAMHUB_MODEL_SELECTION_MAX_CANDIDATES).",
        )
    cleaned_candidates = []
    for number, candidate in enumerate(candidates, 1):
        pk = _id_of(candidate.version_id)
        if pk is None:
            raise _refuse(
                "candidates",
                f"mlMdlId of candidate {number} is a SAM Hub version id (a whole number), "
                f"not {candidate.version_id!r}.",
            )
        cleaned_candidates.append((pk, _params_clean(number, candidate.params)))
    if len({pk for pk, _ in cleaned_candidates}) != len(cleaned_candidates):
        raise _refuse("candidates", "Each version is a candidate once.")
    if not isinstance(dataset_ids, list | tuple) or not dataset_ids:
        raise _refuse("datasets", "dataSetIds needs at least one dataset.")
    datasets = [_id_of(i) for i in dataset_ids]
    if None in datasets:
        raise _refuse("datasets", "dataSetIds lists SAM Hub dataset ids (whole numbers).")
    sets, criteria, number = _clients_clean(client_set_ids, client_criteria, client_number)
    return _Profile(
        candidates=cleaned_candidates,
        model_requirements=_model_requirements_clean(model_requirements),
        dataset_ids=list(dict.fromkeys(datasets)),
        training_requirements=_training_requirements_clean(training_requirements),
        client_set_ids=sets,
        client_criteria=criteria,
        client_number=number,
    )


def _notification_clean(notification_uri: str, reporting: Reporting | None) -> dict:
    """notifUri (checked as every callback is: core.outbound) and repInfo."""
    notification_uri = (notification_uri or "").strip()
    if not notification_uri:
        if reporting is not None:
            raise _refuse("reporting", "repInfo without notifUri: there is nowhere to notify.")
        return {"notification_uri": "", "notification_method": ""}
    if len(notification_uri) > 2000:
        raise _refuse("notification_uri", "notifUri is over 2000 characters.")
    try:
        outbound_addresses(notification_uri)
    except OutboundRefused as exc:
        raise _refuse("notification_uri", f"notifUri: {exc}") from None
    reporting = reporting or Reporting()
    if reporting.method not in AimleNotificationMethod.values:
        raise _refuse(
            "reporting", f"notifMethod is one of {', '.join(AimleNotificationMethod.values)}."
        )
    percentage = reporting.job_percentage
    if reporting.method == AimleNotificationMethod.ON_PCT_COMPLETION and percentage is None:
        raise _refuse("reporting", "ON_PCT_COMPLETION needs jobPercentage (1 to 100).")
    if percentage is not None and not (_whole(percentage, minimum=1) and percentage <= 100):
        raise _refuse("reporting", "jobPercentage is a whole number from 1 to 100.")
    period = reporting.period_seconds
    if reporting.method == AimleNotificationMethod.PERIODIC and period is None:
        raise _refuse("reporting", "PERIODIC needs repPeriod (seconds between reports).")
    if period is not None and not _whole(period, minimum=1):
        raise _refuse("reporting", "repPeriod is a whole number of seconds from 1.")
    start, end = reporting.window_start, reporting.window_end
    if start is not None and end is not None and start >= end:
        raise _refuse("reporting", "timeWindow's stopTime must be after its startTime.")
    return {
        "notification_uri": notification_uri,
        "notification_method": reporting.method,
        "job_percentage": percentage,
        "period_seconds": period,
        "window_start": start,
        "window_end": end,
    }


def _datasets_of(user: User, ids: list[int], *, samples: int) -> list[Dataset]:
    found = selectors.datasets_usable_by(user).in_bulk(ids)
    missing = [i for i in ids if i not in found]
    if missing:
        raise _refuse(
            "datasets",
            "There is no dataset " + ", ".join(map(str, missing)) + " that you can train with: "
            "a model selection uses your organisations' datasets.",
        )
    datasets = [found[i] for i in ids]
    rows = sum(d.row_count for d in datasets)
    if rows < samples:
        raise _refuse(
            "datasets",
            f"The datasets hold {rows} rows and sampleCount asks for at least {samples}.",
        )
    return datasets


def _fits(version: ModelVersion, datasets: list[Dataset]) -> str:
    """Why the datasets cannot feed the version's estimator; empty when they can."""
    features = learning.Features.of(version)
    for dataset in datasets:
        try:
            learning.dataset_columns_for(dataset, features)
        except learning.TrainingFailure as exc:
            return f"dataset {dataset.pk} does not fit it: {exc}"
    return ""


def _candidate_check(
    user: User, number: int, pk: int, params: dict, *, metric: str, datasets: list[Dataset]
) -> ModelVersion:
    """A candidate is a released version the user sees, with a scikit-learn estimator SAM Hub
    can fit, of the kind the metric measures, that the datasets can feed, and that takes the
    initial parameters."""
    which = f"Candidate {number} (mlMdlId {pk})"
    try:
        version = version_visible_to(user, pk)
    except ModelVersion.DoesNotExist:
        raise _refuse(
            "candidates", f"{which}: there is no such version that you can see."
        ) from None
    version = ModelVersion.objects.select_related("sam").get(pk=version.pk)
    if version.status != VersionStatus.RELEASED:
        raise _refuse(
            "candidates",
            f"{which} is {version.status}: candidates are released versions.",
        )
    if not selectors.is_trainable(version):
        what = (
            "served by an external endpoint"
            if version.access_type == "EXTERNAL_ENDPOINT"
            else "an ONNX model only"
            if version.artifact_format == "onnx"
            else "without a model file"
        )
        raise _refuse(
            "candidates",
            f"{which} is {what}: SAM Hub trains scikit-learn estimators (skops files).",
        )
    classifier = learning.Features.of(version).classifier
    if classifier != selection_learning.for_classifiers(metric):
        raise _refuse(
            "candidates",
            f"{which} is a {'classifier' if classifier else 'regressor'}, and {metric} measures "
            f"a {'regressor' if classifier else 'classifier'}.",
        )
    unfit = _fits(version, datasets)
    if unfit:
        raise _refuse("candidates", f"{which}: {unfit}.")
    try:
        selection_learning.estimator_with(version, params)
    except learning.TrainingFailure as exc:
        raise _refuse("candidates", f"{which}: {exc}.") from None
    return version


def _clients_choose(profile: _Profile) -> list[str]:
    """The ids of the AIMLE clients taking part: those of the client sets asked for that match
    the selection criteria, at least clNumber of them (training.aimle.clients, which refuses
    a NOTE 1 or NOTE 2 breach, an unknown client set, or too few clients)."""
    chosen = clients.aimle_clients_select(
        client_set_ids=profile.client_set_ids or None,
        criteria=profile.client_criteria,
        number=profile.client_number,
    )
    return [c.client_id for c in chosen]


def model_selection_create(
    *,
    user: User,
    candidates: list[Candidate],
    dataset_ids: list,
    training_requirements: list[TrainingRequirement],
    model_requirements: dict | None = None,
    client_set_ids: list[str] = (),
    client_criteria: dict | None = None,
    client_number: int | None = None,
    notification_uri: str = "",
    reporting: Reporting | None = None,
    supported_features: str = "",
) -> ModelSelection:
    """Accept an ML model selection request (TS 23.482 §8.23.2, AssistMLMdlSelSubsc) and queue
    its candidates' training. Refused, with nothing stored: a NOTE 1 or NOTE 2 breach, a
    candidate that is not a released version with a trainable estimator (or is of the wrong
    kind for the metric, or does not take its mlMdlParam, or does not fit the datasets),
    datasets the user may not use or with fewer rows than sampleCount, a notifUri SAM Hub does
    not call, inconsistent repInfo."""
    if not permissions.can_select_models(user):
        raise DomainError.not_allowed(
            "Model selection trains on your organisation's datasets: members of an organisation "
            "and operators ask for it."
        )
    profile = _profile_clean(
        candidates=candidates,
        model_requirements=model_requirements,
        dataset_ids=dataset_ids,
        training_requirements=training_requirements,
        client_set_ids=client_set_ids,
        client_criteria=client_criteria,
        client_number=client_number,
    )
    chosen_clients = _clients_choose(profile)
    notification = _notification_clean(notification_uri, reporting)
    derived = training_requirements_derived(profile.training_requirements)
    datasets = _datasets_of(user, profile.dataset_ids, samples=derived["sample_count"])
    versions = [
        (
            _candidate_check(user, n, pk, params, metric=derived["metric"], datasets=datasets),
            params,
            CandidateSource.REQUESTED,
        )
        for n, (pk, params) in enumerate(profile.candidates, 1)
    ]
    if profile.model_requirements:
        room = settings.SAMHUB_MODEL_SELECTION_MAX_CANDIDATES - len(versions)
        picked = selection_selectors.catalog_candidates(
            user,
            requirements=profile.model_requirements,
            metric=derived["metric"],
            fits=lambda v: not _fits(v, datasets),
            exclude={v.pk for v, _, _ in versions},
        )
        versions += [(v, {}, CandidateSource.CATALOG) for v in picked[: max(0, room)]]
    selection = ModelSelection(
        requested_by=user,
        model_requirements=profile.model_requirements,
        dataset_order=profile.dataset_ids,
        training_requirements=profile.training_requirements,
        metric=derived["metric"],
        targets=derived["targets"],
        rounds=derived["rounds"],
        sample_count=derived["sample_count"],
        client_set_ids=profile.client_set_ids,
        client_criteria=profile.client_criteria,
        client_number=profile.client_number,
        clients=chosen_clients,
        supported_features=(supported_features or "")[:64],
        **notification,
    )
    selection.full_clean(exclude=["status", "datasets"])
    with transaction.atomic():
        selection.save(force_insert=True)
        selection.datasets.set(datasets)
        made = ModelSelectionCandidate.objects.bulk_create(
            ModelSelectionCandidate(selection=selection, version=v, params=p, source=s)
            for v, p, s in versions
        )
        ids = (
            [c.pk for c in made]
            if all(c.pk for c in made)
            else list(selection.candidates.order_by("pk").values_list("pk", flat=True))
        )
        _enqueue_candidates(ids)
    logger.info("Model selection %s: %s candidates queued by %s", selection.pk, len(ids), user)
    return selection


def _profile_of(selection: ModelSelection) -> _Profile:
    requested = selection.candidates.filter(source=CandidateSource.REQUESTED).order_by("pk")
    return _Profile(
        candidates=[(c.version_id, c.params) for c in requested],
        model_requirements=selection.model_requirements,
        dataset_ids=list(selection.dataset_order),
        training_requirements=selection.training_requirements,
        client_set_ids=list(selection.client_set_ids),
        client_criteria=selection.client_criteria,
        client_number=selection.client_number,
    )


def model_selection_update(
    *,
    user: User,
    selection_id,
    candidates: list[Candidate],
    dataset_ids: list,
    training_requirements: list[TrainingRequirement],
    model_requirements: dict | None = None,
    client_set_ids: list[str] = (),
    client_criteria: dict | None = None,
    client_number: int | None = None,
    notification_uri: str = "",
    reporting: Reporting | None = None,
    supported_features: str = "",
) -> ModelSelection:
    """Replace a selection's notification target and settings (PUT, or PATCH merged into the
    current subscription). Its aimlProfile is what the job was started with: a different one
    is refused (409) rather than restarting the training behind the requestor's back."""
    selection = selection_selectors.model_selection_visible_to(user, selection_id)
    if not permissions.can_manage_model_selection(selection, user):
        raise DomainError.not_allowed(
            f"Only its requestor ({selection.requested_by}) and operators change {selection}."
        )
    profile = _profile_clean(
        candidates=candidates,
        model_requirements=model_requirements,
        dataset_ids=dataset_ids,
        training_requirements=training_requirements,
        client_set_ids=client_set_ids,
        client_criteria=client_criteria,
        client_number=client_number,
    )
    _clients_choose(profile)
    notification = _notification_clean(notification_uri, reporting)
    with transaction.atomic():
        selection = ModelSelection.objects.select_for_update().get(pk=selection.pk)
        if profile != _profile_of(selection):
            raise DomainError.conflict(
                f"{selection} trains the candidates of its aimlProfile as it was made; the "
                "profile cannot change (its notifUri, repInfo and suppFeat can). Nothing was "
                "changed; ask for a new selection instead."
            )
        for name, value in notification.items():
            setattr(selection, name, value)
        selection.supported_features = (supported_features or "")[:64]
        selection.full_clean(exclude=["status", "datasets"])
        selection.save()
    return selection


def model_selection_delete(*, user: User, selection_id) -> None:
    """End a selection (unsubscribe): its rows go, candidates still training stop at their
    next round, and their scratch files are deleted after the commit. A version already made
    from its winner stays (it is in the audit flow)."""
    selection = selection_selectors.model_selection_visible_to(user, selection_id)
    if not permissions.can_manage_model_selection(selection, user):
        raise DomainError.not_allowed(
            f"Only its requestor ({selection.requested_by}) and operators delete {selection}."
        )
    with transaction.atomic():
        selection = ModelSelection.objects.select_for_update().get(pk=selection.pk)
        names = list(selection.candidates.values_list("trained_file", flat=True))
        selection.delete()
        transaction.on_commit(lambda: learning.scratch_delete(*names))


# --- the winner into the audit flow ------------------------------------------------------------


def model_selection_winner_submit(*, user: User, selection_id) -> ModelVersion:
    """Take the winner of a finished selection into the audit flow: its trained estimator
    becomes a new version of its model (parent: the candidate version; performance: its mean
    held-out scores; training context: the selection), SUBMITTED for audit, as a training
    registers a retrained version. Those who may request training of the candidate version
    (training.permissions.can_request_training) may do it, once per selection."""
    selection = selection_selectors.model_selection_visible_to(user, selection_id)
    winner = selection_selectors.winner_of(selection)
    if selection.status != SelectionStatus.FINISHED or winner is None:
        raise DomainError.conflict(
            f"{selection} is {selection.status}: a winner is taken once the job has finished."
        )
    candidate = winner.version
    if not permissions.can_request_training(candidate, user):
        raise DomainError.not_allowed(
            f"The winner becomes a new version of {candidate.sam.name}, so "
            f"{permissions.who_requests_training(candidate)} take it."
        )
    if winner.trained_version_id is not None or not winner.trained_file:
        raise DomainError.conflict(
            f"The winner of {selection} was taken into the audit flow already"
            + (f" (version {winner.trained_version.version})." if winner.trained_version else ".")
        )
    granted_by = ""
    if not can_add_version(candidate.sam, user):
        subscription = permissions.retraining_subscription(candidate, user)
        granted_by = (
            f"selected by {user} under their Re-training sharing subscription "
            f"{subscription.pk} ({selection})"
        )
    features = learning.Features.of(candidate)
    content = learning.scratch_read(winner.trained_file)
    version = registry_services.version_create(
        sam=candidate.sam,
        user=user,
        version=next_version_number(candidate),
        parent=candidate,
        performance=[
            {
                "inference_output_name": features.output,
                "performance_metric": selection_learning.CATALOG_NAMES[metric],
                "performance_score": round(score, 6),
            }
            for metric, score in winner.scores.items()
            if score is not None
        ],
        artifact=(io.BytesIO(content), f"selected-{candidate.sam.slug}.skops"),
        training_context={
            "model_selection": str(selection.pk),
            "datasets": list(selection.dataset_order),
            "data_provider_ref": [selectors.dataset_dn(i) for i in selection.dataset_order],
            "trained_from": candidate.version,
            "params": winner.params,
            "rounds": winner.rounds_done,
            "rows": winner.sample_count,
            "metric": selection.metric,
            "score": winner.score,
        },
        release_notes=(
            f"The winner of AIMLE model selection {selection.pk}: {candidate.version} with "
            f"{winner.params or 'its own parameters'}, {selection.metric} {winner.score:.4g} "
            f"over {winner.rounds_done} training rounds."
        ),
        granted_by=granted_by,
    )
    with transaction.atomic():
        locked = ModelSelectionCandidate.objects.select_for_update().get(pk=winner.pk)
        taken = locked.trained_version_id is not None
        if not taken:
            locked.trained_version = version
            locked.save(update_fields=["trained_version"])
            registry_services.version_submit(
                version_id=version.pk, user=user, granted_by=granted_by
            )
    if taken:
        registry_services.version_discard(version_id=version.pk, user=user, granted_by=granted_by)
        raise DomainError.conflict(f"The winner of {selection} was taken meanwhile.")
    return ModelVersion.objects.get(pk=version.pk)


# --- the candidates' runs (training.aimle.selection_tasks) -------------------------------------


def _locked(candidate_id: int) -> tuple[ModelSelection | None, ModelSelectionCandidate | None]:
    """The candidate's selection and the candidate, locked in that order (None once deleted)."""
    selection_id = (
        ModelSelectionCandidate.objects.filter(pk=candidate_id)
        .values_list("selection_id", flat=True)
        .first()
    )
    if selection_id is None:
        return None, None
    selection = ModelSelection.objects.select_for_update().filter(pk=selection_id).first()
    candidate = ModelSelectionCandidate.objects.select_for_update().filter(pk=candidate_id).first()
    if selection is None or candidate is None:
        return None, None
    return selection, candidate


def candidate_claim(
    *, candidate_id: int, run_id: str
) -> tuple[ModelSelectionCandidate | None, bool]:
    """Take up a candidate for the run `run_id`: (the candidate, False) when claimed; (None,
    True) while another live run holds it; (None, False) when there is nothing to do (it has
    ended, was deleted, or the target was reached before it started: SKIPPED)."""
    with transaction.atomic():
        selection, candidate = _locked(candidate_id)
        if candidate is None or candidate.status in CANDIDATE_ENDED:
            return None, False
        if candidate.status == CandidateStatus.RUNNING and candidate.held():
            return None, True
        if selection.target_reached_at is not None:
            if candidate.status == CandidateStatus.QUEUED:
                candidate.skip()
            else:
                candidate.stop()  # its run was lost
            candidate.save()
            _progress(selection)
            _join(selection)
            return None, False
        candidate.claim(run_id=run_id)
        candidate.save()
        if selection.status == SelectionStatus.QUEUED:
            selection.start()
            selection.save()
            if selection.notification_method == AimleNotificationMethod.PERIODIC:
                _enqueue_periodic(selection.pk, 1, countdown=selection.period_seconds)
    return candidate, False


def candidate_round_next(*, candidate_id: int, run_id: str) -> bool:
    """Before a training round: whether the run goes on. It stops when another run took the
    candidate, the selection was deleted, or the target was reached meanwhile (STOPPED)."""
    with transaction.atomic():
        selection, candidate = _locked(candidate_id)
        if candidate is None or candidate.run_id != run_id:
            return False
        if candidate.status != CandidateStatus.RUNNING:
            return False
        if selection.target_reached_at is not None:
            candidate.stop()
            candidate.save()
            _progress(selection)
            _join(selection)
            return False
        return True


def candidate_round_record(*, candidate_id: int, run_id: str, scores: dict) -> bool:
    """Keep a round's held-out scores and move the job's percentage on; False when the run no
    longer holds the candidate."""
    with transaction.atomic():
        selection, candidate = _locked(candidate_id)
        if candidate is None or candidate.run_id != run_id:
            return False
        if candidate.status != CandidateStatus.RUNNING:
            return False
        candidate.round_scores = [*candidate.round_scores, scores]
        candidate.save(update_fields=["round_scores"])
        _progress(selection)
        return True


def candidate_finish(
    *, candidate_id: int, run_id: str, trained_file: str, sample_count: int
) -> None:
    """The candidate's rounds are done: FINISHED with its mean scores. If they meet every
    performance target, the job stops early: queued candidates are SKIPPED now, running ones
    stop before their next round. The last candidate to end ranks them all."""
    with transaction.atomic():
        selection, candidate = _locked(candidate_id)
        if (
            candidate is None
            or candidate.run_id != run_id
            or candidate.status != CandidateStatus.RUNNING
        ):
            transaction.on_commit(lambda: learning.scratch_delete(trained_file))
            return
        candidate.scores = selection_learning.means(candidate.round_scores)
        candidate.score = candidate.scores.get(selection.metric)
        candidate.trained_file, candidate.sample_count = trained_file, sample_count
        candidate.finish()
        candidate.save()
        if selection.target_reached_at is None and _targets_met(selection, candidate.scores):
            selection.target_reached_at = timezone.now()
            selection.save(update_fields=["target_reached_at", "updated_at"])
            for other in selection.candidates.select_for_update().filter(
                status=CandidateStatus.QUEUED
            ):
                other.skip()
                other.save()
            logger.info("Model selection %s: target reached by %s", selection.pk, candidate)
        _progress(selection)
        _join(selection)


def _targets_met(selection: ModelSelection, scores: dict) -> bool:
    if not selection.targets:
        return False
    return all(
        scores.get(t["perfMetric"]) is not None
        and selection_learning.target_met(t["perfMetric"], scores[t["perfMetric"]], t["perfTarget"])
        for t in selection.targets
    )


def candidate_fail(*, candidate_id: int, run_id: str | None, error: str) -> None:
    """The candidate cannot be trained: FAILED with the error (told ON_EVENT_DETECTION); the
    others go on."""
    with transaction.atomic():
        selection, candidate = _locked(candidate_id)
        if candidate is None or candidate.status in CANDIDATE_ENDED:
            return
        if run_id is not None and candidate.run_id != run_id:
            return
        candidate.fail(error=error[:2000])
        candidate.save()
        _progress(selection)
        selection_notify(selection, SelectionNotificationKind.EVENT, candidate.pk)
        _join(selection)
    logger.warning("Model selection candidate %s failed: %s", candidate_id, error)


def _progress(selection: ModelSelection) -> None:
    """The job's percentage: the training rounds done over those asked for (an ended candidate
    counts as all done), never going back; each multiple of jobPercentage passed is notified
    once (ON_PCT_COMPLETION). 100 % is the completion, notified by _join."""
    candidates = list(selection.candidates.all())
    total = len(candidates) * selection.rounds
    done = sum(
        selection.rounds if c.status in CANDIDATE_ENDED else min(c.rounds_done, selection.rounds)
        for c in candidates
    )
    percentage = min(99, 100 * done // total) if total else 0
    if percentage <= selection.percentage:
        return
    selection.percentage = percentage
    step = selection.job_percentage
    reached = (
        [m for m in range(step, 100, step) if selection.notified_percentage < m <= percentage]
        if step
        else []
    )
    if reached:
        selection.notified_percentage = reached[-1]
    selection.save(update_fields=["percentage", "notified_percentage", "updated_at"])
    for mark in reached:
        selection_notify(selection, SelectionNotificationKind.PERCENTAGE, mark, percentage=mark)


def _join(selection: ModelSelection) -> None:
    """When every candidate has ended: rank the finished ones by the metric (best first; the
    earlier candidate first on a tie), FINISH the job (FAIL it when none finished), notify the
    completion and delete the scratch files of all but the winner."""
    candidates = list(selection.candidates.select_related("version", "version__sam"))
    if selection.status != SelectionStatus.RUNNING or any(
        c.status not in CANDIDATE_ENDED for c in candidates
    ):
        return
    sign = -1 if selection_learning.higher_is_better(selection.metric) else 1
    ranked = sorted(
        (c for c in candidates if c.status == CandidateStatus.FINISHED and c.score is not None),
        key=lambda c: (sign * c.score, c.pk),
    )
    for rank, candidate in enumerate(ranked, 1):
        candidate.rank = rank
        candidate.save(update_fields=["rank"])
    counts = {s: sum(c.status == s for c in candidates) for s in CandidateStatus.values}
    summary = ", ".join(f"{n} {s.lower()}" for s, n in counts.items() if n)
    if ranked:
        best = ranked[0]
        selection.finish()
        selection.result_state_info = (
            f"{len(ranked)} of {len(candidates)} candidates ranked ({summary}); the best is "
            f"{best.version.sam.name} {best.version.version} with {selection.metric} "
            f"{best.score:.4g}"
            + (", which meets the performance target." if selection.target_reached_at else ".")
        )
    else:
        selection.fail()
        selection.result_state_info = f"No candidate finished ({summary}): " + "; ".join(
            f"{c.version.sam.name} {c.version.version}: {c.error}" for c in candidates if c.error
        )
    selection.save()
    selection_notify(selection, SelectionNotificationKind.COMPLETION, 1, percentage=100)
    names = [c.trained_file for c in candidates if c.rank != 1 and c.trained_file]
    ModelSelectionCandidate.objects.filter(selection=selection).exclude(rank=1).update(
        trained_file=""
    )
    transaction.on_commit(lambda: learning.scratch_delete(*names))


def selection_periodic_report(*, selection_id, sequence: int) -> bool:
    """Periodic report number `sequence` of a RUNNING selection (PERIODIC), once, and the next
    one queued repPeriod later; False when the job has ended or the report went out already."""
    with transaction.atomic():
        selection = ModelSelection.objects.select_for_update().filter(pk=selection_id).first()
        if (
            selection is None
            or selection.status != SelectionStatus.RUNNING
            or selection.periodic_reports >= sequence
        ):
            return False
        selection.periodic_reports = sequence
        selection.save(update_fields=["periodic_reports", "updated_at"])
        selection_notify(selection, SelectionNotificationKind.PERIODIC, sequence)
        _enqueue_periodic(selection.pk, sequence + 1, countdown=selection.period_seconds)
    return True


def candidates_waiting() -> tuple[list[int], list[tuple]]:
    """(candidates a worker should take up or check on, (selection, next periodic report,
    period) of running PERIODIC selections): what a worker that starts queues again, since
    a killed worker may have taken their messages with it."""
    candidates = list(
        ModelSelectionCandidate.objects.filter(
            status__in=(CandidateStatus.QUEUED, CandidateStatus.RUNNING)
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    periodic = [
        (s.pk, s.periodic_reports + 1, s.period_seconds)
        for s in ModelSelection.objects.filter(
            status=SelectionStatus.RUNNING,
            notification_method=AimleNotificationMethod.PERIODIC,
        )
    ]
    return candidates, periodic


def _enqueue_candidates(ids: list[int]) -> None:
    from training.aimle.selection_tasks import candidates_queue

    transaction.on_commit(lambda: candidates_queue(ids))


def _enqueue_periodic(selection_id, sequence: int, *, countdown: int) -> None:
    from training.aimle.selection_tasks import selection_periodic_task

    transaction.on_commit(
        lambda: selection_periodic_task.apply_async(
            (str(selection_id), sequence), countdown=countdown
        )
    )
