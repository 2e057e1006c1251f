"""The ProvMnS facade of training (TS 28.532): GET with scope and attribute selection, PUT to
create, JSON merge-patch, DELETE; refusals in the ComDefs error shapes with nothing stored;
other organisations' objects answer 404; NtfSubscriptionControl and which notifications its
recipient is owed (issue 9, item 4). Delivery by a real worker: test_provmns_worker.py."""

import pytest

from tests import factories
from tests.training.provmns import (
    FUNCTION,
    MERGE_PATCH,
    error_validate,
    notification_validate,
)
from tests.training.training import process_of, request_training, trainable_version, upload_dataset
from training import notifications, services
from training.models import (
    DeliveryStatus,
    MLTrainingProcess,
    MLTrainingRequest,
    MOINotification,
    NtfSubscription,
    RequestStatus,
)


@pytest.fixture
def trainable(provider, auditor):
    return trainable_version(provider, auditor)


@pytest.fixture
def dataset(provider, organisation, tmp_path):
    return upload_dataset(provider, organisation, tmp_path)


def put_request(client, moi_id, version, datasets=(), **attributes):
    body = {
        "id": str(moi_id),
        "attributes": {
            "mLEntityId": str(version.pk),
            "candidateTraingDataSource": [str(d.pk) for d in datasets],
            "performanceRequirements": [{"performanceMetric": "ACCURACY", "performanceScore": 0.8}],
            **attributes,
        },
    }
    return client.put(f"{FUNCTION}/MLTrainingRequest={moi_id}", body, format="json")


def patch(client, path, body, content_type=MERGE_PATCH):
    import json

    return client.generic("PATCH", path, json.dumps(body), content_type=content_type)


def subscribe(client, moi_id, address, **attributes):
    body = {"id": moi_id, "attributes": {"notificationRecipientAddress": address, **attributes}}
    return client.put(
        f"/ProvMnS/v1/SubNetwork=1/NtfSubscriptionControl={moi_id}", body, format="json"
    )


# --- PUT ----------------------------------------------------------------------------------------


def test_put_creates_a_request_under_the_dn_with_the_seed_attributes(trainable, provider, dataset):
    client = factories.token_client(provider)  # token authentication, as on /api/v1/
    answer = put_request(client, 41, trainable, [dataset], priority=3)
    body = answer.json()

    assert answer.status_code == 201, body
    assert answer["Location"].endswith(f"{FUNCTION}/MLTrainingRequest=41")
    assert body["id"] == "41" and body["objectClass"] == "MLTrainingRequest"
    assert body["objectInstance"] == "SubNetwork=1,MLTrainingFunction=1,MLTrainingRequest=41"
    attributes = body["attributes"]
    assert attributes["mLEntityId"] == str(trainable.pk)
    assert attributes["candidateTraingDataSource"] == [str(dataset.pk)]
    assert attributes["traingDataQualityScore"] == dataset.quality_score
    assert attributes["requestStatus"] == "NOT_STARTED" and attributes["priority"] == 3
    assert attributes["trainingRequestSource"] == "provider"
    assert attributes["cancelRequest"] is False and attributes["suspendRequest"] is False
    assert attributes["performanceRequirements"] == [
        {"inferenceOutputName": "label", "performanceMetric": "ACCURACY", "performanceScore": 0.8}
    ]
    request = MLTrainingRequest.objects.get(pk=41)
    assert request.requested_by == provider and list(
        request.candidate_training_data_sources.all()
    ) == [dataset]
    # Requests numbered by SAM Hub go on after the id a consumer chose.
    assert request_training(provider, trainable, [dataset]).pk > 41


@pytest.mark.parametrize(
    "body, bad",
    [
        ({"attributes": {"mLEntityId": "1"}}, "id"),
        ({"id": "8", "attributes": {"mLEntityId": "1"}}, "id"),
        ({"id": "7", "attributes": {"requestStatus": "FINISHED"}}, "requestStatus"),
        ({"id": "7", "attributes": {"performanceRequirements": []}}, "mLEntityId"),
        ({"id": "7", "attributes": "cancel"}, "attributes"),
        ({"id": "7", "attributes": {}, "MLTrainingProcess": [{}]}, "MLTrainingProcess"),
        ({"id": "7", "objectClass": "MLTrainingReport", "attributes": {}}, "objectClass"),
    ],
)
def test_a_bad_put_body_is_a_clear_400_and_stores_nothing(api, provider, body, bad):
    answer = api(provider).put(f"{FUNCTION}/MLTrainingRequest=7", body, format="json")
    error = answer.json()

    assert answer.status_code == 400, error
    error_validate(error)
    assert error["status"] == "400" and bad in error["badAttributes"] and error["reason"]
    assert not MLTrainingRequest.objects.exists()


