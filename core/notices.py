"""Notices: what SAM Hub tells a user about a change that concerns them, in their portal inbox
(/account/notices/, with the unread count in the navigation) and, unless they turned it off,
by e-mail through Django's mail settings (EMAIL_BACKEND; the console by default).

The service that makes a change calls notice_send() inside its transaction, so a notice exists
exactly when the change does; each app words its own notices (registry.notices,
sharing.notices, training.notices). E-mails leave after the commit, from a Celery task
(core.tasks.notice_email_task): a slow mail server never holds the change's transaction, and a
failed send is retried.
"""

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from core.errors import DomainError
from core.models import Notice, NoticeKind, NoticePreference

TITLE_LENGTH = Notice._meta.get_field("title").max_length


@transaction.atomic
def notice_send(
    *,
    users: Iterable[User | int],
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    actor: User | None = None,
) -> list[Notice]:
    """Tell each of `users` (users or ids; each once) what happened, minus the `actor` who made
    it happen: nobody is told of their own action. Inactive users are not told. `url` is a path
    of the portal where the notice is acted on."""
    NoticeKind(kind)  # a ValueError for a kind nobody declared
    if url and not (url.startswith("/") and url_has_allowed_host_and_scheme(url, set())):
        raise ValueError(f"A notice links to a path of the portal, not {url!r}.")
    ids = {user if isinstance(user, int) else user.pk for user in users}
    ids.discard(actor.pk if actor is not None else None)
    if not ids:
        return []
    recipients = list(
        get_user_model()
        .objects.filter(pk__in=ids, is_active=True)
        .values_list("pk", "email", "notice_preference__email")
        .order_by("pk")
    )
    notices = Notice.objects.bulk_create(
        Notice(user_id=pk, kind=kind, title=title[:TITLE_LENGTH], body=body, url=url)
        for pk, _, _ in recipients
    )
    emailed = {pk for pk, email, wanted in recipients if email and wanted is not False}
    for notice in notices:
        if notice.user_id in emailed:
            _enqueue_email(notice.pk)
    return notices


def _enqueue_email(notice_id: int) -> None:
    from core.tasks import notice_email_task

    transaction.on_commit(lambda: notice_email_task.delay(notice_id))


def notice_email(*, notice_id: int) -> bool:
    """E-mail one notice to its user, once: the send is claimed with a conditional update and
    given back when the mail cannot be sent (the task retries). Nothing is sent when the user
    has no address any more, turned e-mail off, or read the notice already. True when sent."""
    notice = Notice.objects.select_related("user").filter(pk=notice_id).first()
    if notice is None or not notice.user.email or not notice_preference_email(notice.user):
        return False
    claimed = Notice.objects.filter(
        pk=notice_id, emailed_at__isnull=True, read_at__isnull=True
    ).update(emailed_at=timezone.now())
    if not claimed:
        return False
    portal = settings.SAMHUB_PORTAL_URL.rstrip("/")
    link = f"{portal}{notice.url}\n\n" if notice.url else ""
    try:
        send_mail(
            subject=f"SAM Hub: {notice.title}",
            message=(
                f"Hello {notice.user.get_username()},\n\n"
                + (f"{notice.body}\n\n" if notice.body else f"{notice.title}.\n\n")
                + link
                + "— SAM Hub\n\n"
                f"Your notices: {portal}{reverse('core:notices')} (you can turn these e-mails "
                "off there)."
            ),
            from_email=None,  # DEFAULT_FROM_EMAIL
            recipient_list=[notice.user.email],
        )
    except Exception:
        Notice.objects.filter(pk=notice_id).update(emailed_at=None)
        raise
    return True


def notice_preference_email(user: User) -> bool:
    """Whether the user wants notices by e-mail too (yes unless they said no)."""
    wanted = NoticePreference.objects.filter(user=user).values_list("email", flat=True).first()
    return wanted is not False


def notice_read(*, user: User, notice_id: int) -> Notice:
    """Mark one of the user's notices read (reading it again changes nothing); another user's
    notice is answered as none."""
    with transaction.atomic():
        notice = Notice.objects.select_for_update().filter(pk=notice_id, user=user).first()
        if notice is None:
            raise DomainError("No such notice.", code="not_found", status=404)
        if notice.read_at is None:
            notice.read_at = timezone.now()
            notice.save(update_fields=["read_at"])
    return notice


def notices_read_all(*, user: User) -> int:
    """Mark all the user's unread notices read; how many were."""
    return Notice.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())


def notice_preference_set(*, user: User, email: bool) -> NoticePreference:
    preference, _ = NoticePreference.objects.update_or_create(user=user, defaults={"email": email})
    return preference
