"""A released version's usage: calls, errors and latency percentiles per hour and per day,
aggregated in SQL (sharing.usage), and the usage page that charts them — who may open it, whose
calls it shows, its table and empty state, and the accuracy monitoring adds to it."""

import json
import random
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from sharing import services, usage
from sharing.models import InferenceOutcome
from tests import factories
from tests.monitoring.conftest import infer_with_truth
from tests.sharing.calls import nearest_rank, record_calls

NOW = datetime(2030, 1, 10, 12, 30, tzinfo=UTC)


@pytest.fixture
def released(provider, auditor):
    """A released version behind an external endpoint (quick to make; its calls generated)."""
    return factories.make_released(provider, auditor, name="Cell load forecaster")


@pytest.fixture
def granted(consumer, released):
    """The consumer's ACTIVE subscription to it (it needs no grant)."""
    return services.subscription_request(user=consumer, sam=released.sam, method="INFERENCE")


def page(client, user, version, **params):
    client.force_login(user)
    return client.get(reverse("sharing:version-usage", args=[version.pk]), params)


def chart(html: str) -> dict:
    found = re.search(r'<script id="usage-chart-data" type="application/json">(.*?)</script>', html)
    assert found, "the charts' json_script element"
    return json.loads(found.group(1))


# --- the figures, in SQL ---------------------------------------------------------------------


@pytest.mark.django_db
def test_calls_errors_and_latency_percentiles_per_hour_match_a_direct_computation(
    released, consumer
):
    window = usage.usage_window("hour", now=NOW)
    assert (window.start, window.end) == (
        NOW - timedelta(hours=47, minutes=30),
        NOW + timedelta(minutes=30),
    )
    rng = random.Random(7)
    # Periods of 1, 2, 7, 20, 101 answered calls (every nearest rank differs), ties included,
    # and errors, whose latency does not count.
    made = {0: 1, 5: 2, 30: 7, 46: 20, 47: 101}
    answered, errors = {}, {5: 3, 46: 1, 10: 2}
    for index, n in made.items():
        moment = window.start + timedelta(hours=index, minutes=rng.randrange(60))
        answered[index] = [round(rng.uniform(1, 50), 1) for _ in range(n - 2)] + [9.5, 9.5][:n]
        record_calls(released, consumer, at=moment, latencies=answered[index], count=2)
    for index, n in errors.items():
        moment = window.start + timedelta(hours=index, minutes=59, seconds=59)
        record_calls(
            released, consumer, at=moment, latencies=[999.0] * n, outcome=InferenceOutcome.ERROR
        )
    # Outside the window: an hour too early, and the end itself.
    record_calls(released, consumer, at=window.start - timedelta(seconds=1), latencies=[1.0])
    record_calls(released, consumer, at=window.end, latencies=[1.0])

    with CaptureQueriesContext(connection) as queries:
        periods, total = usage.version_usage(released.pk, window)

    # Three statements whatever the calls: counts, percentiles per hour, over the window.
    assert len(queries) == 3
    assert sum("ROW_NUMBER() OVER" in q["sql"] for q in queries) == 2
    assert len(periods) == 48 and [p.start for p in periods] == window.starts()
    for index, period in enumerate(periods):
        latencies = answered.get(index, [])
        assert period.calls == len(latencies) + errors.get(index, 0), index
        assert period.errors == errors.get(index, 0)
        assert period.instances == 2 * len(latencies) + errors.get(index, 0)
        for p in usage.PERCENTILES:
            expected = nearest_rank(latencies, p) if latencies else None
            assert period.percentile(p) == expected, (index, p)
    assert periods[5].error_rate == pytest.approx(3 / 5)
    assert periods[10].error_rate == 1.0 and periods[10].percentile(50) is None
    assert periods[1].error_rate is None  # no calls
    everything = [x for latencies in answered.values() for x in latencies]
    assert total.calls == len(everything) + sum(errors.values())
    assert total.errors == sum(errors.values())
    assert total.latency == {p: nearest_rank(everything, p) for p in usage.PERCENTILES}


