"""Celery tasks of the sharing app: they take ids and call a service."""

from celery import shared_task

from sharing import extraction


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def package_build_task(self, package_id: int) -> str:
    """Build a version's SDK wheel or mirror bundle (sharing.extraction.package_build)."""
    # A message that comes back after its worker was lost finds the package BUILDING by the
    # dead run: take it over instead of leaving it stuck.
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    return extraction.package_build(package_id=package_id, resume=redelivered).status
