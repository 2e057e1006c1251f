"""Reasoning calls by API token, as external systems make them. The common one (an ACTIVE
INFERENCE subscription, a released version run by SAM Hub, a call that succeeds) is answered
in two SQL statements before DRF's request cycle; every other call must get exactly the answer
that the signed-in path (tests/sharing/test_inference.py) gives, and be metered once."""

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import ApiToken
from registry import demo, services
from sharing import services as sharing_services
from sharing.models import InferenceOutcome, InferenceRecord
from tests import factories

ROW = [9.0, 2.0, 80.5, 61.2, 250.0, 0.3]


@pytest.fixture
def version(provider, auditor):
    return factories.make_version_in("RELEASED", provider=provider, auditor=auditor, kind="skops")


@pytest.fixture
def subscription(consumer, version):
    return sharing_services.subscription_request(user=consumer, sam=version.sam, method="INFERENCE")


def post(client, version, body, **extra):
    return client.post(f"/api/v1/versions/{version.pk}/infer/", body, format="json", **extra)


def comparable(answer) -> tuple[int, dict]:
    """Status and JSON body without what differs per call."""
    body = answer.json()
    for per_call in ("inferenceId", "latencyMs"):
        body.pop(per_call, None)
    return answer.status_code, body


def test_the_common_call_is_two_statements_and_answers_like_the_model(
    version, subscription, consumer
):
    x, _, _ = demo.cell_kpi_dataset()
    client = factories.token_client(consumer)
    post(client, version, {"inputs": {"input": x[:1].tolist()}})  # loads the model

    with CaptureQueriesContext(connection) as queries:
        answer = post(client, version, {"inputs": {"input": x[:5].tolist()}})

    assert answer.status_code == 200, answer.content
    assert len(queries) == 2, [query["sql"] for query in queries]
    assert queries[1]["sql"].startswith('INSERT INTO "sharing_inferencerecord"')
    estimator = factories.demo_model("skops").estimator
    assert answer.json()["outputs"]["label"] == estimator.predict(x[:5]).tolist()
    assert np.allclose(answer.json()["outputs"]["probabilities"], estimator.predict_proba(x[:5]))
    record = InferenceRecord.objects.get(pk=answer["X-Inference-Id"])
    assert (record.caller, record.subscription, record.count, record.outcome) == (
        consumer,
        subscription,
        5,
        InferenceOutcome.OK,
    )
    assert record.outputs == answer.json()["outputs"]
    assert record.latency_ms == pytest.approx(answer.json()["latencyMs"], abs=0.001)


def test_it_answers_as_the_signed_in_path_does(version, subscription, consumer):
    body = {"inputs": {"input": [ROW, ROW]}, "outputs": ["label"]}

    by_token = post(factories.token_client(consumer), version, body)
    signed_in = post(factories.session_client(consumer), version, body)

    assert comparable(by_token) == comparable(signed_in)
    assert by_token.json()["modelVersion"] == {
        "id": version.pk,
        "model": version.sam.slug,
        "version": version.version,
    }
    assert by_token["Content-Type"] == signed_in["Content-Type"] == "application/json"
    assert InferenceRecord.objects.count() == 2


@pytest.mark.parametrize(
    ("body", "status", "metered"),
    [
        ({"inputs": {"input": [ROW[:5]]}}, 400, 1),
        ({"inputs": {"input": [[*ROW[:5], "high"]]}}, 400, 1),
        ({"inputs": {"X": [ROW]}}, 400, 1),
        ({"inputs": {"input": [ROW]}, "outputs": ["no-such-output"]}, 400, 1),
        ({"inputs": {"input": [ROW]}, "outputs": [" label "]}, 200, 1),
        ({"inputs": {"input": [ROW]}, "outputs": None}, 400, 0),
        ({"inputs": {"input": [ROW]}, "outputs": []}, 400, 0),
        ({"inputs": {"input": [ROW]}, "outputs": "label"}, 400, 0),
        ({"inputs": [ROW]}, 400, 0),
        ({}, 400, 0),
        ([ROW], 400, 0),
    ],
    ids=[
        "short-row", "string-value", "unknown-input", "unknown-output", "padded-output-name",
        "outputs-null", "outputs-empty", "outputs-string", "inputs-list", "no-inputs", "list-body",
    ],
)  # fmt: skip
def test_every_other_body_gets_the_signed_in_answer(
    version, subscription, consumer, body, status, metered
):
    by_token = post(factories.token_client(consumer), version, body)
    signed_in = post(factories.session_client(consumer), version, body)

    assert comparable(by_token) == comparable(signed_in)
    assert by_token.status_code == status
    assert InferenceRecord.objects.count() == 2 * metered