@pytest.mark.django_db
def test_per_day_the_periods_are_whole_days_and_a_callers_own_calls_can_be_counted_alone(
    released, consumer
):
    other = factories.make_user("consumer")
    window = usage.usage_window("day", now=NOW)
    assert window.count == 30 and window.end == datetime(2030, 1, 11, tzinfo=UTC)
    record_calls(released, consumer, at=datetime(2030, 1, 10, 0, 0, tzinfo=UTC), latencies=[5, 7])
    record_calls(released, other, at=datetime(2030, 1, 10, 23, 59, tzinfo=UTC), latencies=[100])
    record_calls(released, other, at=datetime(2030, 1, 9, 23, 59, tzinfo=UTC), latencies=[3])
    record_calls(
        released, consumer, at=datetime(2029, 12, 13, tzinfo=UTC), latencies=[1],
        outcome=InferenceOutcome.INVALID_INPUT,
    )  # fmt: skip

    periods, total = usage.version_usage(released.pk, window)
    assert [(p.calls, p.errors) for p in periods if p.calls] == [(1, 1), (1, 0), (3, 0)]
    assert periods[0].start == datetime(2029, 12, 12, tzinfo=UTC) and periods[1].errors == 1
    assert periods[-1].latency == {50: 7, 95: 100, 99: 100}
    assert total.latency == {50: 5, 95: 100, 99: 100}

    mine, mine_total = usage.version_usage(released.pk, window, caller=consumer)
    assert [(p.calls, p.errors) for p in mine if p.calls] == [(1, 1), (2, 0)]
    assert mine[-1].latency == {50: 5, 95: 7, 99: 7}
    assert (mine_total.calls, mine_total.errors) == (3, 1)


# --- the page --------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["provider", "operator"])
def test_the_models_providers_and_operators_see_every_call(
    released, granted, consumer, who, request, client
):
    now = timezone.now()
    record_calls(released, consumer, at=now - timedelta(hours=2), latencies=[10, 20, 30])
    other = factories.make_user("consumer")
    record_calls(
        released, other, at=now - timedelta(hours=2), latencies=[5], outcome="UPSTREAM_ERROR"
    )

    answer = page(client, request.getfixturevalue(who), released)

    assert answer.status_code == 200
    html = answer.content.decode()
    assert "Every metered reasoning call of this version." in html
    assert '<dd id="total-calls">4</dd>' in html and '<dd id="total-errors">1</dd>' in html
    assert '<dd id="total-error-rate">25.0 %</dd>' in html
    assert '<dd id="total-p50">20.0 ms</dd>' in html
    assert '<dd id="total-p99">30.0 ms</dd>' in html
    # Charts from the vendored Chart.js, the figures in a table for those without JavaScript.
    assert 'src="/static/vendor/chartjs/chart.umd.min.js"' in html
    assert 'src="/static/js/usage-charts.js"' in html
    assert '<canvas id="calls-chart"' in html and '<canvas id="latency-chart"' in html
    data = chart(html)
    assert len(data["labels"]) == len(data["calls"]) == 48
    assert sum(data["calls"]) == 4 and sum(data["errors"]) == 1
    assert [r for r in data["errorRate"] if r is not None] == [25.0]
    assert [x for x in data["latency"]["95"] if x is not None] == [30.0]
    rows = re.findall(r"<tr><th scope=\"row\">[^<]*</th>(.*?)</tr>", html)
    assert rows == [
        "<td>4</td><td>1</td><td>25.0 %</td><td>4</td><td>20.0</td><td>30.0</td><td>30.0</td>"
    ]


@pytest.mark.django_db
def test_a_subscribed_consumer_sees_only_their_own_calls(released, granted, consumer, client):
    now = timezone.now()
    record_calls(released, consumer, at=now - timedelta(hours=1), latencies=[12])
    other = factories.make_user("consumer")
    record_calls(released, other, at=now - timedelta(hours=1), latencies=[1, 2, 3])

    html = page(client, consumer, released).content.decode()

    assert "Your own reasoning calls of this version" in html
    assert '<dd id="total-calls">1</dd>' in html
    assert '<dd id="total-p50">12.0 ms</dd>' in html
    assert sum(chart(html)["calls"]) == 1


