"""A synthetic telecom KPI data set and the demo models trained on it at seed time.

The data imitate hourly cell KPIs: load follows a daily and weekly rhythm per cell, and a few
samples carry faults (throughput collapse with high drop rate) that the anomaly model learns.
"""

import io
from dataclasses import dataclass, field
from functools import cache

import numpy as np

KPI_FEATURES = [
    "hour_of_day",
    "day_of_week",
    "active_users",
    "prb_utilisation_pct",
    "dl_throughput_mbps",
    "drop_rate_pct",
]


def cell_kpi_dataset(
    *, n_samples: int = 4000, seed: int = 7
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (features, next-hour cell load in %, anomaly label 0/1) for synthetic cells."""
    rng = np.random.default_rng(seed)
    hour = rng.integers(0, 24, n_samples)
    day = rng.integers(0, 7, n_samples)
    capacity = rng.uniform(80, 200, n_samples)
    rhythm = 0.55 + 0.35 * np.sin((hour - 7) / 24 * 2 * np.pi) - 0.12 * (day >= 5)
    users = np.clip(capacity * rhythm + rng.normal(0, 8, n_samples), 1, None)
    prb = np.clip(100 * users / capacity + rng.normal(0, 4, n_samples), 0, 100)
    throughput = np.clip(450 - 3.2 * prb + rng.normal(0, 15, n_samples), 5, None)
    drop = np.clip(rng.gamma(1.5, 0.2, n_samples), 0, None)
    anomaly = rng.random(n_samples) < 0.06
    throughput[anomaly] *= rng.uniform(0.45, 0.9, anomaly.sum())
    drop[anomaly] += rng.uniform(0.2, 1.6, anomaly.sum())
    next_hour_load = np.clip(
        prb + 6 * np.cos((hour + 1 - 7) / 24 * 2 * np.pi) + rng.normal(0, 3, n_samples), 0, 100
    )
    features = np.column_stack([hour, day, users, prb, throughput, drop]).astype(np.float32)
    return features, next_hour_load.astype(np.float32), anomaly.astype(np.int64)


@dataclass
class DemoModel:
    """A trained demo model, its file and the registration fields that describe it."""

    filename: str
    content: bytes
    fields: dict
    tags: list[str]
    performance: list[dict]
    training_context: dict
    estimator: object = field(repr=False)


def _split(n: int) -> tuple[slice, slice]:
    cut = int(n * 0.8)
    return slice(0, cut), slice(cut, n)


def _training_context(n_train: int, n_test: int) -> dict:
    return {
        "dataset": "synthetic hourly cell KPIs (SAM Hub demo generator, seed 7)",
        "features": KPI_FEATURES,
        "trainingSamples": n_train,
        "testSamples": n_test,
    }


@cache  # deterministic: train once per process
def cell_load_model() -> DemoModel:
    """Next-hour cell load regression, exported to ONNX."""
    from skl2onnx import to_onnx
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.metrics import mean_absolute_error, r2_score

    x, load, _ = cell_kpi_dataset()
    train, test = _split(len(x))
    model = RandomForestRegressor(n_estimators=30, max_depth=8, random_state=0)
    model.fit(x[train], load[train])
    predicted = model.predict(x[test])
    onnx_model = to_onnx(model, x[:1], target_opset={"": 17, "ai.onnx.ml": 3})
    return DemoModel(
        filename="cell-load-forecast.onnx",
        content=onnx_model.SerializeToString(),
        fields={
            "name": "Cell load forecast",
            "description": "Predicts the next-hour PRB load of a cell from its current KPIs, "
            "so that energy saving and load balancing can act ahead of the peak.",
            "inference_type": "NWDAF_ANALYTICS",
            "inference_name": "NF_LOAD",
            "domain": "RAN",
            "region": "North",
            "scenario": "Energy saving",
            "licence": "Apache-2.0",
            "intended_use": "Forecast cell load one hour ahead for energy-saving decisions.",
            "limitations": "Trained on synthetic urban cells; retrain for rural or event traffic.",
        },
        tags=["load", "forecast", "energy"],
        performance=[
            {
                "inference_output_name": "variable",
                "performance_metric": "MAE",
                "performance_score": round(float(mean_absolute_error(load[test], predicted)), 4),
            },
            {
                "inference_output_name": "variable",
                "performance_metric": "R2",
                "performance_score": round(float(r2_score(load[test], predicted)), 4),
            },
        ],
        training_context=_training_context(train.stop, len(x) - train.stop),
        estimator=model,
    )


@cache  # deterministic: train once per process
def kpi_anomaly_model() -> DemoModel:
    """KPI anomaly detection as classification, saved with skops (all types trusted)."""
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, _, anomaly = cell_kpi_dataset()
    train, test = _split(len(x))
    model = make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=500, class_weight="balanced")
    )
    model.fit(x[train].astype(np.float64), anomaly[train])
    predicted = model.predict(x[test].astype(np.float64))
    proba = model.predict_proba(x[test].astype(np.float64))
    return DemoModel(
        filename="kpi-anomaly-detector.skops",
        content=sio.dumps(model),
        fields={
            "name": "KPI anomaly detector",
            "description": "Flags hours where a cell's throughput and drop rate look faulty, "
            "to open a trouble ticket before customers complain.",
            "inference_type": "MDA",
            "inference_name": "MDA_KPI_ANOMALY",
            "domain": "Assurance",
            "region": "North",
            "scenario": "Fault detection",
            "licence": "Apache-2.0",
            "intended_use": "Detect KPI anomalies in hourly cell counters.",
            "limitations": "Labels are synthetic; thresholds need tuning per vendor counters.",
        },
        tags=["anomaly", "assurance", "kpi"],
        performance=[
            {
                "inference_output_name": "label",
                "performance_metric": "ACCURACY",
                "performance_score": round(float(accuracy_score(anomaly[test], predicted)), 4),
                "decision_confidence_score": round(float(proba.max(axis=1).mean()), 4),
            },
            {
                "inference_output_name": "label",
                "performance_metric": "F1",
                "performance_score": round(float(f1_score(anomaly[test], predicted)), 4),
            },
        ],
        training_context=_training_context(train.stop, len(x) - train.stop),
        estimator=model,
    )


@cache  # deterministic: train once per process
def handover_failure_model() -> DemoModel:
    """A random-forest classifier saved with skops: exercises the tree validation on upload."""
    import skops.io as sio
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import accuracy_score

    x, _, anomaly = cell_kpi_dataset(seed=11)
    train, test = _split(len(x))
    model = RandomForestClassifier(n_estimators=20, max_depth=6, random_state=0)
    model.fit(x[train].astype(np.float64), anomaly[train])
    predicted = model.predict(x[test].astype(np.float64))
    buffer = io.BytesIO(sio.dumps(model))
    return DemoModel(
        filename="degradation-classifier.skops",
        content=buffer.getvalue(),
        fields={
            "name": "Cell degradation classifier",
            "description": "Random-forest classifier telling degraded cell-hours from healthy "
            "ones, for root-cause triage in the NOC.",
            "inference_type": "VENDOR_SPECIFIC",
            "inference_name": "noc-triage",
            "domain": "Assurance",
            "region": "South",
            "scenario": "Root-cause triage",
            "licence": "Proprietary",
            "intended_use": "Rank cells for NOC triage.",
            "limitations": "Not calibrated; use the ranking, not the probability.",
        },
        tags=["assurance", "kpi", "trees"],
        performance=[
            {
                "inference_output_name": "label",
                "performance_metric": "ACCURACY",
                "performance_score": round(float(accuracy_score(anomaly[test], predicted)), 4),
            }
        ],
        training_context=_training_context(train.stop, len(x) - train.stop),
        estimator=model,
    )


DEMO_MODELS = (cell_load_model, kpi_anomaly_model, handover_failure_model)
