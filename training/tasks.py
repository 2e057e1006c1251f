"""Celery tasks of the training app: they take ids and call training.services and
training.execution."""

from celery import shared_task
from celery.signals import worker_ready
from django.db import connections

from training import execution, services


@shared_task(acks_late=True, reject_on_worker_lost=True)
def training_request_start_task(request_id: int) -> str:
    """Start an accepted training request: its MLTrainingProcess is instantiated and queued."""
    return services.training_request_start(request_id=request_id).status


@shared_task(acks_late=True, reject_on_worker_lost=True)
def training_process_run_task(process_id: int) -> int | None:
    """Run the next waiting training process by priority (training.execution): `process_id`
    is the process this message was queued for, which runs in its turn, not necessarily now.

    Acknowledged when the run ends and handed back when its pool process dies: the run that
    gets it back takes the process over once its heartbeat has stopped."""
    return execution.training_queue_run()


@worker_ready.connect
def training_resume(**_) -> None:
    """A worker that starts queues the training work that was in flight."""
    try:
        execution.training_processes_resume()
    finally:
        connections.close_all()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def moi_notification_deliver_task(notification_id: int) -> str | None:
    """One attempt at a ProvMnS notification (training.notifications); a failed one queues
    the next attempt itself, with backoff."""
    from training import notifications

    notification = notifications.notification_deliver(notification_id=notification_id)
    return notification.status if notification is not None else None
