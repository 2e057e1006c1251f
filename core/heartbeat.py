"""The heartbeat of long work run by a Celery worker (package builds, training processes): a
thread refreshes the row's `heartbeat_at` while the work runs, so that others can tell slow work
from a dead worker. Work silent for LOST_AFTER_BEATS beats counts as lost."""

import logging
import threading
from contextlib import contextmanager

from django.db import DatabaseError, connections, transaction
from django.db.models import QuerySet
from django.utils import timezone

logger = logging.getLogger(__name__)

# Heartbeats work may miss (a busy database, a slow machine) before it counts as lost.
LOST_AFTER_BEATS = 3


@contextmanager
def heartbeat_kept(rows: QuerySet, *, seconds: int, name: str):
    """Set `heartbeat_at` on `rows` every `seconds` from a thread while the block runs. `rows`
    narrows to the one row while this run still holds it (e.g. by its run id or status)."""
    if transaction.get_connection().in_atomic_block:
        # Run inside an outer transaction (an eager task, a test): no other connection sees
        # the row, and beating through one would wait for that transaction's lock.
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(seconds):
                try:
                    rows.update(heartbeat_at=timezone.now())
                except DatabaseError:  # a busy database: the next beat tries again
                    logger.warning("%s: heartbeat not written", name, exc_info=True)
        finally:
            connections.close_all()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"{name}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
