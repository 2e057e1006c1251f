"""Operators' admin of sharing: subscription decisions go through the services; metering,
deliveries and packages are read-only."""

import pytest
from django.contrib import messages
from django.contrib.messages import get_messages
from django.urls import reverse

from sharing import services
from sharing.models import (
    Delivery,
    DeliveryKind,
    InferenceOutcome,
    InferenceRecord,
    PackageKind,
    Subscription,
    SubscriptionEvent,
    VersionPackage,
)
from tests import factories

SUBSCRIPTIONS = "admin:sharing_subscription_changelist"
ACTION_FORM = "admin/action_form.html"


@pytest.fixture
def requests_(consumer, gated_model):
    """Two pending requests of two consumers."""
    other = factories.make_user("consumer", username="consumer2")
    return [
        services.subscription_request(user=user, sam=gated_model, method="INFERENCE")
        for user in (consumer, other)
    ]


def act(client, user, action: str, *subscriptions: Subscription, **data):
    """Select subscriptions on the changelist, pick an action and press Go."""
    client.force_login(user)
    return client.post(
        reverse(SUBSCRIPTIONS),
        {"action": action, "_selected_action": [s.pk for s in subscriptions], "index": 0, **data},
    )


def apply(client, user, action: str, *subscriptions: Subscription, **data):
    """Submit an action's intermediate page."""
    client.force_login(user)
    return client.post(
        reverse(SUBSCRIPTIONS),
        {
            "action": action,
            "_selected_action": [s.pk for s in subscriptions],
            "apply": "yes",
            **data,
        },
    )


def shown(response) -> list[tuple[int, str]]:
    return [(m.level, m.message) for m in get_messages(response.wsgi_request)]


def statuses(*subscriptions: Subscription) -> list[str]:
    return [Subscription.objects.get(pk=s.pk).status for s in subscriptions]


def last_event(subscription: Subscription) -> tuple:
    event = SubscriptionEvent.objects.filter(subscription=subscription).last()
    return (event.name, event.source, event.target, event.actor.username, event.reason)


def test_an_operator_grants_requests_with_an_admin_action(client, operator, requests_):
    response = act(client, operator, "grant_subscriptions", *requests_)

    assert response.status_code == 302
    assert statuses(*requests_) == ["ACTIVE", "ACTIVE"]
    assert last_event(requests_[0]) == ("grant", "PENDING", "ACTIVE", "operator", "")
    assert shown(response) == [
        (
            messages.SUCCESS,
            "Granted: consumer → KPI anomaly detector (INFERENCE), "
            "consumer2 → KPI anomaly detector (INFERENCE).",
        )
    ]


def test_denying_asks_for_a_reason_on_an_intermediate_page(client, operator, requests_):
    first = act(client, operator, "deny_subscriptions", *requests_)

    assert first.status_code == 200
    assert ACTION_FORM in [t.name for t in first.templates]
    assert "KPI anomaly detector" in first.content.decode()
    assert statuses(*requests_) == ["PENDING", "PENDING"]

    blank = apply(client, operator, "deny_subscriptions", *requests_, reason="")
    assert blank.status_code == 200
    assert "Say why; the consumer sees it." in blank.content.decode()
    assert statuses(*requests_) == ["PENDING", "PENDING"]

    done = apply(client, operator, "deny_subscriptions", *requests_, reason="Quota reached")
    assert done.status_code == 302
    assert statuses(*requests_) == ["DENIED", "DENIED"]
    assert last_event(requests_[1]) == ("deny", "PENDING", "DENIED", "operator", "Quota reached")


def test_an_operator_suspends_resumes_and_revokes_in_the_admin(client, operator, requests_):
    first, _ = requests_
    services.subscription_transition(name="grant", subscription_id=first.pk, user=operator)

    apply(client, operator, "suspend_subscriptions", first, reason="Abuse report")
    assert statuses(first) == ["SUSPENDED"]
    act(client, operator, "resume_subscriptions", first)
    assert statuses(first) == ["ACTIVE"]
    apply(client, operator, "revoke_subscriptions", first, reason="Confirmed abuse")
    assert statuses(first) == ["REVOKED"]
    assert last_event(first) == ("revoke", "ACTIVE", "REVOKED", "operator", "Confirmed abuse")


