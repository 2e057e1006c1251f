"""The machine-learning part of an AIMLE model selection, without the database: a candidate's
estimator with its initial parameters, the datasets read for it, its training rounds, and the
scores the candidates are ranked by.

**Training rounds are repeated held-out splits** (Monte Carlo cross-validation): round *i*
fits a fresh clone of the candidate's estimator (the version's hyperparameters, then
mlMdlParam) on a shuffled 80 % of the rows and scores it on the other 20 %, the split being
`ShuffleSplit(n_splits=trainCount, test_size=0.2, random_state=ROUND_SEED)`. Every candidate
of a selection gets the same splits, so they are compared on the same rows; a candidate's
score is the mean over its rounds; the estimator of its last round is the trained model.
"""

import math

import numpy as np

from registry.models import ModelVersion
from training import learning
from training.models import AimlePerformanceMetric, Dataset

ROUND_SEED = 0
VALIDATION_SHARE = learning.VALIDATION_SHARE
# metric: (higher is better, measured on a classifier's labels).
METRICS = {
    AimlePerformanceMetric.ACCURACY: (True, True),
    AimlePerformanceMetric.PRECISION: (True, True),
    AimlePerformanceMetric.RECALL: (True, True),
    AimlePerformanceMetric.MEAN_SQUARED_ERROR: (False, False),
    AimlePerformanceMetric.MEAN_ABSOLUTE_ERROR: (False, False),
}
# The catalog's names of these metrics (registry ModelPerformance, training.learning).
CATALOG_NAMES = {
    AimlePerformanceMetric.ACCURACY: "ACCURACY",
    AimlePerformanceMetric.PRECISION: "PRECISION",
    AimlePerformanceMetric.RECALL: "RECALL",
    AimlePerformanceMetric.MEAN_SQUARED_ERROR: "MSE",
    AimlePerformanceMetric.MEAN_ABSOLUTE_ERROR: "MAE",
}
PARAM_TYPES = (str, int, float, bool, type(None))


def higher_is_better(metric: str) -> bool:
    return METRICS[metric][0]


def for_classifiers(metric: str) -> bool:
    return METRICS[metric][1]


def target_met(metric: str, score: float, target: float) -> bool:
    return score >= target if higher_is_better(metric) else score <= target


def estimator_with(version: ModelVersion, params: dict):
    """A clone of the version's estimator (its hyperparameters, nothing it learnt) with the
    initial parameters set; TrainingFailure names a parameter it does not take."""
    from sklearn.base import clone

    estimator = clone(learning.estimator_load(version))
    unknown = sorted(set(params) - set(estimator.get_params(deep=True)))
    if unknown:
        raise learning.TrainingFailure(
            f"{type(estimator).__name__} has no parameter {', '.join(unknown)}"
        )
    try:
        return estimator.set_params(**params)
    except (TypeError, ValueError) as exc:
        raise learning.TrainingFailure(f"its parameters cannot be set: {exc}") from exc


def data_read(datasets: list[Dataset], features: learning.Features) -> tuple[np.ndarray, ...]:
    """The datasets' rows the estimator takes, joined in the order given."""
    xs, ys = [], []
    for dataset in datasets:
        x, y = learning.dataset_read(dataset, learning.dataset_columns_for(dataset, features))
        xs.append(x)
        ys.append(y)
    return np.concatenate(xs), np.concatenate(ys)


def round_splits(rows: int, rounds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(training rows, held-out rows) of each round."""
    from sklearn.model_selection import ShuffleSplit

    if rows < 10:
        raise learning.TrainingFailure(f"{rows} usable rows are too few to train and validate on")
    splitter = ShuffleSplit(n_splits=rounds, test_size=VALIDATION_SHARE, random_state=ROUND_SEED)
    return list(splitter.split(np.zeros((rows, 1))))


def scores_of(metrics: list[str], y_true: np.ndarray, y_predicted: np.ndarray) -> dict:
    """{metric: score} of predictions; precision and recall are macro averages over the
    classes (every class counts the same), 0 for a class never predicted."""
    from sklearn import metrics as m

    measure = {
        AimlePerformanceMetric.ACCURACY: lambda: m.accuracy_score(y_true, y_predicted),
        AimlePerformanceMetric.PRECISION: lambda: m.precision_score(
            y_true, y_predicted, average="macro", zero_division=0
        ),
        AimlePerformanceMetric.RECALL: lambda: m.recall_score(
            y_true, y_predicted, average="macro", zero_division=0
        ),
        AimlePerformanceMetric.MEAN_SQUARED_ERROR: lambda: m.mean_squared_error(
            y_true, y_predicted
        ),
        AimlePerformanceMetric.MEAN_ABSOLUTE_ERROR: lambda: m.mean_absolute_error(
            y_true, y_predicted
        ),
    }
    values = {metric: float(measure[metric]()) for metric in metrics}
    return {k: v if math.isfinite(v) else None for k, v in values.items()}


def round_fit(estimator, x: np.ndarray, y: np.ndarray, split, metrics: list[str]):
    """One training round: a clone of `estimator` fitted on the split's training rows and
    scored on its held-out rows; (fitted estimator, {metric: score})."""
    from sklearn.base import clone

    train, held_out = split
    fitted = clone(estimator)
    try:
        fitted.fit(x[train], y[train])
    except ValueError as exc:
        raise learning.TrainingFailure(f"the estimator could not be fitted: {exc}") from exc
    return fitted, scores_of(metrics, y[held_out], fitted.predict(x[held_out]))


def means(round_scores: list[dict]) -> dict:
    """{metric: mean over the rounds} (None when a round could not score it)."""
    if not round_scores:
        return {}
    result = {}
    for metric in round_scores[0]:
        values = [r.get(metric) for r in round_scores]
        result[metric] = None if None in values else float(np.mean(values))
    return result


def trained_store(selection_id, candidate_id: int, estimator) -> str:
    """The candidate's trained estimator as a skops file in the warehouse (scratch, where any
    worker and the web process can read it)."""
    import skops.io as sio
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    name = f"training/selections/{selection_id}/candidate-{candidate_id}.skops"
    default_storage.delete(name)  # a run taken over writes it again
    return default_storage.save(name, ContentFile(sio.dumps(estimator)))
