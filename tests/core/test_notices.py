"""The notices inbox (core.notices): a user sees, opens and marks read only their own notices;
the navigation counts what waits for them in one statement; e-mail follows their preference.
Which event tells whom is tested with each app (tests/<app>/test_notices.py)."""

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import notices
from core.models import Notice, NoticeKind
from core.navigation import nav_links_for
from registry import services as registry_services
from tests import factories


def tell(user, title="Something happened", url="/my-models/", **fields):
    (notice,) = notices.notice_send(
        users=[user], kind=fields.pop("kind", NoticeKind.AUDIT_APPROVED), title=title, url=url,
        **fields,
    )  # fmt: skip
    return notice


@pytest.fixture
def reader(db):
    return factories.make_user("consumer", username="reader", email="reader@example.net")


@pytest.fixture
def intruder(db):
    return factories.make_user("consumer", username="intruder")


def page_of(client, user, path="/account/notices/"):
    client.force_login(user)
    answer = client.get(path)
    assert answer.status_code == 200
    return answer.content.decode()


def test_the_inbox_shows_an_empty_state_and_no_badge(client, reader):
    page = page_of(client, reader)
    assert 'id="no-notices"' in page and "No notices yet" in page
    assert 'id="badge-notices"' not in page
    assert 'id="read-all"' not in page


def test_the_inbox_lists_only_the_users_own_notices_newest_first(client, reader, intruder):
    older, newer = tell(reader, "Older"), tell(reader, "Newer")
    theirs = tell(intruder, "Not yours")
    page = page_of(client, reader)
    assert page.index(f'id="notice-{newer.pk}"') < page.index(f'id="notice-{older.pk}"')
    assert f'id="notice-{theirs.pk}"' not in page and "Not yours" not in page
    assert '<span class="count" id="badge-notices">2<span class="sr-only"> unread</span>' in page


def test_the_inbox_is_paginated(client, reader):
    for n in range(notices_page_size() + 1):
        tell(reader, f"Notice {n}")
    first = page_of(client, reader)
    assert "Page 1 of 2" in first and "Notice 0<" not in first
    second = page_of(client, reader, "/account/notices/?page=2")
    assert "Notice 0<" in second


def notices_page_size() -> int:
    from core.views import NOTICES_PAGE_SIZE

    return NOTICES_PAGE_SIZE


def test_opening_a_notice_marks_it_read_and_leads_to_its_page(client, reader):
    notice = tell(reader, url="/subscriptions/")
    client.force_login(reader)
    answer = client.get(f"/account/notices/{notice.pk}/")
    assert answer.status_code == 302 and answer["Location"] == "/subscriptions/"
    notice.refresh_from_db()
    assert notice.read_at is not None
    assert 'id="badge-notices"' not in page_of(client, reader)


def test_mark_read_and_mark_all_read(client, reader):
    first, second, third = tell(reader), tell(reader), tell(reader)
    client.force_login(reader)
    answer = client.post(f"/account/notices/{first.pk}/read/?show=unread&page=1")
    assert answer.status_code == 302
    assert answer["Location"] == "/account/notices/?page=1&show=unread"
    unread = page_of(client, reader, "/account/notices/?show=unread")
    assert f'id="notice-{first.pk}"' not in unread and f'id="read-{second.pk}"' in unread
    assert '>2<span class="sr-only"> unread' in unread

    assert client.post("/account/notices/read/").status_code == 302
    assert not Notice.objects.filter(user=reader, read_at__isnull=True).exists()
    page = page_of(client, reader, "/account/notices/?show=unread")
    assert "No unread notices" in page and 'id="badge-notices"' not in page
    assert client.get("/account/notices/read/").status_code == 405  # a change needs a POST
    assert {third.pk, second.pk} <= set(Notice.objects.values_list("pk", flat=True))


def test_another_users_notice_answers_404_and_stays_unread(client, reader, intruder):
    notice = tell(reader, title="Your version passed the audit")
    client.force_login(intruder)
    assert client.get(f"/account/notices/{notice.pk}/").status_code == 404
    assert client.post(f"/account/notices/{notice.pk}/read/").status_code == 404
    client.post("/account/notices/read/")  # marks the intruder's own notices only
    notice.refresh_from_db()
    assert notice.read_at is None
    assert "Your version passed the audit" not in page_of(client, intruder)