def test_a_refusal_is_reported_per_subscription_and_the_rest_goes_ahead(
    client, operator, requests_
):
    granted, pending = requests_
    services.subscription_transition(name="grant", subscription_id=granted.pk, user=operator)

    response = act(client, operator, "grant_subscriptions", granted, pending)

    assert statuses(granted, pending) == ["ACTIVE", "ACTIVE"]
    assert shown(response) == [
        (
            messages.ERROR,
            "consumer → KPI anomaly detector (INFERENCE): Cannot grant this subscription: it is "
            "ACTIVE, and grant needs PENDING.",
        ),
        (messages.SUCCESS, "Granted: consumer2 → KPI anomaly detector (INFERENCE)."),
    ]


def test_another_organisations_staff_provider_sees_and_decides_nothing(
    client, other_organisation, requests_
):
    outsider = factories.make_user(
        "provider", organisation=other_organisation, username="outsider", is_staff=True
    )
    first, _ = requests_

    response = act(client, outsider, "grant_subscriptions", first)

    # The selection is narrowed to what the admin shows them: nothing, so nothing happens.
    assert response.status_code == 302
    assert statuses(first) == ["PENDING"]
    assert shown(response) == []
    assert client.get(reverse(SUBSCRIPTIONS)).context["cl"].result_count == 0


def test_a_staff_provider_of_the_organisation_decides_its_requests(client, organisation, requests_):
    staff_provider = factories.make_user(
        "provider", organisation=organisation, username="staffprov", is_staff=True
    )
    first, second = requests_

    apply(client, staff_provider, "deny_subscriptions", first, reason="Not for this use")
    act(client, staff_provider, "grant_subscriptions", second)

    assert statuses(first, second) == ["DENIED", "ACTIVE"]


def test_the_subscription_cannot_be_changed_added_or_deleted(client, operator, requests_):
    first, _ = requests_
    client.force_login(operator)
    change = reverse("admin:sharing_subscription_change", args=[first.pk])

    page = client.get(change)
    posted = client.post(change, {"status": "ACTIVE", "purpose": "hijack"})

    assert page.status_code == 200
    assert 'name="status"' not in page.content.decode()
    assert "change log" in page.content.decode().lower()
    assert posted.status_code == 403
    assert statuses(first) == ["PENDING"]
    assert client.get(reverse("admin:sharing_subscription_add")).status_code == 403
    assert (
        client.get(reverse("admin:sharing_subscription_delete", args=[first.pk])).status_code == 403
    )


def test_it_offers_only_the_decision_actions(client, operator, requests_):
    client.force_login(operator)

    actions = client.get(reverse(SUBSCRIPTIONS)).context["action_form"].fields["action"].choices

    assert [name for name, _ in actions if name] == [
        "grant_subscriptions",
        "deny_subscriptions",
        "suspend_subscriptions",
        "resume_subscriptions",
        "revoke_subscriptions",
    ]


def test_metering_deliveries_and_packages_are_read_only_for_operators(
    client, operator, consumer, provider, auditor
):
    version = factories.make_version_in("RELEASED", provider=provider, auditor=auditor)
    record = InferenceRecord.objects.create(
        version=version, caller=consumer, count=3, latency_ms=1.5, outcome=InferenceOutcome.OK
    )
    delivery = Delivery.objects.create(user=consumer, version=version, kind=DeliveryKind.SDK)
    package = VersionPackage.objects.create(
        version=version, kind=PackageKind.BUNDLE, requested_by=consumer
    )
    client.force_login(operator)

    for name, obj in (
        ("inferencerecord", record),
        ("delivery", delivery),
        ("versionpackage", package),
        ("subscriptionevent", None),
    ):
        listing = client.get(reverse(f"admin:sharing_{name}_changelist"))
        assert listing.status_code == 200, name
        assert client.get(reverse(f"admin:sharing_{name}_add")).status_code == 403, name
        if obj is not None:
            assert str(obj.version) in listing.content.decode(), name
            change = reverse(f"admin:sharing_{name}_change", args=[obj.pk])
            assert client.get(change).status_code == 200, name
            assert client.post(change, {}).status_code == 403, name
            delete = reverse(f"admin:sharing_{name}_delete", args=[obj.pk])
            assert client.get(delete).status_code == 403, name
