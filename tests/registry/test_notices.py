"""What the registry tells people (registry.notices): a submission is told to the auditors who
may audit it, an audit decision to the model's providers and whoever submitted it."""

from core.models import Notice, NoticeKind
from registry import services
from tests import factories


def told(user) -> list[Notice]:
    return list(Notice.objects.filter(user=user).order_by("pk"))


def test_a_submission_tells_the_auditors_who_may_audit_it(
    provider, auditor, second_auditor, organisation, draft
):
    insider = factories.make_user("auditor", organisation=organisation)  # its own organisation's
    gone = factories.make_user("auditor", is_active=False)

    services.version_submit(version_id=draft.pk, user=provider)

    (notice,) = told(auditor)
    assert notice.kind == NoticeKind.SUBMISSION_WAITING
    assert notice.title == f"{draft.sam.name} {draft.version} waits for an audit"
    assert notice.url == f"/audit/{draft.pk}/"
    assert [n.kind for n in told(second_auditor)] == [NoticeKind.SUBMISSION_WAITING]
    assert told(insider) == told(gone) == told(provider) == []


def test_an_approval_tells_the_models_providers(provider, auditor, organisation, draft):
    colleague = factories.make_user("provider", organisation=organisation)
    services.version_submit(version_id=draft.pk, user=provider)
    services.version_approve(version_id=draft.pk, user=auditor, reason="Complete and clear.")

    for user in (provider, colleague):
        (notice,) = told(user)
        assert notice.kind == NoticeKind.AUDIT_APPROVED
        assert notice.title == f"{draft.sam.name} {draft.version} passed the audit"
        assert "Complete and clear." in notice.body and "register the version" in notice.body
        assert notice.url == f"/models/{draft.sam.slug}/#v-{draft.pk}"
    assert [n.kind for n in told(auditor)] == [NoticeKind.SUBMISSION_WAITING]  # not their own


def test_a_rejection_tells_the_providers_its_findings(provider, auditor, other_provider, draft):
    services.version_submit(version_id=draft.pk, user=provider)
    services.version_reject(
        version_id=draft.pk,
        user=auditor,
        reason="Incomplete",
        findings=[{"field": "limitations", "message": "Say which cells it was not tested on."}],
    )

    (notice,) = told(provider)
    assert notice.kind == NoticeKind.AUDIT_REJECTED
    assert "Reason: Incomplete" in notice.body
    assert "- Limitations: Say which cells it was not tested on." in notice.body
    assert told(other_provider) == []  # another organisation's provider
