"""Notifications sent by a real Celery worker with Celery beat ticking every second, to
callback servers on loopback; every body they receive is validated against the official
YAML. Real inferences with known ground truth drive the accuracy."""

import time
from datetime import datetime

import pytest

from monitoring.models import DeliveryStatus, MonitorNotification
from tests import factories
from tests.callbacks import CallbackReceiver
from tests.monitoring.conftest import infer_with_truth
from tests.processes import free_port

ROOT = "/nnwdaf-mlmodelmonitor/v1"
pytestmark = pytest.mark.django_db(transaction=True)


def subscribe(consumer, contract, body: dict) -> dict:
    contract.request("/subscriptions", "post", body)
    answer = factories.token_client(consumer).post(f"{ROOT}/subscriptions", body, format="json")
    contract.response(
        "/subscriptions", "post", answer.status_code, answer.json(), answer["Content-Type"]
    )
    assert answer.status_code == 201, answer.json()
    return answer.json()


def valid(contract, bodies: list[dict]) -> list[dict]:
    for body in bodies:
        contract.callback("/subscriptions", "post", "myNotification", body)
    return bodies


def test_accuracy_falling_under_the_threshold_is_notified_exactly_once(
    monitor_worker, version, consumer, subscription, receiver, loopback_callbacks, nwdaf_contract
):
    subscribe(
        consumer,
        nwdaf_contract,
        {
            "modelIds": [version.pk],
            "notificationUri": f"{receiver.url}/threshold",
            "notifCorrId": "falls-under",
            "accuThreshold": 80,
        },
    )
    infer_with_truth(version, consumer, right=10, wrong=0, batch=5)
    time.sleep(2.5)  # ticks measure 100 %: over the threshold, nothing to notify
    assert receiver.bodies() == []
    # One wrong answer at a time until accuracy is under 80 %: 10 of 13 is 77 %.
    # The consumer names the data set its inputs are kept in.
    for _ in range(3):
        infer_with_truth(version, consumer, right=0, wrong=1,
                         input_data_set={"data_set_id": "cells-0601"})  # fmt: skip
    (body,) = valid(nwdaf_contract, receiver.wait_for(1, timeout=20))
    time.sleep(3)  # more ticks, still under: no second notification
    assert receiver.bodies() == [body]
    (info,) = body["modelAccuInfos"]
    assert body["notifCorrId"] == "falls-under"
    assert body["accuMeetInd"] is False
    assert info["modelId"] == version.pk
    assert info["inferenceNum"] == 13
    assert info["modelMetric"] == "ACCURACY"
    assert info["mlModelAcc"] == 77
    assert info["deviation"] == pytest.approx(3 / 13, abs=1e-6)
    assert info["dataSetTag"] == {"dataSetId": "cells-0601"}
    # Celery beat inside the worker ran the cycle.
    assert "Sending due task monitor-cycle" in monitor_worker.read_text()


