import io

import numpy as np
import onnxruntime
import pytest
import skops.io as sio
from django.contrib.auth import authenticate
from django.core.management import call_command

from registry import demo
from registry.models import ModelVersion, VersionStatus


@pytest.fixture
def seeded(db):
    out = io.StringIO()
    call_command("seed_demo", password="demo-pass-123", stdout=out)
    return out.getvalue()


def test_it_prints_one_user_per_role_that_can_sign_in(seeded):
    for role in ("provider", "auditor", "operator", "consumer"):
        assert f"demo-{role} / demo-pass-123" in seeded
        user = authenticate(username=f"demo-{role}", password="demo-pass-123")
        assert user is not None and user.groups.filter(name=role).exists()


def test_it_releases_real_models_that_run(seeded):
    versions = {v.sam.name: v for v in ModelVersion.objects.select_related("sam")}
    assert {v.status for v in versions.values()} == {VersionStatus.RELEASED}
    assert {v.artifact_format for v in versions.values()} == {"onnx", "skops"}
    features, load, anomaly = demo.cell_kpi_dataset(n_samples=50, seed=99)

    onnx_version = versions["Cell load forecast"]
    with onnx_version.artifact.open("rb") as f:
        session = onnxruntime.InferenceSession(f.read(), providers=["CPUExecutionProvider"])
    predicted_load = session.run(None, {"X": features})[0].ravel()
    assert np.mean(np.abs(predicted_load - load)) < 10  # percent of PRB load

    skops_version = versions["KPI anomaly detector"]
    with skops_version.artifact.open("rb") as f:
        content = f.read()
    detector = sio.loads(content, trusted=sio.get_untrusted_types(data=content))
    assert np.mean(detector.predict(features.astype(np.float64)) == anomaly) > 0.9


def test_it_is_idempotent(seeded):
    out = io.StringIO()
    call_command("seed_demo", stdout=out)

    assert ModelVersion.objects.count() == len(demo.DEMO_MODELS)
    assert "already seeded" in out.getvalue()
