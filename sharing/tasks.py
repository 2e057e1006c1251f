"""Celery tasks of the sharing app: they take ids and call a service."""

from celery import shared_task
from celery.signals import worker_ready
from django.db import connections

from sharing import extraction, services


@shared_task(acks_late=True, reject_on_worker_lost=True)
def package_build_task(package_id: int) -> str:
    """Build a version's SDK wheel or mirror bundle (sharing.extraction.package_build).

    Its message is acknowledged only when the build ends and handed back when the pool process
    running it dies; the build is idempotent, and the run that gets the message back takes over
    once the dead run's heartbeat has stopped."""
    return extraction.package_build(package_id=package_id).status


@shared_task(acks_late=True, reject_on_worker_lost=True)
def version_popularity_count_task() -> int:
    """Recount subscribers and calls for the catalog, every SAMHUB_POPULARITY_SECONDS from
    Celery beat (sharing.services.version_popularity_count; running it twice is harmless)."""
    return services.version_popularity_count()


@worker_ready.connect
def package_builds_resume(**_) -> None:
    """A worker that starts (or is restarted by `manage.py portal`) queues the builds that
    were in flight: the folder broker loses the messages a killed worker had taken."""
    try:
        extraction.package_builds_resume()
    finally:
        # The worker's main process uses the database for nothing else: hold no connection.
        connections.close_all()
