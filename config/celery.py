"""Celery application: Redis when CELERY_BROKER_URL is set, a local folder broker otherwise."""

import os

from celery import Celery
from celery.signals import worker_process_init
from kombu.exceptions import OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("samhub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def forkserver_warm(**_) -> None:
    """Each pool process starts its fork server for file checks (core.forked: a retraining's
    new version is checked like an upload) when it starts, not in its first task."""
    from multiprocessing import process

    from core.forked import forkserver_warm

    # billiard, Celery's pool, installs its pool process object as multiprocessing's current
    # process too, and multiprocessing cannot start children from it as it is: it is flagged
    # daemonic (the checks are killed at their timeout, and the fork server ends with this
    # process), and its key is billiard's, which multiprocessing cannot hand to a child.
    current = process.current_process()
    current.daemon = False
    current._config["authkey"] = process.AuthenticationString(os.urandom(32))
    forkserver_warm()


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
