"""The reporting cycle and the delivery, run in the test process against a loopback receiver:
reports are made once per period however often the cycle runs, a batch delivered twice sends
nothing twice, a threshold crossing is reported once per crossing, feedback is forwarded."""

from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring import services
from monitoring.models import (
    DeliveryStatus,
    MonitorNotification,
    MonitorSubscription,
    NotificationKind,
)
from tests import factories
from tests.monitoring.conftest import infer_with_truth


def subscribe(consumer, version, url, **extra):
    subscription, _ = services.monitor_subscription_create(
        user=consumer,
        version_ids=[version.pk],
        notification_uri=f"{url}/notify",
        notif_corr_id="corr",
        **extra,
    )
    return subscription


@pytest.mark.django_db
def test_a_period_is_reported_once_however_often_the_cycle_runs(
    version, consumer, subscription, receiver, loopback_callbacks, nwdaf_contract
):
    monitored = subscribe(
        consumer, version, receiver.url, reporting=services.Reporting(period_seconds=60)
    )
    infer_with_truth(version, consumer, right=3, wrong=1, batch=2)
    due = monitored.next_report_at
    assert services.monitor_cycle_run(now=due - timedelta(seconds=1)).periodic == 0
    first = services.monitor_cycle_run(now=due + timedelta(seconds=1))
    again = services.monitor_cycle_run(now=due + timedelta(seconds=2))
    assert (first.periodic, again.periodic) == (1, 0)
    (report,) = MonitorNotification.objects.filter(kind=NotificationKind.PERIODIC)
    assert report.sequence == 1
    nwdaf_contract.callback("/subscriptions", "post", "myNotification", report.body)
    (info,) = report.body["modelAccuInfos"]
    assert (info["inferenceNum"], info["mlModelAcc"]) == (4, 75)
    # Delivered once, even when the batch's task runs twice.
    assert services.notification_batch_deliver(notification_ids=[report.pk]) == [report.pk]
    assert services.notification_batch_deliver(notification_ids=[report.pk]) == []
    assert receiver.bodies("/notify") == [report.body]
    report.refresh_from_db()
    assert (report.status, report.attempts) == (DeliveryStatus.DELIVERED, 1)
    assert report.delivery_attempts.get().http_status == 204
    monitored.refresh_from_db()
    assert monitored.reports_sent == 1
    assert monitored.next_report_at == due + timedelta(seconds=60)


ADRF = "4e2b9b1c-7d3a-4f55-8a0e-5b1f2c3d4e5f"


@pytest.mark.django_db
def test_a_report_names_the_input_data_set_of_wrong_predictions_to_those_who_may_know_it(
    version, consumer, subscription, provider, operator, receiver, loopback_callbacks,
    nwdaf_contract,
):  # fmt: skip
    """The consumer keeps its inputs in ADRF data sets and names them with the ground truth:
    "west" holds two wrong predictions, "east" one. Each subscriber's report names the data
    set with the most wrong predictions among those it may be told of: the consumer's own,
    the provider's and the operator's (who read every call of the version), never another
    consumer's, which sees its own only."""
    from sharing.services import subscription_request

    neighbour = factories.make_user("consumer", username="neighbour")
    subscription_request(user=neighbour, sam=version.sam, method="INFERENCE")
    subscribers = {"consumer": consumer, "neighbour": neighbour, "provider": provider,
                   "operator": operator}  # fmt: skip
    for name, user in subscribers.items():
        subscribe(user, version, f"{receiver.url}/{name}",
                  reporting=services.Reporting(period_seconds=60))  # fmt: skip
    infer_with_truth(version, consumer, right=2, wrong=1, input_data_set={
        "data_set_id": "east", "data_set_desc": "East cells", "adrf_id": ADRF})  # fmt: skip
    infer_with_truth(version, consumer, right=0, wrong=2, batch=2, input_data_set={
        "data_set_id": "west", "data_set_desc": "West cells", "adrf_id": ADRF})  # fmt: skip
    infer_with_truth(version, neighbour, right=1, wrong=1, input_data_set={
        "data_set_id": "theirs", "adrf_set_id": "set1.adrfset.5gc.mnc012.mcc345"})  # fmt: skip
    infer_with_truth(version, neighbour, right=1, wrong=0)
    due = MonitorSubscription.objects.order_by("next_report_at").last().next_report_at
    assert services.monitor_cycle_run(now=due + timedelta(seconds=1)).periodic == 4
    reports = MonitorNotification.objects.filter(kind=NotificationKind.PERIODIC)
    services.notification_batch_deliver(notification_ids=[r.pk for r in reports])

    west = {"dataSetTag": {"dataSetId": "west", "dataSetDesc": "West cells"}, "adrfId": ADRF}
    expected = {
        "consumer": west, "provider": west, "operator": west,
        "neighbour": {"dataSetTag": {"dataSetId": "theirs"},
                      "adrfSetId": "set1.adrfset.5gc.mnc012.mcc345"},
    }  # fmt: skip
    for name in subscribers:
        (body,) = receiver.bodies(f"/{name}/notify")
        nwdaf_contract.callback("/subscriptions", "post", "myNotification", body)
        (info,) = body["modelAccuInfos"]
        assert (info["inferenceNum"], info["mlModelAcc"]) == (8, 50), name
        named = {k: info[k] for k in ("dataSetTag", "adrfId", "adrfSetId") if k in info}
        assert named == expected[name], name


