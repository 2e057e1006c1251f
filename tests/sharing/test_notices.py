"""What sharing tells people (sharing.notices): a request waiting for approval to the model's
organisation; each decision to the consumer; a deprecation or retirement to the model's
subscribers; the end of a package build to whoever asked for it."""

import pytest
from django.core.files.storage import default_storage

from core.models import Notice, NoticeKind
from registry import services as registry_services
from sharing import extraction, services
from sharing.models import PackageKind, PackageStatus, SharingMethod
from tests import factories

INFERENCE = SharingMethod.INFERENCE.label


def kinds(user) -> list[str]:
    return list(Notice.objects.filter(user=user).order_by("pk").values_list("kind", flat=True))


def latest(user) -> Notice:
    return Notice.objects.filter(user=user).order_by("-pk").first()


@pytest.fixture
def gated(provider, auditor):
    """A released model whose subscriptions wait for the organisation's approval."""
    return factories.make_released(provider, auditor, approval_required=True).sam


def test_a_request_waiting_for_approval_tells_the_models_organisation(
    provider, organisation, consumer, other_provider, gated
):
    colleague = factories.make_user("provider", organisation=organisation)
    services.subscription_request(
        user=consumer, sam=gated, method="INFERENCE", purpose="Energy saving"
    )

    for user in (provider, colleague):
        notice = latest(user)
        assert notice.kind == NoticeKind.SUBSCRIPTION_REQUESTED
        assert notice.title == f"consumer asks for a {INFERENCE} subscription to {gated.name}"
        assert "Purpose: Energy saving" in notice.body and "approval required" in notice.body
        assert notice.url == "/subscription-requests/"
    assert kinds(consumer) == kinds(other_provider) == []


def test_a_subscription_granted_at_once_tells_no_one(provider, auditor, consumer):
    open_model = factories.make_released(provider, auditor).sam
    before = Notice.objects.count()
    services.subscription_request(user=consumer, sam=open_model, method="INFERENCE")
    assert Notice.objects.count() == before


def test_each_decision_on_a_subscription_tells_its_consumer(provider, consumer, gated):
    subscription = services.subscription_request(user=consumer, sam=gated, method="INFERENCE")
    provider_told = kinds(provider)
    for name, reason in [
        ("grant", ""), ("suspend", "Too many calls"), ("resume", ""), ("revoke", "Contract ended")
    ]:  # fmt: skip
        services.subscription_transition(
            subscription_id=subscription.pk, user=provider, name=name, reason=reason
        )
        if reason:
            assert reason in latest(consumer).body
    assert kinds(consumer) == [
        NoticeKind.SUBSCRIPTION_GRANTED,
        NoticeKind.SUBSCRIPTION_SUSPENDED,
        NoticeKind.SUBSCRIPTION_RESUMED,
        NoticeKind.SUBSCRIPTION_REVOKED,
    ]
    assert latest(consumer).title == f"Your {INFERENCE} subscription to {gated.name} is revoked"
    assert latest(consumer).url == f"/subscriptions/#s-{subscription.pk}"
    assert kinds(provider) == provider_told  # not told of their own decisions


def test_a_denial_tells_the_consumer_why_and_a_grant_leads_to_the_use_page(
    provider, consumer, gated
):
    denied = services.subscription_request(user=consumer, sam=gated, method="INFERENCE")
    services.subscription_transition(
        subscription_id=denied.pk, user=provider, name="deny", reason="Not for this region"
    )
    assert latest(consumer).kind == NoticeKind.SUBSCRIPTION_DENIED
    assert "Not for this region" in latest(consumer).body

    other = factories.make_user("consumer")
    granted = services.subscription_request(user=other, sam=gated, method="INFERENCE")
    services.subscription_transition(subscription_id=granted.pk, user=provider, name="grant")
    assert latest(other).url == f"/subscriptions/{granted.pk}/use/"
    services.subscription_transition(subscription_id=granted.pk, user=other, name="cancel")
    assert kinds(other) == [NoticeKind.SUBSCRIPTION_GRANTED]  # cancelling tells no one


def test_deprecation_and_retirement_tell_the_models_subscribers(provider, auditor, consumer):
    version = factories.make_released(provider, auditor)
    services.subscription_request(user=consumer, sam=version.sam, method="INFERENCE")
    gone = factories.make_user("consumer")
    cancelled = services.subscription_request(user=gone, sam=version.sam, method="INFERENCE")
    services.subscription_transition(subscription_id=cancelled.pk, user=gone, name="cancel")
    elsewhere = factories.make_user("consumer")
    other_model = factories.make_released(provider, auditor).sam
    services.subscription_request(user=elsewhere, sam=other_model, method="INFERENCE")
    provider_told = kinds(provider)

    registry_services.version_deprecate(
        version_id=version.pk, user=provider, reason="Replaced by 2.0"
    )
    notice = latest(consumer)
    assert notice.kind == NoticeKind.VERSION_DEPRECATED
    assert notice.title == f"{version.sam.name} {version.version} is deprecated"
    assert "Reason: Replaced by 2.0" in notice.body
    assert notice.url == f"/models/{version.sam.slug}/"
    registry_services.version_retire(version_id=version.pk, user=provider)
    assert latest(consumer).kind == NoticeKind.VERSION_RETIRED
    assert kinds(gone) == kinds(elsewhere) == []
    assert kinds(provider) == provider_told


@pytest.fixture
def bundle(provider, auditor, consumer):
    """The consumer's BUNDLE subscription and the mirror bundle they asked for, queued."""
    version = factories.make_version_in("RELEASED", provider=provider, auditor=auditor)
    subscription = services.subscription_request(user=consumer, sam=version.sam, method="BUNDLE")
    package = extraction.package_request(
        user=consumer, version_id=version.pk, kind=PackageKind.BUNDLE
    )
    return subscription, package


def test_a_finished_build_tells_who_asked_for_it(consumer, provider, bundle):
    subscription, package = bundle
    provider_told = kinds(provider)
    built = extraction.package_build(package_id=package.pk)
    extraction.package_build(package_id=package.pk)  # a second run changes nothing

    assert built.status == PackageStatus.READY
    (notice,) = Notice.objects.filter(user=consumer)
    assert notice.kind == NoticeKind.PACKAGE_READY
    assert notice.title.startswith("The mirror bundle of ") and "ready" in notice.title
    assert built.sha256 in notice.body
    assert notice.url == f"/subscriptions/{subscription.pk}/use/"
    assert kinds(provider) == provider_told


def test_a_failed_build_tells_who_asked_for_it_why(consumer, bundle):
    _, package = bundle
    default_storage.delete(package.version.artifact.name)

    failed = extraction.package_build(package_id=package.pk)

    assert failed.status == PackageStatus.FAILED
    notice = latest(consumer)
    assert notice.kind == NoticeKind.PACKAGE_FAILED
    assert "missing from the warehouse" in notice.body
