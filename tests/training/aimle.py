"""AIMLE test data, made through training.aimle's services as operators make it."""

from django.contrib.auth.models import User

from registry.models import Organisation
from training.aimle import clients, computing
from training.models import AimleClient, ExecutionNode


def make_client(
    operator: User,
    organisation: Organisation,
    client_id: str,
    *,
    client_set_id: str = "",
    managing_server: str = "aimles-edge-1",
    service_area: str = "area-north",
    capabilities: tuple[str, ...] = ("HFL_TRAINING",),
) -> AimleClient:
    return clients.aimle_client_register(
        user=operator,
        organisation=organisation,
        client_id=client_id,
        client_set_id=client_set_id,
        managing_server=managing_server,
        service_area=service_area,
        capabilities=capabilities,
    )


def make_node(
    operator: User,
    organisation: Organisation,
    node_id: str,
    *,
    service_area: str = "area-north",
    capacity: int = 4,
    current_load: int = 0,
    task_types: tuple[str, ...] = ("HFL",),
    preparation_status: str = "NOT_PREPARED",
) -> ExecutionNode:
    return computing.execution_node_register(
        user=operator,
        organisation=organisation,
        node_id=node_id,
        service_area=service_area,
        capacity=capacity,
        current_load=current_load,
        task_types=task_types,
        preparation_status=preparation_status,
    )


def problem(answer, status: int, cause: str | None = None) -> dict:
    """The ProblemDetails of an answer, checked to be one with this status (and cause)."""
    assert answer.status_code == status, answer.content
    assert answer["Content-Type"] == "application/problem+json", answer["Content-Type"]
    body = answer.json()
    assert body["status"] == status
    if cause is not None:
        assert body["cause"] == cause, body
    return body


def pointers(body: dict) -> set[str]:
    """The JSON pointers a ProblemDetails' invalidParams name."""
    return {p["param"] for p in body.get("invalidParams", [])}