def test_put_refusals_of_the_service_keep_their_message_and_store_nothing(
    api, provider, other_provider, other_organisation, trainable, tmp_path, auditor
):
    foreign = upload_dataset(other_provider, other_organisation, tmp_path, name="theirs")
    answer = put_request(api(provider), 7, trainable, [foreign])
    assert answer.status_code == 400
    assert answer.json()["badAttributes"] == ["candidateTraingDataSource"]
    assert f"no dataset {foreign.pk}" in answer.json()["reason"]

    onnx = factories.make_version_in("RELEASED", provider=provider, auditor=auditor, kind="onnx")
    answer = put_request(api(provider), 7, onnx)
    assert answer.status_code == 400 and answer.json()["type"] == "NOT_TRAINABLE"
    assert "ONNX" in answer.json()["reason"] and answer.json()["badAttributes"] == ["mLEntityId"]

    answer = put_request(api(provider), "x7", trainable)
    assert answer.status_code == 400 and "whole number" in answer.json()["reason"]

    answer = api(provider).put(
        f"{FUNCTION}/MLTrainingRequest=7", b"{not json", content_type="application/json"
    )
    assert answer.status_code == 400 and answer.json()["type"] == "PARSE_ERROR"
    error_validate(answer.json())
    assert not MLTrainingRequest.objects.exists()


def test_put_on_an_existing_request_or_a_producer_made_class_is_refused(api, provider, trainable):
    assert put_request(api(provider), 5, trainable).status_code == 201
    again = put_request(api(provider), 5, trainable, priority=9)
    assert again.status_code == 409 and "PATCH" in again.json()["reason"]
    assert MLTrainingRequest.objects.get(pk=5).priority == 0

    answer = api(provider).put(f"{FUNCTION}/MLTrainingProcess=5", {"id": "5"}, format="json")
    assert answer.status_code == 405 and "made by SAM Hub" in answer.json()["reason"]
    error_validate(answer.json())


def test_anonymous_calls_are_refused_in_the_error_shape(api):
    answer = api().get(FUNCTION)
    assert answer.status_code == 401 and answer["WWW-Authenticate"] == "Token"
    error_validate(answer.json())
    answer = api().get("/ProvMnS/v2/SubNetwork=1")
    assert answer.status_code == 404
    error_validate(answer.json())


# --- GET ------------------------------------------------------------------------------------


@pytest.fixture
def started(provider, trainable):
    """A request of the provider's, started: its process is queued (no worker runs here)."""
    mine = request_training(provider, trainable)
    services.training_request_start(request_id=mine.pk)
    return mine


@pytest.fixture
def two_organisations_requests(started, other_provider, auditor):
    mine = started
    theirs_version = trainable_version(other_provider, auditor)
    theirs = request_training(other_provider, theirs_version)
    return mine, theirs


