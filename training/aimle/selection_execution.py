"""Running one candidate of an AIMLE model selection on a Celery worker: claim it, read the
datasets, fit and score its training rounds one by one (training.aimle.selection_learning),
and keep its trained estimator; every step's record goes through training.aimle.selection.

As training processes do (training.execution), the run refreshes the candidate's heartbeat
every SAMHUB_TRAINING_HEARTBEAT_SECONDS, and its message is acknowledged when it ends and
handed back when its pool process dies: the run that gets it back waits for the heartbeat to
stop and takes the candidate over, continuing after the last round it recorded (each round's
split is fixed, so a resumed candidate gets the same rounds). A candidate that raises, or
outlives SAMHUB_MODEL_SELECTION_CANDIDATE_SECONDS, FAILS with the reason; the others go on.
"""

import logging
import time
import uuid

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from core.errors import DomainError
from core.heartbeat import LOST_AFTER_BEATS, heartbeat_kept
from training import learning
from training.aimle import selection, selection_learning
from training.models import Dataset, ModelSelectionCandidate

logger = logging.getLogger(__name__)


def candidate_run(*, candidate_id: int, time_limit: float | None = None) -> str | None:
    """Train and score the candidate's rounds; its status at the end, None when this run had
    nothing to do (ended, deleted, or held by a live run for longer than a few beats).
    `time_limit`: the seconds its task may run (the reason given when it runs out)."""
    beat = settings.SAMHUB_TRAINING_HEARTBEAT_SECONDS
    deadline = time.monotonic() + (LOST_AFTER_BEATS + 1) * beat
    run_id = uuid.uuid4().hex
    while True:
        candidate, held = selection.candidate_claim(candidate_id=candidate_id, run_id=run_id)
        if candidate is not None:
            break
        if not held or time.monotonic() > deadline:
            return None
        time.sleep(min(beat, 1))
    with heartbeat_kept(
        ModelSelectionCandidate.objects.filter(pk=candidate_id, run_id=run_id),
        seconds=beat,
        name=f"selection-candidate-{candidate_id}",
    ):
        try:
            _rounds_run(candidate, run_id)
        except SoftTimeLimitExceeded:
            limit = f"{time_limit:g} s" if time_limit else "its time limit"
            selection.candidate_fail(
                candidate_id=candidate_id,
                run_id=run_id,
                error=f"its training took longer than {limit} "
                "(SAMHUB_MODEL_SELECTION_CANDIDATE_SECONDS)",
            )
        except (learning.TrainingFailure, DomainError) as exc:
            reason = exc.message if isinstance(exc, DomainError) else str(exc)
            selection.candidate_fail(candidate_id=candidate_id, run_id=run_id, error=reason)
        except Exception as exc:
            logger.exception("Model selection candidate %s failed", candidate_id)
            selection.candidate_fail(
                candidate_id=candidate_id, run_id=run_id, error=f"{type(exc).__name__}: {exc}"
            )
    ended = ModelSelectionCandidate.objects.filter(pk=candidate_id).first()
    return ended.status if ended else None


def _rounds_run(candidate: ModelSelectionCandidate, run_id: str) -> None:
    job = candidate.selection
    metrics = selection.training_requirements_derived(job.training_requirements)["metrics"]
    by_id = Dataset.objects.in_bulk(job.dataset_order)
    datasets = [by_id[i] for i in job.dataset_order if i in by_id]
    if len(datasets) != len(job.dataset_order):
        raise learning.TrainingFailure("a dataset of the selection was deleted meanwhile")
    estimator = selection_learning.estimator_with(candidate.version, candidate.params)
    x, y = selection_learning.data_read(datasets, learning.Features.of(candidate.version))
    if len(y) < job.sample_count:
        raise learning.TrainingFailure(
            f"{len(y)} usable rows (rows with a missing value left out) are fewer than "
            f"sampleCount {job.sample_count}"
        )
    splits = selection_learning.round_splits(len(y), job.rounds)
    fitted = None
    for index, split in enumerate(splits):
        if index < candidate.rounds_done:
            continue  # recorded by a run that was lost
        if not selection.candidate_round_next(candidate_id=candidate.pk, run_id=run_id):
            return
        fitted, scores = selection_learning.round_fit(estimator, x, y, split, metrics)
        if not selection.candidate_round_record(
            candidate_id=candidate.pk, run_id=run_id, scores=scores
        ):
            return
    if fitted is None:  # every round was recorded before a lost run could keep its estimator
        fitted, _ = selection_learning.round_fit(estimator, x, y, splits[-1], metrics)
    name = selection_learning.trained_store(job.pk, candidate.pk, fitted)
    selection.candidate_finish(
        candidate_id=candidate.pk, run_id=run_id, trained_file=name, sample_count=len(y)
    )
