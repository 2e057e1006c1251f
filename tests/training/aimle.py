"""AIMLE test data, made through training.aimle's services as operators make it."""

from django.contrib.auth.models import User

from registry.models import Organisation
from training.aimle import clients
from training.models import AimleClient


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
