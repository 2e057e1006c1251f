"""Nnwdaf_MLModelMonitor over HTTP without a worker: every request and answer validated
against TS29520_Nnwdaf_MLModelMonitor.yaml and the files it refers to; refusals are
ProblemDetails with a cause and store nothing; a consumer reaches only its own resources."""

import uuid

import jsonschema
import pytest

from monitoring.models import (
    MonitorNotification,
    MonitorRegistration,
    MonitorSubscription,
    NotificationKind,
    RegistrationStatus,
)
from tests import factories
from tests.monitoring.conftest import infer_with_truth

ROOT = "/nnwdaf-mlmodelmonitor/v1"
NF_ID = "0f6b1b3e-4c4d-4b8e-9a0b-2f1c8f0d9a11"


def post(client, contract, path: str, body, *, method="post", url=None):
    """Send a body the YAML accepts and check the answer against the YAML."""
    contract.request(path, method, body)
    answer = getattr(client, method)(url or ROOT + path, body, format="json")
    check(contract, path, method, answer)
    return answer


def check(contract, path: str, method: str, answer) -> None:
    body = answer.json() if answer.content else None
    contract.response(path, method, answer.status_code, body, answer.get("Content-Type", ""))


@pytest.fixture
def consumer_api(consumer):
    return factories.token_client(consumer)


@pytest.fixture
def other_consumer(db):
    return factories.make_user("consumer", username="other-consumer")


def subscription_body(version, receiver_url="http://127.0.0.1:9/notify", **extra):
    return {
        "modelIds": [version.pk],
        "notificationUri": receiver_url,
        "notifCorrId": "corr-1",
        **extra,
    }


# --- registrations ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_consumer_registers_the_use_of_a_model_and_deregisters_it(
    consumer_api, nwdaf_contract, version, consumer
):
    body = {
        "consumerId": NF_ID,
        "modelId": version.pk,
        "modelAccuInd": True,
        "mLEvent": "NF_LOAD",
        "mLEventFilter": {"anySlice": True},
    }
    answer = post(consumer_api, nwdaf_contract, "/registrations", body)
    assert answer.status_code == 201
    assert answer.json() == body
    registration = MonitorRegistration.objects.get()
    assert answer["Location"].endswith(f"{ROOT}/registrations/{registration.pk}")
    assert (registration.owner, registration.version, registration.analytics_id) == (
        consumer,
        version,
        "NF_LOAD",
    )

    gone = consumer_api.delete(answer["Location"])
    check(nwdaf_contract, "/registrations/{registrationId}", "delete", gone)
    assert gone.status_code == 204
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.DEREGISTERED
    assert registration.termination_cause == "Deregistered by the consumer"
    assert registration.events.get().actor == consumer
    again = consumer_api.delete(answer["Location"])
    check(nwdaf_contract, "/registrations/{registrationId}", "delete", again)
    assert again.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "cause", "param"),
    [
        ({"consumerId": NF_ID}, "MANDATORY_IE_MISSING", "/modelId"),
        ({"modelId": "VERSION"}, "MANDATORY_IE_MISSING", "/consumerId"),
        (
            {"consumerId": NF_ID, "consumerSetId": "set1.nfset.5gc", "modelId": "VERSION"},
            "MANDATORY_IE_INCORRECT",
            "/consumerSetId",
        ),
        (
            {"consumerId": "not-a-uuid", "modelId": "VERSION"},
            "MANDATORY_IE_INCORRECT",
            "/consumerId",
        ),
        ({"consumerId": NF_ID, "modelId": 999999}, "MANDATORY_IE_INCORRECT", "/modelId"),
        ({"consumerId": NF_ID, "modelId": "DRAFT"}, "MANDATORY_IE_INCORRECT", "/modelId"),
        ({"consumerId": NF_ID, "modelId": -1}, "MANDATORY_IE_INCORRECT", "/modelId"),
    ],
)
def test_a_bad_registration_is_refused_with_problem_details_and_nothing_stored(
    consumer_api, nwdaf_contract, version, draft, body, cause, param
):
    body = {k: {"VERSION": version.pk, "DRAFT": draft.pk}.get(v, v) for k, v in body.items()}
    answer = consumer_api.post(f"{ROOT}/registrations", body, format="json")
    assert answer.status_code == 400
    assert answer["Content-Type"] == "application/problem+json"
    check(nwdaf_contract, "/registrations", "post", answer)
    problem = answer.json()
    assert problem["cause"] == cause
    assert param in [p["param"] for p in problem["invalidParams"]]
    assert not MonitorRegistration.objects.exists()


