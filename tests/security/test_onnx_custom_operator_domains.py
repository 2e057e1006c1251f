"""Issue 7, item 7: ONNX models with custom operator domains (e.g. `com.evil`) were accepted
and released, then failed at every call. SAM Hub accepts only the standard ONNX domains, and
only what the installed onnxruntime can run: the checker process builds the session."""

import numpy as np
import onnxruntime
import pytest
from onnx import TensorProto, helper

from registry.models import ModelVersion
from sharing import services as sharing_services
from tests import factories
from tests.security import hostile_models as hostile


def _graph(nodes, element=TensorProto.FLOAT):
    return helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", element, [None, 2])],
        [helper.make_tensor_value_info("y", element, [None, 2])],
    )


def _model(nodes, opsets, *, element=TensorProto.FLOAT, functions=()) -> bytes:
    model = helper.make_model(
        _graph(nodes, element),
        opset_imports=[helper.make_opsetid(domain, version) for domain, version in opsets],
        functions=list(functions),
    )
    return model.SerializeToString()


def _custom_domain(domain: str) -> bytes:
    return _model([helper.make_node("Steal", ["x"], ["y"], domain=domain)], [("", 17), (domain, 1)])


def _assert_refused(answer, draft, *phrases):
    assert answer.status_code == 400, answer.content
    assert answer.json()["code"] == "artifact_refused"
    for phrase in phrases:
        assert phrase in answer.json()["detail"]
    assert ModelVersion.objects.get(pk=draft.pk).artifact_sha256 == ""


@pytest.mark.parametrize("domain", ["com.evil", "com.microsoft", "ai.onnx.evil"])
def test_it_refuses_operators_outside_the_standard_domains(domain, provider):
    draft = factories.make_draft(provider)

    answer = hostile.put_artifact(provider, draft, _custom_domain(domain), "custom.onnx")

    _assert_refused(answer, draft, f"{domain}::Steal", "standard ONNX domains")


def test_it_refuses_a_standard_operator_that_onnxruntime_does_not_implement(provider):
    """Relu over int16 is valid ONNX (onnx.checker passes it) but onnxruntime has no kernel for
    it: only building the session in the checker process finds out."""
    content = _model(
        [helper.make_node("Relu", ["x"], ["y"])], [("", 17)], element=TensorProto.INT16
    )
    draft = factories.make_draft(provider)

    answer = hostile.put_artifact(provider, draft, content, "relu16.onnx")

    _assert_refused(answer, draft, f"onnxruntime {onnxruntime.__version__} cannot run this model")


def test_it_refuses_a_standard_domain_version_onnxruntime_does_not_know(provider):
    content = _model([helper.make_node("Relu", ["x"], ["y"])], [("", 17), ("ai.onnx.ml", 99)])
    draft = factories.make_draft(provider)

    answer = hostile.put_artifact(provider, draft, content, "future.onnx")

    assert answer.status_code == 400, answer.content
    assert ModelVersion.objects.get(pk=draft.pk).artifact_sha256 == ""


def test_a_model_local_function_is_not_a_custom_operator(provider, auditor, consumer):
    """A node may call a function the model itself defines (ONNX inlines it), under the
    function's own domain; its body is made of standard operators, so it runs everywhere."""
    double = helper.make_function(
        "local.functions",
        "Double",
        ["a"],
        ["b"],
        [helper.make_node("Add", ["a", "a"], ["b"])],
        [helper.make_opsetid("", 17)],
    )
    content = _model(
        [helper.make_node("Double", ["x"], ["y"], domain="local.functions")],
        [("", 17), ("local.functions", 1)],
        functions=[double],
    )
    version = hostile.released(provider, auditor, content, "double.onnx")
    sharing_services.subscription_request(user=consumer, sam=version.sam, method="INFERENCE")

    answer = hostile.infer(consumer, version, {"x": [[1.5, -2.0]]})

    assert answer.status_code == 200, answer.content
    assert np.allclose(answer.json()["outputs"]["y"], [[3.0, -4.0]])
