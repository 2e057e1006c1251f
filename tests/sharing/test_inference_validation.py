"""Inputs that do not match the version's signature get 400 with a message naming the input and
what was expected, and are metered as INVALID_INPUT."""

import pytest

from sharing.models import InferenceOutcome, InferenceRecord
from sharing.runtime.samhub_runtime import InvalidInput, prepare_inputs
from tests import factories

ROW = [9.0, 2.0, 80.5, 61.2, 250.0, 0.3]


@pytest.fixture
def onnx_version(provider, auditor):
    return factories.make_version_in("RELEASED", provider=provider, auditor=auditor, kind="onnx")


def infer(client, version, body):
    return client.post(f"/api/v1/versions/{version.pk}/infer/", body, format="json")


@pytest.mark.parametrize(
    ("inputs", "detail", "count"),
    [
        (
            {"X": [ROW[:5], ROW[:5]]},
            "Input 'X': expected shape [batch, 6], got [2, 5].",
            2,
        ),
        (
            {"X": [[ROW]]},
            "Input 'X': expected shape [batch, 6], got [1, 1, 6].",
            1,
        ),
        (
            {"X": [ROW, ROW[:4]]},
            "Input 'X': the nested lists are ragged: instance [1] has 4 entries but instance [0] "
            "has 6 entries; expected shape [batch, 6].",
            2,
        ),
        (
            {"X": [ROW, [*ROW[:5], "high"]]},
            "Input 'X': expected numbers (float32), got the string 'high' at X[1][5].",
            2,
        ),
        (
            {"X": [[*ROW[:2], None, *ROW[3:]]]},
            "Input 'X': expected numbers (float32), got null at X[0][2].",
            1,
        ),
        (
            {"X": [[True, *ROW[1:]]]},
            "Input 'X': expected numbers (float32), got true at X[0][0].",
            1,
        ),
        (
            {"X": [[False] * 6]},
            "Input 'X': expected numbers (float32), got false at X[0][0].",
            1,
        ),
        (
            {},
            "Missing input 'X': expected numbers (float32) of shape [batch, 6].",
            0,
        ),
        (
            {"X": [ROW], "Y": [ROW]},
            "Unknown input 'Y'; the model's inputs are 'X'.",
            0,
        ),
        (
            {"X": []},
            "Input 'X': the batch is empty; send at least one instance.",
            0,
        ),
        (
            {"X": 3.5},
            "Input 'X': expected shape [batch, 6], got [].",
            0,
        ),
    ],
    ids=[
        "wrong-shape",
        "wrong-rank",
        "ragged",
        "string",
        "null",
        "bool-among-numbers",
        "bools",
        "missing",
        "unknown",
        "empty",
        "scalar",
    ],
)
def test_it_refuses_inputs_that_do_not_match_the_signature(
    api, onnx_version, provider, inputs, detail, count
):
    answer = infer(api(provider), onnx_version, {"inputs": inputs})

    assert answer.status_code == 400
    assert answer.json()["detail"] == detail
    assert answer.json()["code"] == "invalid_input"
    record = InferenceRecord.objects.get()
    assert (record.outcome, record.error, record.count) == (
        InferenceOutcome.INVALID_INPUT,
        detail,
        count,
    )
    assert str(record.pk) == answer["X-Inference-Id"]


def test_it_names_the_input_in_the_error_fields(api, onnx_version, provider):
    answer = infer(api(provider), onnx_version, {"inputs": {"X": [ROW[:5]]}})

    assert answer.json()["errors"] == {
        "inputs": {"X": ["Input 'X': expected shape [batch, 6], got [1, 5]."]}
    }


def test_it_refuses_a_batch_over_the_limit(api, onnx_version, provider, settings):
    settings.SAMHUB_INFERENCE_MAX_BATCH = 3
    client = api(provider)

    over = infer(client, onnx_version, {"inputs": {"X": [ROW] * 4}})
    at_limit = infer(client, onnx_version, {"inputs": {"X": [ROW] * 3}})

    assert over.status_code == 400
    assert over.json()["detail"] == (
        "Input 'X': 4 instances is over the limit of 3 per call; split the batch."
    )
    assert at_limit.status_code == 200
    assert list(InferenceRecord.objects.order_by("created_at").values_list("outcome", "count")) == [
        (InferenceOutcome.INVALID_INPUT, 4),
        (InferenceOutcome.OK, 3),
    ]


