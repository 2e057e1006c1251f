import io
import pickle
import zipfile

import joblib
import numpy as np
import pytest
import skops.io as sio
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.tree import DecisionTreeClassifier

from core.errors import DomainError
from registry import services
from registry.models import ModelVersion
from tests import factories


@pytest.fixture
def spool_dir(settings, tmp_path):
    """Upload spools land here, so a test can see that nothing is left behind."""
    folder = tmp_path / "spool"
    folder.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(folder)
    return folder


def _upload(version, user, content: bytes, filename: str):
    return services.version_artifact_upload(
        version_id=version.pk, user=user, stream=io.BytesIO(content), filename=filename
    )


def _assert_nothing_stored(version, settings, spool_dir):
    fresh = ModelVersion.objects.get(pk=version.pk)
    assert not fresh.artifact and not fresh.artifact_sha256 and fresh.signature == {}
    warehouse = settings.MEDIA_ROOT
    assert not warehouse.exists() or not any(p.is_file() for p in warehouse.rglob("*"))
    assert list(spool_dir.iterdir()) == []


def test_it_accepts_onnx_and_reads_its_signature(draft, provider, spool_dir):
    model = factories.demo_model("onnx")

    version = _upload(draft, provider, model.content, model.filename)

    assert version.artifact_format == "onnx"
    assert version.artifact_size == len(model.content)
    assert version.signature["inputs"] == [{"name": "X", "type": "float32", "shape": [None, 6]}]
    assert version.signature["outputs"][0]["name"] == "variable"
    assert (
        version.artifact.name
        == f"artifacts/{version.artifact_sha256[:2]}/{version.artifact_sha256}.onnx"
    )
    with version.artifact.open("rb") as stored:
        assert stored.read() == model.content
    assert list(spool_dir.iterdir()) == []


@pytest.mark.parametrize("kind", ["skops", "trees"])
def test_it_accepts_skops_with_only_trusted_types(draft, provider, kind):
    model = factories.demo_model(kind)

    version = _upload(draft, provider, model.content, model.filename)

    assert version.artifact_format == "skops"
    assert version.signature["inputs"][0]["shape"] == [None, 6]
    assert version.signature["outputs"][0]["classes"] == [0, 1]


def test_it_stores_the_same_bytes_once(provider, auditor):
    model = factories.demo_model("onnx")
    first = _upload(factories.make_draft(provider), provider, model.content, model.filename)
    second = _upload(factories.make_draft(provider), provider, model.content, "other-name.onnx")

    assert first.artifact.name == second.artifact.name
    assert second.artifact_filename == "other-name.onnx"


class CustomEstimator(ClassifierMixin, BaseEstimator):
    def fit(self, x, y):
        self.n_features_in_ = x.shape[1]
        return self

    def predict(self, x):
        return np.zeros(len(x))


def _skops_with_broken_tree() -> bytes:
    x = np.random.default_rng(0).normal(size=(60, 3))
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(x, x[:, 0] > 0)
    original = io.BytesIO(sio.dumps(tree))
    patched = io.BytesIO()
    with zipfile.ZipFile(original) as src, zipfile.ZipFile(patched, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.endswith(".npy"):
                array = np.load(io.BytesIO(data), allow_pickle=False)
                if array.dtype.names and "feature" in array.dtype.names:
                    array["feature"][0] = 999  # the root splits on a feature that does not exist
                    out = io.BytesIO()
                    np.save(out, array, allow_pickle=False)
                    data = out.getvalue()
            dst.writestr(item, data)
    return patched.getvalue()


def _refusals():
    onnx_bytes = factories.demo_model("onnx").content
    fitted = DecisionTreeClassifier().fit([[0.0], [1.0]], [0, 1])
    plain_joblib, compressed_joblib = io.BytesIO(), io.BytesIO()
    joblib.dump(fitted, plain_joblib)
    joblib.dump(fitted, compressed_joblib, compress=3)
    custom = CustomEstimator().fit(np.zeros((2, 2)), [0, 1])
    return [
        pytest.param(pickle.dumps(fitted), "model.pkl", "pickle", id="pickle"),
        pytest.param(pickle.dumps(fitted), "model.onnx", "pickle", id="pickle-named-onnx"),
        pytest.param(plain_joblib.getvalue(), "model.joblib", "joblib", id="joblib"),
        pytest.param(compressed_joblib.getvalue(), "model.bin", "joblib", id="joblib-compressed"),
        pytest.param(
            onnx_bytes[: len(onnx_bytes) // 2], "model.onnx", "truncated", id="truncated-onnx"
        ),
        pytest.param(sio.dumps(custom), "model.skops", "not trusted", id="skops-untrusted-type"),
        pytest.param(
            _skops_with_broken_tree(),
            "tree.skops",
            "feature indices out of range",
            id="skops-crafted-tree",
        ),
        pytest.param(b"hello, I am not a model", "notes.txt", "Unknown file format", id="unknown"),
    ]


@pytest.mark.parametrize(("content", "filename", "message"), _refusals())
def test_it_refuses_unsafe_or_broken_files_and_stores_nothing(
    draft, provider, settings, spool_dir, content, filename, message
):
    with pytest.raises(DomainError) as caught:
        _upload(draft, provider, content, filename)

    assert caught.value.status == 400
    assert message.lower() in caught.value.message.lower()
    assert "Nothing was stored" in caught.value.message
    _assert_nothing_stored(draft, settings, spool_dir)


def test_it_refuses_a_file_over_the_limit(draft, provider, settings, spool_dir):
    settings.SAMHUB_ARTIFACT_MAX_BYTES = 10_000
    model = factories.demo_model("onnx")

    with pytest.raises(DomainError) as caught:
        _upload(draft, provider, model.content, model.filename)

    assert caught.value.status == 413
    assert "larger than the limit of 10,000 bytes" in caught.value.message
    _assert_nothing_stored(draft, settings, spool_dir)


def test_a_check_that_takes_too_long_is_refused_and_stores_nothing(
    draft, provider, settings, spool_dir
):
    settings.SAMHUB_ARTIFACT_CHECK_TIMEOUT_SECONDS = 0  # no check answers at once
    model = factories.demo_model("skops")

    with pytest.raises(DomainError) as caught:
        _upload(draft, provider, model.content, model.filename)

    assert caught.value.code == "artifact_invalid"
    assert caught.value.message == "Checking the model file took too long; nothing was stored."
    _assert_nothing_stored(draft, settings, spool_dir)


def test_it_refuses_uploads_from_another_organisation(draft, other_provider, settings, spool_dir):
    model = factories.demo_model("onnx")

    with pytest.raises(DomainError) as caught:
        _upload(draft, other_provider, model.content, model.filename)

    assert caught.value.status == 403
    _assert_nothing_stored(draft, settings, spool_dir)
