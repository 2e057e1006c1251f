"""/api/v1/training-requests, -processes and -reports: the 3GPP attribute names, pagination,
who sees what (owner, other member, outsider), the §7.5 flags by PATCH, and refusals in the
error shape."""

import pytest

from tests import factories
from tests.training.training import process_of, trainable_version, upload_dataset
from training import execution, services


@pytest.fixture
def trainable(provider, auditor):
    return trainable_version(provider, auditor)


@pytest.fixture
def dataset(provider, organisation, tmp_path):
    return upload_dataset(provider, organisation, tmp_path)


def create(client, version, datasets=(), **extra):
    return client.post(
        "/api/v1/training-requests/",
        {
            "mLEntityId": version.pk,
            "candidateTraingDataSource": [d.pk for d in datasets],
            "performanceRequirements": [{"performanceMetric": "ACCURACY", "performanceScore": 0.8}],
            "expectedRuntimeContext": {"inferenceEntityRef": ["SubNetwork=1,ManagedElement=9"]},
            **extra,
        },
        format="json",
    )


def test_a_provider_creates_a_request_with_the_3gpp_attributes(api, trainable, provider, dataset):
    answer = create(api(provider), trainable, [dataset], priority=3)
    body = answer.json()
    assert answer.status_code == 201
    assert body["mLEntityId"] == str(trainable.pk)
    assert body["candidateTraingDataSource"] == [dataset.pk]
    assert body["traingDataQualityScore"] == dataset.quality_score
    assert body["requestStatus"] == "NOT_STARTED"
    assert body["trainingRequestSource"] == "provider"
    assert body["performanceRequirements"] == [
        {"inferenceOutputName": "label", "performanceMetric": "ACCURACY", "performanceScore": 0.8}
    ]
    assert body["expectedRuntimeContext"] == {
        "inferenceEntityRef": ["SubNetwork=1,ManagedElement=9"],
        "dataProviderRef": [],
    }
    assert body["cancelRequest"] is False and body["suspendRequest"] is False
    assert body["priority"] == 3 and body["dn"].endswith(f"MLTrainingRequest={body['id']}")


def test_an_onnx_version_is_refused_in_the_error_shape(api, provider, auditor):
    onnx = factories.make_version_in("RELEASED", provider=provider, auditor=auditor, kind="onnx")
    answer = create(api(provider), onnx)
    assert answer.status_code == 400
    assert answer.json()["code"] == "not_trainable" and "ONNX" in answer.json()["detail"]


def test_who_sees_requests_processes_and_reports(
    api, trainable, provider, dataset, other_provider, auditor, organisation
):
    request = services.training_request_create(
        user=provider, ml_entity_id=trainable.pk, performance_requirements=[],
        candidate_training_data_source=[dataset.pk],
    )  # fmt: skip
    services.training_request_start(request_id=request.pk)
    execution.training_queue_run()
    process = process_of(request)
    colleague = factories.make_user("provider", organisation=organisation, username="colleague")
    urls = [
        f"/api/v1/training-requests/{request.pk}/",
        f"/api/v1/training-processes/{process.pk}/",
        f"/api/v1/training-reports/{process.report.pk}/",
    ]
    for user in (provider, colleague, auditor):
        assert [api(user).get(url).status_code for url in urls] == [200, 200, 200]
    assert [api(other_provider).get(url).status_code for url in urls] == [404, 404, 404]
    assert api(other_provider).get("/api/v1/training-requests/").json()["count"] == 0
    assert api().get(urls[0]).status_code == 401

    listed = api(provider).get("/api/v1/training-processes/?page_size=1").json()
    assert listed["count"] == 1 and len(listed["results"]) == 1
    shown = api(provider).get(urls[1]).json()
    assert shown["progressStatus"]["status"] == "FINISHED"
    assert shown["progressStatus"]["progressStateInfo"] == "TRAINING"
    assert shown["progressStatus"]["progressPercentage"] == 100
    assert shown["trainingRequestRef"] == [request.dn]
    assert shown["trainingReportRef"] == process.report.dn
    report = api(provider).get(urls[2]).json()
    assert report["areConsumerTrainingDataUsed"] == "ALL"
    assert report["usedConsumerTrainingData"] == [dataset.pk]
    assert 0 <= report["confidenceIndication"] <= 100
    assert report["trainingProcessRef"] == process.dn and report["lastTrainingRef"] is None
    assert report["trained_version"] == process.trained_version_id


def test_patch_flags_and_actions(api, trainable, provider, dataset, other_provider):
    request_id = create(api(provider), trainable, [dataset]).json()["id"]
    url = f"/api/v1/training-requests/{request_id}/"

    nothing = api(provider).patch(url, {"cancelRequest": "FALSE"}, format="json")
    wrong = api(provider).patch(url, {"suspendRequest": "maybe"}, format="json")
    outsider = api(other_provider).post(url + "suspend/")
    suspended = api(provider).post(url + "suspend/", {"reason": "maintenance"}, format="json")
    again = api(provider).post(url + "suspend/")
    resumed = api(provider).post(url + "resume/")
    cancelled = api(provider).patch(url, {"cancelRequest": "TRUE"}, format="json")

    assert nothing.status_code == 200 and nothing.json()["requestStatus"] == "NOT_STARTED"
    assert wrong.status_code == 400 and '"TRUE" or "FALSE"' in wrong.json()["detail"]
    assert outsider.status_code == 404
    assert suspended.json()["requestStatus"] == "SUSPENDED"
    assert again.status_code == 409 and "it is SUSPENDED" in again.json()["detail"]
    assert resumed.json()["requestStatus"] == "NOT_STARTED"
    assert cancelled.json()["requestStatus"] == "CANCELLED"
