"""Portal pages of sharing: subscribing from the model page, "my subscriptions", the provider's
subscription requests, the catalog's sharing badges and sort, and who may open what."""

import re
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from registry.models import ModelVersion, SmallAIModel
from sharing import services
from sharing.models import Subscription, SubscriptionEvent
from tests import factories
from tests.form_data import registration_data


def signed_in(client, user):
    client.force_login(user)
    return client


def shown(response) -> list[str]:
    return [m.message for m in get_messages(response.wsgi_request)]


def html(response) -> str:
    return response.content.decode()


def options(page: str, select_id: str) -> list[str]:
    select = re.search(rf'<select[^>]*id="{select_id}"[^>]*>(.*?)</select>', page, re.S)
    assert select, f"no select #{select_id}"
    return re.findall(r'<option value="([^"]*)"', select.group(1))


def request(user, sam, method="INFERENCE") -> Subscription:
    return services.subscription_request(user=user, sam=sam, method=method, purpose="Planning")


# --- subscribing from the model page --------------------------------------------------------


def test_the_model_page_offers_a_subscribe_form_with_the_models_methods(
    client, consumer, provider, auditor
):
    onnx = factories.make_version_in("RELEASED", provider=provider, auditor=auditor, kind="onnx")

    page = html(
        signed_in(client, consumer).get(reverse("registry:model-detail", args=[onnx.sam.slug]))
    )

    assert 'id="subscribe-form"' in page
    assert f'action="{reverse("sharing:subscribe", args=[onnx.sam.slug])}"' in page
    assert options(page, "id_method") == ["INFERENCE", "SDK", "BUNDLE"]
    assert 'id="approval-required"' not in page
    assert ">Subscribe</button>" in page


def test_the_subscribe_form_says_when_approval_is_required(client, consumer, gated_model):
    page = html(
        signed_in(client, consumer).get(reverse("registry:model-detail", args=[gated_model.slug]))
    )

    assert 'id="approval-required"' in page
    assert options(page, "id_method") == ["INFERENCE"]
    assert "Request a subscription</button>" in page


def test_a_model_without_a_release_has_no_subscribe_form(client, provider, auditor):
    draft = factories.make_version_in("APPROVED", provider=provider, auditor=auditor)
    client = signed_in(client, provider)

    page = html(client.get(reverse("registry:model-detail", args=[draft.sam.slug])))
    refused = client.post(
        reverse("sharing:subscribe", args=[draft.sam.slug]), {"method": "INFERENCE"}
    )

    assert 'id="subscribe-form"' not in page
    assert "none until a version is released" in page
    assert refused.status_code == 409
    assert f"{draft.sam.name} has no released version to subscribe to." in html(refused)
    assert not Subscription.objects.exists()


def test_subscribing_from_the_portal_creates_an_active_subscription(client, consumer, open_model):
    response = signed_in(client, consumer).post(
        reverse("sharing:subscribe", args=[open_model.slug]),
        {"method": "INFERENCE", "purpose": "Energy saving"},
    )

    subscription = Subscription.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("sharing:my-subscriptions") + f"#s-{subscription.pk}"
    assert (subscription.status, subscription.consumer, subscription.purpose) == (
        "ACTIVE",
        consumer,
        "Energy saving",
    )
    assert shown(response) == [
        "You are subscribed to Cell load forecaster (Reasoning call (inference API))."
    ]


def test_a_request_for_a_gated_model_says_it_waits_for_approval(client, consumer, gated_model):
    response = signed_in(client, consumer).post(
        reverse("sharing:subscribe", args=[gated_model.slug]), {"method": "INFERENCE"}
    )

    assert Subscription.objects.get().status == "PENDING"
    assert shown(response) == [
        "Your request for KPI anomaly detector (Reasoning call (inference API)) waits for "
        "North Operator to approve it."
    ]


def test_a_refused_subscription_is_shown_on_the_form_with_the_input_kept(
    client, consumer, open_model
):
    request(consumer, open_model)

    response = signed_in(client, consumer).post(
        reverse("sharing:subscribe", args=[open_model.slug]),
        {"method": "INFERENCE", "purpose": "A second try"},
    )

    assert response.status_code == 409
    page = html(response)
    assert (
        "You already have a subscription to Cell load forecaster by Reasoning call "
        "(inference API)." in page
    )
    assert "A second try</textarea>" in page
    assert re.search(r'<option value="INFERENCE" selected>', page)
    assert Subscription.objects.count() == 1


def test_a_method_the_model_does_not_offer_is_refused_on_the_form(client, consumer, open_model):
    response = signed_in(client, consumer).post(
        reverse("sharing:subscribe", args=[open_model.slug]),
        {"method": "SDK", "purpose": "Embed it"},
    )

    assert response.status_code == 400
    assert "The model does not offer SDK; choose one of the listed methods." in html(response)
    assert "Embed it</textarea>" in html(response)
    assert not Subscription.objects.exists()