@pytest.mark.django_db
def test_a_threshold_crossing_is_reported_once_per_crossing(
    version, consumer, subscription, receiver, loopback_callbacks
):
    subscribe(consumer, version, receiver.url, accuracy_threshold=80)
    infer_with_truth(version, consumer, right=8, wrong=0)
    assert services.monitor_cycle_run().threshold == 0  # above it: nothing to say
    infer_with_truth(version, consumer, right=0, wrong=4)  # 8 of 12: 67 %
    assert services.monitor_cycle_run().threshold == 1
    assert services.monitor_cycle_run().threshold == 0  # still under: no second report
    infer_with_truth(version, consumer, right=12, wrong=0)  # 20 of 24: 83 %
    assert services.monitor_cycle_run().threshold == 1
    under, over = MonitorNotification.objects.filter(kind=NotificationKind.THRESHOLD).order_by("pk")
    assert under.body["accuMeetInd"] is False
    assert under.body["modelAccuInfos"][0]["mlModelAcc"] == 67
    assert over.body["accuMeetInd"] is True
    assert over.body["modelAccuInfos"][0]["inferenceNum"] == 24


@pytest.mark.django_db
def test_analytics_feedback_is_forwarded_to_the_models_subscribers(
    api, version, consumer, receiver, loopback_callbacks, nwdaf_contract
):
    subscribe(consumer, version, receiver.url)
    feedback = {
        "events": ["NF_LOAD"],
        "modelIds": [version.pk],
        "groundDataImpactInd": True,
        "timeStamp": "2026-01-02T03:04:05Z",
    }
    nwdaf_contract.schema("AnalyticsFeedback").validate(feedback)
    answer = api(consumer).post("/api/v1/analytics-feedback/", feedback, format="json")
    assert answer.status_code == 202
    (notification,) = MonitorNotification.objects.filter(kind=NotificationKind.FEEDBACK)
    nwdaf_contract.callback("/subscriptions", "post", "myNotification", notification.body)
    assert notification.body["anaFeedbacks"] == [feedback]
    services.notification_batch_deliver(notification_ids=[notification.pk])
    assert receiver.bodies("/notify") == [notification.body]


@pytest.mark.django_db
def test_an_expired_subscription_is_not_reported(version, consumer, receiver, loopback_callbacks):
    monitored = subscribe(
        consumer,
        version,
        receiver.url,
        reporting=services.Reporting(
            period_seconds=10, until=timezone.now() + timedelta(seconds=15)
        ),
    )
    assert services.monitor_cycle_run(now=monitored.next_report_at).periodic == 1
    later = monitored.expires_at + timedelta(seconds=1)
    assert services.monitor_cycle_run(now=later).periodic == 0