@pytest.mark.django_db
def test_another_consumers_registration_is_not_found(
    consumer_api, nwdaf_contract, version, other_consumer
):
    answer = post(
        consumer_api, nwdaf_contract, "/registrations", {"consumerId": NF_ID, "modelId": version.pk}
    )
    other = factories.token_client(other_consumer).delete(answer["Location"])
    check(nwdaf_contract, "/registrations/{registrationId}", "delete", other)
    assert other.status_code == 404 and other.json()["cause"] == "CONTEXT_NOT_FOUND"
    assert MonitorRegistration.objects.get().status == RegistrationStatus.ACTIVE


# --- subscriptions ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_subscription_is_created_modified_and_deleted(
    consumer_api, nwdaf_contract, version, regressor, loopback_callbacks, settings
):
    settings.SAMHUB_MONITOR_SUBSCRIPTION_MAX_SECONDS = 86400  # an operator policy: one day
    body = subscription_body(
        version,
        accuThreshold=90,
        eventReportReq={"repPeriod": 60, "maxReportNbr": 10},
        suppFeat="0",
    )
    answer = post(consumer_api, nwdaf_contract, "/subscriptions", body)
    assert answer.status_code == 201
    subscription = MonitorSubscription.objects.get()
    assert answer["Location"].endswith(f"{ROOT}/subscriptions/{subscription.pk}")
    created = answer.json()
    assert created["modelIds"] == [version.pk]
    assert created["accuThreshold"] == 90
    # The expiry the operator's policy sets comes back as eventReportReq.monDur.
    assert created["eventReportReq"]["repPeriod"] == 60
    assert created["eventReportReq"]["monDur"].startswith(
        subscription.expires_at.strftime("%Y-%m-%dT%H:%M:%S")
    )
    assert "immReport" not in created

    modified = post(
        consumer_api,
        nwdaf_contract,
        "/subscriptions/{subscriptionId}",
        subscription_body(regressor, notifCorrId="corr-2", eventReportReq={"repPeriod": 30}),
        method="put",
        url=answer["Location"],
    )
    assert modified.status_code == 200
    assert modified.json()["modelIds"] == [regressor.pk]
    assert modified.json()["notifCorrId"] == "corr-2"
    subscription.refresh_from_db()
    assert (subscription.period_seconds, subscription.notif_corr_id) == (30, "corr-2")

    gone = consumer_api.delete(answer["Location"])
    check(nwdaf_contract, "/subscriptions/{subscriptionId}", "delete", gone)
    assert gone.status_code == 204
    subscription.refresh_from_db()
    assert subscription.status == "UNSUBSCRIBED"
    again = consumer_api.delete(answer["Location"])
    assert again.status_code == 404 and again.json()["cause"] == "SUBSCRIPTION_NOT_FOUND"


@pytest.mark.django_db
def test_an_immediate_report_comes_in_the_201_answer(
    consumer_api, nwdaf_contract, version, consumer, subscription, loopback_callbacks
):
    infer_with_truth(version, consumer, right=6, wrong=2, batch=4,
                     input_data_set={"data_set_id": "kpis-0601", "adrf_id": NF_ID})  # fmt: skip
    body = subscription_body(version, accuThreshold=80, eventReportReq={"immRep": True})
    answer = post(consumer_api, nwdaf_contract, "/subscriptions", body)
    assert answer.status_code == 201
    report = answer.json()["immReport"]
    nwdaf_contract.schema("MLModelMonitorNotify").validate(report)
    (info,) = report["modelAccuInfos"]
    assert report["notifCorrId"] == "corr-1"
    assert info["modelId"] == version.pk
    assert info["inferenceNum"] == 8
    assert info["mlModelAcc"] == 75  # 6 of 8 right
    assert info["deviation"] == pytest.approx(0.25)
    assert info["modelMetric"] == "ACCURACY"
    assert (info["dataSetTag"], info["adrfId"]) == ({"dataSetId": "kpis-0601"}, NF_ID)
    assert report["accuMeetInd"] is False  # 75 % < 80 %
    logged = MonitorNotification.objects.get()
    assert (logged.kind, logged.status, logged.body) == (
        NotificationKind.IMMEDIATE,
        "DELIVERED",
        report,
    )


@pytest.mark.django_db
def test_a_subscription_reflects_the_consumers_registration(
    consumer_api, nwdaf_contract, version, loopback_callbacks
):
    registration = {
        "consumerId": NF_ID, "modelId": version.pk, "mLEvent": "ABNORMAL_BEHAVIOUR",
        "tgtUe": {"anyUe": True},
    }  # fmt: skip
    post(consumer_api, nwdaf_contract, "/registrations", registration)
    answer = post(consumer_api, nwdaf_contract, "/subscriptions", subscription_body(version))
    assert answer.json()["mLEvent"] == "ABNORMAL_BEHAVIOUR"
    assert answer.json()["tgtUe"] == {"anyUe": True}


