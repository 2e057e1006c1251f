"""The version's monitoring page in the portal and the read-only admin: who sees what, the
chart's data from the measurement (drawn by Chart.js), "Start retraining" for those who may
request training (providers, Re-training subscribers, operators) and an operator's retraining
run to its end, and the link from the model page."""

import json
import re

import pytest

from monitoring import services
from registry.models import VersionStatus
from tests import factories
from tests.monitoring.conftest import infer_with_truth
from tests.training.training import upload_dataset
from training import execution
from training import services as training_services
from training.models import MLTrainingRequest, RequestStatus


@pytest.fixture
def monitored(version, consumer, subscription, loopback_callbacks):
    """A version with calls (6 of 8 right), a registration and a subscription of the
    consumer's with a threshold, and one immediate report."""
    infer_with_truth(version, consumer, right=6, wrong=2, batch=4)
    services.monitor_registration_create(
        user=consumer, version_id=version.pk, consumer_id="0f6b1b3e-4c4d-4b8e-9a0b-2f1c8f0d9a11",
        analytics_id="NF_LOAD",
    )  # fmt: skip
    services.monitor_subscription_create(
        user=consumer, version_ids=[version.pk], notification_uri="http://127.0.0.1:9/n",
        notif_corr_id="mine", accuracy_threshold=80,
        reporting=services.Reporting(immediate=True),
    )  # fmt: skip
    return version


def page(client, version):
    return client.get(f"/versions/{version.pk}/monitoring/")


def chart_data(html: str) -> dict:
    found = re.search(
        r'<script id="accuracy-chart-data" type="application/json">(.*?)</script>', html
    )
    assert found, "the chart's json_script element"
    return json.loads(found.group(1))


RETRAIN = "Start retraining"


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["provider", "operator", "consumer"])
def test_the_provider_operators_and_subscribed_consumers_see_the_page(
    monitored, who, request, client
):
    client.force_login(request.getfixturevalue(who))
    answer = page(client, monitored)
    assert answer.status_code == 200
    html = answer.content.decode()
    assert '<canvas id="accuracy-chart"' in html
    assert 'src="/static/vendor/chartjs/chart.umd.min.js"' in html
    assert 'src="/static/js/monitoring-chart.js"' in html
    assert "<svg" not in html
    data = chart_data(html)
    assert data["thresholds"] == [80]
    assert len(data["labels"]) == len(data["accuracy"]) == len(data["inferences"]) == 24
    assert sum(data["inferences"]) == 8
    assert [a for a in data["accuracy"] if a is not None] == [75]  # all in the last period
    assert data["accuracy"][-1] == 75 and data["inferences"][-1] == 8
    # Without JavaScript: the figures in the table and the thresholds in the canvas' text.
    assert "thresholds: 80 %.</canvas>" in html
    assert re.search(r"<td>8</td><td>8</td><td>75 %</td>", html)
    assert '<p id="degraded">' in html  # 75 % under 80 %
    assert '<dd id="current-accuracy">75 %</dd>' in html
    assert '<dd id="current-inferences">8</dd>' in html
    assert "NF_LOAD" in html  # the registration
    assert "Immediate report" in html  # the delivery log


@pytest.mark.django_db
def test_providers_of_the_models_organisation_start_retraining_from_the_page(
    monitored, client, provider
):
    client.force_login(provider)
    html = page(client, monitored).content.decode()
    url = f"/training/new/?version={monitored.pk}"
    assert f'<a class="button primary" href="{url}">{RETRAIN}</a>' in html
    form = client.get(url).content.decode()  # the form has the version chosen
    assert re.search(rf'<option value="{monitored.pk}" selected>', form)


