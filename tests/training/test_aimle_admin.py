"""Operators keep execution nodes in the admin through training.aimle.computing, and read the
AIMLE contexts transferred (written only by training.aimle.context)."""

from tests.training.aimle import make_client
from training.aimle import context
from training.models import ExecutionNode


def test_operators_register_and_change_execution_nodes_in_the_admin(client, operator, organisation):
    client.force_login(operator)
    fields = {
        "service_area": "area-north",
        "capacity": 4,
        "current_load": 0,
        "task_types": '["HFL"]',
        "preparation_status": "NOT_PREPARED",
    }
    added = client.post(
        "/admin/training/executionnode/add/",
        {"node_id": "edge-1", "organisation": organisation.pk, **fields},
    )
    node = ExecutionNode.objects.get(node_id="edge-1")
    changed = client.post(
        f"/admin/training/executionnode/{node.pk}/change/",
        {**fields, "current_load": 2, "preparation_status": "PREPARED"},
    )
    refused = client.post(
        f"/admin/training/executionnode/{node.pk}/change/", {**fields, "current_load": 9}
    )
    node.refresh_from_db()

    assert added.status_code == 302 and changed.status_code == 302
    assert refused.status_code == 200 and "At most the capacity." in refused.content.decode()
    assert (node.current_load, node.preparation_status) == (2, "PREPARED")


def test_operators_read_context_transfers_and_cannot_change_them(client, operator, organisation):
    make_client(operator, organisation, "ue-1")
    transfer = context.aimle_context_transfer_accept(
        user=operator,
        requestor_id="aimles-edge-1",
        client_id="ue-1",
        current_managing_server="aimles-edge-2",
        ml_context=context.MLContext(ml_task="MODEL_INFERENCE", ml_model_info={"modelId": "m"}),
    )
    client.force_login(operator)

    listed = client.get("/admin/training/aimlecontexttransfer/")
    detail = client.get(f"/admin/training/aimlecontexttransfer/{transfer.pk}/change/")

    assert listed.status_code == 200 and "aimles-edge-1" in listed.content.decode()
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()
    assert client.get("/admin/training/aimlecontexttransfer/add/").status_code == 403