def test_an_auditor_cannot_subscribe(client, auditor, open_model):
    client = signed_in(client, auditor)

    page = html(client.get(reverse("registry:model-detail", args=[open_model.slug])))
    refused = client.post(
        reverse("sharing:subscribe", args=[open_model.slug]), {"method": "INFERENCE"}
    )

    assert 'id="subscribe-form"' not in page
    assert refused.status_code == 403
    assert not Subscription.objects.exists()


# --- my subscriptions ------------------------------------------------------------------------


def test_my_subscriptions_lists_status_and_change_log(
    client, consumer, provider, open_model, gated_model
):
    active = request(consumer, open_model)
    denied = request(consumer, gated_model)
    services.subscription_transition(
        name="deny", subscription_id=denied.pk, user=provider, reason="RAN teams only"
    )
    someone_else = factories.make_user("consumer", username="someone")
    request(someone_else, open_model)

    page = html(signed_in(client, consumer).get(reverse("sharing:my-subscriptions")))

    assert f'id="s-{active.pk}"' in page and f'id="s-{denied.pk}"' in page
    assert page.count('class="card subscription"') == 2
    assert f'<span class="badge state-active" id="status-{active.pk}">Active</span>' in page
    assert f'<span class="badge state-denied" id="status-{denied.pk}">Denied</span>' in page
    assert "RAN teams only" in page
    assert f'id="events-{denied.pk}"' in page
    # Only the live subscription can be cancelled.
    assert f'id="action-cancel-{active.pk}"' in page
    assert f'id="action-cancel-{denied.pk}"' not in page


def test_the_consumer_cancels_from_my_subscriptions(client, consumer, open_model):
    subscription = request(consumer, open_model)

    response = signed_in(client, consumer).post(
        reverse("sharing:subscription-cancel", args=[subscription.pk]), {"reason": "Project over"}
    )

    assert response.status_code == 302
    assert response.url == reverse("sharing:my-subscriptions") + f"#s-{subscription.pk}"
    subscription.refresh_from_db()
    assert subscription.status == "CANCELLED"
    assert SubscriptionEvent.objects.filter(subscription=subscription).last().reason == (
        "Project over"
    )
    assert shown(response) == [
        "consumer's subscription to Cell load forecaster (Reasoning call (inference API)) is "
        "cancelled."
    ]


def test_cancelling_twice_says_why_it_cannot(client, consumer, open_model):
    subscription = request(consumer, open_model)
    services.subscription_transition(name="cancel", subscription_id=subscription.pk, user=consumer)

    response = signed_in(client, consumer).post(
        reverse("sharing:subscription-cancel", args=[subscription.pk])
    )

    assert response.status_code == 409
    assert shown(response) == [
        "The subscription was not cancelled: Cannot cancel this subscription: it is CANCELLED, "
        "and cancel needs ACTIVE or PENDING or SUSPENDED."
    ]


# --- the provider's requests ----------------------------------------------------------------


def test_the_requests_page_lists_pending_requests_with_grant_and_deny(
    client, consumer, provider, other_provider, auditor, gated_model, open_model
):
    pending = request(consumer, gated_model)
    active = request(consumer, open_model)
    south = factories.make_released(
        other_provider, auditor, name="South model", approval_required=True
    )
    elsewhere = request(consumer, south.sam)

    page = html(signed_in(client, provider).get(reverse("sharing:subscription-requests")))

    assert f'id="grant-form-{pending.pk}"' in page
    assert f'id="deny-form-{pending.pk}"' in page
    assert "Planning" in page  # the purpose
    assert f'id="s-{elsewhere.pk}"' not in page
    # Granted subscriptions carry suspend and revoke; resume only once suspended.
    assert f'id="action-suspend-{active.pk}"' in page
    assert f'id="action-revoke-{active.pk}"' in page
    assert f'id="action-resume-{active.pk}"' not in page


def test_the_provider_grants_a_request_from_the_portal(client, consumer, provider, gated_model):
    pending = request(consumer, gated_model)

    response = signed_in(client, provider).post(
        reverse("sharing:subscription-grant", args=[pending.pk]), {"reason": ""}
    )

    assert response.status_code == 302
    assert response.url == reverse("sharing:subscription-requests") + f"#s-{pending.pk}"
    pending.refresh_from_db()
    assert pending.status == "ACTIVE"
    assert shown(response) == [
        "consumer's subscription to KPI anomaly detector (Reasoning call (inference API)) is "
        "granted."
    ]


