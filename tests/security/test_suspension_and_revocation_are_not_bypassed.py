"""Issue 7, item 3: suspension and revocation were bypassed in two calls. A consumer whose
subscription was suspended cancelled it and subscribed again (ACTIVE at once on a model without
approval), and after a revocation a new subscription was ACTIVE at once.

Now the latest decision of the model's organisation (or an operator) that withdrew a consumer's
access by a method (suspend, revoke, and deny too) is remembered across that consumer's
subscriptions to the model by the method: a new request is PENDING, whatever the model's
approval setting, until the organisation or an operator grants it, and the portal and the API
say why. Each path is played as a consumer would: the service, the REST API with an API token
taken from /api/v1/auth/token/, and the portal's forms."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from sharing import services
from sharing.models import Subscription, SubscriptionStatus
from tests import factories

SUBSCRIPTIONS = "/api/v1/subscriptions/"
ROW = [9.0, 2.0, 80.5, 61.2, 250.0, 0.3]


@pytest.fixture
def sam(version):
    assert not version.sam.approval_required
    return version.sam


def infer(client, version):
    return client.post(
        f"/api/v1/versions/{version.pk}/infer/", {"inputs": {"input": [ROW]}}, format="json"
    )


def subscribe_api(client, sam, method="INFERENCE"):
    return client.post(SUBSCRIPTIONS, {"model": sam.slug, "method": method}, format="json")


def act_api(client, pk: int, action: str, reason: str = ""):
    return client.post(f"{SUBSCRIPTIONS}{pk}/{action}/", {"reason": reason}, format="json")


def request(user, sam, method="INFERENCE") -> Subscription:
    return services.subscription_request(user=user, sam=sam, method=method)


def suspended_then_cancelled(consumer, provider, sam) -> Subscription:
    first = request(consumer, sam)
    services.subscription_transition(
        name="suspend",
        subscription_id=first.pk,
        user=provider,
        reason="Calls from an unknown network",
    )
    return services.subscription_transition(name="cancel", subscription_id=first.pk, user=consumer)


# --- through the service ---------------------------------------------------------------------


def test_suspend_cancel_resubscribe_is_pending_through_the_service(consumer, provider, sam):
    cancelled = suspended_then_cancelled(consumer, provider, sam)
    assert cancelled.status == SubscriptionStatus.CANCELLED

    again = request(consumer, sam)

    assert again.status == SubscriptionStatus.PENDING
    reason = again.events.get(name="request").reason
    assert "suspended" in reason and "Calls from an unknown network" in reason
    assert "North Operator or an operator must grant it" in reason


def test_revoke_resubscribe_is_pending_through_the_service(consumer, provider, sam):
    first = request(consumer, sam)
    services.subscription_transition(
        name="revoke", subscription_id=first.pk, user=provider, reason="Contract ended"
    )

    again = request(consumer, sam)

    assert again.status == SubscriptionStatus.PENDING
    assert "revoked" in again.events.get(name="request").reason


def test_suspend_then_revoke_then_resubscribe_is_pending(consumer, operator, sam):
    first = request(consumer, sam)
    services.subscription_transition(
        name="suspend", subscription_id=first.pk, user=operator, reason="Abuse"
    )
    services.subscription_transition(
        name="revoke", subscription_id=first.pk, user=operator, reason="Abuse, again"
    )

    assert request(consumer, sam).status == SubscriptionStatus.PENDING


def test_a_denial_holds_even_when_the_model_stops_requiring_approval(consumer, provider, sam):
    # Decided: a denial is a decision of the organisation like a revocation; dropping the
    # approval setting later does not open the model to the consumer it turned down.
    sam.approval_required = True
    sam.save()
    first = request(consumer, sam)
    services.subscription_transition(
        name="deny", subscription_id=first.pk, user=provider, reason="Unknown project"
    )
    sam.approval_required = False
    sam.save()

    again = request(consumer, sam)

    assert again.status == SubscriptionStatus.PENDING
    assert "denied" in again.events.get(name="request").reason


def test_cancelling_the_held_request_and_asking_again_is_still_pending(consumer, provider, sam):
    suspended_then_cancelled(consumer, provider, sam)
    held = request(consumer, sam)
    services.subscription_transition(name="cancel", subscription_id=held.pk, user=consumer)

    for _ in range(3):
        again = request(consumer, sam)
        assert again.status == SubscriptionStatus.PENDING
        services.subscription_transition(name="cancel", subscription_id=again.pk, user=consumer)
    assert not Subscription.objects.filter(status=SubscriptionStatus.ACTIVE).exists()


@pytest.mark.parametrize("decider", ["provider", "operator"])
def test_a_grant_by_the_organisation_or_an_operator_lifts_the_hold(
    consumer, provider, operator, sam, decider
):
    suspended_then_cancelled(consumer, provider, sam)
    held = request(consumer, sam)

    granted = services.subscription_transition(
        name="grant",
        subscription_id=held.pk,
        user={"provider": provider, "operator": operator}[decider],
    )

    assert granted.status == SubscriptionStatus.ACTIVE
    # The organisation trusts the consumer again: the model's own setting applies from now on.
    services.subscription_transition(name="cancel", subscription_id=held.pk, user=consumer)
    assert request(consumer, sam).status == SubscriptionStatus.ACTIVE


def test_the_consumer_cannot_grant_their_own_held_request(consumer, provider, sam):
    suspended_then_cancelled(consumer, provider, sam)
    held = request(consumer, sam)

    answer = act_api(
        factories.token_client_by_password(consumer, factories.PASSWORD), held.pk, "grant"
    )

    assert answer.status_code == 403
    assert Subscription.objects.get(pk=held.pk).status == SubscriptionStatus.PENDING


def test_a_resume_lifts_the_suspension(consumer, provider, sam):
    first = request(consumer, sam)
    services.subscription_transition(
        name="suspend", subscription_id=first.pk, user=provider, reason="Check"
    )
    services.subscription_transition(name="resume", subscription_id=first.pk, user=provider)
    services.subscription_transition(name="cancel", subscription_id=first.pk, user=consumer)

    assert request(consumer, sam).status == SubscriptionStatus.ACTIVE


def test_the_hold_is_per_consumer_and_method(consumer, provider, sam):
    suspended_then_cancelled(consumer, provider, sam)
    another = factories.make_user("consumer", username="another-consumer")

    assert request(consumer, sam, "SDK").status == SubscriptionStatus.ACTIVE
    assert request(another, sam).status == SubscriptionStatus.ACTIVE
    assert request(consumer, sam).status == SubscriptionStatus.PENDING


# --- through the REST API, with an API token ------------------------------------------------


def test_suspend_cancel_resubscribe_through_the_api(consumer, provider, version, sam):
    client = factories.token_client_by_password(consumer, factories.PASSWORD)
    first = subscribe_api(client, sam).json()
    assert first["status"] == "ACTIVE"
    assert infer(client, version).status_code == 200
    suspended = act_api(
        factories.token_client_by_password(provider, factories.PASSWORD),
        first["id"],
        "suspend",
        "Unpaid invoice",
    )
    assert suspended.json()["status"] == "SUSPENDED"
    assert infer(client, version).status_code == 403

    cancelled = act_api(client, first["id"], "cancel")
    again = subscribe_api(client, sam)

    assert cancelled.status_code == 200 and cancelled.json()["status"] == "CANCELLED"
    assert again.status_code == 201, again.json()
    assert again.json()["status"] == "PENDING"
    assert "suspended" in again.json()["status_reason"]
    assert "Unpaid invoice" in again.json()["status_reason"]
    assert infer(client, version).status_code == 403
    # The list says the same, and the organisation sees the request waiting for it.
    listed = client.get(SUBSCRIPTIONS, {"status": "PENDING"}).json()["results"]
    assert [s["status_reason"] for s in listed] == [again.json()["status_reason"]]
    waiting = (
        factories.token_client_by_password(provider, factories.PASSWORD)
        .get("/api/v1/subscription-requests/")
        .json()["results"]
    )
    assert [(s["id"], s["status_reason"]) for s in waiting] == [
        (again.json()["id"], again.json()["status_reason"])
    ]

    granted = act_api(
        factories.token_client_by_password(provider, factories.PASSWORD),
        again.json()["id"],
        "grant",
        "Invoice paid",
    )
    assert granted.json()["status"] == "ACTIVE"
    assert infer(client, version).status_code == 200


def test_revoke_resubscribe_through_the_api(consumer, operator, version, sam):
    client = factories.token_client_by_password(consumer, factories.PASSWORD)
    first = subscribe_api(client, sam).json()
    act_api(
        factories.token_client_by_password(operator, factories.PASSWORD),
        first["id"],
        "revoke",
        "Licence breach",
    )

    again = subscribe_api(client, sam)

    assert again.status_code == 201, again.json()
    assert again.json()["status"] == "PENDING"
    assert "revoked" in again.json()["status_reason"]
    assert "Licence breach" in again.json()["status_reason"]
    assert infer(client, version).status_code == 403


def test_a_suspended_subscription_still_blocks_a_second_one_through_the_api(
    consumer, provider, sam
):
    client = factories.token_client_by_password(consumer, factories.PASSWORD)
    first = subscribe_api(client, sam).json()
    act_api(
        factories.token_client_by_password(provider, factories.PASSWORD),
        first["id"],
        "suspend",
        "Check",
    )

    again = subscribe_api(client, sam)

    assert again.status_code == 409
    assert Subscription.objects.filter(consumer=consumer).count() == 1


# --- through the portal ----------------------------------------------------------------------


def portal_subscribe(client, sam, method="INFERENCE"):
    return client.post(
        reverse("sharing:subscribe", args=[sam.slug]), {"method": method, "purpose": "Planning"}
    )


def test_suspend_cancel_resubscribe_through_the_portal(client, consumer, provider, sam):
    client.force_login(consumer)
    assert portal_subscribe(client, sam).status_code == 302
    first = Subscription.objects.get(consumer=consumer)
    services.subscription_transition(
        name="suspend",
        subscription_id=first.pk,
        user=provider,
        reason="Calls from an unknown network",
    )
    cancel = client.post(
        reverse("sharing:subscription-cancel", args=[first.pk]), {"reason": "Moving on"}
    )
    assert cancel.status_code == 302
    assert Subscription.objects.get(pk=first.pk).status == SubscriptionStatus.CANCELLED

    answer = portal_subscribe(client, sam)

    assert answer.status_code == 302
    again = Subscription.objects.exclude(pk=first.pk).get(consumer=consumer)
    assert again.status == SubscriptionStatus.PENDING
    message = " ".join(m.message for m in get_messages(answer.wsgi_request))
    assert "is pending" in message and "suspended" in message
    page = client.get(reverse("sharing:my-subscriptions")).content.decode()
    assert f'id="pending-reason-{again.pk}"' in page
    assert "Calls from an unknown network" in page
    # Not usable until granted.
    use = client.get(reverse("sharing:subscription-use", args=[again.pk])).content.decode()
    assert 'id="not-usable"' in use

    # The organisation sees why it waits, and grants it from its requests page.
    client.force_login(provider)
    requests_page = client.get(reverse("sharing:subscription-requests")).content.decode()
    assert f'id="pending-reason-{again.pk}"' in requests_page
    granted = client.post(
        reverse("sharing:subscription-grant", args=[again.pk]), {"reason": "Cleared"}
    )
    assert granted.status_code == 302
    assert Subscription.objects.get(pk=again.pk).status == SubscriptionStatus.ACTIVE


def test_revoke_resubscribe_through_the_portal(client, consumer, provider, sam):
    client.force_login(consumer)
    portal_subscribe(client, sam)
    first = Subscription.objects.get(consumer=consumer)
    client.force_login(provider)
    revoked = client.post(
        reverse("sharing:subscription-revoke", args=[first.pk]), {"reason": "Contract ended"}
    )
    assert revoked.status_code == 302
    client.force_login(consumer)

    answer = portal_subscribe(client, sam)

    again = Subscription.objects.exclude(pk=first.pk).get(consumer=consumer)
    assert again.status == SubscriptionStatus.PENDING
    message = " ".join(m.message for m in get_messages(answer.wsgi_request))
    assert "revoked" in message and "Contract ended" in message