def test_a_skops_model_refuses_the_wrong_feature_count(api, provider, auditor):
    version = factories.make_version_in(
        "RELEASED", provider=provider, auditor=auditor, kind="skops"
    )

    answer = infer(api(provider), version, {"inputs": {"input": [ROW + [1.0]]}})

    assert answer.status_code == 400
    assert answer.json()["detail"] == "Input 'input': expected shape [batch, 6], got [1, 7]."


@pytest.mark.parametrize(
    "body", [{}, {"inputs": [ROW]}, {"inputs": "X"}], ids=["no-inputs", "list", "string"]
)
def test_a_body_that_is_not_an_inputs_object_is_refused_before_the_model(
    api, onnx_version, provider, body
):
    answer = infer(api(provider), onnx_version, body)

    assert answer.status_code == 400
    assert "inputs" in answer.json()["errors"]


def test_a_body_that_is_not_json_is_refused(api, onnx_version, provider):
    answer = api(provider).post(
        f"/api/v1/versions/{onnx_version.pk}/infer/", "X=1", content_type="application/json"
    )

    assert answer.status_code == 400


# --- the checks themselves, on signatures of other shapes and types ---------------------------


def signature(*inputs):
    return {"inputs": [dict(zip(("name", "type", "shape"), i, strict=True)) for i in inputs]}


def test_it_converts_to_the_signatures_dtypes():
    prepared = prepare_inputs(
        signature(("a", "float32", [None, 2]), ("b", "int64", ["N"]), ("c", "bool", [None])),
        {"a": [[1, 2.5]], "b": [3.0], "c": [True]},
        max_batch=10,
    )

    assert prepared.count == 1
    assert {k: (v.dtype.name, v.shape) for k, v in prepared.arrays.items()} == {
        "a": ("float32", (1, 2)),
        "b": ("int64", (1,)),
        "c": ("bool", (1,)),
    }


@pytest.mark.parametrize(
    ("spec", "value", "message"),
    [
        (("n", "int64", [None]), [1.5], "expected integers (int64), got numbers with a fractional"),
        (("n", "uint8", [None]), [-1], "values must lie between 0 and 255 (uint8)"),
        (("n", "int64", [None]), [2**70], "got the integer 1180591620717411303424, which is too"),
        (("f", "bool", [None]), [1], "expected true/false values (bool), got the number 1 at f[0]"),
        (("s", "object", [None]), [1], "expected strings, got the number 1 at s[0]"),
        (("x", "float32", [1, 3]), [[1, 2, 3], [4, 5, 6]], "expected shape [1, 3], got [2, 3]"),
        (("x", "float32", [None, 2]), [[1, 2], [3, {"a": 1}]], "got an object at x[1][1]"),
        (("x", "sequence_type", None), [1], "is a sequence_type, which the inference API"),
    ],
)
def test_it_explains_each_kind_of_mismatch(spec, value, message):
    with pytest.raises(InvalidInput) as refused:
        prepare_inputs(signature(spec), {spec[0]: value}, max_batch=10)

    assert message in refused.value.message


def test_inputs_must_agree_on_the_batch_size():
    with pytest.raises(InvalidInput) as refused:
        prepare_inputs(
            signature(("a", "float32", [None, 1]), ("b", "float32", [None, 1])),
            {"a": [[1], [2]], "b": [[1]]},
            max_batch=10,
        )

    assert refused.value.message == (
        "Input 'b' has 1 instances but input 'a' has 2; every input needs one entry per instance."
    )


def test_strings_feed_string_tensors():
    prepared = prepare_inputs(signature(("s", "object", [None])), {"s": ["a", "b"]}, max_batch=5)

    assert prepared.arrays["s"].dtype == object
    assert prepared.arrays["s"].tolist() == ["a", "b"]


def test_a_fixed_batch_dimension_must_be_given():
    spec = ("x", "float32", [1, 2])

    with pytest.raises(InvalidInput) as refused:
        prepare_inputs(signature(spec), {"x": [1, 2]}, max_batch=5)

    assert refused.value.message == "Input 'x': expected shape [1, 2], got [2]."
