"""The AIMLE client registry (training.aimle.clients): who registers, sees, changes and removes
clients, the move rule, and the choice of clients for ML model selection by client set ids
and selection criteria (TS 23.482 §8.23.3.1 NOTE 1 and NOTE 2)."""

import pytest

from core.errors import DomainError
from tests import factories
from tests.training.aimle import make_client
from training.aimle import clients
from training.models import AimleClient


@pytest.fixture
def fleet(operator, organisation, other_organisation):
    """Five clients in two sets and two service areas."""
    return [
        make_client(operator, organisation, "ue-1", client_set_id="set-a", capabilities=("HFL_TRAINING", "INFERENCE")),
        make_client(operator, organisation, "ue-2", client_set_id="set-a", service_area="area-south"),
        make_client(operator, organisation, "ue-3", client_set_id="set-b", capabilities=("HFL_TRAINING", "INFERENCE")),
        make_client(operator, other_organisation, "ue-4", client_set_id="set-b", capabilities=("VFL_TRAINING",)),
        make_client(operator, other_organisation, "ue-5", managing_server="aimles-edge-2"),
    ]  # fmt: skip


def _ids(found) -> list[str]:
    return [c.client_id for c in found]


# --- registry --------------------------------------------------------------------------------


def test_a_provider_registers_a_client_of_their_organisation(provider, organisation):
    client = make_client(provider, organisation, "ue-1", client_set_id="set-a")
    stored = AimleClient.objects.get(client_id="ue-1")
    assert stored.pk == client.pk
    assert stored.managing_server == "aimles-edge-1"
    assert stored.previous_managing_servers == []
    assert stored.capabilities == ["HFL_TRAINING"]


def test_it_refuses_a_provider_of_another_organisation(other_provider, organisation):
    with pytest.raises(DomainError) as refused:
        make_client(other_provider, organisation, "ue-1")
    assert refused.value.status == 403
    assert not AimleClient.objects.exists()


def test_it_refuses_a_consumer(consumer, organisation):
    organisation.members.add(consumer)
    with pytest.raises(DomainError) as refused:
        make_client(consumer, organisation, "ue-1")
    assert refused.value.status == 403
    assert not AimleClient.objects.exists()


def test_it_refuses_a_client_id_registered_already(operator, organisation):
    make_client(operator, organisation, "ue-1")
    with pytest.raises(DomainError) as refused:
        make_client(operator, organisation, "ue-1", managing_server="aimles-edge-9")
    assert refused.value.status == 400
    assert "client_id" in refused.value.details
    assert AimleClient.objects.get().managing_server == "aimles-edge-1"


@pytest.mark.parametrize("capabilities", [["HFL_TRAINING", ""], ["HFL_TRAINING", 3]])
def test_it_refuses_capabilities_that_are_not_names(operator, organisation, capabilities):
    with pytest.raises(DomainError) as refused:
        make_client(operator, organisation, "ue-1", capabilities=capabilities)
    assert "capabilities" in refused.value.details
    assert not AimleClient.objects.exists()


def test_it_refuses_a_client_without_managing_server_or_service_area(operator, organisation):
    with pytest.raises(DomainError) as refused:
        make_client(operator, organisation, "ue-1", managing_server="", service_area="")
    assert set(refused.value.details) == {"managing_server", "service_area"}
    assert not AimleClient.objects.exists()


def test_members_see_their_organisations_clients_auditors_and_operators_every_one(
    fleet, provider, other_provider, auditor, operator, consumer
):
    assert _ids(clients.aimle_clients_visible_to(provider)) == ["ue-1", "ue-2", "ue-3"]
    assert _ids(clients.aimle_clients_visible_to(other_provider)) == ["ue-4", "ue-5"]
    assert len(clients.aimle_clients_visible_to(auditor)) == 5
    assert len(clients.aimle_clients_visible_to(operator)) == 5
    assert _ids(clients.aimle_clients_visible_to(consumer)) == []


def test_a_client_one_cannot_see_is_not_found(fleet, other_provider):
    with pytest.raises(DomainError) as refused:
        clients.aimle_client_visible_to(other_provider, "ue-1")
    assert refused.value.status == 404


