"""Issue 7, item 6: ONNX external data read server files.

An initializer whose data lives in an "external file" at a relative path passed the check
(onnx.checker resolved it against the upload's temporary folder), and at inference time
onnxruntime, given the model as bytes, resolved it against the web process's working
directory: the settings file came back through /infer/. SAM Hub stores single-file models:
every external-data tensor is refused at upload, and a session never reads one."""

from pathlib import Path

import pytest
from django.conf import settings as django_settings
from onnx import TensorProto, helper

from registry.models import ModelVersion
from sharing import services as sharing_services
from sharing.models import InferenceOutcome, InferenceRecord
from sharing.runtime import samhub_runtime
from tests import factories
from tests.security import hostile_models as hostile

# Read back from the web process's working directory, as in the issue.
TARGET = "config/settings.py"
LENGTH = 64


@pytest.fixture
def spool_with_decoy(settings, tmp_path):
    """The upload spool folder, holding a file at the same relative path: the old check then
    found "the external data" there and passed the model."""
    spool = tmp_path / "spool"
    (spool / "config").mkdir(parents=True)
    (spool / TARGET).write_bytes(b"#" * LENGTH)
    settings.FILE_UPLOAD_TEMP_DIR = str(spool)
    return spool


def _external(name: str, location: str = TARGET) -> TensorProto:
    tensor = TensorProto(name=name, data_type=TensorProto.UINT8, dims=[LENGTH])
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in {"location": location, "offset": "0", "length": str(LENGTH)}.items():
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value
    return tensor


def _model(graph) -> bytes:
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def _initializer_reading(location: str = TARGET) -> bytes:
    """y = x + W, where W's 64 bytes come from `location`."""
    return _model(
        helper.make_graph(
            [helper.make_node("Add", ["x", "W"], ["y"])],
            "leak",
            [helper.make_tensor_value_info("x", TensorProto.UINT8, [None, LENGTH])],
            [helper.make_tensor_value_info("y", TensorProto.UINT8, [None, LENGTH])],
            [_external("W", location)],
        )
    )


def _constant_reading() -> bytes:
    """The same through a Constant node's value attribute instead of an initializer."""
    return _model(
        helper.make_graph(
            [
                helper.make_node("Constant", [], ["W"], value=_external("W")),
                helper.make_node("Add", ["x", "W"], ["y"]),
            ],
            "leak",
            [helper.make_tensor_value_info("x", TensorProto.UINT8, [None, LENGTH])],
            [helper.make_tensor_value_info("y", TensorProto.UINT8, [None, LENGTH])],
        )
    )


def _settings_head() -> list[int]:
    return list((Path(django_settings.BASE_DIR) / TARGET).read_bytes()[:LENGTH])


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(_initializer_reading(), id="initializer"),
        pytest.param(_constant_reading(), id="constant-node"),
        pytest.param(_initializer_reading("/etc/hostname"), id="absolute-path"),
        pytest.param(_initializer_reading("../../etc/hostname"), id="parent-path"),
    ],
)
def test_it_refuses_every_external_data_tensor_at_upload(content, provider, spool_with_decoy):
    draft = factories.make_draft(provider)

    answer = hostile.put_artifact(provider, draft, content, "leak.onnx")

    assert answer.status_code == 400, answer.content
    assert answer.json()["code"] == "artifact_refused"
    assert "external data" in answer.json()["detail"]
    assert "single-file" in answer.json()["detail"]
    assert ModelVersion.objects.get(pk=draft.pk).artifact_sha256 == ""


def test_a_leaking_model_already_in_the_warehouse_reads_nothing(
    provider, auditor, consumer, monkeypatch
):
    """Even a version stored before this fix never answers with the server's files: it is
    unmeasured, so the web process refuses it; and were a session made from it, onnxruntime
    would find no external data folder to read from."""
    monkeypatch.chdir(django_settings.BASE_DIR)
    version = hostile.released(provider, auditor, factories.demo_model("onnx").content, "m.onnx")
    sharing_services.subscription_request(user=consumer, sam=version.sam, method="INFERENCE")
    version = hostile.stored_before_measurement(version, _initializer_reading(), "onnx")
    ModelVersion.objects.filter(pk=version.pk).update(
        signature={
            "inputs": [{"name": "x", "type": "uint8", "shape": [None, LENGTH]}],
            "outputs": [{"name": "y", "type": "uint8", "shape": [None, LENGTH]}],
        }
    )

    answer = hostile.infer(consumer, version, {"x": [[0] * LENGTH]})

    assert answer.status_code == 500
    assert answer.json()["code"] == "model_error"
    assert str(_settings_head()) not in answer.content.decode()
    assert InferenceRecord.objects.get(version=version).outcome == InferenceOutcome.ERROR
    with pytest.raises(Exception, match="External data path validation failed"):
        samhub_runtime.load_model("onnx", _initializer_reading())  # the runtime's own loader
