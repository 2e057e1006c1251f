"""The machine-learning part of a training process, without the database: which datasets fit
a version's estimator, reading and splitting them, cloning and fitting the estimator, scoring
it, and the scratch files a process keeps between its steps (training.services runs the steps).

The estimator is the version's own scikit-learn model, loaded from the warehouse the way the
runtime loads it (sharing.runtime: the file must hash to the approved sha256, and skops may
load only trusted types). `sklearn.base.clone` keeps its hyperparameters and drops what it
learnt; the clone is fitted on the prepared data.
"""

import hashlib
import io
import math
from dataclasses import dataclass

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from registry.models import ModelVersion
from sharing.runtime import samhub_runtime
from training.models import Dataset

NUMERIC_TYPES = ("integer", "float", "boolean")
# The share of the prepared rows held out to score the trained model (dataRatioTrainingAndValidation).
VALIDATION_SHARE = 0.2
# Metrics SAM Hub measures, by the kind of estimator, and whether a higher score is better.
CLASSIFIER_METRICS = {"ACCURACY": True, "F1": True}
REGRESSOR_METRICS = {"MAE": False, "MSE": False, "R2": True}
# The output a metric scores, as the version's signature names it (registry.artifact_inspection).
CLASSIFIER_OUTPUT, REGRESSOR_OUTPUT = "label", "variable"


class TrainingFailure(Exception):
    """The process cannot go on; the message is its resultStateInfo."""


@dataclass(frozen=True)
class Features:
    """What the version's estimator takes: how many features and, if it knows them, their names."""

    count: int
    names: tuple[str, ...] | None
    classifier: bool

    @classmethod
    def of(cls, version: ModelVersion) -> "Features":
        signature = version.signature or {}
        inputs = signature.get("inputs") or [{}]
        shape = inputs[0].get("shape") or [None, None]
        names = inputs[0].get("feature_names")
        outputs = {o.get("name") for o in signature.get("outputs", [])}
        return cls(
            count=int(shape[-1] or 0),
            names=tuple(names) if names else None,
            classifier=CLASSIFIER_OUTPUT in outputs,
        )

    @property
    def metrics(self) -> dict[str, bool]:
        return CLASSIFIER_METRICS if self.classifier else REGRESSOR_METRICS

    @property
    def output(self) -> str:
        return CLASSIFIER_OUTPUT if self.classifier else REGRESSOR_OUTPUT


def dataset_columns_for(dataset: Dataset, features: Features) -> list[str]:
    """The dataset's columns that feed the estimator, in its order; TrainingFailure says why
    the dataset does not fit it."""
    types = {c["name"]: c["type"] for c in dataset.columns}
    if types.get(dataset.target_column) not in NUMERIC_TYPES:
        raise TrainingFailure(f"its target column {dataset.target_column!r} is not numeric")
    if features.names is not None:
        missing = [n for n in features.names if types.get(n) not in NUMERIC_TYPES]
        if missing:
            raise TrainingFailure(
                "it lacks the numeric feature columns the model takes: " + ", ".join(missing)
            )
        return list(features.names)
    numeric = [
        c["name"]
        for c in dataset.columns
        if c["name"] != dataset.target_column and c["type"] in NUMERIC_TYPES
    ]
    if len(numeric) != features.count:
        raise TrainingFailure(
            f"it has {len(numeric)} numeric feature columns and the model takes {features.count}"
        )
    return numeric