def test_a_new_managing_server_appends_the_one_left_to_the_previous_ones(fleet, provider):
    clients.aimle_client_update(user=provider, client_id="ue-1", managing_server="aimles-edge-2")
    clients.aimle_client_update(user=provider, client_id="ue-1", managing_server="aimles-edge-3")
    client = AimleClient.objects.get(client_id="ue-1")
    assert client.managing_server == "aimles-edge-3"
    assert client.previous_managing_servers == ["aimles-edge-1", "aimles-edge-2"]


def test_the_same_managing_server_is_no_move(fleet, provider):
    clients.aimle_client_update(
        user=provider, client_id="ue-1", managing_server="aimles-edge-1", service_area="area-west"
    )
    client = AimleClient.objects.get(client_id="ue-1")
    assert client.previous_managing_servers == []
    assert client.service_area == "area-west"


def test_it_refuses_to_change_the_client_id(fleet, provider):
    with pytest.raises(DomainError) as refused:
        clients.aimle_client_update(user=provider, client_id="ue-1", client_id_new="x")
    assert "client_id_new" in refused.value.message
    with pytest.raises(DomainError):
        clients.aimle_client_update(user=provider, client_id="ue-1", organisation=None)


def test_a_member_who_is_not_a_provider_cannot_change_or_remove(fleet, organisation):
    member = factories.make_user("consumer", organisation=organisation)
    with pytest.raises(DomainError) as refused:
        clients.aimle_client_update(user=member, client_id="ue-1", service_area="area-west")
    assert refused.value.status == 403
    with pytest.raises(DomainError) as refused:
        clients.aimle_client_remove(user=member, client_id="ue-1")
    assert refused.value.status == 403
    assert AimleClient.objects.get(client_id="ue-1").service_area == "area-north"


def test_an_invalid_change_keeps_the_client_as_it_was(fleet, provider):
    with pytest.raises(DomainError):
        clients.aimle_client_update(
            user=provider, client_id="ue-1", managing_server="aimles-edge-2", capabilities=[""]
        )
    client = AimleClient.objects.get(client_id="ue-1")
    assert client.managing_server == "aimles-edge-1"
    assert client.previous_managing_servers == []


def test_a_provider_removes_a_client_of_their_organisation(fleet, provider, other_provider):
    with pytest.raises(DomainError) as refused:
        clients.aimle_client_remove(user=other_provider, client_id="ue-1")
    assert refused.value.status == 404
    clients.aimle_client_remove(user=provider, client_id="ue-1")
    assert not AimleClient.objects.filter(client_id="ue-1").exists()


# --- selection (TS 23.482 §8.23.3.1) ----------------------------------------------------------


def test_it_selects_every_client_of_the_client_sets(fleet):
    found = clients.aimle_clients_select(
        client_set_ids=["set-a", "set-b"], criteria=None, number=None
    )
    assert _ids(found) == ["ue-1", "ue-2", "ue-3", "ue-4"]


def test_it_selects_by_service_area_and_every_required_capability(fleet):
    found = clients.aimle_clients_select(
        client_set_ids=None,
        criteria={"service_area": "area-north", "capabilities": ["HFL_TRAINING", "INFERENCE"]},
        number=2,
    )
    assert _ids(found) == ["ue-1", "ue-3"]


def test_the_number_is_a_minimum_not_a_cap(fleet):
    found = clients.aimle_clients_select(
        client_set_ids=None, criteria={"capabilities": ["HFL_TRAINING"]}, number=1
    )
    assert _ids(found) == ["ue-1", "ue-2", "ue-3", "ue-5"]


def test_it_matches_any_of_several_service_areas_and_the_managing_server(fleet):
    found = clients.aimle_clients_select(
        client_set_ids=None,
        criteria={"service_area": ["area-south", "area-north"], "managing_server": "aimles-edge-2"},
        number=1,
    )
    assert _ids(found) == ["ue-5"]


def test_client_sets_and_criteria_together_narrow_the_choice(fleet):
    found = clients.aimle_clients_select(
        client_set_ids=["set-b"], criteria={"capabilities": ["INFERENCE"]}, number=1
    )
    assert _ids(found) == ["ue-3"]


@pytest.mark.parametrize(("set_ids", "criteria"), [(None, None), ([], {})])
def test_note_1_it_refuses_neither_client_sets_nor_criteria(fleet, set_ids, criteria):
    with pytest.raises(DomainError) as refused:
        clients.aimle_clients_select(client_set_ids=set_ids, criteria=criteria, number=3)
    assert refused.value.status == 400
    assert refused.value.code == "MANDATORY_IE_MISSING"
    assert "NOTE 1" in refused.value.message


