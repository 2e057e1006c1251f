"""Celery tasks of core: they take ids and call a service."""

from celery import shared_task

from core import notices


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5, acks_late=True)
def notice_email_task(notice_id: int) -> bool:
    """E-mail a notice to its user (once); a mail server that cannot be reached is retried."""
    return notices.notice_email(notice_id=notice_id)
