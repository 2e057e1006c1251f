"""The portal's home (core.home), `/`: a part per role the user holds, each with the figures of
generated data — a provider's models by state, findings, subscribers and calls per day; an
auditor's queue with ages and past decisions; a consumer's subscriptions, own calls, packages
and notices; an operator's workers and queues."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from registry import services as registry_services
from registry.models import ModelVersion
from sharing import extraction, usage
from sharing import services as sharing_services
from sharing.models import DeliveryKind, InferenceOutcome
from tests import factories
from tests.sharing.calls import record_calls


def home(client, user) -> str:
    client.force_login(user)
    answer = client.get("/")
    assert answer.status_code == 200
    return answer.content.decode()


def cell(html: str, element_id: str) -> str:
    """The text of the element with that id, tags and spaces squeezed."""
    found = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', html, re.S)
    assert found, f"no #{element_id}"
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(2)).split())


def parts(html: str) -> list[str]:
    return re.findall(r'<section class="home-part" id="home-(\w+)"', html)


@pytest.mark.django_db
def test_signing_in_lands_on_the_home_and_the_catalog_has_its_own_address(client, consumer):
    answer = client.post(
        reverse("core:login"), {"username": "consumer", "password": factories.PASSWORD}
    )
    assert answer.status_code == 302 and answer.url == "/" == reverse("core:home")
    assert reverse("registry:catalog") == "/catalog/"
    assert client.get("/catalog/").status_code == 200
    assert 'class="brand" href="/"' in client.get("/catalog/").content.decode()
    client.logout()
    assert client.get("/").url.startswith(reverse("core:login"))


@pytest.mark.django_db
def test_a_provider_sees_models_by_state_findings_subscribers_and_calls_per_day(
    client, provider, auditor, other_provider
):
    released = factories.make_released(provider, auditor, name="Cell load forecaster")
    rejected = factories.make_version_in(
        "REJECTED", provider=provider, auditor=auditor, with_file=False
    )
    factories.make_draft(provider, sam=released.sam, version="1.1.0")
    elsewhere = factories.make_released(other_provider, auditor, name="Not theirs")
    # Subscribers: two active consumers, and a cancelled subscription that no longer counts.
    first, second, gone = (factories.make_user("consumer") for _ in range(3))
    for consumer in (first, second):
        sharing_services.subscription_request(user=consumer, sam=released.sam, method="INFERENCE")
    left = sharing_services.subscription_request(user=gone, sam=released.sam, method="INFERENCE")
    sharing_services.subscription_transition(subscription_id=left.pk, user=gone, name="cancel")
    # Calls over the last seven days, today last: generated at the start of each day.
    days = usage.usage_window("day", count=7).starts()
    record_calls(released, first, at=days[6], latencies=[10, 11, 12])
    record_calls(released, second, at=days[6], latencies=[50], outcome=InferenceOutcome.ERROR)
    record_calls(released, second, at=days[4], latencies=[5, 6])
    record_calls(released, first, at=days[0], latencies=[9], outcome=InferenceOutcome.ERROR)
    record_calls(released, first, at=days[0] - timedelta(seconds=1), latencies=[1])  # 8 days ago
    record_calls(elsewhere, first, at=days[6], latencies=[1] * 5)  # another organisation's

    html = home(client, provider)

    assert parts(html) == ["provider"]  # no subscription of their own: no consumer part
    # Models by state, over all their models and per model.
    assert cell(html, "total-released") == "Released: 1"
    assert cell(html, "total-draft") == "Draft: 1"
    assert cell(html, "total-rejected") == "Rejected: 1"
    assert f'id="home-model-{released.sam.pk}"' in html
    assert f'id="home-model-{elsewhere.sam.pk}"' not in html
    # The rejected version with its finding, linked to its panel.
    assert "Findings to fix (1)" in html
    assert cell(html, f"home-fix-{rejected.pk}").startswith(f"{rejected.sam.name} 1.0.0")
    assert "Say which cells it was not tested on." in html
    # Subscribers and calls (errors) per day of the released version, and the week's total.
    assert cell(html, f"subscribers-{released.pk}") == "2"
    shown = [cell(html, f"day-{released.pk}-{i}") for i in range(7)]
    assert shown == ["1 (1 error)", "0", "0", "0", "2", "0", "4 (1 error)"]
    assert cell(html, f"week-{released.pk}") == "7 (2 errors)"
    assert f'id="home-usage-{elsewhere.pk}"' not in html
    assert f'href="{reverse("sharing:version-usage", args=[released.pk])}"' in html


@pytest.mark.django_db
def test_a_provider_without_models_or_organisation_is_told_what_to_do(client, organisation):
    lone = factories.make_user("provider")
    assert "You belong to no organisation yet" in home(client, lone)
    member = factories.make_user("provider", organisation=organisation)
    html = home(client, member)
    assert "No models yet." in html and "No findings to fix" in html
    assert "None of your organisations' versions is released yet" in html


@pytest.mark.django_db
def test_an_auditor_sees_the_queue_with_ages_and_their_past_decisions(
    client, provider, auditor, second_auditor
):
    waiting = factories.make_version_in("SUBMITTED", provider=provider, auditor=auditor)
    ModelVersion.objects.filter(pk=waiting.pk).update(
        submitted_at=timezone.now() - timedelta(days=3, hours=2)
    )
    approved = factories.make_released(provider, auditor)
    rejected = factories.make_version_in(
        "REJECTED", provider=provider, auditor=auditor, with_file=False
    )
    by_other = factories.make_released(provider, second_auditor)

    html = home(client, auditor)

    assert parts(html) == ["auditor"]
    assert "Waiting for an audit (1)" in html
    assert "3 days, 2 hours (since" in cell(html, f"home-queue-{waiting.pk}")
    decisions = re.findall(r'id="home-decision-(\d+)"', html)
    assert [int(pk) for pk in decisions] == [
        rejected.reviews.get().pk,
        approved.reviews.get().pk,
    ]  # newest first, only their own
    assert by_other.reviews.get().pk not in [int(pk) for pk in decisions]
    assert "Rejected" in html and "Approved" in html and "Incomplete" in html


@pytest.mark.django_db
def test_an_auditor_with_an_empty_queue_is_told_so(client, auditor):
    html = home(client, auditor)
    assert "Nothing waits for an audit." in html
    assert "You have made no audit decision yet." in html


@pytest.mark.django_db
def test_a_consumer_sees_subscriptions_own_calls_packages_and_notices(
    client, consumer, provider, version, subscription
):
    bundle = sharing_services.subscription_request(user=consumer, sam=version.sam, method="BUNDLE")
    extraction.package_request(user=consumer, version_id=version.pk, kind="BUNDLE")
    extraction.delivery_authorise(user=consumer, version=version, kind=DeliveryKind.BUNDLE)
    days = usage.usage_window("day", count=7).starts()
    record_calls(version, consumer, at=days[6], latencies=[3, 4])
    record_calls(version, consumer, at=days[6], latencies=[1], outcome=InferenceOutcome.ERROR)
    record_calls(version, consumer, at=days[3], latencies=[8])
    someone = factories.make_user("consumer")
    record_calls(version, someone, at=days[6], latencies=[1] * 9)  # not theirs
    sharing_services.subscription_transition(
        subscription_id=subscription.pk, user=provider, name="suspend", reason="Over quota"
    )
    sharing_services.subscription_transition(
        subscription_id=subscription.pk, user=provider, name="resume", reason="Quota raised"
    )

    html = home(client, consumer)

    assert parts(html) == ["consumer"]
    assert "Your subscriptions (2)" in html
    assert f'id="home-subscription-{subscription.pk}"' in html
    assert f'id="home-subscription-{bundle.pk}"' in html
    # Their own calls only, per day and per version.
    assert [cell(html, f"my-day-{i}") for i in range(7)] == [
        "0", "0", "0", "1", "0", "0", "3 (1 error)",
    ]  # fmt: skip
    # Per version: calls, errors.
    assert cell(html, f"my-calls-{version.pk}") == f"{version.sam.name} {version.version} 4 1"
    assert f'href="{reverse("sharing:version-usage", args=[version.pk])}"' in html
    # The bundle's build, queued, and the download logged.
    assert "Queued" in cell(html, f"home-build-{bundle.pk}")
    assert re.search(r'id="home-downloads".*Mirror bundle', html, re.S)
    # What the provider decided, told as notices (sharing.notices), newest first, on top.
    notices = re.findall(r'id="home-notice-\d+" data-kind="(\w+)"', html)
    assert notices == ["SUBSCRIPTION_RESUMED", "SUBSCRIPTION_SUSPENDED"]
    assert "Unread notices (2)" in html


@pytest.mark.django_db
def test_unread_notices_come_first_for_every_role_the_newest_five(
    client, consumer, provider, auditor
):
    released = factories.make_released(provider, auditor)
    sharing_services.subscription_request(user=consumer, sam=released.sam, method="INFERENCE")
    registry_services.version_deprecate(version_id=released.pk, user=provider, reason="Old")
    html = home(client, consumer)
    notice = consumer.notices.get()
    assert notice.kind == "VERSION_DEPRECATED"
    assert f'href="{reverse("core:notice-open", args=[notice.pk])}"' in html
    assert html.index('id="home-notices"') < html.index('id="home-consumer"')

    for _ in range(6):  # an auditor is told of each submission waiting for them
        factories.make_version_in("SUBMITTED", provider=provider, auditor=auditor, with_file=False)
    html = home(client, auditor)
    unread = auditor.notices.filter(read_at__isnull=True).count()
    assert unread >= 6 and f"Unread notices ({unread})" in html
    shown = [int(pk) for pk in re.findall(r'id="home-notice-(\d+)"', html)]
    assert shown == list(auditor.notices.values_list("pk", flat=True)[:5])  # the newest
    assert f"All {unread} unread notices" in html


@pytest.mark.django_db
def test_a_new_consumer_sees_clear_empty_states(client, consumer):
    html = home(client, consumer)
    assert parts(html) == ["consumer"]
    assert "You have no subscriptions yet." in html
    assert "You made no reasoning calls in the last 7 days." in html
    assert "No SDK wheel or mirror bundle to build" in html
    assert "Unread notices (0)" in html and "Nothing unread." in html


@pytest.mark.django_db
def test_an_operator_sees_workers_and_queues_and_the_way_to_the_dashboard(
    client, operator, provider, auditor, consumer, monkeypatch
):
    from config import admin as site

    monkeypatch.setattr(site, "HOME_PING_TIMEOUT_SECONDS", 0.2)  # no worker runs in this test
    factories.make_version_in("SUBMITTED", provider=provider, auditor=auditor, with_file=False)
    gated = factories.make_released(provider, auditor, approval_required=True)
    sharing_services.subscription_request(user=consumer, sam=gated.sam, method="INFERENCE")

    html = home(client, operator)

    assert parts(html) == ["operator"]
    assert "No worker answered a ping within 0.2 s" in cell(html, "home-worker")
    assert cell(html, "home-waiting-count").startswith("1")
    assert cell(html, "home-submitted-count").startswith("1")
    assert cell(html, "home-builds-count") == "0"
    assert f'href="{reverse("admin:dashboard")}" id="home-dashboard-link"' in html


@pytest.mark.django_db
def test_a_user_with_several_roles_sees_each_part(client, organisation, auditor, provider):
    factories.make_released(provider, auditor)
    several = factories.make_user("provider", organisation=organisation)
    several.groups.add(*Group.objects.filter(name__in=["auditor", "consumer"]))

    html = home(client, several)

    assert parts(html) == ["provider", "auditor", "consumer"]
    assert 'id="home-models"' in html and 'id="home-usage"' in html
    assert 'id="home-queue"' in html and 'id="home-decisions"' in html
    assert 'id="home-subscriptions"' in html


@pytest.mark.django_db
def test_a_user_without_a_role_is_told_how_to_get_one(client):
    html = home(client, factories.make_user(None))
    assert parts(html) == []
    assert 'id="home-no-role"' in html


@pytest.mark.django_db
def test_the_homes_statements_do_not_grow_with_the_versions(client, provider, auditor, consumer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def statements(user) -> int:
        client.force_login(user)
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/").status_code == 200
        return len(queries)

    def add_used_version() -> None:
        version = factories.make_released(provider, auditor)
        sharing_services.subscription_request(user=consumer, sam=version.sam, method="INFERENCE")
        record_calls(version, consumer, at=timezone.now(), latencies=[1, 2])

    add_used_version()
    provider_first, consumer_first = statements(provider), statements(consumer)
    for _ in range(3):
        add_used_version()
    assert statements(provider) == provider_first
    # A consumer's calls are linked to each version's usage page: a look-up per version
    # called, for the most called ten at most.
    assert statements(consumer) <= consumer_first + 3 * 2