def test_note_2_it_refuses_criteria_without_a_number(fleet):
    with pytest.raises(DomainError) as refused:
        clients.aimle_clients_select(
            client_set_ids=["set-a"], criteria={"service_area": "area-north"}, number=None
        )
    assert refused.value.code == "MANDATORY_IE_MISSING"
    assert "NOTE 2" in refused.value.message
    assert "number" in refused.value.details


def test_it_refuses_fewer_matching_clients_than_required(fleet):
    with pytest.raises(DomainError) as refused:
        clients.aimle_clients_select(
            client_set_ids=None, criteria={"capabilities": ["VFL_TRAINING"]}, number=2
        )
    assert refused.value.status == 400
    assert refused.value.code == "INSUFFICIENT_AIMLE_CLIENTS"
    assert "2 AIMLE client(s) are required, but only 1 match" in refused.value.message


def test_a_number_with_client_sets_alone_is_a_minimum_too(fleet):
    assert len(clients.aimle_clients_select(client_set_ids=["set-a"], criteria=None, number=2)) == 2
    with pytest.raises(DomainError) as refused:
        clients.aimle_clients_select(client_set_ids=["set-a"], criteria=None, number=3)
    assert refused.value.code == "INSUFFICIENT_AIMLE_CLIENTS"


def test_it_names_the_client_sets_nobody_belongs_to(fleet):
    with pytest.raises(DomainError) as refused:
        clients.aimle_clients_select(client_set_ids=["set-a", "set-z"], criteria=None, number=None)
    assert refused.value.code == "UNKNOWN_AIMLE_CLIENT_SET"
    assert "set-z" in refused.value.message
    assert "set-a" not in refused.value.message


@pytest.mark.parametrize(
    ("criteria", "number", "field"),
    [
        ({"colour": "blue"}, 1, "criteria"),
        ({"capabilities": []}, 1, "criteria"),
        ({"service_area": 7}, 1, "criteria"),
        ("area-north", 1, "criteria"),
        ({"service_area": "area-north"}, 0, "number"),
        ({"service_area": "area-north"}, True, "number"),
        ({"service_area": "area-north"}, "2", "number"),
    ],
)
def test_it_refuses_malformed_criteria_and_numbers(fleet, criteria, number, field):
    with pytest.raises(DomainError) as refused:
        clients.aimle_clients_select(client_set_ids=None, criteria=criteria, number=number)
    assert refused.value.status == 400
    assert refused.value.code == "MANDATORY_IE_INCORRECT"
    assert field in refused.value.details


def test_it_refuses_client_set_ids_that_are_not_names(fleet):
    with pytest.raises(DomainError) as refused:
        clients.aimle_clients_select(client_set_ids=["set-a", 3], criteria=None, number=None)
    assert "client_set_ids" in refused.value.details


# --- the admin -------------------------------------------------------------------------------


def test_operators_register_move_and_remove_clients_in_the_admin(client, operator, organisation):
    client.force_login(operator)
    fields = {
        "client_set_id": "set-a",
        "managing_server": "aimles-edge-1",
        "service_area": "area-north",
        "capabilities": '["HFL_TRAINING"]',
    }
    added = client.post(
        "/admin/training/aimleclient/add/",
        {"client_id": "ue-1", "organisation": organisation.pk, **fields},
    )
    stored = AimleClient.objects.get(client_id="ue-1")
    moved = client.post(
        f"/admin/training/aimleclient/{stored.pk}/change/",
        {**fields, "managing_server": "aimles-edge-2"},
    )
    refused = client.post(
        f"/admin/training/aimleclient/{stored.pk}/change/",
        {**fields, "capabilities": '["HFL_TRAINING", ""]'},
        follow=True,
    )
    stored.refresh_from_db()

    assert added.status_code == 302 and moved.status_code == 302
    assert stored.managing_server == "aimles-edge-2"
    assert stored.previous_managing_servers == ["aimles-edge-1"]
    assert "A list of capability names" in refused.content.decode()
    assert stored.capabilities == ["HFL_TRAINING"]
    removed = client.post(f"/admin/training/aimleclient/{stored.pk}/delete/", {"post": "yes"})
    assert removed.status_code == 302
    assert not AimleClient.objects.exists()
