import threading

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from registry.models import ModelVersion, VersionStatus
from tests import factories

# Decided at collection, so that on SQLite no transactional fixture runs (and flushes) at all.
pytestmark = pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
    reason="row-lock concurrency needs PostgreSQL (set DATABASE_URL)",
)


# Threads need committed data and their own connections (the flush after the test keeps the
# role groups: core.roles.role_groups_sync).
@pytest.mark.django_db(transaction=True)
def test_two_auditors_approving_at_once_make_exactly_one_approval(
    provider, auditor, second_auditor
):
    version = factories.make_version_in("SUBMITTED", provider=provider, auditor=auditor)
    url = f"/api/v1/versions/{version.pk}/approve/"
    start = threading.Barrier(2, timeout=30)
    answers, failures = {}, []

    def approve(user):
        client = APIClient()
        client.force_authenticate(user)
        try:
            start.wait()
            answers[user.username] = client.post(url, {"reason": user.username}, format="json")
        except Exception as exc:  # surfaced by the assertion below, not lost in the thread
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(u,)) for u in (auditor, second_auditor)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert sorted(a.status_code for a in answers.values()) == [200, 409]
    winner = next(name for name, a in answers.items() if a.status_code == 200)
    loser = next(a for a in answers.values() if a.status_code == 409)
    assert loser.json()["code"] == "invalid_state"
    assert "it is APPROVED" in loser.json()["detail"]
    fresh = ModelVersion.objects.get(pk=version.pk)
    assert fresh.status == VersionStatus.APPROVED
    approvals = fresh.transitions.filter(source="SUBMITTED", target="APPROVED")
    assert [(t.actor.username, t.reason) for t in approvals] == [(winner, winner)]
    assert [r.auditor.username for r in fresh.reviews.all()] == [winner]
