"""The acceptance line of issue 9 item 4, on a real Celery worker (prefork, the test's broker
and database, not eager): a request made with ProvMnS PUT runs its process through the three
progressStateInfo values to FINISHED, and a loopback recipient registered with an
NtfSubscriptionControl gets the requestStatus and progressStatus notifications, each valid
against the TS 28.532 / ComDefs schemas with $refs resolved across the files; a dead recipient
is retried with backoff and FAILED with every attempt recorded."""

import itertools

import pytest

from tests import factories
from tests.processes import celery_worker_start, celery_worker_stop
from tests.training.provmns import FUNCTION, notification_validate
from tests.training.training import trainable_version, upload_dataset, wait_for
from training.models import DeliveryStatus, MLTrainingRequest, MOINotification, RequestStatus

pytestmark = pytest.mark.django_db(transaction=True)

ATTEMPTS = 3


@pytest.fixture
def worker(in_shared_warehouse, django_db_setup, tmp_path, loopback_callbacks):
    log = tmp_path / "worker.log"
    process = celery_worker_start(
        log,
        env={
            "SAMHUB_CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8",
            "SAMHUB_CALLBACK_ATTEMPTS": str(ATTEMPTS),
            "SAMHUB_CALLBACK_BACKOFF_SECONDS": "1",
            "SAMHUB_CALLBACK_TIMEOUT_SECONDS": "2",
        },
    )
    yield log
    celery_worker_stop(process)


def changes(bodies: list[dict], attribute: str) -> list:
    return [
        b["attributeListValueChanges"][0][attribute]
        for b in bodies
        if b["notificationType"] == "notifyMOIAttributeValueChanges"
        and attribute in b["attributeListValueChanges"][0]
    ]


def test_a_provmns_request_runs_to_finished_and_its_subscriber_hears_every_step(
    worker, receiver, provider, auditor, organisation, tmp_path
):
    version = trainable_version(provider, auditor)
    dataset = upload_dataset(provider, organisation, tmp_path)
    client = factories.token_client(provider)
    subscriptions = "/ProvMnS/v1/SubNetwork=1/NtfSubscriptionControl="

    for moi_id, address in (("live", f"{receiver.url}/live"), ("dead", "http://127.0.0.1:9/gone")):
        answer = client.put(
            subscriptions + moi_id,
            {"id": moi_id, "attributes": {"notificationRecipientAddress": address}},
            format="json",
        )
        assert answer.status_code == 201, answer.content
    answer = client.put(
        f"{FUNCTION}/MLTrainingRequest=77",
        {
            "id": "77",
            "attributes": {
                "mLEntityId": str(version.pk),
                "candidateTraingDataSource": [str(dataset.pk)],
                "performanceRequirements": [
                    {"performanceMetric": "ACCURACY", "performanceScore": 0.5}
                ],
            },
        },
        format="json",
    )
    assert answer.status_code == 201, answer.content

    wait_for(
        lambda: MLTrainingRequest.objects.get(pk=77).status == RequestStatus.FINISHED,
        timeout=120, what="the request to finish", log=worker,
    )  # fmt: skip
    live = MOINotification.objects.filter(subscription__moi_id="live")
    # The report is announced after the commit that finished the request; then every
    # notification to the live recipient is delivered (each by its own task).
    wait_for(
        lambda: live.filter(object_instance__contains="MLTrainingReport=").exists()
        and not live.exclude(status=DeliveryStatus.DELIVERED).exists(),
        timeout=30, what="every notification to the live recipient", log=worker,
    )  # fmt: skip
    bodies = receiver.bodies("/live")

    assert len(bodies) == live.count()
    # Each notification is its own task, so they may arrive out of order: notificationId
    # follows the order of the changes.
    bodies = sorted(bodies, key=lambda b: b["notificationId"])
    for body in bodies:
        notification_validate(body)
    request_dn = "SubNetwork=1,MLTrainingFunction=1,MLTrainingRequest=77"
    created = [
        (b["objectClass"], b["objectInstance"])
        for b in bodies
        if b["notificationType"] == "notifyMOICreation"
    ]
    assert created[0] == ("MLTrainingRequest", request_dn)
    assert [c[0] for c in created] == ["MLTrainingRequest", "MLTrainingProcess", "MLTrainingReport"]
    assert changes(bodies, "requestStatus") == ["TRAINING_IN_PROGRESS", "FINISHED"]
    progress = changes(bodies, "progressStatus")
    states = [
        p["progressStateInfo"]
        for p in progress
        if p["status"] == "RUNNING" and p["progressStateInfo"]
    ]
    assert list(dict.fromkeys(states)) == ["COLLECTING_DATA", "PREPARING_TRAINING_DATA", "TRAINING"]
    assert progress[0]["status"] == "RUNNING" and progress[-1]["status"] == "FINISHED"
    assert progress[-1]["progressPercentage"] == 100
    percentages = [p["progressPercentage"] for p in progress]
    assert percentages == sorted(percentages)
    header = bodies[0]
    assert header["href"].endswith(f"{FUNCTION}/MLTrainingRequest=77")
    assert header["systemDN"] == "SubNetwork=1,MLTrainingFunction=1"
    assert len({b["notificationId"] for b in bodies}) == len(bodies)
    assert {b["subscriptionId"] for b in bodies} == {"live"}

    # The dead recipient: every notification tried ATTEMPTS times, 1 s then 2 s apart, FAILED.
    dead = MOINotification.objects.filter(subscription__moi_id="dead")
    wait_for(
        lambda: not dead.exclude(status=DeliveryStatus.FAILED).exists(),
        timeout=60, what="the dead recipient's notifications to fail", log=worker,
    )  # fmt: skip
    assert dead.count() == live.count()
    first = dead.order_by("pk").first()
    attempts = list(first.attempt_log.all())
    assert [a.number for a in attempts] == list(range(1, ATTEMPTS + 1))
    gaps = [
        (b.attempted_at - a.attempted_at).total_seconds() for a, b in itertools.pairwise(attempts)
    ]
    assert gaps[0] >= 1 and gaps[1] >= 2
    assert first.last_error and all(a.http_status is None for a in attempts)
