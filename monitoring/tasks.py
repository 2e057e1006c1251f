"""Celery tasks of the ML model monitor: they take ids and call a service."""

from celery import shared_task

from monitoring import services


@shared_task(acks_late=True, reject_on_worker_lost=True)
def monitor_cycle_task() -> dict:
    """The reporting cycle, every SAMHUB_MONITOR_TICK_SECONDS from Celery beat."""
    result = services.monitor_cycle_run()
    return {"periodic": result.periodic, "threshold": result.threshold}


@shared_task(acks_late=True, reject_on_worker_lost=True)
def notification_batch_deliver_task(notification_ids: list[int]) -> int:
    """Deliver a batch of notifications to one callback origin; returns how many arrived."""
    return len(services.notification_batch_deliver(notification_ids=notification_ids))


@shared_task(acks_late=True, reject_on_worker_lost=True)
def notification_retry_task(notification_id: int) -> str | None:
    """Another attempt at a notification whose earlier attempts failed (with backoff)."""
    notification = services.notification_attempt(notification_id=notification_id)
    return notification.status if notification else None