@pytest.mark.django_db
def test_outsiders_and_consumers_without_a_granted_subscription_get_a_404(
    released, consumer, other_provider, auditor, client, provider
):
    assert page(client, other_provider, released).status_code == 404
    assert page(client, consumer, released).status_code == 404  # no subscription
    assert page(client, auditor, released).status_code == 404  # sees the version, not its use
    gated = factories.make_released(provider, auditor, approval_required=True)
    waiting = services.subscription_request(user=consumer, sam=gated.sam, method="INFERENCE")
    assert waiting.status == "PENDING"
    assert page(client, consumer, gated).status_code == 404
    client.logout()
    anonymous = client.get(reverse("sharing:version-usage", args=[released.pk]))
    assert anonymous.status_code == 302 and "/login/" in anonymous.url


@pytest.mark.django_db
def test_a_version_never_released_has_no_usage_page(provider, client):
    draft = factories.make_draft(provider)
    assert page(client, provider, draft).status_code == 404
    missing = client.get(reverse("sharing:version-usage", args=[draft.pk + 1000]))
    assert missing.status_code == 404


@pytest.mark.django_db
def test_a_suspended_consumer_still_sees_their_past_calls(
    released, granted, consumer, provider, client
):
    services.subscription_transition(
        subscription_id=granted.pk, user=provider, name="suspend", reason="Over quota"
    )
    assert page(client, consumer, released).status_code == 200


@pytest.mark.django_db
def test_without_calls_the_page_says_so_and_offers_the_longer_period(released, provider, client):
    html = page(client, provider, released).content.decode()
    assert 'id="no-calls"' in html
    assert "No calls of this version in the last 48 hours." in html
    assert '<a href="?by=day">See the last 30 days.</a>' in html
    assert "<canvas" not in html  # no empty charts
    # An external endpoint without a signature: monitoring has no output to measure.
    assert 'id="no-monitored-output"' in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("by", "periods"), [("day", 30), ("hour", 48), ("week", 48), ("", 48), ("<script>", 48)]
)
def test_the_period_is_an_hour_or_a_day_anything_else_is_an_hour(
    released, provider, client, by, periods
):
    record_calls(released, provider, at=timezone.now() - timedelta(minutes=5), latencies=[1])
    answer = page(client, provider, released, by=by)
    assert answer.status_code == 200
    html = answer.content.decode()
    assert len(chart(html)["labels"]) == periods
    current = "day" if by == "day" else "hour"
    assert f'id="by-{current}" aria-current="page"' in html
    assert "<script>" not in html and "&lt;script" not in html  # never echoed


@pytest.mark.django_db
def test_the_model_page_links_the_usage_page_for_those_who_may_open_it(
    released, consumer, provider, client
):
    model_page = reverse("registry:model-detail", args=[released.sam.slug])
    link = f'href="{reverse("sharing:version-usage", args=[released.pk])}"'
    client.force_login(provider)
    assert link in client.get(model_page).content.decode()
    client.force_login(consumer)
    assert link not in client.get(model_page).content.decode()
    services.subscription_request(user=consumer, sam=released.sam, method="INFERENCE")
    assert link in client.get(model_page).content.decode()


@pytest.mark.django_db
def test_monitoring_adds_the_accuracy_against_ground_truth(version, consumer, subscription, client):
    """Real calls of a released classifier, 6 of 8 right once ground truth is attached."""
    infer_with_truth(version, consumer, right=6, wrong=2, batch=4)

    html = page(client, consumer, version).content.decode()

    assert 'id="usage-accuracy"' in html
    assert '<canvas id="accuracy-chart"' in html
    assert 'src="/static/js/monitoring-chart.js"' in html  # the monitoring page's chart
    found = re.search(
        r'<script id="accuracy-chart-data" type="application/json">(.*?)</script>', html
    )
    data = json.loads(found.group(1))
    assert len(data["labels"]) == len(data["accuracy"]) == 48
    assert [a for a in data["accuracy"] if a is not None] == [75]
    assert sum(data["inferences"]) == 8 and data["thresholds"] == []
    assert re.search(r"<td>8</td><td>8</td><td>75 %</td>", html)
    assert '<dd id="total-calls">2</dd>' in html  # two calls of four instances