def test_periodic_reports_arrive_at_the_period_until_max_reports(
    monitor_worker, version, consumer, subscription, receiver, loopback_callbacks, nwdaf_contract
):
    infer_with_truth(version, consumer, right=1, wrong=1)  # before the subscription: not counted
    subscribe(
        consumer,
        nwdaf_contract,
        {
            "modelIds": [version.pk],
            "notificationUri": f"{receiver.url}/periodic",
            "notifCorrId": "every-2s",
            "eventReportReq": {"repPeriod": 2, "maxReportNbr": 3},
        },
    )
    infer_with_truth(version, consumer, right=3, wrong=1, batch=2)
    bodies = valid(nwdaf_contract, receiver.wait_for(3, path="/periodic", timeout=30))
    time.sleep(3)
    assert len(receiver.bodies("/periodic")) == 3  # maxReportNbr
    infos = [b["modelAccuInfos"][0] for b in bodies]
    # Report k is due 2k s after the subscription (the first interval's start): never sent
    # before that, and within Celery beat's 1 s tick of it (plus slack for a loaded machine).
    # Measured on the reports' own intervals: a delivery delayed by load moves an arrival, not
    # the schedule.
    subscribed = datetime.fromisoformat(infos[0]["monitorInterval"]["startTime"])
    for k, info in enumerate(infos, start=1):
        late = datetime.fromisoformat(info["monitorInterval"]["stopTime"]) - subscribed
        assert 2 * k <= late.total_seconds() <= 2 * k + 3.5, (k, late)
    arrivals = [r.at for r in receiver.arrivals("/periodic")]
    assert arrivals[-1] - arrivals[0] >= 2.0, arrivals  # spread over the periods, not in a burst
    # Consecutive intervals, and each inference counted in exactly one of them.
    for earlier, later in zip(infos, infos[1:], strict=False):
        assert earlier["monitorInterval"]["stopTime"] == later["monitorInterval"]["startTime"]
    assert sum(i["inferenceNum"] for i in infos) == 4
    first = next(i for i in infos if i["inferenceNum"])
    assert (first["mlModelAcc"], first["deviation"]) == (75, 0.25)


def test_a_dead_or_slow_callback_is_retried_with_backoff_and_recorded_as_failed(
    monitor_worker, version, consumer, receiver, loopback_callbacks, nwdaf_contract
):
    report_once = {"eventReportReq": {"repPeriod": 1, "maxReportNbr": 1}}
    dead = f"http://127.0.0.1:{free_port()}/dead"  # nothing listens there
    with CallbackReceiver(delay=3) as slow:  # answers after the 1 s callback timeout
        for name, url in (("dead", dead), ("slow", f"{slow.url}/slow"),
                          ("fast", f"{receiver.url}/fast")):  # fmt: skip
            subscribe(consumer, nwdaf_contract, {"modelIds": [version.pk],
                      "notificationUri": url, "notifCorrId": name, **report_once})  # fmt: skip
        # The fast consumer is not held up by the others.
        started = time.monotonic()
        (fast,) = valid(nwdaf_contract, receiver.wait_for(1, path="/fast", timeout=15))
        assert fast["notifCorrId"] == "fast"
        # Meanwhile the API answers at once: no callback runs in a request.
        asked = time.monotonic()
        subscribe(consumer, nwdaf_contract, {"modelIds": [version.pk],
                  "notificationUri": f"{receiver.url}/later", "notifCorrId": "later"})  # fmt: skip
        assert time.monotonic() - asked < 2
        deadline = started + 40
        while time.monotonic() < deadline:
            failed = MonitorNotification.objects.filter(status=DeliveryStatus.FAILED)
            if failed.count() == 2:
                break
            time.sleep(0.3)
        valid(nwdaf_contract, slow.bodies())
    for name in ("dead", "slow"):
        notification = MonitorNotification.objects.get(subscription__notif_corr_id=name)
        assert notification.status == DeliveryStatus.FAILED, (name, notification.last_error)
        attempts = list(notification.delivery_attempts.order_by("number"))
        assert [a.number for a in attempts] == [1, 2, 3]  # SAMHUB_CALLBACK_ATTEMPTS
        assert all(a.http_status is None and a.error for a in attempts)
        waits = [
            (later.attempted_at - earlier.attempted_at).total_seconds()
            for earlier, later in zip(attempts, attempts[1:], strict=False)
        ]
        # Backoff 1 s then 2 s after each failed attempt (which itself may take up to 1 s).
        assert waits[0] >= 1 and waits[1] >= 2 and waits[1] > waits[0] - 0.5, waits
    assert (
        "no answer within 1 s"
        in MonitorNotification.objects.get(subscription__notif_corr_id="slow").last_error
    )
    delivered = MonitorNotification.objects.get(subscription__notif_corr_id="fast")
    assert (delivered.status, delivered.attempts) == (DeliveryStatus.DELIVERED, 1)
