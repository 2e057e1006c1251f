"""Issue 7, item 4: a consumer with an ACTIVE subscription was cut off (404) the moment a
version was DEPRECATED. Deprecated now means what users of registries expect: it still works
for the subscriptions made before its deprecation, with a `Deprecation` header (RFC 9745,
`@<unix seconds>` of when it was deprecated) on inference answers (the token hot path and the
general path), package and model-file downloads and API reads of the version, and a notice in
the portal; new subscriptions are refused; at RETIRED it is cut off.

Subscriptions are per model and method: a deprecated version takes no new subscribers, so a
subscription made after its deprecation (possible while another version is still RELEASED)
cannot use it, and a model whose versions are all deprecated takes no new subscription."""

import hashlib
import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from registry import services
from registry.models import VersionStatus
from sharing import extraction
from sharing import services as sharing_services
from sharing.models import Delivery, InferenceRecord, PackageKind, Subscription
from sharing.tasks import package_build_task
from tests import factories

ROW = [9.0, 2.0, 80.5, 61.2, 250.0, 0.3]
DEPRECATION = re.compile(r"^@(\d+)$")  # RFC 9745 §2.1: a structured-field Date


def deprecate(version, user, reason="Superseded; move on before March"):
    return services.version_deprecate(version_id=version.pk, user=user, reason=reason)


def session_client(user) -> APIClient:
    """Signed in with a session: the general path through DRF, not the token hot path."""
    client = APIClient()
    client.force_login(user)
    return client


def infer(client, version):
    return client.post(
        f"/api/v1/versions/{version.pk}/infer/", {"inputs": {"input": [ROW]}}, format="json"
    )


def expected_deprecation(version) -> str:
    version.refresh_from_db()
    assert version.deprecated_at is not None
    return f"@{int(version.deprecated_at.timestamp())}"


def assert_deprecation_headers(response, version):
    assert DEPRECATION.match(response["Deprecation"]), response["Deprecation"]
    assert response["Deprecation"] == expected_deprecation(version)
    assert 'rel="deprecation"' in response["Link"]
    assert f"/models/{version.sam.slug}/#v-{version.pk}" in response["Link"]


def released_successor(provider, auditor, version):
    return factories.make_version_in(
        "RELEASED", provider=provider, auditor=auditor, kind="skops", sam=version.sam,
        version="2.0.0",
    )  # fmt: skip


# --- the transition records when ------------------------------------------------------------


def test_deprecating_through_the_api_records_when(provider, version):
    before = version.updated_at

    answer = factories.token_client_by_password(provider, factories.PASSWORD).post(
        f"/api/v1/versions/{version.pk}/deprecate/", {"reason": "Superseded"}, format="json"
    )

    assert answer.status_code == 200, answer.json()
    version.refresh_from_db()
    assert version.status == VersionStatus.DEPRECATED
    assert version.deprecated_at is not None and version.deprecated_at >= before
    assert answer.json()["deprecated_at"] is not None


# --- existing subscribers keep being served, warned --------------------------------------------


def test_an_existing_subscriber_calls_a_deprecated_version_by_token_with_the_header(
    consumer, provider, version, subscription
):
    client = factories.token_client_by_password(consumer, factories.PASSWORD)
    released = infer(client, version)
    assert released.status_code == 200
    assert "Deprecation" not in released
    deprecate(version, provider)
    infer(client, version)  # the model is loaded; count the statements of the next call

    with CaptureQueriesContext(connection) as queries:
        answer = infer(client, version)

    assert answer.status_code == 200, answer.content
    assert_deprecation_headers(answer, version)
    assert answer.json()["modelVersion"]["id"] == version.pk
    # Still the hot path: one statement for the rights, one INSERT for the meter.
    assert len(queries) == 2, [q["sql"] for q in queries]
    record = InferenceRecord.objects.get(pk=answer["X-Inference-Id"])
    assert (record.caller, record.subscription) == (consumer, subscription)


def test_an_existing_subscriber_calls_a_deprecated_version_signed_in_with_the_header(
    consumer, provider, version, subscription
):
    deprecate(version, provider)

    answer = infer(session_client(consumer), version)

    assert answer.status_code == 200, answer.content
    assert_deprecation_headers(answer, version)


