import pytest

from core.errors import DomainError
from registry import services
from registry.models import ModelVersion, VersionStatus
from tests import factories


def test_it_walks_the_happy_path_and_logs_every_step(provider, auditor):
    version = factories.make_version_in("RELEASED", provider=provider, auditor=auditor)

    assert version.status == VersionStatus.RELEASED
    assert version.released_at is not None
    steps = [(t.source, t.target, t.actor.username) for t in version.transitions.all()]
    assert steps == [
        ("DRAFT", "SUBMITTED", "provider"),
        ("SUBMITTED", "APPROVED", "auditor"),
        ("APPROVED", "REGISTERED", "provider"),
        ("REGISTERED", "RELEASED", "provider"),
    ]


def test_it_loops_reject_revise_resubmit(provider, auditor):
    version = factories.make_version_in("REJECTED", provider=provider, auditor=auditor)
    review = version.reviews.get()
    assert review.decision == "REJECTED"
    assert review.findings == [
        {"field": "limitations", "message": "Say which cells it was not tested on."}
    ]

    services.version_revise(version_id=version.pk, user=provider)
    services.sam_update(sam=version.sam, user=provider, limitations="Not tested on rural cells.")
    services.version_submit(version_id=version.pk, user=provider)
    version = services.version_approve(version_id=version.pk, user=auditor)

    assert version.status == VersionStatus.APPROVED
    assert [t.target for t in version.transitions.all()] == [
        "SUBMITTED",
        "REJECTED",
        "DRAFT",
        "SUBMITTED",
        "APPROVED",
    ]


@pytest.mark.parametrize(
    ("state", "action"),
    [("DRAFT", "version_release"), ("APPROVED", "version_approve"), ("RELEASED", "version_submit")],
)
def test_it_refuses_illegal_transitions_and_changes_nothing(
    provider, auditor, operator, state, action
):
    version = factories.make_version_in(state, provider=provider, auditor=auditor)
    actor = {"version_release": provider, "version_approve": auditor, "version_submit": provider}[
        action
    ]

    with pytest.raises(DomainError) as caught:
        getattr(services, action)(version_id=version.pk, user=actor)

    assert caught.value.status == 409
    assert f"it is {state}" in caught.value.message
    fresh = ModelVersion.objects.get(pk=version.pk)
    assert fresh.status == state
    assert fresh.transitions.count() == version.transitions.count()


def test_an_auditor_cannot_audit_what_they_submitted(organisation, auditor):
    # A person holding both roles submits; the auditor role does not let them approve it.
    both = factories.make_user("provider", organisation=organisation)
    both.groups.add(*auditor.groups.all())
    version = factories.make_draft(both)
    services.version_submit(version_id=version.pk, user=both)

    with pytest.raises(DomainError) as caught:
        services.version_approve(version_id=version.pk, user=both)

    assert caught.value.status == 403
    assert "separation of duties" in caught.value.message
    assert ModelVersion.objects.get(pk=version.pk).status == VersionStatus.SUBMITTED


def test_it_refuses_to_submit_without_required_fields(provider):
    version = factories.make_draft(
        factories.make_user("provider", organisation=provider.organisations.first())
    )
    services.sam_update(sam=version.sam, user=provider, licence="", limitations="")

    with pytest.raises(DomainError) as caught:
        services.version_submit(version_id=version.pk, user=provider)

    assert caught.value.status == 400
    assert set(caught.value.details) == {"licence", "limitations"}
    assert ModelVersion.objects.get(pk=version.pk).status == VersionStatus.DRAFT
