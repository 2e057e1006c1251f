"""Issue 7, item 10: 3.5e38 sent to a float32 input passed the finiteness check (made on the
float64 values) and became infinity in the cast; the call was answered 200. Finiteness is now
checked after the cast, and the 400 names the input and the position."""

import json

import numpy as np
import pytest

from sharing.models import InferenceOutcome, InferenceRecord
from sharing.runtime import samhub_runtime
from tests import factories


@pytest.fixture
def version(provider, auditor):
    """The demo cell-load forecast: an ONNX model with one float32 input."""
    version = factories.make_version_in("RELEASED", provider=provider, auditor=auditor)
    (spec,) = version.signature["inputs"]
    assert spec["type"] == "float32"
    return version


def rows(version, value: float, *, at: tuple[int, int]) -> tuple[str, list]:
    (spec,) = version.signature["inputs"]
    width = spec["shape"][1]
    instances = [[1.0] * width for _ in range(3)]
    instances[at[0]][at[1]] = value
    return spec["name"], instances


@pytest.mark.parametrize(
    "make_client", [factories.token_client, factories.session_client], ids=["token", "session"]
)
@pytest.mark.parametrize("value", [3.5e38, -3.5e38, 1e300])
def test_a_value_beyond_float32_is_refused_naming_input_and_position(
    version, subscription, consumer, make_client, value
):
    name, instances = rows(version, value, at=(2, 1))

    answer = make_client(consumer).post(
        f"/api/v1/versions/{version.pk}/infer/", {"inputs": {name: instances}}, format="json"
    )

    assert answer.status_code == 400, answer.content[:300]
    assert answer.json()["code"] == "invalid_input"
    assert answer.json()["detail"] == (
        f"Input {name!r}: {value} at {name}[2][1] is out of the range of float32 (largest "
        "magnitude 3.4028235e+38)."
    )
    assert answer.json()["errors"] == {"inputs": {name: [answer.json()["detail"]]}}
    record = InferenceRecord.objects.get()
    assert (record.outcome, record.count, record.outputs) == (
        InferenceOutcome.INVALID_INPUT,
        3,
        None,
    )


def test_the_largest_float32_is_still_answered(version, subscription, consumer):
    largest = float(np.finfo(np.float32).max)
    name, instances = rows(version, largest, at=(0, 0))

    answer = factories.token_client(consumer).post(
        f"/api/v1/versions/{version.pk}/infer/", {"inputs": {name: instances}}, format="json"
    )

    assert answer.status_code == 200, answer.content[:300]
    assert answer.json()["count"] == 3


def test_a_number_json_reads_as_infinity_is_refused(version, subscription, consumer):
    name, instances = rows(version, 1.0, at=(0, 0))
    body = json.dumps({"inputs": {name: instances}}).replace("1.0", "1e400", 1)

    answer = factories.token_client(consumer).post(
        f"/api/v1/versions/{version.pk}/infer/", body, content_type="application/json"
    )

    assert answer.status_code == 400
    assert answer.json()["detail"] == (
        f"Input {name!r}: NaN and infinity are not accepted, got inf at {name}[0][0]."
    )


def test_the_sdk_and_bundle_runtime_refuses_it_too(version):
    """The same check in the one runtime that SDK wheels and mirror bundles ship."""
    name, instances = rows(version, 3.5e38, at=(1, 4))

    with pytest.raises(samhub_runtime.InvalidInput) as refused:
        samhub_runtime.prepare_inputs(version.signature, {name: instances}, max_batch=10)

    assert refused.value.input_name == name
    assert f"at {name}[1][4] is out of the range of float32" in refused.value.message