def _bad_subscriptions(version_id: int, draft_id: int) -> list:
    good = {"modelIds": [version_id], "notificationUri": "http://127.0.0.1:9/n",
            "notifCorrId": "c"}  # fmt: skip
    without = lambda name: {k: v for k, v in good.items() if k != name}  # noqa: E731
    return [
        (without("modelIds"), "MANDATORY_IE_MISSING", "/modelIds"),
        (without("notificationUri"), "MANDATORY_IE_MISSING", "/notificationUri"),
        (without("notifCorrId"), "MANDATORY_IE_MISSING", "/notifCorrId"),
        ({**good, "modelIds": []}, "MANDATORY_IE_INCORRECT", "/modelIds"),
        ({**good, "modelIds": [999999]}, "MANDATORY_IE_INCORRECT", "/modelIds/0"),
        ({**good, "modelIds": [version_id, draft_id]}, "MANDATORY_IE_INCORRECT", "/modelIds/1"),
        (
            {**good, "notificationUri": "ftp://127.0.0.1/n"},
            "MANDATORY_IE_INCORRECT",
            "/notificationUri",
        ),
        ({**good, "notificationUri": "not a uri"}, "MANDATORY_IE_INCORRECT", "/notificationUri"),
        ({**good, "accuThreshold": 101}, "MANDATORY_IE_INCORRECT", "/accuThreshold"),
        (
            {**good, "eventReportReq": {"repPeriod": 0}},
            "MANDATORY_IE_INCORRECT",
            "/eventReportReq/repPeriod",
        ),
        (
            {**good, "eventReportReq": {"monDur": "2001-01-01T00:00:00Z"}},
            "OPTIONAL_IE_INCORRECT",
            "/eventReportReq/monDur",
        ),
        ({**good, "modelMetric": "PRECISION"}, "OPTIONAL_IE_INCORRECT", "/modelMetric"),
    ]


@pytest.mark.django_db
def test_bad_subscriptions_are_refused_with_problem_details_and_nothing_stored(
    consumer_api, nwdaf_contract, version, draft, loopback_callbacks
):
    for body, cause, param in _bad_subscriptions(version.pk, draft.pk):
        answer = consumer_api.post(f"{ROOT}/subscriptions", body, format="json")
        assert answer.status_code == 400, body
        assert answer["Content-Type"] == "application/problem+json"
        check(nwdaf_contract, "/subscriptions", "post", answer)
        assert answer.json()["cause"] == cause, (body, answer.json())
        assert param in [p["param"] for p in answer.json()["invalidParams"]], answer.json()
    assert not MonitorSubscription.objects.exists()
    assert not MonitorNotification.objects.exists()


REPORTING = {
    "immRep": False, "notifMethod": "PERIODIC", "maxReportNbr": 3,
    "monDur": "2099-01-01T00:00:00Z", "repPeriod": 60, "sampRatio": 50,
    "partitionCriteria": ["TAC", "SNSSAI"], "grpRepTime": 10, "notifFlag": "ACTIVATE",
    "notifFlagInstruct": {"bufferedNotifs": "SEND_ALL", "subscription": "CLOSE"},
    "mutingSetting": {"maxNoOfNotif": 5, "durationBufferedNotif": 60},
}  # fmt: skip


@pytest.mark.django_db
def test_every_attribute_of_event_report_req_is_taken_and_answered(
    consumer_api, nwdaf_contract, version, loopback_callbacks
):
    answer = post(
        consumer_api, nwdaf_contract, "/subscriptions", subscription_body(version,
        eventReportReq=REPORTING)
    )  # fmt: skip
    assert answer.status_code == 201
    answered = answer.json()["eventReportReq"]
    assert answered.pop("monDur").startswith("2099-01-01T00:00:00")
    assert answered == {k: v for k, v in REPORTING.items() if k not in ("immRep", "monDur")}
    subscription = MonitorSubscription.objects.get()
    assert (subscription.notify_method, subscription.period_seconds, subscription.max_reports) == (
        "PERIODIC", 60, 3,
    )  # fmt: skip


# Values the schema of eventReportReq refuses (TS 29.523 ReportingInformation, its TS 29.571
# types and the stand-in for TS 29.508 NotificationMethod): attribute, value.
BAD_REPORTING = [
    ("notifMethod", "SOMETIMES"), ("notifMethod", 1), ("immRep", "true"),
    ("maxReportNbr", "3"), ("maxReportNbr", -1), ("monDur", "tomorrow"),
    ("monDur", "2099-01-01T00:00:00"), ("repPeriod", "60"), ("repPeriod", 1.5),
    ("sampRatio", 0), ("sampRatio", 101), ("sampRatio", "50"), ("partitionCriteria", []),
    ("partitionCriteria", "TAC"), ("partitionCriteria", [1]), ("grpRepTime", "10"),
    ("grpRepTime", 1.5), ("notifFlag", 1), ("notifFlagInstruct", "SEND_ALL"),
    ("notifFlagInstruct", {"bufferedNotifs": 1}), ("mutingSetting", {"maxNoOfNotif": "5"}),
    ("mutingSetting", {"durationBufferedNotif": 1.5}),
]  # fmt: skip


