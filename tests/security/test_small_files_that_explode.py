"""Issue 7, item 8: small files that explode.

A 1 MB skops file whose schema.json is 1 GiB of whitespace was accepted, and its first call
lifted a web worker to 2.3 GB; a 3 MB skops file holding a 3 GiB array tied up the checker for
minutes at 8 GB. The checker now bounds every member's declared size and compression ratio
before reading any, measures what loading an accepted model costs (refusing more than
SAMHUB_MODEL_MAX_LOADED_BYTES), and the web process loads only measured models."""

import time

import numpy as np
import pytest
from django.core.management import call_command
from onnx import TensorProto, helper, numpy_helper
from sklearn.linear_model import LogisticRegression

from registry import demo
from registry.models import ModelVersion
from sharing import services as sharing_services
from sharing.models import InferenceOutcome, InferenceRecord
from tests import factories
from tests.security import hostile_models as hostile

GIB = 1024**3
MIB = 1024**2
# A guard against the minutes the old checker took, not a benchmark.
QUICKLY = 10.0


def _linear_model() -> bytes:
    x = np.random.default_rng(8).normal(size=(60, 6))
    return hostile.dumps(LogisticRegression().fit(x, x[:, 0] > 0))


def _upload_timed(provider, content: bytes, filename: str = "model.skops"):
    draft = factories.make_draft(provider)
    started = time.monotonic()
    answer = hostile.put_artifact(provider, draft, content, filename)
    return draft, answer, time.monotonic() - started


def _assert_refused_quickly(draft, answer, elapsed: float, *phrases: str) -> None:
    assert answer.status_code == 400, answer.content
    assert answer.json()["code"] == "artifact_refused"
    for phrase in phrases:
        assert phrase in answer.json()["detail"]
    assert elapsed < QUICKLY
    fresh = ModelVersion.objects.get(pk=draft.pk)
    assert (fresh.artifact_sha256, fresh.artifact_loaded_bytes) == ("", None)


def test_a_1_mb_skops_file_whose_schema_is_1_gib_of_whitespace_is_refused_quickly(provider):
    bomb = hostile.schema_padded_with_whitespace(demo.kpi_anomaly_model().content, padding=GIB)
    assert len(bomb) < 2 * MIB

    draft, answer, elapsed = _upload_timed(provider, bomb)

    _assert_refused_quickly(draft, answer, elapsed, "schema.json unpacks to 1,0")


def test_a_3_mb_skops_file_holding_a_3_gib_array_is_refused_quickly(provider):
    bomb = hostile.array_replaced_with_zeros(_linear_model(), "coef_", size=3 * GIB)
    assert len(bomb) < 4 * MIB

    draft, answer, elapsed = _upload_timed(provider, bomb)

    _assert_refused_quickly(
        draft, answer, elapsed, "unpacks to 3,221,", "over the limit of 536,870,912 bytes"
    )


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(
            lambda: hostile.array_replaced_with_zeros(_linear_model(), "coef_", size=64 * MIB),
            id="array",
        ),
        pytest.param(
            lambda: hostile.schema_padded_with_whitespace(
                demo.kpi_anomaly_model().content, padding=32 * MIB
            ),
            id="schema",
        ),
    ],
)
def test_a_member_under_the_size_caps_but_compressed_like_a_bomb_is_refused(build, provider):
    draft, answer, elapsed = _upload_timed(provider, build())

    _assert_refused_quickly(draft, answer, elapsed, "zip bomb")