def test_signed_out_visitors_are_sent_to_sign_in(client, reader):
    notice = tell(reader)
    for path in ("/account/notices/", f"/account/notices/{notice.pk}/"):
        answer = client.get(path)
        assert answer.status_code == 302 and answer["Location"].startswith("/login/")


@pytest.mark.parametrize("url", ["https://evil.example/", "//evil.example/", "/\\evil.example/"])
def test_a_notice_never_links_outside_the_portal(client, reader, url):
    with pytest.raises(ValueError):
        tell(reader, url=url)
    # A row written some other way is still not followed off the portal.
    notice = Notice.objects.create(user=reader, kind=NoticeKind.PACKAGE_READY, title="X", url=url)
    client.force_login(reader)
    answer = client.get(f"/account/notices/{notice.pk}/")
    assert answer.status_code == 302 and answer["Location"] == "/account/notices/"


def test_a_notice_has_a_declared_kind(reader):
    with pytest.raises(ValueError):
        tell(reader, kind="NOT_A_KIND")


def test_nobody_is_told_of_their_own_action_nor_twice(reader, intruder):
    told = notices.notice_send(
        users=[reader, reader.pk, intruder], kind=NoticeKind.VERSION_DEPRECATED, title="X",
        actor=intruder,
    )  # fmt: skip
    assert [n.user_id for n in told] == [reader.pk]


def test_the_badges_cost_one_statement_together(provider, auditor, second_auditor, consumer):
    """An auditor sees two badges (unread notices, the audit queue), counted in one query."""
    draft = factories.make_draft(provider)
    registry_services.version_submit(version_id=draft.pk, user=provider)
    auditor = type(auditor).objects.get(pk=auditor.pk)  # no cached permissions
    auditor.get_all_permissions()  # the roles' checks, which every page made before badges
    auditor.organisations.exists()
    with CaptureQueriesContext(connection) as queries:
        links = {link.nav: count for link, count in nav_links_for(auditor) if link.nav}
    counting = [q for q in queries.captured_queries if "COUNT(*)" in q["sql"]]
    assert len(counting) == 1
    assert links["audit"] == 1 and links["notices"] == 1


def test_the_audit_queue_badge_counts_what_the_auditor_may_take_up(
    client, provider, auditor, organisation
):
    for _ in range(2):
        draft = factories.make_draft(provider)
        registry_services.version_submit(version_id=draft.pk, user=provider)
    page = page_of(client, auditor)
    assert '<span class="count" id="badge-audit">2<span class="sr-only"> waiting' in page
    insider = factories.make_user("auditor", organisation=organisation)
    assert 'id="badge-audit"' not in page_of(client, insider)  # separation of duties


def test_a_notice_is_emailed_after_the_commit_once(reader, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        notice = tell(reader, title="Your SDK wheel is ready", body="Download it.")
    assert len(queued) == 1  # the e-mail task, queued when the notice is committed
    assert mail.outbox == []

    assert notices.notice_email(notice_id=notice.pk) is True
    assert notices.notice_email(notice_id=notice.pk) is False
    (message,) = mail.outbox
    assert message.to == ["reader@example.net"]
    assert message.subject == "SAM Hub: Your SDK wheel is ready"
    assert "Download it." in message.body and "/my-models/" in message.body
    assert "/account/notices/" in message.body


def test_no_email_without_an_address_or_when_turned_off(
    client, reader, intruder, django_capture_on_commit_callbacks
):
    client.force_login(reader)
    answer = client.post("/account/notices/preference/", {})  # the box unticked
    assert answer.status_code == 302
    with django_capture_on_commit_callbacks() as queued:
        mine, theirs = tell(reader), tell(intruder)
    assert queued == []
    assert notices.notice_email(notice_id=mine.pk) is False
    assert notices.notice_email(notice_id=theirs.pk) is False
    assert mail.outbox == []
    assert 'id="id_email">' in page_of(client, reader)  # unticked

    client.post("/account/notices/preference/", {"email": "on"})
    assert 'id="id_email" checked>' in page_of(client, reader)
    with django_capture_on_commit_callbacks() as queued:
        tell(reader)
    assert len(queued) == 1


def test_a_notice_read_before_its_email_leaves_is_not_emailed(client, reader):
    notice = tell(reader)
    notices.notice_read(user=reader, notice_id=notice.pk)
    assert notices.notice_email(notice_id=notice.pk) is False
    assert mail.outbox == []