def test_a_denial_without_a_reason_is_shown_on_its_form(client, consumer, provider, gated_model):
    pending = request(consumer, gated_model)
    client = signed_in(client, provider)

    refused = client.post(reverse("sharing:subscription-deny", args=[pending.pk]), {"reason": ""})
    denied = client.post(
        reverse("sharing:subscription-deny", args=[pending.pk]),
        {"reason": "Only RAN planning teams."},
    )

    assert refused.status_code == 400
    form = re.search(rf'<form[^>]*id="deny-form-{pending.pk}".*?</form>', html(refused), re.S)
    assert "Say why; the consumer sees it." in form.group(0)
    assert denied.status_code == 302
    pending.refresh_from_db()
    assert pending.status == "DENIED"
    assert SubscriptionEvent.objects.filter(subscription=pending).last().reason == (
        "Only RAN planning teams."
    )


def test_the_provider_suspends_resumes_and_revokes_from_the_portal(
    client, consumer, provider, open_model
):
    subscription = request(consumer, open_model)
    client = signed_in(client, provider)

    def post(action, reason=""):
        response = client.post(
            reverse(f"sharing:subscription-{action}", args=[subscription.pk]), {"reason": reason}
        )
        subscription.refresh_from_db()
        return response.status_code, subscription.status

    assert post("suspend", "Unusual volume") == (302, "SUSPENDED")
    page = html(client.get(reverse("sharing:subscription-requests")))
    assert f'id="action-resume-{subscription.pk}"' in page
    assert post("resume") == (302, "ACTIVE")
    assert post("revoke", "") == (400, "ACTIVE")
    assert post("revoke", "Contract ended") == (302, "REVOKED")
    page = html(client.get(reverse("sharing:subscription-requests")))
    assert f'id="s-{subscription.pk}"' not in page


def test_an_operator_decides_requests_of_every_organisation(
    client, consumer, operator, other_provider, auditor, gated_model
):
    south = factories.make_released(
        other_provider, auditor, name="South model", approval_required=True
    )
    north_request, south_request = request(consumer, gated_model), request(consumer, south.sam)

    page = html(signed_in(client, operator).get(reverse("sharing:subscription-requests")))

    assert f'id="grant-form-{north_request.pk}"' in page
    assert f'id="grant-form-{south_request.pk}"' in page


# --- who may do what -------------------------------------------------------------------------


def test_consumers_and_auditors_cannot_open_the_requests_page(client, consumer, auditor):
    for user in (consumer, auditor):
        assert (
            signed_in(client, user).get(reverse("sharing:subscription-requests")).status_code == 403
        )


def test_an_auditor_has_no_subscriptions_page(client, auditor):
    assert signed_in(client, auditor).get(reverse("sharing:my-subscriptions")).status_code == 403


@pytest.mark.parametrize("name", ["sharing:my-subscriptions", "sharing:subscription-requests"])
def test_anonymous_visitors_are_sent_to_sign_in(client, db, name):
    response = client.get(reverse(name))

    assert response.status_code == 302
    assert response.url.startswith(reverse("core:login"))


def test_the_consumer_cannot_grant_their_own_request(client, consumer, gated_model):
    pending = request(consumer, gated_model)

    response = signed_in(client, consumer).post(
        reverse("sharing:subscription-grant", args=[pending.pk]), {"reason": "please"}
    )

    assert response.status_code == 403
    pending.refresh_from_db()
    assert pending.status == "PENDING"


def test_another_organisations_provider_cannot_see_or_decide_a_request(
    client, consumer, other_provider, gated_model
):
    pending = request(consumer, gated_model)
    client = signed_in(client, other_provider)

    page = html(client.get(reverse("sharing:subscription-requests")))
    answer = client.post(reverse("sharing:subscription-grant", args=[pending.pk]), {"reason": ""})

    assert f'id="s-{pending.pk}"' not in page
    assert answer.status_code == 404
    pending.refresh_from_db()
    assert pending.status == "PENDING"


def test_a_provider_cannot_cancel_a_consumers_subscription(client, consumer, provider, open_model):
    subscription = request(consumer, open_model)

    response = signed_in(client, provider).post(
        reverse("sharing:subscription-cancel", args=[subscription.pk])
    )

    assert response.status_code == 403
    subscription.refresh_from_db()
    assert subscription.status == "ACTIVE"


def test_actions_are_posted_not_fetched(client, consumer, open_model):
    subscription = request(consumer, open_model)

    answer = signed_in(client, consumer).get(
        reverse("sharing:subscription-cancel", args=[subscription.pk])
    )

    assert answer.status_code == 405


@pytest.mark.parametrize(
    ("role", "mine", "requests"),
    [("consumer", True, False), ("provider", True, True), ("auditor", False, False)],
)
def test_the_navigation_links_follow_the_role(client, organisation, role, mine, requests):
    user = factories.make_user(role, organisation=organisation if role == "provider" else None)

    page = html(signed_in(client, user).get(reverse("registry:catalog")))

    assert (f'href="{reverse("sharing:my-subscriptions")}"' in page) is mine
    assert (f'href="{reverse("sharing:subscription-requests")}"' in page) is requests