def test_get_base_only_and_subtree_with_attribute_selection(
    api, provider, trainable, two_organisations_requests
):
    mine, theirs = two_organisations_requests
    process = process_of(mine)
    client = api(provider)

    base = client.get(FUNCTION).json()
    assert base["objectInstance"] == "SubNetwork=1,MLTrainingFunction=1"
    entities = {e["mLEntityId"]: e for e in base["attributes"]["mLEntityList"]}
    assert str(trainable.pk) in entities
    assert entities[str(trainable.pk)]["mLEntityVersion"] == trainable.version
    assert "MLTrainingRequest" not in base  # BASE_ONLY: no children

    tree = client.get(
        FUNCTION, {"scopeType": "BASE_SUBTREE", "attributes": "requestStatus,progressStatus"}
    ).json()
    assert tree["attributes"] == {}
    assert tree["MLTrainingRequest"] == [
        {
            "id": str(mine.pk),
            "objectClass": "MLTrainingRequest",
            "objectInstance": mine.dn,
            "attributes": {"requestStatus": "TRAINING_IN_PROGRESS"},
        }
    ]  # not the other organisation's
    assert [p["id"] for p in tree["MLTrainingProcess"]] == [str(process.pk)]
    progress = tree["MLTrainingProcess"][0]["attributes"]["progressStatus"]
    assert progress["status"] == "NOT_STARTED" and progress["progressPercentage"] == 0
    assert "MLTrainingReport" not in tree

    nth = client.get(FUNCTION, {"scopeType": "BASE_NTH_LEVEL", "scopeLevel": "1"}).json()
    assert "attributes" not in nth and len(nth["MLTrainingRequest"]) == 1

    one = client.get(
        f"{FUNCTION}/MLTrainingProcess={process.pk}", {"attributes": "priority,trainingRequestRef"}
    ).json()
    assert one["attributes"] == {"priority": 0, "trainingRequestRef": [mine.dn]}


@pytest.mark.parametrize(
    "params, bad",
    [
        ({"scopeType": "EVERYTHING"}, "scopeType"),
        ({"scopeType": "BASE_NTH_LEVEL"}, "scopeLevel"),
        ({"scopeType": "BASE_SUBTREE", "scopeLevel": "-1"}, "scopeLevel"),
        ({"attributes": "requestStatus,colour"}, "attributes"),
        ({"filter": "requestStatus=='FINISHED'"}, "filter"),
        ({"scope": "BASE_ONLY"}, "scope"),
    ],
)
def test_bad_query_parameters_are_named(api, provider, params, bad):
    answer = api(provider).get(FUNCTION, params)
    assert answer.status_code == 400
    error_validate(answer.json(), "ErrorResponseGet")
    assert answer.json()["badQueryParams"] == [bad]


def test_other_organisations_objects_answer_404_and_stay_unchanged(
    api, provider, two_organisations_requests
):
    _, theirs = two_organisations_requests
    path = f"{FUNCTION}/MLTrainingRequest={theirs.pk}"
    client = api(provider)
    for answer in (
        client.get(path),
        patch(client, path, {"attributes": {"cancelRequest": "TRUE"}}),
        client.delete(path),
        client.get(f"{FUNCTION}/MLTrainingRequest=999"),
        client.get(f"{FUNCTION}/MLTrainingRequest=abc"),
        client.get("/ProvMnS/v1/SubNetwork=1/MLTrainingFunction=2"),
    ):
        assert answer.status_code == 404, answer.content
        error_validate(answer.json())
    theirs.refresh_from_db()
    assert theirs.status == RequestStatus.NOT_STARTED and not theirs.cancel_request


# --- PATCH and DELETE ---------------------------------------------------------------------------


def test_merge_patch_cancels_and_false_changes_nothing(api, provider, trainable):
    client = api(provider)
    put_request(client, 3, trainable)
    path = f"{FUNCTION}/MLTrainingRequest=3"

    nothing = patch(
        client, path, {"attributes": {"cancelRequest": "FALSE", "suspendRequest": None}}
    )
    assert (
        nothing.status_code == 200
        and nothing.json()["attributes"]["requestStatus"] == "NOT_STARTED"
    )
    assert MLTrainingRequest.objects.get(pk=3).events.count() == 1

    cancelled = patch(client, path, {"attributes": {"cancelRequest": "TRUE"}})
    assert cancelled.status_code == 200
    assert cancelled.json()["attributes"]["requestStatus"] == "CANCELLED"
    assert cancelled.json()["attributes"]["cancelRequest"] is True


