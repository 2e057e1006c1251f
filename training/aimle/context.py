"""AIMLE context transfer (TS 23.482 §8.24, tables 8.24.3.1-1 to 8.24.3.1-3): an AIMLE server
hands SAM Hub's AIMLE server the context of an AIMLE client (typically when the client's UE
moves from one edge service area to another), so that the ML task goes on here.

The answer is success (the context stored) or failure with one of these causes
(docs/aimle.md), each a DomainError whose code is the cause:

- ML_MODEL_INFO_MISSING (400): ML context information without ML model information, which
  table 8.24.3.1-2 makes mandatory in it;
- UNKNOWN_AIMLE_CLIENT (404): no registered client has the AIMLE client ID, or the caller
  does not see it;
- REQUESTOR_NOT_MANAGING_SERVER (403): the requestor is neither the AIMLE server managing the
  client (the source pushing the context) nor the current managing server the context names
  (the target pulling it).
"""

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from core.errors import DomainError
from training import permissions
from training.aimle import clients
from training.models import AimleClient, AimleContextTransfer


@dataclass(frozen=True)
class MLContext:
    """ML context information (TS 23.482 table 8.24.3.1-2): what the client's ML task is and
    the model it works with. `ml_model_info` is mandatory whenever an ML context is given."""

    val_service_info: Any = None
    ml_task: str = ""
    ml_task_info: dict | None = None
    ml_model_info: dict | None = None


def context_transfers_visible_to(user: User) -> QuerySet[AimleContextTransfer]:
    """Transfers of the clients the user sees (training.aimle.clients)."""
    return AimleContextTransfer.objects.filter(
        client__in=clients.aimle_clients_visible_to(user)
    ).select_related("client")


def context_transfer_visible_to(user: User, transfer_id: int) -> AimleContextTransfer:
    return clients.resource_visible(
        context_transfers_visible_to(user), what="AIMLE context transfer", pk=transfer_id
    )


def _refuse_ml_context_without_model(ml_context: MLContext | None) -> None:
    if ml_context is not None and not ml_context.ml_model_info:
        raise DomainError(
            "ML context information must carry ML model information (the model identifier, "
            "where to fetch it, its parameters); none was given, so the context cannot be "
            "continued here.",
            code="ML_MODEL_INFO_MISSING",
            details={"ml_context": {"ml_model_info": ["Mandatory in ML context information."]}},
        )


def _locked_client(user: User, client_id: str) -> AimleClient:
    visible = clients.aimle_clients_visible_to(user).filter(client_id=client_id).first()
    if visible is None:
        raise DomainError(
            f"AIMLE client {client_id!r} is not registered with this AIMLE server (or you "
            "cannot see it).",
            code="UNKNOWN_AIMLE_CLIENT",
            status=404,
        )
    return AimleClient.objects.select_for_update().get(pk=visible.pk)


@transaction.atomic
def aimle_context_transfer_accept(
    *,
    user: User,
    requestor_id: str,
    client_id: str,
    current_managing_server: str = "",
    previous_managing_servers: list[str] | None = None,
    service_status: str | float | None = None,
    service_results: Any = None,
    service_applicability: Any = None,
    ml_context: MLContext | None = None,
) -> AimleContextTransfer:
    """Accept the AIMLE context of a client and store it. A current managing server other than
    the client's moves the client there (the server it leaves joins its previous managing
    servers). A refusal (a cause of the module's list) stores nothing and moves nothing."""
    if not permissions.uses_aimle(user):
        raise DomainError.not_allowed("Only AIMLE consumers and operators transfer contexts.")
    _refuse_ml_context_without_model(ml_context)
    client = _locked_client(user, client_id)
    if requestor_id not in (client.managing_server, current_managing_server):
        raise DomainError(
            f"The requestor {requestor_id!r} does not manage AIMLE client {client_id!r}: its "
            f"managing server is {client.managing_server!r}, and the context names "
            f"{current_managing_server or 'no other'} as its current one.",
            code="REQUESTOR_NOT_MANAGING_SERVER",
            status=403,
        )
    ml_context = ml_context or MLContext()
    source = client.managing_server
    clients.aimle_client_move(client, current_managing_server)
    transfer = AimleContextTransfer(
        client=client,
        requestor_id=requestor_id,
        source_server=source if client.managing_server != source else "",
        current_managing_server=current_managing_server,
        previous_managing_servers=list(previous_managing_servers or []),
        service_status=service_status,
        service_results=service_results,
        service_applicability=service_applicability,
        val_service_info=ml_context.val_service_info,
        ml_task=ml_context.ml_task,
        ml_task_info=ml_context.ml_task_info,
        ml_model_info=ml_context.ml_model_info,
        transferred_by=user,
    )
    try:
        transfer.full_clean(exclude=["client", "transferred_by"])
        client.full_clean(exclude=["organisation"])
    except ValidationError as exc:
        raise DomainError(
            "Some context information is not valid; nothing was stored.",
            code="MANDATORY_IE_INCORRECT",
            details=exc.message_dict,
        ) from None
    client.save(update_fields=["managing_server", "previous_managing_servers", "updated_at"])
    transfer.save(force_insert=True)
    return transfer