@pytest.mark.django_db
def test_an_operator_starts_retraining_of_a_degraded_released_version_from_the_page(
    monitored, client, operator, organisation, tmp_path
):
    """Issue 10, scope 5: the operator sees the version degraded, follows Start retraining to
    the training request form and sends it; training runs it through training.services like
    any other request, and the version it makes goes to the audit as the operator's."""
    kpis = upload_dataset(operator, organisation, tmp_path, name="Fresh KPIs")
    client.force_login(operator)
    html = page(client, monitored).content.decode()
    assert '<p id="degraded">' in html
    url = f"/training/new/?version={monitored.pk}"
    assert f'<a class="button primary" href="{url}">{RETRAIN}</a>' in html
    form = client.get(url).content.decode()
    assert re.search(rf'<option value="{monitored.pk}" selected>', form)

    answer = client.post(
        "/training/new/",
        {"ml_entity": monitored.pk, "candidate_training_data_source": [kpis.pk], "priority": 3,
         "performance_metric": "ACCURACY", "performance_score": 0.5},
    )  # fmt: skip
    training = MLTrainingRequest.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"/training/requests/{training.pk}/"
    assert (training.ml_entity, training.requested_by, training.subscription) == (
        monitored,
        operator,
        None,
    )
    training_services.training_request_start(request_id=training.pk)
    execution.training_queue_run()
    training.refresh_from_db()
    trained = training.processes.get().trained_version
    assert training.status == RequestStatus.FINISHED
    assert trained.status == VersionStatus.SUBMITTED and trained.parent == monitored
    assert trained.created_by == operator and trained.submitted_by == operator
    assert f"retrained by operator {operator}" in trained.transitions.get(name="submit").reason


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["consumer", "other_provider"])
def test_those_who_may_not_request_its_training_see_no_retraining(monitored, who, request, client):
    """training.permissions: consumers without a Re-training subscription do not request
    training; a provider of another organisation does not see the page at all."""
    client.force_login(request.getfixturevalue(who))
    answer = page(client, monitored)
    if who == "other_provider":
        assert answer.status_code == 404
        return
    html = answer.content.decode()
    assert answer.status_code == 200 and RETRAIN not in html and "/training/new/" not in html


@pytest.mark.django_db
def test_a_consumer_with_a_retraining_subscription_starts_retraining(monitored, client):
    from sharing import services as sharing_services

    retrainer = factories.make_user("consumer", username="retrainer")
    sharing_services.subscription_request(user=retrainer, sam=monitored.sam, method="RETRAINING")
    services.monitor_subscription_create(
        user=retrainer, version_ids=[monitored.pk], notification_uri="http://127.0.0.1:9/r",
        notif_corr_id="retrainer", reporting=services.Reporting(immediate=True),
    )  # fmt: skip
    client.force_login(retrainer)
    html = page(client, monitored).content.decode()
    assert f'href="/training/new/?version={monitored.pk}">{RETRAIN}</a>' in html


@pytest.mark.django_db
def test_another_consumer_does_not_see_it(monitored, client):
    client.force_login(factories.make_user("consumer", username="stranger"))
    assert page(client, monitored).status_code == 404


@pytest.mark.django_db
def test_a_consumer_sees_only_their_own_registrations_and_notifications(
    monitored, client, loopback_callbacks
):
    other = factories.make_user("consumer", username="neighbour")
    services.monitor_subscription_create(
        user=other, version_ids=[monitored.pk], notification_uri="http://127.0.0.1:9/x",
        notif_corr_id="theirs", reporting=services.Reporting(immediate=True),
    )  # fmt: skip
    client.force_login(other)
    html = page(client, monitored).content.decode()
    assert "theirs" in html and "mine" not in html and "NF_LOAD" not in html


@pytest.mark.django_db
def test_the_model_page_links_each_version_to_its_monitoring(monitored, client, provider):
    client.force_login(provider)
    html = client.get(f"/models/{monitored.sam.slug}/").content.decode()
    assert f'href="/versions/{monitored.pk}/monitoring/"' in html
    client.force_login(factories.make_user("consumer", username="passer-by"))
    html = client.get(f"/models/{monitored.sam.slug}/").content.decode()
    assert f"/versions/{monitored.pk}/monitoring/" not in html


@pytest.mark.django_db
def test_operators_read_the_monitor_in_the_admin_and_change_nothing(monitored, client, operator):
    client.force_login(operator)
    for name in ("monitorregistration", "monitorsubscription", "monitornotification",
                 "analyticsfeedback"):  # fmt: skip
        assert client.get(f"/admin/monitoring/{name}/").status_code == 200, name
        assert client.get(f"/admin/monitoring/{name}/add/").status_code == 403, name
