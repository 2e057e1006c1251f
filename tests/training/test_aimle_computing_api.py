"""Hierarchical computing assistance over /api/v1/aimle/computing-assistance/ (TS 23.482
§8.25): the candidate rule (free capacity, service area, load, task type), preparation status,
NOTE 1 (success or failure, never both) and NOTE 2 (a success carries at least one of the two),
every failure cause, and hostile bodies."""

import pytest

from tests import factories
from tests.training.aimle import make_node, pointers, problem

URL = "/api/v1/aimle/computing-assistance/"


@pytest.fixture
def nodes(operator, organisation, other_organisation):
    return [
        make_node(operator, organisation, "edge-a1", capacity=4, current_load=1, task_types=("HFL", "VFL"), preparation_status="PREPARED"),
        make_node(operator, organisation, "edge-a2", capacity=2, preparation_status="PREPARING"),
        make_node(operator, organisation, "edge-a3", capacity=2, current_load=2),  # full
        make_node(operator, other_organisation, "edge-b1", service_area="area-south", capacity=8, task_types=("HFL", "VFL")),
        make_node(operator, other_organisation, "edge-v1", capacity=4, task_types=("VFL",)),
    ]  # fmt: skip


def ask(**fields) -> dict:
    body = {
        "requestorId": "cas-1",
        "role": "ROOT",
        "computingTaskType": "HFL",
        "assistanceInfoTypes": ["CANDIDATE_NODES"],
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


def _candidates(answer) -> list[str]:
    assert answer.status_code == 200, answer.content
    return [n["nodeId"] for n in answer.json()["assistanceInfo"]["candidateNodes"]]


# --- the candidate rule ----------------------------------------------------------------------


def test_candidates_have_room_take_the_task_type_and_come_least_loaded_first(nodes, consumer):
    answer = factories.token_client(consumer).post(URL, ask(), format="json")

    # edge-a3 is full and edge-v1 takes no HFL; equal load ratios: the most free capacity first.
    assert _candidates(answer) == ["edge-b1", "edge-a2", "edge-a1"]
    assert answer.json() == {
        "assistanceInfo": {
            "candidateNodes": [
                {"nodeId": "edge-b1", "serviceArea": "area-south", "capacity": 8, "currentLoad": 0, "freeCapacity": 8},
                {"nodeId": "edge-a2", "serviceArea": "area-north", "capacity": 2, "currentLoad": 0, "freeCapacity": 2},
                {"nodeId": "edge-a1", "serviceArea": "area-north", "capacity": 4, "currentLoad": 1, "freeCapacity": 3},
            ]
        }
    }  # fmt: skip


def test_candidates_for_vfl(nodes, consumer, api):
    answer = api(consumer).post(URL, ask(computingTaskType="VFL"), format="json")

    assert _candidates(answer) == ["edge-b1", "edge-v1", "edge-a1"]


def test_candidates_stay_in_the_service_area_asked_for(nodes, consumer, api):
    answer = api(consumer).post(URL, ask(serviceArea="area-north"), format="json")

    assert _candidates(answer) == ["edge-a2", "edge-a1"]


def test_a_requesting_node_gets_candidates_of_its_area_other_than_itself(nodes, consumer, api):
    answer = api(consumer).post(URL, ask(requestorId="edge-a1", role="SUB_ROOT"), format="json")

    assert _candidates(answer) == ["edge-a2"]


def test_the_original_requestors_node_gives_the_area_when_the_requestor_is_no_node(
    nodes, consumer, api
):
    answer = api(consumer).post(URL, ask(originalRequestorId="edge-a2"), format="json")

    assert _candidates(answer) == ["edge-a1"]


def test_candidates_come_from_the_named_execution_nodes(nodes, consumer, api):
    named = ask(executionNodes=["edge-a1", "edge-a3", "edge-b1"])
    answer = api(consumer).post(URL, named, format="json")

    assert _candidates(answer) == ["edge-b1", "edge-a1"]


def test_a_node_gets_its_load_reported_and_stops_being_a_candidate_when_full(
    nodes, provider, consumer, api
):
    changed = api(provider).patch(
        "/api/v1/aimle/execution-nodes/edge-a2/", {"current_load": 2}, format="json"
    )
    assert changed.status_code == 200, changed.content

    answer = api(consumer).post(URL, ask(serviceArea="area-north"), format="json")
    assert _candidates(answer) == ["edge-a1"]


# --- preparation status, and both ------------------------------------------------------------


def test_preparation_status_at_the_named_nodes(nodes, consumer, api):
    body = ask(assistanceInfoTypes=["PREPARATION_STATUS"], executionNodes=["edge-a2", "edge-a1"])
    answer = api(consumer).post(URL, body, format="json")

    assert answer.status_code == 200, answer.content
    assert answer.json() == {
        "assistanceInfo": {
            "preparationStatus": [
                {"nodeId": "edge-a2", "preparationStatus": "PREPARING"},
                {"nodeId": "edge-a1", "preparationStatus": "PREPARED"},
            ]
        }
    }


def test_a_leaf_may_ask_for_preparation_status(nodes, consumer, api):
    body = ask(role="LEAF", assistanceInfoTypes=["PREPARATION_STATUS"], executionNodes=["edge-a1"])
    answer = api(consumer).post(URL, body, format="json")

    assert answer.json()["assistanceInfo"]["preparationStatus"][0]["nodeId"] == "edge-a1"


def test_both_kinds_of_assistance_information_at_once(nodes, consumer, api):
    body = ask(
        assistanceInfoTypes=["CANDIDATE_NODES", "PREPARATION_STATUS"],
        executionNodes=["edge-a1", "edge-a3"],
    )
    answer = api(consumer).post(URL, body, format="json")

    info = answer.json()["assistanceInfo"]
    assert [n["nodeId"] for n in info["candidateNodes"]] == ["edge-a1"]
    assert [n["nodeId"] for n in info["preparationStatus"]] == ["edge-a1", "edge-a3"]


# --- failure causes (NOTE 1: a failure carries no assistance information) --------------------


def _failure(answer, status: int, cause: str) -> dict:
    body = problem(answer, status, cause)
    assert "assistanceInfo" not in body
    return body


def test_cause_no_child_nodes_for_leaf(nodes, consumer, api):
    answer = api(consumer).post(URL, ask(role="LEAF"), format="json")

    _failure(answer, 400, "NO_CHILD_NODES_FOR_LEAF")


def test_cause_execution_nodes_missing(nodes, consumer, api):
    answer = api(consumer).post(URL, ask(assistanceInfoTypes=["PREPARATION_STATUS"]), format="json")

    body = _failure(answer, 400, "EXECUTION_NODES_MISSING")
    assert pointers(body) == {"/execution_node_ids"}


def test_cause_unknown_execution_node(nodes, consumer, api):
    body = ask(assistanceInfoTypes=["PREPARATION_STATUS"], executionNodes=["edge-a1", "edge-zz"])
    answer = api(consumer).post(URL, body, format="json")

    problem_body = _failure(answer, 404, "UNKNOWN_EXECUTION_NODE")
    assert "edge-zz" in problem_body["detail"] and "edge-a1" not in problem_body["detail"]


def test_cause_unknown_execution_node_among_candidates_too(nodes, consumer, api):
    answer = api(consumer).post(URL, ask(executionNodes=["edge-zz"]), format="json")

    _failure(answer, 404, "UNKNOWN_EXECUTION_NODE")


def test_cause_computing_task_not_supported(nodes, consumer, api):
    body = ask(
        computingTaskType="VFL",
        assistanceInfoTypes=["PREPARATION_STATUS"],
        executionNodes=["edge-a1", "edge-a2"],
    )
    answer = api(consumer).post(URL, body, format="json")

    problem_body = _failure(answer, 400, "COMPUTING_TASK_NOT_SUPPORTED")
    assert "edge-a2" in problem_body["detail"]


def test_cause_no_candidate_nodes(nodes, consumer, api):
    answer = api(consumer).post(URL, ask(executionNodes=["edge-a3", "edge-v1"]), format="json")

    _failure(answer, 409, "NO_CANDIDATE_NODES")


def test_no_candidate_nodes_in_an_area_without_any(nodes, consumer, api):
    answer = api(consumer).post(URL, ask(serviceArea="area-west"), format="json")

    assert "area-west" in _failure(answer, 409, "NO_CANDIDATE_NODES")["detail"]


# --- hostile input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "cause", "pointer"),
    [
        ({"role": "TRUNK"}, "MANDATORY_IE_INCORRECT", "/role"),
        ({"role": None, "computingTaskType": "SFL"}, "MANDATORY_IE_MISSING", None),
        ({"computingTaskType": "SFL"}, "MANDATORY_IE_INCORRECT", "/computingTaskType"),
        ({"assistanceInfoTypes": ["TIME_WINDOWS"]}, "MANDATORY_IE_INCORRECT", "/assistanceInfoTypes/0"),
        ({"assistanceInfoTypes": []}, "MANDATORY_IE_INCORRECT", "/assistanceInfoTypes"),
        ({"assistanceInfoTypes": "CANDIDATE_NODES"}, "MANDATORY_IE_INCORRECT", "/assistanceInfoTypes"),
        ({"assistanceInfoTypes": ["CANDIDATE_NODES"] * 2}, "MANDATORY_IE_INCORRECT", "/assistanceInfoTypes"),
        ({"requestorId": None}, "MANDATORY_IE_MISSING", "/requestorId"),
        ({"requestorId": 42}, "MANDATORY_IE_INCORRECT", "/requestorId"),
        ({"executionNodes": "edge-a1"}, "MANDATORY_IE_INCORRECT", "/executionNodes"),
        ({"executionNodes": []}, "MANDATORY_IE_INCORRECT", "/executionNodes"),
        ({"serviceArea": ["area-north"]}, "MANDATORY_IE_INCORRECT", "/serviceArea"),
    ],
)  # fmt: skip
def test_it_refuses_bad_enums_and_missing_or_malformed_ies(
    nodes, consumer, api, fields, cause, pointer
):
    answer = api(consumer).post(URL, ask(**fields), format="json")

    body = problem(answer, 400, cause)
    if pointer:
        assert pointer in pointers(body)


def test_it_refuses_a_body_that_is_not_json(nodes, consumer, api):
    answer = api(consumer).post(URL, "role=ROOT", content_type="application/json")

    problem(answer, 400, "INVALID_MSG_FORMAT")


def test_it_refuses_a_json_array(nodes, consumer, api):
    answer = api(consumer).post(URL, [ask()], format="json")

    problem(answer, 400)


# --- who may --------------------------------------------------------------------------------


def test_anonymous_callers_and_auditors_get_no_assistance(nodes, auditor, api):
    problem(api().post(URL, ask(), format="json"), 401)
    problem(api(auditor).post(URL, ask(), format="json"), 403)


def test_providers_and_operators_ask_too(nodes, provider, operator, api):
    assert api(provider).post(URL, ask(), format="json").status_code == 200
    assert api(operator).post(URL, ask(), format="json").status_code == 200