@pytest.mark.django_db
def test_a_value_the_schema_of_event_report_req_refuses_is_refused_and_nothing_stored(
    consumer_api, nwdaf_contract, version, loopback_callbacks
):
    for name, value in BAD_REPORTING:
        body = subscription_body(version, eventReportReq={**REPORTING, name: value})
        with pytest.raises(jsonschema.ValidationError):
            nwdaf_contract.request("/subscriptions", "post", body)
        answer = consumer_api.post(f"{ROOT}/subscriptions", body, format="json")
        check(nwdaf_contract, "/subscriptions", "post", answer)
        assert answer.status_code == 400, (name, value)
        assert answer["Content-Type"] == "application/problem+json"
        problem = answer.json()
        assert problem["cause"] == "MANDATORY_IE_INCORRECT"
        params = [p["param"] for p in problem["invalidParams"]]
        assert any(p.startswith(f"/eventReportReq/{name}") for p in params), (value, problem)
    assert not MonitorSubscription.objects.exists()
    assert not MonitorNotification.objects.exists()


@pytest.mark.django_db
def test_malformed_json_is_refused_as_an_invalid_message(consumer_api, nwdaf_contract):
    for path in ("/registrations", "/subscriptions"):
        answer = consumer_api.post(
            ROOT + path, data=b'{"modelIds": [1,', content_type="application/json"
        )
        check(nwdaf_contract, path, "post", answer)
        assert (answer.status_code, answer.json()["cause"]) == (400, "INVALID_MSG_FORMAT")
    assert not MonitorSubscription.objects.exists() and not MonitorRegistration.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:8080/n",
        "http://localhost/n",
        "http://[::1]/n",
        "http://10.1.2.3/n",
        "http://192.168.0.10/n",
        "http://169.254.169.254/latest/meta-data",
    ],
)
def test_a_callback_to_loopback_or_a_private_network_is_refused_unless_allowed(
    consumer_api, nwdaf_contract, version, uri, settings
):
    settings.SAMHUB_CALLBACK_ALLOWED_NETWORKS = []
    answer = consumer_api.post(
        f"{ROOT}/subscriptions", subscription_body(version, uri), format="json"
    )
    check(nwdaf_contract, "/subscriptions", "post", answer)
    assert answer.status_code == 400
    assert "loopback, private or reserved" in answer.json()["detail"]
    assert not MonitorSubscription.objects.exists()
    if uri.startswith("http://127."):
        settings.SAMHUB_CALLBACK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
        allowed = consumer_api.post(
            f"{ROOT}/subscriptions", subscription_body(version, uri), format="json"
        )
        assert allowed.status_code == 201


@pytest.mark.django_db
def test_another_consumers_subscription_is_not_found(
    consumer_api, nwdaf_contract, version, other_consumer, loopback_callbacks
):
    answer = post(consumer_api, nwdaf_contract, "/subscriptions", subscription_body(version))
    other = factories.token_client(other_consumer)
    for method, body in (("put", subscription_body(version, notifCorrId="x")), ("delete", None)):
        refused = getattr(other, method)(answer["Location"], body, format="json")
        check(nwdaf_contract, "/subscriptions/{subscriptionId}", method, refused)
        assert refused.status_code == 404
        assert refused.json()["cause"] == "SUBSCRIPTION_NOT_FOUND"
    unknown = other.delete(f"{ROOT}/subscriptions/{uuid.uuid4()}")
    assert unknown.status_code == 404
    subscription = MonitorSubscription.objects.get()
    assert (subscription.status, subscription.notif_corr_id) == ("ACTIVE", "corr-1")


@pytest.mark.django_db
def test_it_needs_a_token_and_a_role_that_may_monitor(nwdaf_contract, version, auditor, api):
    anonymous = api().post(f"{ROOT}/subscriptions", subscription_body(version), format="json")
    check(nwdaf_contract, "/subscriptions", "post", anonymous)
    assert anonymous.status_code == 401
    assert anonymous["Content-Type"] == "application/problem+json"
    refused = factories.token_client(auditor).post(
        f"{ROOT}/registrations", {"consumerId": NF_ID, "modelId": version.pk}, format="json"
    )
    check(nwdaf_contract, "/registrations", "post", refused)
    assert refused.status_code == 403
    assert not MonitorRegistration.objects.exists()