def test_members_that_together_unpack_over_the_limit_are_refused(provider, settings):
    settings.SAMHUB_MODEL_MAX_LOADED_BYTES = 4 * MIB
    content = _linear_model()
    names = hostile.attributes(hostile.schema_of(content))
    noise = np.random.default_rng(3)  # incompressible: no ratio to catch
    arrays = {
        names[attribute]["file"]: (lambda _: noise.random((1, 3 * MIB // 8)))
        for attribute in ("coef_", "classes_")
    }
    wide = hostile.skops_tamper(content, arrays=arrays)

    draft, answer, elapsed = _upload_timed(provider, wide)

    _assert_refused_quickly(draft, answer, elapsed, "The skops file unpacks to 6,29")


def _onnx_with_weights(megabytes: int) -> bytes:
    """y = x + W for an honest float32 W of `megabytes` MiB (ONNX has no zip to inspect: the
    checker measures the session it builds)."""
    count = megabytes * MIB // 4
    weights = np.random.default_rng(4).random((1, count), dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "W"], ["y"])],
        "weights",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, count])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, count])],
        [numpy_helper.from_array(weights, "W")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return model.SerializeToString()


def test_a_model_that_takes_more_memory_to_load_than_the_limit_is_refused(provider, settings):
    settings.SAMHUB_MODEL_MAX_LOADED_BYTES = 4 * MIB

    draft, answer, elapsed = _upload_timed(provider, _onnx_with_weights(16), "big.onnx")

    _assert_refused_quickly(
        draft, answer, elapsed, "Loading the model takes", "SAMHUB_MODEL_MAX_LOADED_BYTES"
    )


def test_a_model_whose_check_outgrows_the_checkers_memory_cap_is_refused(provider, settings):
    # The checker child is forked with the checking libraries mapped; a cap below that lets
    # it allocate only what its heap has free, so building a session for 64 MiB of weights
    # stops it (MemoryError, or a crash inside onnxruntime).
    settings.SAMHUB_ARTIFACT_CHECK_MEMORY_BYTES = 64 * MIB

    draft, answer, _ = _upload_timed(provider, _onnx_with_weights(64), "big.onnx")

    assert answer.status_code == 400, answer.content
    assert answer.json()["code"] == "artifact_invalid"
    detail = answer.json()["detail"]
    assert detail.startswith("The model file could not be checked (the checker stopped: ")
    assert detail.endswith("); nothing was stored.")
    fresh = ModelVersion.objects.get(pk=draft.pk)
    assert (fresh.artifact_sha256, fresh.artifact_loaded_bytes) == ("", None)


@pytest.mark.parametrize("kind", ["onnx", "skops", "trees"])
def test_the_checker_records_what_an_accepted_model_costs_to_load(kind, api_for, provider):
    draft = factories.make_draft(provider)
    model = factories.demo_model(kind)

    answer = hostile.put_artifact(provider, draft, model.content, model.filename)

    assert answer.status_code == 200, answer.content
    version = ModelVersion.objects.get(pk=draft.pk)
    assert 0 < version.artifact_loaded_bytes <= 512 * MIB
    assert version.artifact_peak_memory >= version.artifact_loaded_bytes
    shown = api_for(provider).get(f"/api/v1/versions/{version.pk}/").json()
    assert shown["artifact_loaded_bytes"] == version.artifact_loaded_bytes


@pytest.fixture
def api_for():
    return hostile.api_client


@pytest.fixture
def called(provider, auditor, consumer):
    """A released demo model with a consumer's active subscription."""
    version = hostile.released(provider, auditor, factories.demo_model("trees").content, "f.skops")
    sharing_services.subscription_request(user=consumer, sam=version.sam, method="INFERENCE")
    return version


ROW = [[9.0, 2.0, 80.5, 61.2, 250.0, 0.3]]


def test_the_web_process_refuses_a_model_measured_over_a_lowered_limit(called, consumer, settings):
    settings.SAMHUB_MODEL_MAX_LOADED_BYTES = called.artifact_loaded_bytes - 1

    answer = hostile.infer(consumer, called, {"input": ROW})

    assert answer.status_code == 500
    assert answer.json()["code"] == "model_error"
    record = InferenceRecord.objects.get(version=called)
    assert record.outcome == InferenceOutcome.ERROR
    assert "SAMHUB_MODEL_MAX_LOADED_BYTES" in record.error  # the caller gets the generic 500 text


def test_a_version_stored_before_measurements_answers_once_an_operator_measured_it(
    called, consumer
):
    """Versions stored before this change have no measurement (the migration adds the fields
    empty): refused with a metered ERROR until `manage.py artifacts_measure` re-runs the checker
    on their files."""
    ModelVersion.objects.filter(pk=called.pk).update(
        artifact_loaded_bytes=None, artifact_peak_memory=None
    )

    refused = hostile.infer(consumer, called, {"input": ROW})
    call_command("artifacts_measure")
    answered = hostile.infer(consumer, called, {"input": ROW})

    assert refused.status_code == 500
    error = InferenceRecord.objects.get(version=called, outcome=InferenceOutcome.ERROR).error
    assert "artifacts_measure" in error
    assert answered.status_code == 200, answered.content
    assert ModelVersion.objects.get(pk=called.pk).artifact_loaded_bytes > 0
    outcomes = list(
        InferenceRecord.objects.filter(version=called).values_list("outcome", flat=True)
    )
    assert sorted(outcomes) == sorted([InferenceOutcome.ERROR, InferenceOutcome.OK])
