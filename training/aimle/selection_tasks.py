"""Celery tasks of AIMLE model selection: they take ids and call training.aimle.selection and
training.aimle.selection_execution (training.tasks imports this module, so that workers know
the tasks)."""

from celery import group, shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.db import connections

from training.aimle import selection, selection_execution


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def model_selection_candidate_task(self, candidate_id: int) -> str | None:
    """Train and score one candidate (its rounds); the last candidate to end ranks them all.
    Its soft time limit was set when it was sent (candidates_queue)."""
    _, soft_limit = self.request.timelimit or (None, None)
    return selection_execution.candidate_run(candidate_id=candidate_id, time_limit=soft_limit)


def candidates_queue(candidate_ids: list[int]) -> None:
    """One task per candidate, sent together as a group: each worker process takes one at a
    time, so N workers train N candidates at once. Each task has a soft time limit."""
    limit = settings.SAMHUB_MODEL_SELECTION_CANDIDATE_SECONDS
    group(
        model_selection_candidate_task.si(pk).set(soft_time_limit=limit, time_limit=limit + 60)
        for pk in candidate_ids
    ).apply_async()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def selection_periodic_task(selection_id: str, sequence: int) -> bool:
    """Periodic report `sequence` of a running selection; it queues the next one."""
    return selection.selection_periodic_report(selection_id=selection_id, sequence=sequence)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def selection_notification_deliver_task(notification_id: int) -> str | None:
    """One attempt at an AssistMLMdlSelNotif; a failed one queues the next itself."""
    from training.aimle.selection_notifications import selection_notification_deliver

    notification = selection_notification_deliver(notification_id=notification_id)
    return notification.status if notification is not None else None


@worker_ready.connect
def model_selections_resume(**_) -> None:
    """A worker that starts queues again the candidates still to train and the periodic
    reports of running selections (a killed worker may have taken their messages along)."""
    try:
        candidates, periodic = selection.candidates_waiting()
        if candidates:
            candidates_queue(candidates)
        for selection_id, sequence, period in periodic:
            selection_periodic_task.apply_async((str(selection_id), sequence), countdown=period)
    finally:
        connections.close_all()