def dataset_read(dataset: Dataset, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The dataset's features and target from the warehouse, rows with a missing value left out."""
    import pandas as pd

    wanted = [*columns, dataset.target_column]
    with default_storage.open(dataset.file.name, "rb") as f:
        if dataset.format == "PARQUET":
            frame = pd.read_parquet(f, columns=wanted)
        else:
            frame = pd.read_csv(f, usecols=wanted, encoding="utf-8")
    frame = frame.dropna()
    return frame[columns].to_numpy(dtype=np.float64), frame[dataset.target_column].to_numpy()


def split(x: np.ndarray, y: np.ndarray, *, seed: int) -> dict[str, np.ndarray]:
    """A shuffled training / validation split, the same for the same seed."""
    if len(y) < 10:
        raise TrainingFailure(f"{len(y)} usable rows are too few to train and validate on")
    order = np.random.default_rng(seed).permutation(len(y))
    cut = len(y) - max(2, int(round(len(y) * VALIDATION_SHARE)))
    train, validation = order[:cut], order[cut:]
    return {
        "x_train": x[train],
        "y_train": y[train],
        "x_validation": x[validation],
        "y_validation": y[validation],
    }


def estimator_load(version: ModelVersion):
    """The version's fitted estimator from the warehouse, checked as the runtime checks it."""
    with default_storage.open(version.artifact.name, "rb") as f:
        content = f.read()
    if hashlib.sha256(content).hexdigest() != version.artifact_sha256:
        raise TrainingFailure(
            f"the warehouse's copy of version {version.version} does not hash to its sha256"
        )
    try:
        return samhub_runtime.SkopsModel(content).estimator
    except samhub_runtime.ModelFailure as exc:
        raise TrainingFailure(str(exc)) from exc


def fit(version: ModelVersion, arrays: dict[str, np.ndarray]):
    """A clone of the version's estimator (its hyperparameters, nothing it learnt) fitted on
    the training split."""
    from sklearn.base import clone

    estimator = clone(estimator_load(version))
    try:
        estimator.fit(arrays["x_train"], arrays["y_train"])
    except ValueError as exc:
        raise TrainingFailure(f"the estimator could not be fitted: {exc}") from exc
    return estimator


def scores(estimator, features: Features, x: np.ndarray, y: np.ndarray) -> list[dict]:
    """ModelPerformance entries (registry's snake_case keys) of the estimator on (x, y)."""
    from sklearn import metrics

    predicted = estimator.predict(x)
    if features.classifier:
        values = {
            "ACCURACY": metrics.accuracy_score(y, predicted),
            "F1": metrics.f1_score(y, predicted, average="macro"),
        }
    else:
        values = {
            "MAE": metrics.mean_absolute_error(y, predicted),
            "MSE": metrics.mean_squared_error(y, predicted),
            "R2": metrics.r2_score(y, predicted),
        }
    return [
        {
            "inference_output_name": features.output,
            "performance_metric": name,
            "performance_score": round(float(value), 6) if math.isfinite(value) else 0.0,
        }
        for name, value in values.items()
    ]


def confidence(features: Features, validation: list[dict]) -> int:
    """confidenceIndication (0..100): the share of held-out cases a classifier gets right, or
    the share of the target's variance a regressor explains (R2, from 0)."""
    metric = "ACCURACY" if features.classifier else "R2"
    score = next(s["performance_score"] for s in validation if s["performance_metric"] == metric)
    return int(round(100 * min(1.0, max(0.0, score))))


def requirements_unmet(requirements: list[dict], validation: list[dict], features) -> list[str]:
    """The performance requirements the held-out scores miss, in words."""
    measured = {s["performance_metric"]: s["performance_score"] for s in validation}
    unmet = []
    for wanted in requirements:
        metric, target = wanted["performance_metric"], wanted["performance_score"]
        score = measured.get(metric)
        higher_better = features.metrics.get(metric, True)
        if score is None or (score < target if higher_better else score > target):
            unmet.append(f"{metric} {score} (wanted {'≥' if higher_better else '≤'} {target})")
    return unmet


# --- scratch files of a process, in the warehouse so any worker can continue it -------------


def scratch_name(process_id: int, name: str) -> str:
    return f"training/processes/{process_id}/{name}"


def arrays_store(process_id: int, arrays: dict[str, np.ndarray]) -> str:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return _store(scratch_name(process_id, "prepared.npz"), buffer.getvalue())


def arrays_load(name: str) -> dict[str, np.ndarray]:
    with default_storage.open(name, "rb") as f:
        content = f.read()
    with np.load(io.BytesIO(content), allow_pickle=False) as loaded:
        return {key: loaded[key] for key in loaded.files}


def estimator_store(process_id: int, estimator) -> str:
    import skops.io as sio

    return _store(scratch_name(process_id, "trained.skops"), sio.dumps(estimator))


def scratch_read(name: str) -> bytes:
    with default_storage.open(name, "rb") as f:
        return f.read()


def scratch_delete(*names: str) -> None:
    for name in names:
        if name:
            default_storage.delete(name)


def _store(name: str, content: bytes) -> str:
    default_storage.delete(name)  # a run taken over writes the step's output again
    return default_storage.save(name, ContentFile(content))
