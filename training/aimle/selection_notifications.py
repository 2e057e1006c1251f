"""AssistMLMdlSelNotif (TS 29.482): what a model selection tells its requestor at notifUri,
when, and its delivery.

**When.** Every selection with a notifUri is told when its job completes (the ranking). On
top of that, as repInfo.notifMethod says: ON_PCT_COMPLETION at each multiple of jobPercentage
the job passes (jobPercentage 25: at 25 %, 50 % and 75 %), PERIODIC every repPeriod seconds
while it runs, ON_EVENT_DETECTION when a candidate fails. A timeWindow limits them all to
its start and stop times. Each notification is made once (its kind and sequence are unique
per selection), in the transaction of the change it tells about, and queued for delivery
when that commits.

**Body.** `{opStatus, trainMLModel, elapseTime, timeStamp}`: opStatus is
`{status, percentage, targetReached}`; trainMLModel has one entry per candidate, ranked ones
first: `{mlMdlInfo, mlMdlPerf, status, rank, trainRounds, error}`; elapseTime is in seconds;
timeStamp is an RFC 3339 date-time.

**Delivery.** One POST per attempt (core.callbacks: a timeout, no redirects, only to addresses
core.outbound allows), retried with backoff until SAMHUB_CALLBACK_ATTEMPTS attempts failed.
"""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.callbacks import callback_post
from training.aimle import selection_selectors
from training.models import (
    AimleNotificationMethod,
    DeliveryStatus,
    ModelSelection,
    ModelSelectionCandidate,
    ModelSelectionNotification,
    SelectionNotificationKind,
)
from training.notifications import delivery_record

# The notifMethod that asks for each kind; COMPLETION goes to every selection with a notifUri.
ASKED_BY = {
    SelectionNotificationKind.PERCENTAGE: AimleNotificationMethod.ON_PCT_COMPLETION,
    SelectionNotificationKind.PERIODIC: AimleNotificationMethod.PERIODIC,
    SelectionNotificationKind.EVENT: AimleNotificationMethod.ON_EVENT_DETECTION,
}


def trained_model(candidate: ModelSelectionCandidate) -> dict:
    """One entry of trainMLModel: the ML model information and its performance."""
    version, sam = candidate.version, candidate.version.sam
    entry = {
        "mlMdlInfo": {
            "mlMdlId": str(version.pk),
            "mlMdlName": sam.name,
            "mlMdlVersion": version.version,
            "inferenceType": sam.inference_type,
            "domain": sam.domain,
            "source": candidate.source,
            "mlMdlParam": candidate.params,
        },
        "mlMdlPerf": [
            {"perfMetric": metric, "perfValue": value}
            for metric, value in candidate.scores.items()
            if value is not None
        ],
        "status": candidate.status,
        "trainRounds": candidate.rounds_done,
    }
    if candidate.rank is not None:
        entry["rank"] = candidate.rank
    if candidate.error:
        entry["error"] = candidate.error
    return entry


def notification_body(selection: ModelSelection, *, percentage: int | None = None) -> dict:
    """AssistMLMdlSelNotif of the selection as it is now (`percentage`: the one reached)."""
    return {
        "opStatus": {
            "status": selection.status,
            "percentage": selection.percentage if percentage is None else percentage,
            "targetReached": selection.target_reached_at is not None,
        },
        "trainMLModel": [trained_model(c) for c in selection_selectors.candidates_of(selection)],
        "elapseTime": selection_selectors.elapsed_seconds(selection),
        "timeStamp": timezone.now().isoformat().replace("+00:00", "Z"),
    }


def _wanted(selection: ModelSelection, kind: str) -> bool:
    if not selection.notification_uri:
        return False
    if kind in ASKED_BY and selection.notification_method != ASKED_BY[kind]:
        return False
    now = timezone.now()
    if selection.window_start is not None and now < selection.window_start:
        return False
    return selection.window_end is None or now <= selection.window_end


def selection_notify(
    selection: ModelSelection, kind: str, sequence: int, *, percentage: int | None = None
) -> ModelSelectionNotification | None:
    """Make the notification `kind` number `sequence` if the selection asked for it and it was
    not made before (inside the caller's transaction, which holds the selection's lock), and
    queue its delivery when that commits."""
    if not _wanted(selection, kind):
        return None
    notification, created = ModelSelectionNotification.objects.get_or_create(
        selection=selection,
        kind=kind,
        sequence=sequence,
        defaults={"body": notification_body(selection, percentage=percentage)},
    )
    if created:
        pk = notification.pk
        transaction.on_commit(lambda: _enqueue(pk))
    return notification if created else None


def _enqueue(notification_id: int, countdown: float = 0) -> None:
    from training.aimle.selection_tasks import selection_notification_deliver_task

    selection_notification_deliver_task.apply_async((notification_id,), countdown=countdown)


def selection_notification_deliver(*, notification_id: int) -> ModelSelectionNotification | None:
    """One attempt at a PENDING notification: DELIVERED, or the next attempt queued with
    backoff, or FAILED with the last error after SAMHUB_CALLBACK_ATTEMPTS attempts."""
    notification = (
        ModelSelectionNotification.objects.select_related("selection")
        .filter(pk=notification_id)
        .first()
    )
    if notification is None or notification.status != DeliveryStatus.PENDING:
        return notification
    attempt = callback_post(
        notification.selection.notification_uri,
        notification.body,
        timeout=settings.SAMHUB_CALLBACK_TIMEOUT_SECONDS,
    )
    with transaction.atomic():
        notification = ModelSelectionNotification.objects.select_for_update().get(
            pk=notification_id
        )
        delivery_record(
            notification,
            attempt,
            retry=lambda delay: _enqueue(notification_id, countdown=delay),
            to=notification.selection.notification_uri,
        )
    return notification
