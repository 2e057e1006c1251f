"""The version's monitoring page in the portal and the read-only admin: who sees what, the
chart drawn from the measurement, and the link from the model page."""

import pytest

from monitoring import services
from tests import factories
from tests.monitoring.conftest import infer_with_truth


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


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["provider", "operator", "consumer"])
def test_the_provider_operators_and_subscribed_consumers_see_the_page(
    monitored, who, request, client
):
    client.force_login(request.getfixturevalue(who))
    answer = page(client, monitored)
    assert answer.status_code == 200
    html = answer.content.decode()
    assert 'id="accuracy-chart"' in html and "<polyline" in html  # the line of the chart
    assert 'class="threshold"' in html and "threshold 80 %" in html
    assert '<dd id="current-accuracy">75 %</dd>' in html
    assert '<dd id="current-inferences">8</dd>' in html
    assert "NF_LOAD" in html  # the registration
    assert "Immediate report" in html  # the delivery log


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