def test_a_refused_input_goes_the_general_path_and_is_still_metered(
    consumer, provider, version, subscription
):
    deprecate(version, provider)

    answer = factories.token_client_by_password(consumer, factories.PASSWORD).post(
        f"/api/v1/versions/{version.pk}/infer/", {"inputs": {"input": [[1.0]]}}, format="json"
    )

    assert answer.status_code == 400
    assert InferenceRecord.objects.filter(pk=answer["X-Inference-Id"]).exists()


def test_an_api_read_of_a_deprecated_version_carries_the_header(
    consumer, provider, version, subscription
):
    deprecate(version, provider)

    answer = factories.token_client_by_password(consumer, factories.PASSWORD).get(
        f"/api/v1/versions/{version.pk}/"
    )

    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "DEPRECATED"
    assert answer.json()["deprecated_at"] is not None
    assert_deprecation_headers(answer, version)


def test_the_model_file_of_a_deprecated_version_is_still_downloaded_with_the_header(
    consumer, provider, version
):
    bundle = sharing_services.subscription_request(user=consumer, sam=version.sam, method="BUNDLE")
    deprecate(version, provider)

    answer = factories.token_client_by_password(consumer, factories.PASSWORD).get(
        f"/api/v1/versions/{version.pk}/artifact/"
    )

    assert answer.status_code == 200
    content = b"".join(answer.streaming_content)
    assert hashlib.sha256(content).hexdigest() == version.artifact_sha256
    assert_deprecation_headers(answer, version)
    assert Delivery.objects.get().subscription == bundle


def test_a_package_of_a_deprecated_version_is_downloaded_with_the_header(
    client, consumer, provider, version, monkeypatch, django_capture_on_commit_callbacks
):
    subscription = sharing_services.subscription_request(
        user=consumer, sam=version.sam, method="BUNDLE"
    )
    deprecate(version, provider)
    queued = []
    monkeypatch.setattr(package_build_task, "delay", queued.append)  # the worker is run below
    api = factories.token_client_by_password(consumer, factories.PASSWORD)

    with django_capture_on_commit_callbacks(execute=True):
        asked = api.get(f"/api/v1/versions/{version.pk}/bundle/")
    assert asked.status_code == 202, asked.content
    package = extraction.package_build(package_id=queued[0])  # what the Celery worker runs
    by_api = api.get(f"/api/v1/versions/{version.pk}/bundle/")
    client.force_login(consumer)
    by_portal = client.get(reverse("sharing:subscription-package-download", args=[subscription.pk]))

    assert package.kind == PackageKind.BUNDLE
    for answer in (by_api, by_portal):
        assert answer.status_code == 200, answer
        assert answer["X-Checksum-SHA256"] == package.sha256
        assert_deprecation_headers(answer, version)


# --- no new subscribers ----------------------------------------------------------------------


def test_a_deprecated_model_takes_no_new_subscription_through_the_api(consumer, provider, version):
    deprecate(version, provider)

    answer = factories.token_client_by_password(consumer, factories.PASSWORD).post(
        "/api/v1/subscriptions/", {"model": version.sam.slug, "method": "INFERENCE"}, format="json"
    )

    assert answer.status_code == 409, answer.json()
    assert "is deprecated: it takes no new subscriptions" in answer.json()["detail"]
    assert not Subscription.objects.exists()


def test_a_deprecated_model_takes_no_new_subscription_in_the_portal(
    client, consumer, provider, version
):
    deprecate(version, provider)
    client.force_login(consumer)

    page = client.get(reverse("sharing:subscribe", args=[version.sam.slug]))
    answer = client.post(
        reverse("sharing:subscribe", args=[version.sam.slug]),
        {"method": "INFERENCE", "purpose": "x"},
    )

    assert 'id="model-deprecated"' in page.content.decode()
    assert answer.status_code == 409
    assert "is deprecated: it takes no new subscriptions" in answer.content.decode()
    assert not Subscription.objects.exists()