def test_bad_patches_are_refused_and_change_nothing(api, provider, trainable):
    client = api(provider)
    put_request(client, 3, trainable)
    path = f"{FUNCTION}/MLTrainingRequest=3"

    answer = patch(client, path, {"attributes": {"cancelRequest": "yes"}})
    assert answer.status_code == 400 and 'must be "TRUE" or "FALSE"' in answer.json()["reason"]
    assert answer.json()["badAttributes"] == ["cancelRequest"]
    answer = patch(client, path, {"attributes": {"requestStatus": "CANCELLED", "priority": 1}})
    assert answer.status_code == 400 and answer.json()["badAttributes"] == [
        "priority",
        "requestStatus",
    ]
    answer = patch(client, path, {"attributes": {"cancelRequest": "TRUE"}}, "application/json")
    assert answer.status_code == 415 and "merge-patch" in answer.json()["reason"]
    answer = patch(client, path, [{"op": "replace", "path": "/attributes/cancelRequest"}])
    assert answer.status_code == 400
    answer = patch(client, f"{FUNCTION}", {"attributes": {"userLabel": "x"}})
    assert answer.status_code == 405
    request = MLTrainingRequest.objects.get(pk=3)
    assert request.status == RequestStatus.NOT_STARTED and request.events.count() == 1


def test_merge_patch_on_a_process_suspends_it(api, provider, started):
    process = process_of(started)
    answer = patch(
        api(provider),
        f"{FUNCTION}/MLTrainingProcess={process.pk}",
        {"attributes": {"suspendProcess": "TRUE"}},
        "application/3gpp-merge-patch+json",
    )
    assert answer.status_code == 200
    assert answer.json()["attributes"]["progressStatus"]["status"] == "SUSPENDED"
    assert answer.json()["attributes"]["suspendProcess"] is True


def test_delete_takes_an_ended_request_with_its_processes(
    api, loopback_callbacks, provider, started
):
    mine = started
    process = process_of(mine)
    path = f"{FUNCTION}/MLTrainingRequest={mine.pk}"
    client = api(provider)
    subscribe(client, "gone", "http://127.0.0.1:9/", notificationTypes=["notifyMOIDeletion"])

    answer = client.delete(path)
    assert answer.status_code == 409 and "cancelRequest" in answer.json()["reason"]
    patch(client, path, {"attributes": {"cancelRequest": "TRUE"}})
    assert client.delete(path).status_code == 200
    assert client.get(path).status_code == 404
    assert not MLTrainingProcess.objects.filter(training_request_id=mine.pk).exists()
    answer = client.delete(f"{FUNCTION}")
    assert answer.status_code == 405
    deleted = {n.object_instance: n.body for n in MOINotification.objects.all()}
    assert set(deleted) == {mine.dn, process.dn}
    for body in deleted.values():
        notification_validate({**body, "notificationId": 1})
    assert deleted[mine.dn]["attributeList"]["requestStatus"] == "CANCELLED"
    assert deleted[process.dn]["attributeList"]["progressStatus"]["status"] == "CANCELLED"


def test_a_failed_process_is_also_a_notify_event(api, loopback_callbacks, provider, started):
    subscribe(api(provider), "events", "http://127.0.0.1:9/", notificationTypes=["notifyEvent"])
    process = process_of(started)
    services.training_process_fail(process_id=process.pk, run_id=None, reason="The disk is full.")

    (event,) = MOINotification.objects.all()
    notification_validate({**event.body, "notificationId": event.pk})
    assert event.body["specificProblem"] == "TRAINING_FAILED"
    assert event.body["additionalText"] == "The disk is full."
    assert event.body["additionalInformation"]["progressStatus"]["status"] == "FAILED"


def test_a_subscription_is_merge_patched_and_deleted_by_its_owner_only(
    api, loopback_callbacks, provider, other_provider
):
    path = "/ProvMnS/v1/SubNetwork=1/NtfSubscriptionControl=oss"
    subscribe(api(provider), "oss", "http://127.0.0.1:9/a", scope={"scopeType": "BASE_ALL"})
    answer = patch(api(provider), path, {"attributes": {"notificationTypes": ["notifyEvent"]}})
    assert answer.status_code == 200
    assert answer.json()["attributes"] == {
        "notificationRecipientAddress": "http://127.0.0.1:9/a",
        "notificationTypes": ["notifyEvent"],
        "scope": {"scopeType": "BASE_ALL"},
    }
    assert api(other_provider).get(path).status_code == 404
    assert api(other_provider).delete(path).status_code == 404
    assert subscribe(api(other_provider), "oss", "http://127.0.0.1:9/b").status_code == 409
    assert api(provider).delete(path).status_code == 200
    assert not NtfSubscription.objects.exists()


# --- subscriptions and who is owed which notification -------------------------------------------