def test_a_body_that_is_not_json_gets_the_signed_in_answer(version, subscription, consumer):
    answers = [
        client.post(f"/api/v1/versions/{version.pk}/infer/", "X=1", content_type="application/json")
        for client in (factories.token_client(consumer), factories.session_client(consumer))
    ]

    assert comparable(answers[0]) == comparable(answers[1])
    assert answers[0].status_code == 400


def test_a_body_over_the_upload_limit_is_refused_on_both_paths(
    version, subscription, consumer, settings
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = {"inputs": {"input": [ROW] * 40}}

    by_token = post(factories.token_client(consumer), version, body)
    signed_in = post(factories.session_client(consumer), version, body)

    assert comparable(by_token) == comparable(signed_in)
    assert by_token.status_code == 413
    assert by_token.json()["code"] == "too_large"
    assert by_token.json()["detail"].startswith("The request body is over 1,000 bytes")
    assert not InferenceRecord.objects.exists()


def test_after_revocation_or_suspension_the_next_call_is_refused(
    version, subscription, consumer, provider
):
    client = factories.token_client(consumer)
    assert post(client, version, {"inputs": {"input": [ROW]}}).status_code == 200

    sharing_services.subscription_transition(
        name="suspend", subscription_id=subscription.pk, user=provider, reason="Unpaid invoice"
    )
    suspended = post(client, version, {"inputs": {"input": [ROW]}})
    sharing_services.subscription_transition(
        name="resume", subscription_id=subscription.pk, user=provider
    )
    resumed = post(client, version, {"inputs": {"input": [ROW]}})
    sharing_services.subscription_transition(
        name="revoke", subscription_id=subscription.pk, user=provider, reason="Contract ended"
    )
    revoked = post(client, version, {"inputs": {"input": [ROW]}})

    assert suspended.status_code == 403
    assert "(your subscription is SUSPENDED)" in suspended.json()["detail"]
    assert resumed.status_code == 200
    assert revoked.status_code == 403
    assert InferenceRecord.objects.count() == 2


def test_a_deactivated_user_or_a_deleted_token_gets_401(version, subscription, consumer):
    client = factories.token_client(consumer)
    consumer.is_active = False
    consumer.save(update_fields=["is_active"])
    inactive = post(client, version, {"inputs": {"input": [ROW]}})
    consumer.is_active = True
    consumer.save(update_fields=["is_active"])
    ApiToken.objects.filter(user=consumer).delete()
    deleted = post(client, version, {"inputs": {"input": [ROW]}})

    assert (inactive.status_code, inactive.json()["detail"]) == (401, "User inactive or deleted.")
    assert (deleted.status_code, deleted.json()["detail"]) == (401, "Invalid token.")
    assert deleted["WWW-Authenticate"] == "Token"
    assert not InferenceRecord.objects.exists()


def test_a_subscription_to_another_model_opens_nothing(provider, auditor, consumer, version):
    other = factories.make_version_in("RELEASED", provider=provider, auditor=auditor, kind="skops")
    sharing_services.subscription_request(user=consumer, sam=other.sam, method="INFERENCE")

    answer = post(factories.token_client(consumer), version, {"inputs": {"input": [ROW]}})

    assert answer.status_code == 403


def test_a_retired_version_no_longer_answers_its_subscribers(
    version, subscription, consumer, provider
):
    services.version_deprecate(version_id=version.pk, user=provider)
    services.version_retire(version_id=version.pk, user=provider)

    by_token = post(factories.token_client(consumer), version, {"inputs": {"input": [ROW]}})
    signed_in = post(factories.session_client(consumer), version, {"inputs": {"input": [ROW]}})

    assert comparable(by_token) == comparable(signed_in)
    assert by_token.status_code in (404, 409)


def test_a_model_failure_is_metered_once(version, subscription, consumer):
    from django.core.files.storage import default_storage

    with default_storage.open(version.artifact.name, "wb") as f:
        f.write(b"tampered")

    answer = post(factories.token_client(consumer), version, {"inputs": {"input": [ROW]}})

    assert answer.status_code == 500
    record = InferenceRecord.objects.get()
    assert (record.outcome, str(record.pk)) == (InferenceOutcome.ERROR, answer["X-Inference-Id"])


@pytest.mark.parametrize("role", ["provider", "operator", "auditor"])
def test_those_who_need_no_subscription_are_answered_by_token_too(version, role, request):
    answer = post(
        factories.token_client(request.getfixturevalue(role)), version, {"inputs": {"input": [ROW]}}
    )

    assert answer.status_code == 200
    assert InferenceRecord.objects.get().subscription is None
