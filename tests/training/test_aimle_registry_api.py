"""The AIMLE client and execution node registries over /api/v1/aimle/: owner (a provider of
the organisation), other member (a consumer of it), outsider (another organisation's
provider, or a user without a role), and hostile bodies, each refused with nothing stored."""

import pytest

from tests import factories
from tests.training.aimle import make_client, make_node, pointers, problem
from training.models import AimleClient, ExecutionNode

CLIENTS = "/api/v1/aimle/clients/"
NODES = "/api/v1/aimle/execution-nodes/"


@pytest.fixture
def member(organisation):
    return factories.make_user("consumer", organisation=organisation, username="aimle-member")


def client_body(owner, **fields) -> dict:
    body = {
        "client_id": "ue-1",
        "organisation": owner.slug,
        "client_set_id": "set-a",
        "managing_server": "aimles-edge-1",
        "service_area": "area-north",
        "capabilities": ["HFL_TRAINING"],
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


def node_body(owner, **fields) -> dict:
    body = {
        "node_id": "edge-1",
        "organisation": owner.slug,
        "service_area": "area-north",
        "capacity": 4,
        "task_types": ["HFL"],
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


# --- AIMLE clients ---------------------------------------------------------------------------


def test_a_provider_registers_a_client_with_a_token(provider, organisation):
    answer = factories.token_client(provider).post(
        CLIENTS, client_body(organisation), format="json"
    )

    assert answer.status_code == 201, answer.content
    assert answer.json() | {"created_at": None, "updated_at": None} == {
        "client_id": "ue-1",
        "client_set_id": "set-a",
        "organisation": organisation.slug,
        "managing_server": "aimles-edge-1",
        "previous_managing_servers": [],
        "service_area": "area-north",
        "capabilities": ["HFL_TRAINING"],
        "created_at": None,
        "updated_at": None,
    }


def test_only_the_organisations_providers_and_operators_register_clients(
    organisation, other_provider, member, operator, api
):
    problem(api(other_provider).post(CLIENTS, client_body(organisation), format="json"), 400)
    problem(api(member).post(CLIENTS, client_body(organisation), format="json"), 403)
    problem(api().post(CLIENTS, client_body(organisation), format="json"), 401)
    assert not AimleClient.objects.exists()
    assert api(operator).post(CLIENTS, client_body(organisation), format="json").status_code == 201


@pytest.mark.parametrize(
    ("fields", "cause", "pointer"),
    [
        ({"capabilities": "HFL_TRAINING"}, "MANDATORY_IE_INCORRECT", "/capabilities"),
        ({"capabilities": ["HFL_TRAINING", 3]}, "MANDATORY_IE_INCORRECT", "/capabilities/1"),
        ({"managing_server": None}, "MANDATORY_IE_MISSING", "/managing_server"),
        ({"client_id": None}, "MANDATORY_IE_MISSING", "/client_id"),
        ({"service_area": ""}, "MANDATORY_IE_INCORRECT", "/service_area"),
        ({"organisation": "nowhere"}, "MANDATORY_IE_INCORRECT", "/organisation"),
    ],
)
def test_it_refuses_a_bad_client_body(provider, organisation, api, fields, cause, pointer):
    answer = api(provider).post(CLIENTS, client_body(organisation, **fields), format="json")

    assert pointer in pointers(problem(answer, 400, cause))
    assert not AimleClient.objects.exists()


def test_it_refuses_a_client_id_registered_already(provider, organisation, api):
    api(provider).post(CLIENTS, client_body(organisation), format="json")
    again = client_body(organisation, managing_server="aimles-edge-9")
    answer = api(provider).post(CLIENTS, again, format="json")

    assert "/client_id" in pointers(problem(answer, 400))
    assert AimleClient.objects.get().managing_server == "aimles-edge-1"


def test_it_refuses_a_client_body_that_is_not_json(provider, api):
    answer = api(provider).post(CLIENTS, "{client_id: ue-1}", content_type="application/json")

    problem(answer, 400, "INVALID_MSG_FORMAT")
    assert not AimleClient.objects.exists()


def test_owner_and_other_member_see_the_client_outsiders_do_not(
    operator, organisation, provider, member, other_provider, auditor, api
):
    make_client(operator, organisation, "ue-1")
    item = f"{CLIENTS}ue-1/"

    for user in (provider, member, auditor, operator):
        assert api(user).get(item).status_code == 200
        assert api(user).get(CLIENTS).json()["count"] == 1
    problem(api(other_provider).get(item), 404)
    assert api(other_provider).get(CLIENTS).json()["count"] == 0


def test_the_owner_moves_a_client_members_and_outsiders_cannot(
    operator, organisation, provider, member, other_provider, api
):
    make_client(operator, organisation, "ue-1")
    item = f"{CLIENTS}ue-1/"
    move = {"managing_server": "aimles-edge-2"}

    problem(api(member).patch(item, move, format="json"), 403)
    problem(api(other_provider).patch(item, move, format="json"), 404)
    answer = api(provider).patch(item, move, format="json")

    assert answer.status_code == 200, answer.content
    assert answer.json()["managing_server"] == "aimles-edge-2"
    assert answer.json()["previous_managing_servers"] == ["aimles-edge-1"]


def test_a_bad_change_keeps_the_client(operator, organisation, provider, api):
    make_client(operator, organisation, "ue-1")
    answer = api(provider).patch(
        f"{CLIENTS}ue-1/", {"managing_server": "x", "capabilities": [""]}, format="json"
    )

    problem(answer, 400, "MANDATORY_IE_INCORRECT")
    assert AimleClient.objects.get().managing_server == "aimles-edge-1"


def test_the_owner_removes_a_client(operator, organisation, provider, member, api):
    make_client(operator, organisation, "ue-1")

    problem(api(member).delete(f"{CLIENTS}ue-1/"), 403)
    assert api(provider).delete(f"{CLIENTS}ue-1/").status_code == 204
    assert not AimleClient.objects.exists()


# --- execution nodes -------------------------------------------------------------------------


def test_a_provider_registers_an_execution_node(provider, organisation, api):
    answer = api(provider).post(NODES, node_body(organisation), format="json")

    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["node_id"], body["capacity"], body["current_load"]) == ("edge-1", 4, 0)
    assert body["free_capacity"] == 4
    assert body["preparation_status"] == "NOT_PREPARED"


def test_only_the_organisations_providers_and_operators_register_nodes(
    organisation, other_provider, member, operator, api
):
    problem(api(other_provider).post(NODES, node_body(organisation), format="json"), 400)
    problem(api(member).post(NODES, node_body(organisation), format="json"), 403)
    assert not ExecutionNode.objects.exists()
    assert api(operator).post(NODES, node_body(organisation), format="json").status_code == 201


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"capacity": "4"}, "/capacity"),
        ({"capacity": 0}, "/capacity"),
        ({"capacity": 2**40}, "/capacity"),
        ({"capacity": 2, "current_load": 3}, "/current_load"),
        ({"current_load": -1}, "/current_load"),
        ({"task_types": ["SFL"]}, "/task_types/0"),
        ({"task_types": []}, "/task_types"),
        ({"task_types": ["HFL", "HFL"]}, "/task_types"),
        ({"preparation_status": "READY"}, "/preparation_status"),
    ],
)
def test_it_refuses_a_bad_node_body(provider, organisation, api, fields, pointer):
    answer = api(provider).post(NODES, node_body(organisation, **fields), format="json")

    assert pointer in pointers(problem(answer, 400))
    assert not ExecutionNode.objects.exists()


