"""Reasoning calls by API token, as external systems make them, and by session, through the
one path: the API's authentication (the token's statement reads the call's grant too), its
throttles, its parser and error shape, one service. The common call (an ACTIVE INFERENCE
subscription, a released version run by SAM Hub, a call that succeeds) costs one SELECT and
one INSERT."""

import numpy as np
import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework.throttling import UserRateThrottle

from core.models import ApiToken
from registry import demo, services
from sharing import services as sharing_services
from sharing.api.inference import InferResultSerializer
from sharing.models import InferenceOutcome, InferenceRecord
from tests import factories

ROW = [9.0, 2.0, 80.5, 61.2, 250.0, 0.3]


def post(client, version, body, **extra):
    return client.post(f"/api/v1/versions/{version.pk}/infer/", body, format="json", **extra)


def test_the_common_call_is_one_select_and_one_insert_and_answers_like_the_model(
    version, subscription, consumer
):
    x, _, _ = demo.cell_kpi_dataset()
    client = factories.token_client(consumer)
    post(client, version, {"inputs": {"input": x[:1].tolist()}})  # loads the model

    with CaptureQueriesContext(connection) as queries:
        answer = post(client, version, {"inputs": {"input": x[:5].tolist()}})

    assert answer.status_code == 200, answer.content
    assert [query["sql"].split()[0] for query in queries] == ["SELECT", "INSERT"], [
        query["sql"] for query in queries
    ]
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


@pytest.mark.django_db
def test_the_calls_insert_writes_no_index_another_one_already_covers():
    """Every index of the metering table is one more page each call writes. Lookups by
    version or caller go through the indexes that start with them (ordered by time), and
    nothing looks calls up by subscription, so none of the three foreign keys has an index of
    its own; the time index (usage over all versions) stays."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(
            cursor, InferenceRecord._meta.db_table
        )
    indexed = sorted(
        tuple(c["columns"]) for c in constraints.values() if c["index"] and not c["primary_key"]
    )
    for column in ("version_id", "caller_id", "subscription_id"):
        assert (column,) not in indexed, indexed
    assert ("version_id", "created_at") in indexed and ("caller_id", "created_at") in indexed
    assert ("created_at",) in indexed


def test_the_answer_has_the_shape_the_schema_describes(version, subscription, consumer):
    answer = post(factories.token_client(consumer), version, {"inputs": {"input": [ROW, ROW]}})

    assert answer["Content-Type"] == "application/json"
    assert set(answer.json()) == set(InferResultSerializer().fields)
    assert answer.json()["modelVersion"] == {
        "id": version.pk,
        "model": version.sam.slug,
        "version": version.version,
    }
    assert answer.json()["count"] == 2


def test_the_schema_documents_the_call(provider):
    schema = factories.session_client(provider).get("/api/schema/?format=json").json()

    operation = schema["paths"]["/api/v1/versions/{version_id}/infer/"]["post"]
    assert operation["tags"] == ["inference"]
    assert {"200", "400", "401", "403", "404", "409", "413", "429"} <= set(operation["responses"])
    body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert set(schema["components"]["schemas"][body.rsplit("/", 1)[1]]["properties"]) == {
        "inputs",
        "outputs",
    }
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert set(schema["components"]["schemas"][answer.rsplit("/", 1)[1]]["properties"]) == set(
        InferResultSerializer().fields
    )


def test_a_signed_in_caller_is_answered_too(version, subscription, consumer):
    answer = post(factories.session_client(consumer), version, {"inputs": {"input": [ROW]}})

    assert answer.status_code == 200, answer.content
    assert InferenceRecord.objects.get().subscription == subscription


def test_a_signed_in_caller_needs_the_csrf_token_as_on_the_rest_of_the_api(
    version, subscription, consumer
):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(consumer)

    answer = post(client, version, {"inputs": {"input": [ROW]}})

    assert answer.status_code == 403
    assert answer.json()["detail"].startswith("CSRF Failed")
    assert not InferenceRecord.objects.exists()


@pytest.mark.parametrize(
    ("body", "status", "code", "metered"),
    [
        ({"inputs": {"input": [ROW[:5]]}}, 400, "invalid_input", 1),
        ({"inputs": {"input": [[*ROW[:5], "high"]]}}, 400, "invalid_input", 1),
        ({"inputs": {"X": [ROW]}}, 400, "invalid_input", 1),
        ({"inputs": {"input": [ROW]}, "outputs": ["no-such-output"]}, 400, "invalid_input", 1),
        ({"inputs": {"input": [ROW]}, "outputs": [" label "]}, 200, None, 1),
        ({"inputs": {"input": [ROW]}, "outputs": None}, 400, "invalid", 0),
        ({"inputs": {"input": [ROW]}, "outputs": []}, 400, "invalid", 0),
        ({"inputs": {"input": [ROW]}, "outputs": "label"}, 400, "invalid", 0),
        ({"inputs": [ROW]}, 400, "invalid", 0),
        ({}, 400, "invalid", 0),
        ([ROW], 400, "invalid", 0),
    ],
    ids=[
        "short-row", "string-value", "unknown-input", "unknown-output", "padded-output-name",
        "outputs-null", "outputs-empty", "outputs-string", "inputs-list", "no-inputs", "list-body",
    ],
)  # fmt: skip
def test_each_body_is_answered_and_metered_once_or_refused_unmetered(
    version, subscription, consumer, body, status, code, metered
):
    answer = post(factories.token_client(consumer), version, body)

    assert answer.status_code == status, answer.content
    if code is not None:
        assert answer.json()["code"] == code
        assert answer.json()["detail"]
    assert InferenceRecord.objects.count() == metered
    if metered:
        assert answer["X-Inference-Id"] == str(InferenceRecord.objects.get().pk)


def test_a_body_that_is_not_json_is_refused_in_the_api_shape(version, subscription, consumer):
    answer = factories.token_client(consumer).post(
        f"/api/v1/versions/{version.pk}/infer/", "X=1", content_type="application/json"
    )

    assert (answer.status_code, answer.json()["code"]) == (400, "parse_error")
    assert not InferenceRecord.objects.exists()


def test_a_body_over_the_upload_limit_is_refused(version, subscription, consumer, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = {"inputs": {"input": [ROW] * 40}}

    answer = post(factories.token_client(consumer), version, body)

    assert answer.status_code == 413
    assert answer.json()["code"] == "too_large"
    assert answer.json()["detail"].startswith("The request body is over 1,000 bytes")
    assert not InferenceRecord.objects.exists()


def test_a_get_is_refused_in_the_api_shape(version, subscription, consumer):
    answer = factories.token_client(consumer).get(f"/api/v1/versions/{version.pk}/infer/")

    assert (answer.status_code, answer.json()["code"]) == (405, "method_not_allowed")


class TwoPerMinute(UserRateThrottle):
    scope = "infer-test"
    rate = "2/min"


def test_the_apis_throttles_apply(version, subscription, consumer, settings):
    cache.clear()
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_CLASSES": [f"{__name__}.TwoPerMinute"],
    }
    client = factories.token_client(consumer)

    answers = [post(client, version, {"inputs": {"input": [ROW]}}) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[2].json()["code"] == "throttled"
    assert int(answers[2]["Retry-After"]) > 0
    assert InferenceRecord.objects.count() == 2


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

    answer = post(factories.token_client(consumer), version, {"inputs": {"input": [ROW]}})

    assert (answer.status_code, answer.json()["code"]) == (404, "not_found")
    assert not InferenceRecord.objects.exists()


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