def test_a_subscription_needs_an_http_address_that_is_not_private(api, provider, settings):
    settings.SAMHUB_CALLBACK_ALLOWED_NETWORKS = []
    client = api(provider)
    for address, says in (
        ("ftp://example.org/x", "http or https"),
        ("http://127.0.0.1:9/x", "loopback, private or reserved"),
        ("http://10.1.2.3/x", "loopback, private or reserved"),
        ("http://[::1]/x", "loopback, private or reserved"),
        ("file:///etc/passwd", "http or https"),
    ):
        answer = subscribe(client, "s1", address)
        assert answer.status_code == 400, address
        assert says in answer.json()["reason"] and answer.json()["badAttributes"] == [
            "notificationRecipientAddress"
        ]
    answer = subscribe(client, "s1", "https://example.org/x", notificationFilter="x == 1")
    assert answer.status_code == 400 and "not supported" in answer.json()["reason"]
    answer = subscribe(client, "s1", "https://example.org/x", notificationTypes=["notifyAlarm"])
    assert answer.status_code == 400
    assert not NtfSubscription.objects.exists()


def test_notifications_go_to_subscribers_who_may_see_the_object(
    api, loopback_callbacks, provider, other_provider, trainable, dataset
):
    assert subscribe(api(provider), "mine", "http://127.0.0.1:9/a").status_code == 201
    subscribe(api(other_provider), "theirs", "http://127.0.0.1:9/b")
    subscribe(
        api(provider), "changes-only", "http://127.0.0.1:9/c",
        notificationTypes=["notifyMOIAttributeValueChanges"],
    )  # fmt: skip
    subscribe(api(provider), "base-only", "http://127.0.0.1:9/d", scope={"scopeType": "BASE_ONLY"})

    request = request_training(provider, trainable, [dataset])
    services.training_request_start(request_id=request.pk)
    sent = {
        (n.subscription.moi_id, n.notification_type, n.object_instance)
        for n in MOINotification.objects.select_related("subscription")
    }
    process = process_of(request)

    assert sent == {
        ("mine", "notifyMOICreation", request.dn),
        ("mine", "notifyMOIAttributeValueChanges", request.dn),
        ("mine", "notifyMOICreation", process.dn),
        ("changes-only", "notifyMOIAttributeValueChanges", request.dn),
    }
    change = MOINotification.objects.get(
        subscription__moi_id="mine", notification_type="notifyMOIAttributeValueChanges"
    )
    assert change.body["attributeListValueChanges"] == [
        {"requestStatus": "TRAINING_IN_PROGRESS"},
        {"requestStatus": "NOT_STARTED"},
    ]
    assert change.body["sourceIndicator"] == "RESOURCE_OPERATION"


def test_delivery_is_recorded_and_a_dead_recipient_fails_after_the_attempts(
    api, loopback_callbacks, receiver, provider, trainable, settings
):
    settings.SAMHUB_CALLBACK_ATTEMPTS = 2
    subscribe(
        api(provider), "live", f"{receiver.url}/live", notificationTypes=["notifyMOICreation"]
    )
    subscribe(
        api(provider),
        "dead",
        "http://127.0.0.1:9/gone",
        notificationTypes=["notifyMOICreation"],
    )
    request = request_training(provider, trainable)
    live = MOINotification.objects.get(subscription__moi_id="live")
    dead = MOINotification.objects.get(subscription__moi_id="dead")

    notifications.notification_deliver(notification_id=live.pk)
    for _ in range(3):  # the third call finds it FAILED and does nothing
        notifications.notification_deliver(notification_id=dead.pk)

    (body,) = receiver.bodies("/live")
    live.refresh_from_db()
    dead.refresh_from_db()
    assert live.status == DeliveryStatus.DELIVERED and live.attempts == 1
    assert body["notificationId"] == live.pk and body["subscriptionId"] == "live"
    assert body["objectInstance"] == request.dn and body["href"].endswith(
        f"MLTrainingRequest={request.pk}"
    )
    assert dead.status == DeliveryStatus.FAILED and dead.attempts == 2
    assert [a.number for a in dead.attempt_log.all()] == [1, 2]
    assert all(a.http_status is None and a.error for a in dead.attempt_log.all())
    assert "Connection" in dead.last_error or "refused" in dead.last_error.lower()
