"""Builders for the model selection tests: released versions holding a chosen scikit-learn
estimator, the AssistMLMdlSelSubsc body that names them, the direct computation of a ranking,
and the JSON schema of AssistMLMdlSelNotif written from the summary of TS 29.482."""

import io
import warnings

import numpy as np
import skops.io as sio

from registry import services as registry_services
from tests import factories
from tests.training.datasets import anomaly_kpis

FEATURES = 6  # the six KPI columns of anomaly_kpis, then its "anomaly" label
CLASSIFIER_PERFORMANCE = [
    {"inference_output_name": "label", "performance_metric": "ACCURACY", "performance_score": 0.9}
]


def released_estimator(provider, auditor, estimator, *, name: str, state: str = "RELEASED"):
    """A version of a new model holding `estimator` (fitted once on the KPI frame), carried
    to `state` by the given people."""
    frame = anomaly_kpis()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(frame.iloc[:, :FEATURES].to_numpy(np.float64), frame["anomaly"])
    sam = factories.make_model(provider, name=name)
    draft = factories.make_draft(provider, sam=sam, performance=CLASSIFIER_PERFORMANCE)
    version = registry_services.version_artifact_upload(
        version_id=draft.pk,
        user=provider,
        stream=io.BytesIO(sio.dumps(estimator)),
        filename=f"{sam.slug}.skops",
    )
    steps = {
        "SUBMITTED": lambda v: registry_services.version_submit(version_id=v.pk, user=provider),
        "APPROVED": lambda v: registry_services.version_approve(version_id=v.pk, user=auditor),
        "REGISTERED": lambda v: registry_services.version_register(
            version_id=v.pk, user=provider, access_type="MODEL_FILE"
        ),
        "RELEASED": lambda v: registry_services.version_release(version_id=v.pk, user=provider),
    }
    for step, run in steps.items():
        if state == "DRAFT":
            break
        version = run(version)
        if step == state:
            break
    return version


def subscription_body(versions, datasets, *, params=None, metric="ACCURACY", target=None,
                      rounds=3, samples=10, clients=("set-north",), **extra) -> dict:  # fmt: skip
    """AssistMLMdlSelSubsc naming the versions and datasets (objects, or ids of none)."""
    params = params or {}
    versions = [getattr(v, "pk", v) for v in versions]
    datasets = [getattr(d, "pk", d) for d in datasets]
    requirement = {"perfMetric": metric, **({"perfTarget": target} if target is not None else {})}
    profile = {
        "candMLMdls": [
            {"mlMdlId": str(v), **({"mlMdlParam": params[v]} if v in params else {})}
            for v in versions
        ],
        "dataSetIds": [str(d) for d in datasets],
        "trainReq": [{"perfReq": [requirement], "trainCount": rounds, "sampleCount": samples}],
    }
    if clients:
        profile["clientList"] = list(clients)
    profile.update(extra.pop("profile", {}))
    return {"aimlProfile": profile, **extra}


def direct_scores(estimators, frame, *, rounds: int, metric) -> list[float]:
    """What each estimator scores, computed here with scikit-learn alone: the mean over
    `rounds` shuffled 80/20 splits (random_state 0) of the metric on the held-out rows."""
    from sklearn import metrics
    from sklearn.base import clone
    from sklearn.model_selection import ShuffleSplit

    x = frame.iloc[:, :FEATURES].to_numpy(np.float64)
    y = frame["anomaly"].to_numpy()
    splits = list(ShuffleSplit(n_splits=rounds, test_size=0.2, random_state=0).split(x))
    measure = {
        "ACCURACY": metrics.accuracy_score,
        "RECALL": lambda t, p: metrics.recall_score(t, p, average="macro", zero_division=0),
    }[metric]
    scores = []
    for estimator in estimators:
        values = []
        for train, test in splits:
            fitted = clone(estimator).fit(x[train], y[train])
            values.append(measure(y[test], fitted.predict(x[test])))
        scores.append(float(np.mean(values)))
    return scores


# AssistMLMdlSelNotif as docs/model_selection.md summarises TS 29.482: {opStatus,
# trainMLModel (required), elapseTime, timeStamp}, answered 204.
PERFORMANCE_METRICS = [
    "ACCURACY", "PRECISION", "RECALL", "MEAN_SQUARED_ERROR", "MEAN_ABSOLUTE_ERROR",
]  # fmt: skip
NOTIFICATION_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["trainMLModel"],
    "additionalProperties": False,
    "properties": {
        "opStatus": {
            "type": "object",
            "required": ["status", "percentage"],
            "additionalProperties": False,
            "properties": {
                "status": {"enum": ["QUEUED", "RUNNING", "FINISHED", "FAILED"]},
                "percentage": {"type": "integer", "minimum": 0, "maximum": 100},
                "targetReached": {"type": "boolean"},
            },
        },
        "trainMLModel": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["mlMdlInfo", "mlMdlPerf"],
                "properties": {
                    "mlMdlInfo": {
                        "type": "object",
                        "required": ["mlMdlId"],
                        "properties": {"mlMdlId": {"type": "string", "pattern": "^[0-9]+$"}},
                    },
                    "mlMdlPerf": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["perfMetric", "perfValue"],
                            "additionalProperties": False,
                            "properties": {
                                "perfMetric": {"enum": PERFORMANCE_METRICS},
                                "perfValue": {"type": "number"},
                            },
                        },
                    },
                    "status": {
                        "enum": ["QUEUED", "RUNNING", "FINISHED", "FAILED", "SKIPPED", "STOPPED"]
                    },
                    "rank": {"type": "integer", "minimum": 1},
                    "trainRounds": {"type": "integer", "minimum": 0},
                    "error": {"type": "string"},
                },
            },
        },
        "elapseTime": {"type": "integer", "minimum": 0},
        "timeStamp": {
            "type": "string",
            "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$",
        },
    },
}


def notification_errors(body: dict) -> list[str]:
    """Every way `body` departs from NOTIFICATION_SCHEMA (empty: it conforms)."""
    from jsonschema import Draft202012Validator

    return [e.message for e in Draft202012Validator(NOTIFICATION_SCHEMA).iter_errors(body)]
