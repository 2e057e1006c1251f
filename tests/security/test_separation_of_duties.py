"""Issue 7, item 2: nobody audits a version they made, nor one of their own organisation.

The attack: an auditor approved a version they created or whose file they uploaded, as long
as a colleague had submitted it; and an auditor who is a member of the model's organisation
approved its versions.
"""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from rest_framework.test import APIClient

from registry import services
from registry.models import AuditReview, ModelVersion, VersionStatus
from tests import factories

REJECTION = {"reason": "Vague", "findings": [{"field": "limitations", "message": "Be precise."}]}


def _client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def _provider_and_auditor(organisation, username: str):
    user = factories.make_user("provider", organisation=organisation, username=username)
    user.groups.add(Group.objects.get(name="auditor"))
    return user


def _decide(user, version, decision: str):
    body = REJECTION if decision == "reject" else {"reason": "Looks fine."}
    return _client(user).post(f"/api/v1/versions/{version.pk}/{decision}/", body, format="json")


def _assert_refused(answer, version, *words: str):
    assert answer.status_code == 403, answer.json()
    assert answer.json()["code"] == "permission_denied"
    detail = answer.json()["detail"]
    assert "separation of duties" in detail
    for word in words:
        assert word in detail, detail
    assert ModelVersion.objects.get(pk=version.pk).status == VersionStatus.SUBMITTED
    assert not AuditReview.objects.filter(version=version).exists()


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_the_creator_cannot_audit_what_a_colleague_submitted(organisation, provider, decision):
    creator = _provider_and_auditor(organisation, "maker")
    version = factories.make_draft(creator)
    factories.upload(version, creator)
    services.version_submit(version_id=version.pk, user=provider)  # a colleague submits
    organisation.members.remove(creator)  # ... and the creator has even left since

    _assert_refused(_decide(creator, version, decision), version, "created")


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_the_uploader_cannot_audit_what_a_colleague_created_and_submitted(
    organisation, provider, decision
):
    uploader = _provider_and_auditor(organisation, "uploader")
    version = factories.make_draft(provider)
    factories.upload(version, uploader)
    services.version_submit(version_id=version.pk, user=provider)
    organisation.members.remove(uploader)

    _assert_refused(_decide(uploader, version, decision), version, "uploaded the model file")


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_a_member_of_the_models_organisation_cannot_audit_it(organisation, provider, decision):
    member_auditor = factories.make_user("auditor", organisation=organisation, username="insider")
    version = factories.make_version_in("SUBMITTED", provider=provider, auditor=member_auditor)

    _assert_refused(_decide(member_auditor, version, decision), version, organisation.name)


def test_the_submitter_still_cannot_audit(organisation):
    submitter = _provider_and_auditor(organisation, "submitter")
    version = factories.make_version_in("SUBMITTED", provider=submitter, auditor=submitter)

    _assert_refused(_decide(submitter, version, "approve"), version, "submitted")


def test_parties_do_not_see_the_version_in_their_queue_or_actions(organisation, provider, auditor):
    creator = _provider_and_auditor(organisation, "maker")
    member_auditor = factories.make_user("auditor", organisation=organisation, username="insider")
    version = factories.make_draft(creator)
    factories.upload(version, creator)
    services.version_submit(version_id=version.pk, user=provider)
    organisation.members.remove(creator)

    for party in (creator, member_auditor):
        client = _client(party)
        assert client.get("/api/v1/audit-queue/").json()["count"] == 0
        assert client.get(f"/api/v1/versions/{version.pk}/").json()["available_actions"] == []
    outsider = _client(auditor)
    assert [v["id"] for v in outsider.get("/api/v1/audit-queue/").json()["results"]] == [version.pk]
    assert outsider.get(f"/api/v1/versions/{version.pk}/").json()["available_actions"] == [
        "approve",
        "reject",
    ]


def test_the_portal_audit_page_refuses_and_says_why(client, organisation, provider, auditor):
    member_auditor = factories.make_user("auditor", organisation=organisation, username="insider")
    version = factories.make_version_in("SUBMITTED", provider=provider, auditor=auditor)
    client.force_login(member_auditor)
    url = reverse("registry:audit-version", args=[version.pk])

    page = client.get(url).content.decode()
    answer = client.post(url, {"decision": "approve"})

    assert 'id="audit-refusal"' in page and f"member of {organisation.name}" in page
    assert 'id="approve"' not in page
    assert answer.status_code == 403
    assert "separation of duties" in answer.content.decode()
    assert ModelVersion.objects.get(pk=version.pk).status == VersionStatus.SUBMITTED


def test_an_auditor_outside_the_organisation_who_took_no_part_approves(provider, auditor):
    version = factories.make_version_in("SUBMITTED", provider=provider, auditor=auditor)

    answer = _decide(auditor, version, "approve")

    assert answer.status_code == 200
    assert answer.json()["status"] == VersionStatus.APPROVED
