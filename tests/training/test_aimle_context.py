"""training.aimle.context without HTTP: the model's own checks refuse what a caller other than
the API could send, and a refusal leaves the client where it was."""

import pytest

from core.errors import DomainError
from tests.training.aimle import make_client
from training.aimle import context
from training.models import AimleClient, AimleContextTransfer


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"service_status": 150}, "service_status"),
        ({"previous_managing_servers": ["aimles-edge-0", ""]}, "previous_managing_servers"),
        (
            {"ml_context": context.MLContext(ml_task="MODEL_DREAMING", ml_model_info={"id": 1})},
            "ml_task",
        ),
    ],
)
def test_invalid_context_information_is_refused_and_nothing_moves(
    operator, organisation, fields, field
):
    make_client(operator, organisation, "ue-1")
    with pytest.raises(DomainError) as refused:
        context.aimle_context_transfer_accept(
            user=operator,
            requestor_id="aimles-edge-1",
            client_id="ue-1",
            current_managing_server="aimles-edge-2",
            **fields,
        )

    assert refused.value.code == "MANDATORY_IE_INCORRECT"
    assert field in refused.value.details
    assert AimleClient.objects.get().managing_server == "aimles-edge-1"
    assert not AimleContextTransfer.objects.exists()