# --- catalog and registration ----------------------------------------------------------------


def test_catalog_cards_show_the_sharing_methods_and_approval(
    client, consumer, provider, auditor, gated_model
):
    skops = factories.make_version_in("RELEASED", provider=provider, auditor=auditor, kind="skops")
    external = gated_model.versions.get()

    page = html(signed_in(client, consumer).get(reverse("registry:catalog")))

    def card(version: ModelVersion) -> str:
        found = re.search(rf'<li class="card model-card" id="catalog-v-{version.pk}">.*?</li>\s*'
                          r'(?=<li class="card model-card"|</ul>\s*(?:<nav|</section))', page, re.S)  # fmt: skip
        assert found, version
        return found.group(0)

    badges = re.compile(r'<span class="badge method method-\w+" title="[^"]+">(\w+)</span>')
    assert badges.findall(card(skops)) == ["INFERENCE", "SDK", "BUNDLE", "RETRAINING"]
    assert badges.findall(card(external)) == ["INFERENCE"]
    assert "Approval required" in card(external)
    assert "Approval required" not in card(skops)


@pytest.fixture
def scored(provider, auditor):
    """Three released F1 models: 0.71 released today, 0.93 two days ago, 0.88 four days ago."""
    versions = {}
    for days, (name, score) in enumerate([("Low", 0.71), ("High", 0.93), ("Mid", 0.88)]):
        performance = [
            {
                "inference_output_name": "label",
                "performance_metric": "F1",
                "performance_score": score,
            }
        ]
        version = factories.make_released(
            provider, auditor, name=f"{name} F1", performance=performance
        )
        ModelVersion.objects.filter(pk=version.pk).update(
            released_at=timezone.now() - timedelta(days=2 * days)
        )
        versions[name] = version.pk
    return versions


def card_order(page: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'id="catalog-v-(\d+)"', page)]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["Low", "High", "Mid"]),
        ({"sort": "oldest"}, ["Mid", "High", "Low"]),
        ({"sort": "best", "metric": "F1"}, ["High", "Mid", "Low"]),
    ],
)
def test_the_catalog_sorts_by_recency_and_best_score(client, consumer, scored, params, expected):
    page = html(signed_in(client, consumer).get(reverse("registry:catalog"), params))

    assert card_order(page) == [scored[name] for name in expected]
    # Sharing's counts add the popularity sorts (registry.extensions.catalog_count_add).
    assert options(page, "id_sort") == ["", "oldest", "name", "best", "subscribers", "calls"]


def test_best_score_of_an_error_metric_is_the_lowest(client, consumer, provider, auditor):
    def mae(score):
        performance = [
            {
                "inference_output_name": "load",
                "performance_metric": "MAE",
                "performance_score": score,
            }
        ]
        return factories.make_released(provider, auditor, performance=performance).pk

    worse, better = mae(4.0), mae(1.5)

    page = html(
        signed_in(client, consumer).get(
            reverse("registry:catalog"), {"sort": "best", "metric": "mae"}
        )
    )

    assert card_order(page) == [better, worse]


def test_best_score_without_a_metric_asks_for_one_and_keeps_newest_first(client, consumer, scored):
    response = signed_in(client, consumer).get(reverse("registry:catalog"), {"sort": "best"})

    assert response.status_code == 200
    assert "Choose a metric under Metric to sort by its best score." in html(response)
    assert card_order(html(response)) == [scored[n] for n in ("Low", "High", "Mid")]


def test_a_provider_registers_a_model_that_needs_approval(client, provider, organisation):
    page = html(signed_in(client, provider).get(reverse("registry:model-create")))
    assert 'name="approval_required"' in page

    response = client.post(
        reverse("registry:model-create"), registration_data(organisation, approval_required="on")
    )

    assert response.status_code == 302
    assert SmallAIModel.objects.get(name="Cell load forecast").approval_required is True


def test_a_provider_turns_approval_off_when_editing_a_draft(client, provider):
    sam = factories.make_model(provider, approval_required=True)
    draft = factories.make_draft(provider, sam=sam)
    client = signed_in(client, provider)
    page = html(client.get(reverse("registry:version-edit", args=[draft.pk])))
    assert re.search(r'<input type="checkbox" name="approval_required"[^>]* checked', page)

    data = registration_data(sam.organisation, name=sam.name)
    data.pop("organisation")
    response = client.post(reverse("registry:version-edit", args=[draft.pk]), data)

    assert response.status_code == 302, html(response)
    sam.refresh_from_db()
    assert sam.approval_required is False