def test_it_refuses_a_node_body_that_is_not_json(provider, api):
    answer = api(provider).post(NODES, b"\xff\xfe", content_type="application/json")

    problem(answer, 400, "INVALID_MSG_FORMAT")
    assert not ExecutionNode.objects.exists()


def test_aimle_consumers_see_every_node_users_without_a_role_none(
    operator, organisation, other_provider, consumer, api
):
    make_node(operator, organisation, "edge-1")
    nobody = factories.make_user(None, organisation=organisation)

    assert api(consumer).get(NODES).json()["count"] == 1
    assert api(other_provider).get(f"{NODES}edge-1/").status_code == 200
    assert api(nobody).get(NODES).json()["count"] == 0
    problem(api(nobody).get(f"{NODES}edge-1/"), 404)


def test_the_owner_reports_load_and_preparation_others_cannot(
    operator, organisation, provider, other_provider, consumer, api
):
    make_node(operator, organisation, "edge-1")
    report = {"current_load": 3, "preparation_status": "PREPARED"}

    problem(api(other_provider).patch(f"{NODES}edge-1/", report, format="json"), 403)
    problem(api(consumer).patch(f"{NODES}edge-1/", report, format="json"), 403)
    answer = api(provider).patch(f"{NODES}edge-1/", report, format="json")

    assert answer.status_code == 200, answer.content
    assert (answer.json()["current_load"], answer.json()["free_capacity"]) == (3, 1)
    assert answer.json()["preparation_status"] == "PREPARED"


def test_a_load_above_capacity_keeps_the_node(operator, organisation, provider, api):
    make_node(operator, organisation, "edge-1", current_load=1)
    answer = api(provider).patch(f"{NODES}edge-1/", {"current_load": 5}, format="json")

    assert "/current_load" in pointers(problem(answer, 400))
    assert ExecutionNode.objects.get().current_load == 1


def test_the_owner_removes_a_node(operator, organisation, provider, other_provider, api):
    make_node(operator, organisation, "edge-1")

    problem(api(other_provider).delete(f"{NODES}edge-1/"), 403)
    assert api(provider).delete(f"{NODES}edge-1/").status_code == 204
    assert not ExecutionNode.objects.exists()


def test_the_schema_documents_the_aimle_endpoints(api):
    paths = api().get("/api/schema/", {"format": "json"}).json()["paths"]

    assert {
        "/api/v1/aimle/clients/",
        "/api/v1/aimle/clients/{client_id}/",
        "/api/v1/aimle/context-transfers/",
        "/api/v1/aimle/context-transfers/{id}/",
        "/api/v1/aimle/execution-nodes/",
        "/api/v1/aimle/execution-nodes/{node_id}/",
        "/api/v1/aimle/computing-assistance/",
    } <= set(paths)


def test_there_is_no_put_on_the_registries(operator, organisation, provider, api):
    make_client(operator, organisation, "ue-1")
    make_node(operator, organisation, "edge-1")

    problem(api(provider).put(f"{CLIENTS}ue-1/", client_body(organisation), format="json"), 405)
    problem(api(provider).put(f"{NODES}edge-1/", node_body(organisation), format="json"), 405)