def test_a_subscriber_who_came_after_the_deprecation_cannot_use_the_deprecated_version(
    consumer, provider, auditor, version
):
    deprecate(version, provider)
    successor = released_successor(provider, auditor, version)
    late = factories.make_user("consumer", username="late-consumer")
    sharing_services.subscription_request(user=late, sam=version.sam, method="INFERENCE")

    by_token = infer(factories.token_client_by_password(late, factories.PASSWORD), version)
    signed_in = infer(session_client(late), version)

    for answer in (by_token, signed_in):
        assert answer.status_code == 403, answer.content
        assert "is deprecated since" in answer.json()["detail"]
        assert "use 2.0.0, the latest release" in answer.json()["detail"]
    assert not InferenceRecord.objects.filter(version=version).exists()
    # The release that took its place serves the late subscriber.
    assert (
        infer(factories.token_client_by_password(late, factories.PASSWORD), successor).status_code
        == 200
    )


def test_cancelling_and_subscribing_again_after_the_deprecation_loses_the_deprecated_version(
    consumer, provider, auditor, version, subscription
):
    deprecate(version, provider)
    released_successor(provider, auditor, version)
    sharing_services.subscription_transition(
        name="cancel", subscription_id=subscription.pk, user=consumer
    )
    sharing_services.subscription_request(user=consumer, sam=version.sam, method="INFERENCE")

    assert (
        infer(factories.token_client_by_password(consumer, factories.PASSWORD), version).status_code
        == 403
    )


# --- the portal warns --------------------------------------------------------------------------


def test_the_portal_warns_existing_subscribers(client, consumer, provider, version, subscription):
    deprecate(version, provider)
    client.force_login(consumer)

    model_page = client.get(
        reverse("registry:model-detail", args=[version.sam.slug])
    ).content.decode()
    mine = client.get(reverse("sharing:my-subscriptions")).content.decode()
    use = client.get(reverse("sharing:subscription-use", args=[subscription.pk])).content.decode()
    tried = client.post(
        reverse("sharing:subscription-use", args=[subscription.pk]),
        {"inputs": f'{{"input": [{ROW}]}}'},
    )

    assert f'id="deprecated-{version.pk}"' in model_page
    assert 'id="model-deprecated"' in model_page
    assert f'id="deprecated-{subscription.pk}-{version.pk}"' in mine
    assert f'id="deprecated-{subscription.pk}-{version.pk}"' in use
    assert 'id="not-usable"' not in use and 'id="try-form"' in use
    assert tried.status_code == 200 and 'id="answer"' in tried.content.decode()


def test_with_a_newer_release_the_portal_points_to_it(
    client, consumer, provider, auditor, version, subscription
):
    deprecate(version, provider)
    successor = released_successor(provider, auditor, version)
    client.force_login(consumer)

    use = client.get(reverse("sharing:subscription-use", args=[subscription.pk])).content.decode()
    model_page = client.get(
        reverse("registry:model-detail", args=[version.sam.slug])
    ).content.decode()

    assert f'id="deprecated-{subscription.pk}-{version.pk}"' in use
    assert "Move to 2.0.0, the latest release." in use
    assert f"/api/v1/versions/{successor.pk}/infer/" in use
    assert 'id="model-deprecated"' not in model_page  # new subscribers get 2.0.0
    # The deprecated version still answers the existing subscriber.
    assert (
        infer(factories.token_client_by_password(consumer, factories.PASSWORD), version).status_code
        == 200
    )


# --- cut off at RETIRED ------------------------------------------------------------------------


def test_a_retired_version_is_cut_off(client, consumer, provider, version, subscription):
    sharing_services.subscription_request(user=consumer, sam=version.sam, method="BUNDLE")
    deprecate(version, provider)
    services.version_retire(version_id=version.pk, user=provider, reason="End of life")
    token = factories.token_client_by_password(consumer, factories.PASSWORD)

    assert infer(token, version).status_code == 404
    assert infer(session_client(consumer), version).status_code == 404
    assert token.get(f"/api/v1/versions/{version.pk}/").status_code == 404
    assert token.get(f"/api/v1/versions/{version.pk}/artifact/").status_code == 404
    assert token.get(f"/api/v1/versions/{version.pk}/bundle/").status_code == 404
    client.force_login(consumer)
    use = client.get(reverse("sharing:subscription-use", args=[subscription.pk])).content.decode()
    assert 'id="not-usable"' in use
    assert not InferenceRecord.objects.exists()
