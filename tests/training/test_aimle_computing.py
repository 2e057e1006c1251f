"""training.aimle.computing without HTTP: the candidate rule on its own, and the checks the
service makes for callers other than the API (whose serializer checks them first)."""

import pytest

from core.errors import DomainError
from training.aimle import computing
from training.models import ExecutionNode


def _node(node_id, area="area-north", capacity=4, load=0, types=("HFL",)) -> ExecutionNode:
    return ExecutionNode(
        node_id=node_id,
        service_area=area,
        capacity=capacity,
        current_load=load,
        task_types=list(types),
    )


def test_the_candidate_rule_orders_by_load_ratio_then_free_capacity_then_id():
    pool = [
        _node("n-half", capacity=4, load=2),
        _node("n-b", capacity=2),
        _node("n-a", capacity=2),
        _node("n-big", capacity=10),
        _node("n-full", capacity=3, load=3),
        _node("n-vfl", types=("VFL",)),
        _node("n-south", area="area-south"),
        _node("n-self"),
    ]

    found = computing.candidate_nodes(
        pool, task_type="HFL", service_area="area-north", exclude=["n-self"]
    )

    assert [n.node_id for n in found] == ["n-big", "n-a", "n-b", "n-half"]


def test_no_service_area_means_any():
    pool = [_node("n-north", load=1), _node("n-south", area="area-south")]

    found = computing.candidate_nodes(pool, task_type="HFL", service_area="", exclude=[])

    assert [n.node_id for n in found] == ["n-south", "n-north"]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"role": "TRUNK"}, "MANDATORY_IE_INCORRECT"),
        ({"task_type": "SFL"}, "MANDATORY_IE_INCORRECT"),
        ({"info_types": ["TIME_WINDOWS"]}, "MANDATORY_IE_INCORRECT"),
        ({"info_types": []}, "MANDATORY_IE_MISSING"),
    ],
)
def test_the_service_refuses_what_the_serializer_would(consumer, fields, code):
    request = {
        "requestor_id": "cas-1",
        "role": "ROOT",
        "task_type": "HFL",
        "info_types": ["CANDIDATE_NODES"],
        **fields,
    }
    with pytest.raises(DomainError) as refused:
        computing.hierarchical_computing_assist(user=consumer, **request)
    assert refused.value.code == code
    assert refused.value.status == 400
