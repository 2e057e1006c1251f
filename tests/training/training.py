"""Builders for the training tests: trainable versions (the demo anomaly model, or one whose
fit takes a chosen time), datasets uploaded through the service, and waiting on a process."""

import io
import time
import warnings

import numpy as np
import pytest

from registry import services as registry_services
from tests import factories
from tests.training.datasets import anomaly_kpis
from training import services
from training.models import MLTrainingProcess, MLTrainingRequest


def trainable_version(provider, auditor, *, state: str = "RELEASED"):
    """The demo KPI anomaly detector (a scikit-learn pipeline in a skops file)."""
    return factories.make_version_in(state, provider=provider, auditor=auditor, kind="skops")


def slow_version(provider, *, iterations: int):
    """A DRAFT whose estimator (SGDClassifier, no early stop) takes about `iterations` / 55,000
    seconds to fit on 120 rows: long enough to act on a process in the middle of TRAINING."""
    import skops.io as sio
    from sklearn.linear_model import SGDClassifier

    frame = anomaly_kpis()
    model = SGDClassifier(max_iter=iterations, tol=None, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.set_params(max_iter=1).fit(frame.iloc[:, :6].to_numpy(), frame["anomaly"])
    model.set_params(max_iter=iterations)
    draft = factories.make_draft(provider, performance=factories.PERFORMANCE)
    return registry_services.version_artifact_upload(
        version_id=draft.pk,
        user=provider,
        stream=io.BytesIO(sio.dumps(model)),
        filename="slow.skops",
    )


def upload_dataset(user, organisation, tmp_path, frame=None, *, name="KPIs", target="anomaly"):
    path = tmp_path / f"{name.replace(' ', '-')}.csv"
    (anomaly_kpis() if frame is None else frame).to_csv(path, index=False)
    with open(path, "rb") as stream:
        return services.dataset_upload(
            user=user,
            organisation=organisation,
            name=name,
            stream=stream,
            filename=path.name,
            target_column=target,
        )


def request_training(user, version, datasets=(), **fields) -> MLTrainingRequest:
    return services.training_request_create(
        user=user,
        ml_entity_id=version.pk,
        candidate_training_data_source=[d.pk for d in datasets],
        performance_requirements=fields.pop(
            "performance_requirements",
            [{"performance_metric": "ACCURACY", "performance_score": 0.5}],
        ),
        **fields,
    )


def wait_for(condition, *, timeout: float, what: str, log=None):
    """Poll condition() (which reads the database) until it returns something true."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-6000:] if log is not None else ""
            pytest.fail(f"Timed out after {timeout} s waiting for {what}\n{tail}")
        time.sleep(0.05)
    return result


def process_of(request) -> MLTrainingProcess | None:
    return MLTrainingProcess.objects.filter(training_request=request).first()


def features_and_label(rows: int = 120, seed: int = 3):
    frame = anomaly_kpis(rows, seed=seed)
    return frame.iloc[:, :6].to_numpy(dtype=np.float64), frame["anomaly"].to_numpy()
