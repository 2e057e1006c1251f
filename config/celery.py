"""Celery application: Redis when CELERY_BROKER_URL is set, a local folder broker otherwise."""

import os

from celery import Celery
from kombu.exceptions import OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("samhub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def workers_answering(timeout: float, limit: int | None = None) -> list[str] | None:
    """The names of the workers that answer a ping within `timeout` seconds (the first `limit`
    to answer, when given: the ping stops waiting then), or None when the broker cannot be
    reached.

    A ping (broadcast on the broker, answered by each worker's control thread) rather than the
    package builds' heartbeat: the heartbeat says something only while a build runs, and an
    idle worker is as alive as a busy one."""
    try:
        replies = app.control.ping(timeout=timeout, limit=limit) or []
    except (OSError, OperationalError):
        return None
    return sorted(name for reply in replies for name in reply)
