"""AIMLE context transfer over /api/v1/aimle/context-transfers/ (TS 23.482 §8.24): success
stores the context and moves the client; each failure cause is a ProblemDetails with that
cause and stores nothing; hostile bodies are 400 with nothing stored."""

import copy

import pytest

from tests import factories
from tests.training.aimle import make_client, pointers, problem
from training.models import AimleContextTransfer

URL = "/api/v1/aimle/context-transfers/"


def transfer_body(**context) -> dict:
    """A full request: aimles-edge-1 (managing ue-1) hands its context to aimles-edge-2."""
    info = {
        "clientId": "ue-1",
        "currentManagingServer": "aimles-edge-2",
        "previousManagingServers": ["aimles-edge-0"],
        "serviceStatus": "active",
        "serviceResults": {"roundsDone": 3, "loss": 0.21},
        "serviceApplicability": {"edgeServiceArea": "area-north"},
        "mlContextInfo": {
            "valServiceInfo": {"valServiceId": "v2x-1"},
            "mlTask": "MODEL_TRAINING",
            "mlTaskInfo": {"objective": "cell load", "status": "paused"},
            "mlModelInfo": {"modelId": "cell-load-7", "modelUri": "https://repo.example/m/7"},
        },
    }
    info.update(context)
    return {"requestorId": "aimles-edge-1", "contextInfo": info}


@pytest.fixture
def ue(operator, organisation):
    return make_client(operator, organisation, "ue-1", client_set_id="set-a")


@pytest.fixture
def member(organisation):
    """A consumer of the client's organisation: an AIMLE consumer who sees the client."""
    return factories.make_user("consumer", organisation=organisation, username="aimle-member")


def _unchanged(ue) -> None:
    ue.refresh_from_db()
    assert ue.managing_server == "aimles-edge-1"
    assert ue.previous_managing_servers == []
    assert not AimleContextTransfer.objects.exists()


# --- success ---------------------------------------------------------------------------------


def test_a_transfer_is_stored_moves_the_client_and_is_retrievable(ue, member):
    client = factories.token_client(member)
    answer = client.post(URL, transfer_body(), format="json")

    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["requestorId"] == "aimles-edge-1"
    assert body["contextInfo"] == transfer_body()["contextInfo"]
    assert body["sourceServer"] == "aimles-edge-1"
    assert body["managingServer"] == "aimles-edge-2"
    assert body["transferredBy"] == "aimle-member"
    ue.refresh_from_db()
    assert ue.managing_server == "aimles-edge-2"
    assert ue.previous_managing_servers == ["aimles-edge-1"]
    assert answer["Location"].endswith(f"{URL}{body['id']}/")
    assert client.get(answer["Location"]).json() == body
    listed = client.get(URL, {"clientId": "ue-1"}).json()
    assert [t["id"] for t in listed["results"]] == [body["id"]]


def test_a_second_move_appends_the_next_source_server(ue, member, api):
    api(member).post(URL, transfer_body(), format="json")
    second = transfer_body(currentManagingServer="aimles-edge-3")
    second["requestorId"] = "aimles-edge-2"
    answer = api(member).post(URL, second, format="json")

    assert answer.status_code == 201, answer.content
    ue.refresh_from_db()
    assert ue.managing_server == "aimles-edge-3"
    assert ue.previous_managing_servers == ["aimles-edge-1", "aimles-edge-2"]
    assert AimleContextTransfer.objects.count() == 2


def test_the_target_server_may_pull_the_context(ue, member, api):
    body = transfer_body()
    body["requestorId"] = "aimles-edge-2"  # the current managing server the context names
    answer = api(member).post(URL, body, format="json")

    assert answer.status_code == 201, answer.content
    assert answer.json()["sourceServer"] == "aimles-edge-1"


def test_a_context_without_a_move_or_ml_context_leaves_the_client_where_it_is(ue, member, api):
    body = {
        "requestorId": "aimles-edge-1",
        "contextInfo": {"clientId": "ue-1", "serviceStatus": 40},
    }
    answer = api(member).post(URL, body, format="json")

    assert answer.status_code == 201, answer.content
    assert answer.json()["contextInfo"] == {"clientId": "ue-1", "serviceStatus": 40}
    assert answer.json()["sourceServer"] == ""
    ue.refresh_from_db()
    assert ue.managing_server == "aimles-edge-1"
    assert ue.previous_managing_servers == []
    assert AimleContextTransfer.objects.get().has_ml_context is False


# --- failure causes --------------------------------------------------------------------------


def test_cause_unknown_aimle_client(ue, member, api):
    answer = api(member).post(URL, transfer_body(clientId="ue-404"), format="json")

    body = problem(answer, 404, "UNKNOWN_AIMLE_CLIENT")
    assert "ue-404" in body["detail"]
    _unchanged(ue)


