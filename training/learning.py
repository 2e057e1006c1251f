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
import tempfile
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.core.files import File
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
    """The dataset's features (float64) and target from the warehouse, rows with a missing
    value left out: read with pyarrow's multithreaded reader into the arrays the estimator
    takes, without a DataFrame on the way."""
    import pyarrow as pa
    import pyarrow.compute as pc

    wanted = [*columns, dataset.target_column]
    with default_storage.open(dataset.file.name, "rb") as f:
        table = _table_read(f, dataset.format, wanted)
    try:
        # As numpy converts: a huge integer loses precision rather than failing.
        features = [table.column(name).cast(pa.float64(), safe=False) for name in columns]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise TrainingFailure(f"its feature columns are not all numbers: {exc}") from exc
    x = np.column_stack([column.to_numpy() for column in features])  # a null is NaN here
    target = table.column(dataset.target_column)
    kept = ~np.isnan(x).any(axis=1) & pc.is_valid(target).to_numpy()
    if pa.types.is_floating(target.type):
        kept &= ~pc.is_nan(target).fill_null(True).to_numpy()
    if not kept.all():
        x, target = x[kept], target.filter(pa.array(kept))
    return x, target.to_numpy()


# The spellings pandas reads as a missing value (pandas' default na_values): the dataset check
# read the file with pandas, and rows with a missing value are left out as it counted them.
MISSING_SPELLINGS = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
]  # fmt: skip


def _table_read(f, format: str, wanted: list[str]):
    """The wanted columns of a stored dataset as an Arrow table. A CSV that pyarrow's reader
    refuses although the upload check (pandas) read it, such as a row with fewer fields than
    the header, which pandas fills with missing values, is read with pandas as the check
    read it."""
    import pyarrow as pa
    import pyarrow.csv
    import pyarrow.parquet

    if format == "PARQUET":
        return pyarrow.parquet.read_table(f, columns=wanted)
    options = pyarrow.csv.ConvertOptions(include_columns=wanted, null_values=MISSING_SPELLINGS)
    try:
        return pyarrow.csv.read_csv(f, convert_options=options)
    except pa.ArrowInvalid:
        import pandas as pd

        f.seek(0)
        frame = pd.read_csv(f, usecols=wanted, encoding="utf-8")
        return pa.Table.from_pandas(frame, preserve_index=False)


def split(x: np.ndarray, y: np.ndarray, *, seed: int) -> dict[str, np.ndarray]:
    """A shuffled training / validation split, the same for the same seed."""
    if len(y) < 10:
        raise TrainingFailure(f"{len(y)} usable rows are too few to train and validate on")
    order = np.random.default_rng(seed).permutation(len(y))
    cut = len(y) - max(2, int(round(len(y) * VALIDATION_SHARE)))
    train, validation = order[:cut], order[cut:]
    # np.take gathers rows several times faster than fancy indexing does.
    return {
        "x_train": np.take(x, train, axis=0),
        "y_train": np.take(y, train),
        "x_validation": np.take(x, validation, axis=0),
        "y_validation": np.take(y, validation),
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


# What the last prepare step in this worker process stored, by (file, run): the run that
# prepares a process goes on to train it in the same process, so its training step takes the
# arrays from here rather than reading back the file it just wrote. The file is for any other
# run (one that takes the process over, or resumes it after a pause).
_prepared: dict[tuple[str, str], dict[str, np.ndarray]] = {}


def arrays_store(process_id: int, arrays: dict[str, np.ndarray], *, run_id: str) -> str:
    name = scratch_name(process_id, "prepared.npz")
    # Through a temporary file: about half the time of building the archive in memory.
    with tempfile.TemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR) as spool:
        np.savez(spool, **arrays)
        spool.seek(0)
        name = _store(name, File(spool, name=name))
    _prepared.clear()
    _prepared[(name, run_id)] = arrays
    return name


def arrays_load(name: str, *, run_id: str) -> dict[str, np.ndarray]:
    """The prepared arrays: those this run stored, or the file's."""
    kept = _prepared.pop((name, run_id), None)
    if kept is not None:
        return kept
    with default_storage.open(name, "rb") as f:
        content = f.read()
    with np.load(io.BytesIO(content), allow_pickle=False) as loaded:
        return {key: loaded[key] for key in loaded.files}


def arrays_forget() -> None:
    """Drop the arrays kept for a training step (a run ends: it trained them, paused, or lost
    the process)."""
    _prepared.clear()


def estimator_store(process_id: int, estimator) -> str:
    import skops.io as sio

    return _store(scratch_name(process_id, "trained.skops"), ContentFile(sio.dumps(estimator)))


def scratch_read(name: str) -> bytes:
    with default_storage.open(name, "rb") as f:
        return f.read()


def scratch_delete(*names: str) -> None:
    for name in names:
        if name:
            default_storage.delete(name)


def _store(name: str, content: File) -> str:
    default_storage.delete(name)  # a run taken over writes the step's output again
    return default_storage.save(name, content)
