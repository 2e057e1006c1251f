"""Warehouse extraction (ENI SAM clause 5 sharing, step 6): the model file, the SDK and the
bundle leave the warehouse only for an active subscription by that method (model file: BUNDLE),
except for the model's providers, auditors and operators; every delivery is logged."""

import hashlib

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from registry import services as registry_services
from sharing import extraction
from sharing.models import (
    Delivery,
    DeliveryKind,
    PackageKind,
    PackageStatus,
    SharingMethod,
    SubscriptionStatus,
    VersionPackage,
)
from sharing.services import subscription_request, subscription_transition
from sharing.tasks import package_build_task
from tests import factories

# download path -> (delivery kind, the subscription method it needs)
DOWNLOADS = {
    "artifact": (DeliveryKind.ARTIFACT, SharingMethod.BUNDLE),
    "sdk": (DeliveryKind.SDK, SharingMethod.SDK),
    "bundle": (DeliveryKind.BUNDLE, SharingMethod.BUNDLE),
}
OTHER_METHOD = {
    SharingMethod.BUNDLE: SharingMethod.SDK,
    SharingMethod.SDK: SharingMethod.BUNDLE,
}


@pytest.fixture
def released(provider, auditor):
    return factories.make_version_in("RELEASED", provider=provider, auditor=auditor)


def _ready_packages(version, user) -> None:
    """Both packages as a finished build leaves them (their content does not matter here)."""
    for kind in PackageKind.values:
        content = f"{kind} of {version}".encode()
        sha256 = hashlib.sha256(content).hexdigest()
        name = default_storage.save(f"packages/{sha256}/{kind.lower()}.bin", ContentFile(content))
        VersionPackage.objects.create(
            version=version,
            kind=kind,
            status=PackageStatus.READY,
            file=name,
            filename=f"{kind.lower()}.bin",
            sha256=sha256,
            size=len(content),
            requested_by=user,
        )


def _get(api, user, version, path: str):
    return api(user).get(f"/api/v1/versions/{version.pk}/{path}/")


@pytest.mark.parametrize("path", DOWNLOADS)
def test_a_consumer_downloads_only_with_an_active_subscription_by_that_method(
    api, released, provider, consumer, path
):
    kind, method = DOWNLOADS[path]
    _ready_packages(released, provider)

    without = _get(api, consumer, released, path)
    other = subscription_request(user=consumer, sam=released.sam, method=OTHER_METHOD[method])
    with_other_method = _get(api, consumer, released, path)
    subscription = subscription_request(user=consumer, sam=released.sam, method=method)
    granted = _get(api, consumer, released, path)
    subscription_transition(
        name="revoke", subscription_id=subscription.pk, user=provider, reason="Contract ended"
    )
    revoked = _get(api, consumer, released, path)

    assert without.status_code == 403
    assert f"active {SharingMethod(method).label} subscription" in without.json()["detail"]
    assert with_other_method.status_code == 403, other.method
    assert granted.status_code == 200
    assert granted["Content-Disposition"].startswith("attachment")
    assert granted["X-Checksum-SHA256"]
    assert revoked.status_code == 403
    assert "(your subscription is" not in revoked.json()["detail"]  # revoked is not live
    delivery = Delivery.objects.get()
    assert (delivery.user, delivery.version, delivery.kind, delivery.subscription) == (
        consumer,
        released,
        kind,
        subscription,
    )


@pytest.mark.parametrize("path", DOWNLOADS)
@pytest.mark.parametrize("role", ["provider", "auditor", "operator"])
def test_providers_auditors_and_operators_need_no_subscription(
    api, released, provider, request, role, path
):
    user = request.getfixturevalue(role)
    _ready_packages(released, provider)

    answer = _get(api, user, released, path)

    assert answer.status_code == 200
    delivery = Delivery.objects.get()
    assert (delivery.user, delivery.kind, delivery.subscription) == (
        user,
        DOWNLOADS[path][0],
        None,
    )


@pytest.mark.parametrize("path", DOWNLOADS)
def test_a_provider_of_another_organisation_needs_a_subscription_like_any_consumer(
    api, released, provider, other_provider, path
):
    _ready_packages(released, provider)

    assert _get(api, other_provider, released, path).status_code == 403
    assert not Delivery.objects.exists()