def test_a_client_one_cannot_see_is_an_unknown_client(ue, other_provider, api):
    answer = api(other_provider).post(URL, transfer_body(), format="json")

    problem(answer, 404, "UNKNOWN_AIMLE_CLIENT")
    _unchanged(ue)


@pytest.mark.parametrize("model_info", ["absent", None, {}])
def test_cause_ml_model_info_missing(ue, member, api, model_info):
    body = transfer_body()
    if model_info == "absent":
        del body["contextInfo"]["mlContextInfo"]["mlModelInfo"]
    else:
        body["contextInfo"]["mlContextInfo"]["mlModelInfo"] = model_info
    answer = api(member).post(URL, body, format="json")

    problem_body = problem(answer, 400, "ML_MODEL_INFO_MISSING")
    assert "ML model information" in problem_body["detail"]
    assert pointers(problem_body) == {"/ml_context/ml_model_info"}
    _unchanged(ue)


def test_an_empty_ml_context_is_missing_its_model_info_too(ue, member, api):
    answer = api(member).post(URL, transfer_body(mlContextInfo={}), format="json")

    problem(answer, 400, "ML_MODEL_INFO_MISSING")
    _unchanged(ue)


def test_cause_requestor_not_managing_server(ue, member, api):
    body = transfer_body()
    body["requestorId"] = "aimles-rogue"
    answer = api(member).post(URL, body, format="json")

    problem_body = problem(answer, 403, "REQUESTOR_NOT_MANAGING_SERVER")
    assert "aimles-rogue" in problem_body["detail"]
    _unchanged(ue)


# --- hostile input: 400, nothing stored ------------------------------------------------------


def _without(path: tuple[str, ...]) -> dict:
    body = transfer_body()
    target = body
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return body


def _with(path: tuple[str, ...], value) -> dict:
    body = copy.deepcopy(transfer_body())
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        (_without(("requestorId",)), "/requestorId"),
        (_without(("contextInfo",)), "/contextInfo"),
        (_without(("contextInfo", "clientId")), "/contextInfo/clientId"),
    ],
)
def test_it_refuses_missing_mandatory_ies(ue, member, api, body, pointer):
    answer = api(member).post(URL, body, format="json")

    assert pointers(problem(answer, 400, "MANDATORY_IE_MISSING")) == {pointer}
    _unchanged(ue)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("contextInfo", "mlContextInfo", "mlTask"), "MODEL_DREAMING"),
        (("contextInfo", "mlContextInfo", "mlModelInfo"), "cell-load-7"),
        (("contextInfo", "mlContextInfo", "mlTaskInfo"), ["training"]),
        (("contextInfo", "serviceStatus"), 150),
        (("contextInfo", "serviceStatus"), True),
        (("contextInfo", "serviceStatus"), ""),
        (("contextInfo", "previousManagingServers"), "aimles-edge-0"),
        (("contextInfo", "currentManagingServer"), 7),
        (("contextInfo", "clientId"), "x" * 256),
        (("requestorId",), None),
        (("contextInfo",), "ue-1"),
        (("contextInfo", "mlContextInfo"), ["MODEL_TRAINING"]),
    ],
)
def test_it_refuses_ies_of_the_wrong_type_or_value(ue, member, api, path, value):
    answer = api(member).post(URL, _with(path, value), format="json")

    body = problem(answer, 400, "MANDATORY_IE_INCORRECT")
    assert pointers(body) == {"/" + "/".join(path)}
    _unchanged(ue)


def test_it_refuses_a_body_that_is_not_json(ue, member, api):
    answer = api(member).post(
        URL, '{"requestorId": "aimles-edge-1",', content_type="application/json"
    )

    problem(answer, 400, "INVALID_MSG_FORMAT")
    _unchanged(ue)


def test_it_refuses_a_form_body(ue, member, api):
    answer = api(member).post(URL, {"requestorId": "aimles-edge-1"})

    problem(answer, 415)
    _unchanged(ue)


# --- who may --------------------------------------------------------------------------------


def test_anonymous_callers_are_refused(ue, api):
    problem(api().post(URL, transfer_body(), format="json"), 401)
    problem(api().get(URL), 401)
    _unchanged(ue)


def test_auditors_read_transfers_but_do_not_make_them(ue, member, auditor, api):
    made = api(member).post(URL, transfer_body(), format="json").json()

    problem(api(auditor).post(URL, transfer_body(), format="json"), 403)
    assert api(auditor).get(f"{URL}{made['id']}/").status_code == 200


def test_transfers_are_seen_by_those_who_see_the_client(ue, member, provider, other_provider, api):
    made = api(member).post(URL, transfer_body(), format="json").json()
    item = f"{URL}{made['id']}/"

    assert api(provider).get(item).status_code == 200
    assert api(provider).get(URL).json()["count"] == 1
    problem(api(other_provider).get(item), 404)
    assert api(other_provider).get(URL).json()["count"] == 0
