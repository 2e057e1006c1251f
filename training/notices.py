"""What training tells people in their portal inbox (core.notices), inside the transaction of
the change: the requester when their training request ends, and the consumer whose retraining
produced a version when it is released. (training.notifications is another thing: the ProvMnS
notifications of TS 28.532 sent to subscribed systems.)"""

from django.urls import reverse

from core.models import NoticeKind
from core.notices import notice_send
from registry.models import ModelVersion
from training.models import MLTrainingRequest, ProcessStatus, RequestStatus


def training_request_ended(*, request: MLTrainingRequest) -> None:
    """The request FINISHED: it trained a version (submitted for audit), or its processes
    failed. A cancelled request tells no one: whoever cancelled it knows."""
    if request.status != RequestStatus.FINISHED:
        return
    processes = list(request.processes.order_by("pk").values_list("status", "result_state_info"))
    failed = all(status == ProcessStatus.FAILED for status, _ in processes)
    trained = f"{request.ml_entity.sam.name} {request.ml_entity.version}"
    notice_send(
        users=[request.requested_by_id],
        kind=NoticeKind.TRAINING_FAILED if failed else NoticeKind.TRAINING_FINISHED,
        title=f"Training of {trained} " + ("failed" if failed else "finished"),
        body="\n".join(info for _, info in processes if info),
        url=reverse("training:request-detail", args=[request.pk]),
    )


def retrained_version_released(*, request: MLTrainingRequest, version: ModelVersion) -> None:
    """The version a consumer's retraining produced passed the audit and is released."""
    notice_send(
        users=[request.requested_by_id],
        kind=NoticeKind.RETRAINED_RELEASED,
        title=f"Your retrained {version.sam.name} {version.version} is released",
        body=(
            f"The version your retraining produced ({request.dn}, trained from "
            f"{request.ml_entity.version} on your data) passed the audit and is released as "
            f"{version.sam.name} {version.version}. You can use it like any other version."
        ),
        url=reverse("sharing:subscription-use", args=[request.subscription_id]),
    )