@pytest.mark.parametrize("path", DOWNLOADS)
def test_a_subscription_waiting_for_approval_does_not_open_the_warehouse(
    api, provider, auditor, consumer, path
):
    sam = factories.make_model(provider, approval_required=True)
    version = factories.make_version_in("RELEASED", provider=provider, auditor=auditor, sam=sam)
    _ready_packages(version, provider)
    subscription = subscription_request(user=consumer, sam=sam, method=DOWNLOADS[path][1])

    pending = _get(api, consumer, version, path)
    subscription_transition(name="grant", subscription_id=subscription.pk, user=provider)
    granted = _get(api, consumer, version, path)

    assert subscription.status == SubscriptionStatus.PENDING
    assert pending.status_code == 403
    assert "(your subscription is PENDING)" in pending.json()["detail"]
    assert granted.status_code == 200


@pytest.mark.parametrize("path", ["sdk", "bundle"])
def test_a_package_not_built_yet_answers_202_and_queues_one_build(
    api, released, consumer, path, monkeypatch, django_capture_on_commit_callbacks
):
    subscription_request(user=consumer, sam=released.sam, method=DOWNLOADS[path][1])
    queued = []
    monkeypatch.setattr(package_build_task, "delay", queued.append)

    with django_capture_on_commit_callbacks(execute=True):
        first = _get(api, consumer, released, path)
        second = _get(api, consumer, released, path)

    package = VersionPackage.objects.get()
    assert (package.version, package.kind, package.requested_by) == (
        released,
        path.upper(),
        consumer,
    )
    assert queued == [package.pk]
    for answer in (first, second):
        assert answer.status_code == 202
        assert answer["Retry-After"] == "5"
        assert answer.json()["status"] == PackageStatus.PENDING
        assert answer.json()["detail"] == "Building; try again shortly."
        assert answer.json()["retryAfter"] == 5
    assert not Delivery.objects.exists()


def test_a_post_on_a_built_package_changes_nothing(api, released, provider):
    _ready_packages(released, provider)

    answer = api(provider).post(f"/api/v1/versions/{released.pk}/sdk/")

    assert answer.status_code == 200
    assert answer.json()["status"] == PackageStatus.READY
    assert answer.json()["retryAfter"] is None
    assert not Delivery.objects.exists()


@pytest.mark.parametrize("path", ["sdk", "bundle"])
def test_a_version_served_by_an_external_endpoint_has_no_package(api, provider, auditor, path):
    version = factories.make_version_in("APPROVED", provider=provider, auditor=auditor)
    registry_services.version_register(
        version_id=version.pk,
        user=provider,
        access_type="EXTERNAL_ENDPOINT",
        endpoint_url="http://127.0.0.1:9/infer",
    )
    registry_services.version_release(version_id=version.pk, user=provider)

    answer = _get(api, provider, version, path)

    assert answer.status_code == 409
    assert "no model file in the warehouse" in answer.json()["detail"]
    assert not VersionPackage.objects.exists()


def test_its_providers_package_a_version_once_its_model_file_is_final(
    api, provider, auditor, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(package_build_task, "delay", lambda package_id: None)
    approved = factories.make_version_in("APPROVED", provider=provider, auditor=auditor)
    registered = factories.make_version_in("REGISTERED", provider=provider, auditor=auditor)

    still_open = _get(api, provider, approved, "bundle")
    with django_capture_on_commit_callbacks(execute=True):
        final = _get(api, provider, registered, "bundle")

    assert still_open.status_code == 409
    assert "from REGISTERED on" in still_open.json()["detail"]
    assert final.status_code == 202


@pytest.mark.parametrize("path", DOWNLOADS)
def test_a_consumer_cannot_reach_an_unreleased_version(api, provider, auditor, consumer, path):
    version = factories.make_version_in("REGISTERED", provider=provider, auditor=auditor)

    assert _get(api, consumer, version, path).status_code == 404


def test_delivery_authorise_logs_each_delivery_with_its_subscription(released, consumer):
    subscription = subscription_request(
        user=consumer, sam=released.sam, method=SharingMethod.BUNDLE
    )

    for kind in (DeliveryKind.ARTIFACT, DeliveryKind.BUNDLE):
        assert (
            extraction.delivery_authorise(user=consumer, version=released, kind=kind)
            == subscription
        )

    assert sorted(Delivery.objects.values_list("kind", "subscription")) == [
        (DeliveryKind.ARTIFACT, subscription.pk),
        (DeliveryKind.BUNDLE, subscription.pk),
    ]
