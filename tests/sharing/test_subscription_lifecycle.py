"""Subscriptions through /api/v1/ (ENI SAM clause 5 sharing, step 2): requested, granted at
once or after approval, denied, suspended, resumed, revoked, cancelled, and every change logged."""

import pytest

from core.errors import DomainError
from sharing import services
from sharing.models import Subscription, SubscriptionEvent, SubscriptionStatus
from tests import factories

SUBSCRIPTIONS = "/api/v1/subscriptions/"


def released(provider, auditor, **fields):
    """A model with a released version behind an external endpoint: it offers INFERENCE."""
    return factories.make_released(provider, auditor, **fields).sam


def subscribe(client, model, method="INFERENCE", purpose="Energy saving in the north cluster"):
    return client.post(
        SUBSCRIPTIONS, {"model": model.slug, "method": method, "purpose": purpose}, format="json"
    )


def act(client, subscription_id: int, action: str, **body):
    return client.post(f"{SUBSCRIPTIONS}{subscription_id}/{action}/", body, format="json")


def status_of(subscription_id: int) -> str:
    return Subscription.objects.get(pk=subscription_id).status


def log_of(subscription_id: int) -> list[tuple]:
    return [
        (e.name, e.source, e.target, e.actor.username, e.reason)
        for e in SubscriptionEvent.objects.filter(subscription_id=subscription_id)
    ]


def pending_request(api, consumer, gated_model) -> int:
    answer = subscribe(api(consumer), gated_model)
    assert answer.status_code == 201, answer.json()
    return answer.json()["id"]


def active_subscription(api, consumer, open_model) -> int:
    answer = subscribe(api(consumer), open_model)
    assert answer.status_code == 201, answer.json()
    return answer.json()["id"]


# --- requesting ----------------------------------------------------------------------------


def test_a_subscription_to_a_model_without_approval_is_active_at_once(api, consumer, open_model):
    answer = subscribe(api(consumer), open_model)

    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert {k: v for k, v in body.items() if k not in ("id", "created_at", "updated_at")} == {
        "model": open_model.slug,
        "model_name": "Cell load forecaster",
        "organisation": open_model.organisation.slug,
        "consumer": "consumer",
        "method": "INFERENCE",
        "method_label": "Reasoning call (inference API)",
        "status": "ACTIVE",
        "status_reason": "granted automatically",
        "purpose": "Energy saving in the north cluster",
        "available_actions": ["cancel"],
    }
    assert log_of(body["id"]) == [("request", "", "ACTIVE", "consumer", "granted automatically")]


def test_a_subscription_to_a_model_needing_approval_waits_as_pending(
    api, consumer, provider, gated_model
):
    answer = subscribe(api(consumer), gated_model)

    assert answer.status_code == 201, answer.json()
    assert answer.json()["status"] == "PENDING"
    assert answer.json()["available_actions"] == ["cancel"]
    seen_by_provider = api(provider).get(f"{SUBSCRIPTIONS}{answer.json()['id']}/").json()
    assert seen_by_provider["available_actions"] == ["grant", "deny"]


def test_a_model_can_be_subscribed_to_by_its_id_as_well_as_its_slug(api, consumer, open_model):
    answer = api(consumer).post(
        SUBSCRIPTIONS, {"model": open_model.pk, "method": "INFERENCE"}, format="json"
    )

    assert answer.status_code == 201, answer.json()
    assert answer.json()["model"] == open_model.slug
    assert answer.json()["purpose"] == ""


def test_a_second_live_subscription_by_the_same_method_is_a_conflict(api, consumer, gated_model):
    first = pending_request(api, consumer, gated_model)

    answer = subscribe(api(consumer), gated_model)

    assert answer.status_code == 409
    assert answer.json() == {
        "detail": "You already have a subscription to KPI anomaly detector by "
        "Reasoning call (inference API).",
        "code": "invalid_state",
    }
    assert list(Subscription.objects.values_list("pk", flat=True)) == [first]


def test_after_a_denial_the_consumer_may_ask_again(api, consumer, provider, gated_model):
    first = pending_request(api, consumer, gated_model)
    act(api(provider), first, "deny", reason="Tell us which cells.")

    answer = subscribe(api(consumer), gated_model)

    assert answer.status_code == 201
    assert answer.json()["status"] == "PENDING"


def test_a_method_the_model_does_not_offer_is_refused(api, consumer, provider, auditor):
    onnx = factories.make_version_in("RELEASED", provider=provider, auditor=auditor, kind="onnx")

    answer = subscribe(api(consumer), onnx.sam, method="RETRAINING")

    assert answer.status_code == 400
    assert answer.json()["errors"] == {"method": ["not offered"]}
    assert answer.json()["detail"] == (
        f"{onnx.sam.name} is not shared by Re-training sharing; it offers Reasoning call "
        "(inference API), Module embedded reference (SDK package), Mirror download (model plus "
        "runtime)."
    )
    assert not Subscription.objects.exists()


def test_an_unknown_method_is_refused_by_name(api, consumer, open_model):
    answer = subscribe(api(consumer), open_model, method="TELEPATHY")

    assert answer.status_code == 400
    assert answer.json()["errors"] == {"method": ['"TELEPATHY" is not a valid choice.']}


def test_a_model_without_a_released_version_cannot_be_subscribed_to(
    api, provider, operator, auditor, consumer
):
    draft = factories.make_version_in("APPROVED", provider=provider, auditor=auditor)

    # Its own organisation and operators see the model, and hear why.
    for user in (provider, operator):
        answer = subscribe(api(user), draft.sam)
        assert answer.status_code == 409, answer.json()
        assert answer.json()["detail"] == (
            f"{draft.sam.name} has no released version to subscribe to."
        )
    # A consumer does not even see it.
    answer = subscribe(api(consumer), draft.sam)
    assert answer.status_code == 400
    assert answer.json()["errors"]["model"] == [
        f"There is no model with id or slug {draft.sam.slug!r} that you can see."
    ]
    assert not Subscription.objects.exists()


def test_an_auditor_cannot_subscribe(api, auditor, open_model):
    answer = subscribe(api(auditor), open_model)

    assert answer.status_code == 403
    assert answer.json()["detail"] == "Your role cannot subscribe to models."


def test_anonymous_callers_are_asked_to_authenticate(api, db):
    answer = api().get(SUBSCRIPTIONS)

    assert answer.status_code == 401
    assert answer["WWW-Authenticate"] == "Token"


# --- deciding ------------------------------------------------------------------------------


def test_the_models_organisation_grants_a_pending_request(api, consumer, provider, gated_model):
    pk = pending_request(api, consumer, gated_model)

    answer = act(api(provider), pk, "grant", reason="Welcome aboard")

    assert answer.status_code == 200, answer.json()
    assert answer.json()["status"] == "ACTIVE"
    assert answer.json()["available_actions"] == ["suspend", "revoke"]
    assert log_of(pk) == [
        ("request", "", "PENDING", "consumer", "approval required"),
        ("grant", "PENDING", "ACTIVE", "provider", "Welcome aboard"),
    ]


def test_the_models_organisation_denies_with_a_reason(api, consumer, provider, gated_model):
    pk = pending_request(api, consumer, gated_model)

    answer = act(api(provider), pk, "deny", reason="Only for RAN planning teams.")

    assert answer.status_code == 200, answer.json()
    assert answer.json()["status"] == "DENIED"
    assert answer.json()["available_actions"] == []
    assert log_of(pk)[-1] == (
        "deny",
        "PENDING",
        "DENIED",
        "provider",
        "Only for RAN planning teams.",
    )


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_a_denial_needs_a_reason(api, consumer, provider, gated_model, reason):
    pk = pending_request(api, consumer, gated_model)

    answer = act(api(provider), pk, "deny", **({} if reason is None else {"reason": reason}))

    assert answer.status_code == 400
    assert "reason" in answer.json()["errors"]
    assert status_of(pk) == "PENDING"
    assert len(log_of(pk)) == 1


@pytest.mark.parametrize(("action", "target"), [("grant", "ACTIVE"), ("deny", "DENIED")])
def test_an_operator_may_decide_for_any_organisation(
    api, consumer, operator, gated_model, action, target
):
    pk = pending_request(api, consumer, gated_model)

    answer = act(api(operator), pk, action, reason="Operator's call")

    assert answer.status_code == 200, answer.json()
    assert answer.json()["status"] == target
    assert log_of(pk)[-1][3] == "operator"


@pytest.mark.parametrize("action", ["grant", "deny"])
def test_the_consumer_cannot_decide_their_own_request(api, consumer, gated_model, action):
    pk = pending_request(api, consumer, gated_model)

    answer = act(api(consumer), pk, action, reason="Yes please")

    assert answer.status_code == 403
    assert answer.json() == {
        "detail": "Only North Operator or an operator can " + action + " it.",
        "code": "permission_denied",
    }
    assert status_of(pk) == "PENDING"


@pytest.mark.parametrize("action", ["grant", "deny"])
def test_another_organisations_provider_cannot_decide(
    api, consumer, other_provider, gated_model, action
):
    pk = pending_request(api, consumer, gated_model)

    # The API does not even show them the subscription ...
    assert act(api(other_provider), pk, action, reason="Mine now").status_code == 404
    # ... and the service refuses them as well.
    with pytest.raises(DomainError) as refused:
        services.subscription_transition(
            subscription_id=pk, user=other_provider, name=action, reason="Mine now"
        )
    assert refused.value.status == 403
    assert status_of(pk) == "PENDING"


# --- suspending, resuming, revoking, cancelling ---------------------------------------------


def test_the_organisation_suspends_resumes_and_revokes(api, consumer, provider, open_model):
    pk = active_subscription(api, consumer, open_model)
    client = api(provider)

    suspended = act(client, pk, "suspend", reason="Unusual call volume")
    resumed = act(client, pk, "resume")
    revoked = act(client, pk, "revoke", reason="Contract ended")

    assert [a.status_code for a in (suspended, resumed, revoked)] == [200, 200, 200]
    assert suspended.json()["available_actions"] == ["resume", "revoke"]
    assert [a.json()["status"] for a in (suspended, resumed, revoked)] == [
        "SUSPENDED",
        "ACTIVE",
        "REVOKED",
    ]
    assert log_of(pk) == [
        ("request", "", "ACTIVE", "consumer", "granted automatically"),
        ("suspend", "ACTIVE", "SUSPENDED", "provider", "Unusual call volume"),
        ("resume", "SUSPENDED", "ACTIVE", "provider", ""),
        ("revoke", "ACTIVE", "REVOKED", "provider", "Contract ended"),
    ]


def test_a_suspended_subscription_can_be_revoked(api, consumer, operator, open_model):
    pk = active_subscription(api, consumer, open_model)
    act(api(operator), pk, "suspend", reason="Investigating")

    answer = act(api(operator), pk, "revoke", reason="Confirmed misuse")

    assert answer.json()["status"] == "REVOKED"


@pytest.mark.parametrize(("action", "needs"), [("suspend", "reason"), ("revoke", "reason")])
def test_suspending_and_revoking_need_a_reason(api, consumer, provider, open_model, action, needs):
    pk = active_subscription(api, consumer, open_model)

    answer = act(api(provider), pk, action, reason="")

    assert answer.status_code == 400
    assert needs in answer.json()["errors"]
    assert status_of(pk) == "ACTIVE"


@pytest.mark.parametrize("action", ["suspend", "revoke"])
def test_the_consumer_cannot_suspend_or_revoke(api, consumer, open_model, action):
    pk = active_subscription(api, consumer, open_model)

    answer = act(api(consumer), pk, action, reason="Pause please")

    assert answer.status_code == 403
    assert status_of(pk) == "ACTIVE"


@pytest.mark.parametrize("approval_required", [False, True])
def test_the_consumer_cancels_their_subscription(
    api, consumer, provider, auditor, approval_required
):
    sam = released(provider, auditor, approval_required=approval_required)
    pk = subscribe(api(consumer), sam).json()["id"]

    answer = act(api(consumer), pk, "cancel", reason="Project stopped")

    assert answer.status_code == 200, answer.json()
    assert answer.json()["status"] == "CANCELLED"
    assert log_of(pk)[-1][:4] == ("cancel", "PENDING" if approval_required else "ACTIVE",
                                 "CANCELLED", "consumer")  # fmt: skip
    # A cancelled subscription is not live: a new one may be asked for.
    assert subscribe(api(consumer), sam).status_code == 201


def test_only_the_consumer_cancels(api, consumer, provider, operator, open_model):
    pk = active_subscription(api, consumer, open_model)

    for user in (provider, operator):
        answer = act(api(user), pk, "cancel")
        assert answer.status_code == 403
        assert answer.json()["detail"] == "Only the consumer can cancel a subscription."
    assert status_of(pk) == "ACTIVE"


@pytest.mark.parametrize(
    ("setup", "action", "body", "message"),
    [
        ([], "grant", {}, "Cannot grant this subscription: it is ACTIVE, and grant needs PENDING."),
        (
            [],
            "resume",
            {},
            "Cannot resume this subscription: it is ACTIVE, and resume needs SUSPENDED.",
        ),  # fmt: skip
        (
            ["suspend"],
            "suspend",
            {"reason": "again"},
            "Cannot suspend this subscription: it is SUSPENDED, and suspend needs ACTIVE.",
        ),  # fmt: skip
        (
            ["revoke"],
            "revoke",
            {"reason": "again"},
            "Cannot revoke this subscription: it is REVOKED, and revoke needs ACTIVE or SUSPENDED.",
        ),  # fmt: skip
        (
            ["revoke"],
            "cancel",
            {},
            "Cannot cancel this subscription: it is REVOKED, and cancel "
            "needs ACTIVE or PENDING or SUSPENDED.",
        ),  # fmt: skip
    ],
)
def test_an_illegal_transition_is_a_conflict_and_changes_nothing(
    api, consumer, provider, open_model, setup, action, body, message
):
    pk = active_subscription(api, consumer, open_model)
    for step in setup:
        act(api(provider), pk, step, reason="first time")
    before_status, before_log = status_of(pk), log_of(pk)
    client = api(consumer if action == "cancel" else provider)

    answer = act(client, pk, action, **body)

    assert answer.status_code == 409
    assert answer.json() == {"detail": message, "code": "invalid_state"}
    assert (status_of(pk), log_of(pk)) == (before_status, before_log)


# --- reading -------------------------------------------------------------------------------


def test_the_events_endpoint_shows_every_change(api, consumer, provider, gated_model):
    pk = pending_request(api, consumer, gated_model)
    act(api(provider), pk, "grant")
    act(api(provider), pk, "suspend", reason="Maintenance window")
    act(api(consumer), pk, "cancel", reason="Moved to another model")

    for user in (consumer, provider):
        answer = api(user).get(f"{SUBSCRIPTIONS}{pk}/events/")
        assert answer.status_code == 200
        assert [
            (e["name"], e["source"], e["target"], e["actor"], e["reason"]) for e in answer.json()
        ] == [
            ("request", "", "PENDING", "consumer", "approval required"),
            ("grant", "PENDING", "ACTIVE", "provider", ""),
            ("suspend", "ACTIVE", "SUSPENDED", "provider", "Maintenance window"),
            ("cancel", "SUSPENDED", "CANCELLED", "consumer", "Moved to another model"),
        ]
        assert all(e["created_at"] for e in answer.json())


def test_each_user_lists_only_the_subscriptions_they_may_see(
    api, consumer, provider, other_provider, operator, auditor, open_model
):
    mine = active_subscription(api, consumer, open_model)
    other_model = released(other_provider, auditor, name="South model")
    theirs = active_subscription(api, provider, other_model)

    def listed(user) -> set[int]:
        answer = api(user).get(SUBSCRIPTIONS)
        assert answer.status_code == 200
        return {s["id"] for s in answer.json()["results"]}

    assert listed(consumer) == {mine}
    # The provider sees those to their organisation's models and their own.
    assert listed(provider) == {mine, theirs}
    assert listed(other_provider) == {theirs}
    assert listed(operator) == {mine, theirs}
    assert api(other_provider).get(f"{SUBSCRIPTIONS}{mine}/").status_code == 404
    assert api(other_provider).get(f"{SUBSCRIPTIONS}{mine}/events/").status_code == 404


def test_subscriptions_are_filtered_by_status_model_and_method(
    api, consumer, provider, auditor, open_model, gated_model
):
    active = active_subscription(api, consumer, open_model)
    pending = pending_request(api, consumer, gated_model)
    client = api(provider)

    def ids(**params) -> list[int]:
        answer = client.get(SUBSCRIPTIONS, params)
        assert answer.status_code == 200, answer.json()
        return sorted(s["id"] for s in answer.json()["results"])

    assert ids() == sorted([active, pending])
    assert ids(status="PENDING") == [pending]
    assert ids(model=open_model.slug) == [active]
    assert ids(method="INFERENCE", status="ACTIVE") == [active]
    assert ids(method="SDK") == []
    bad = client.get(SUBSCRIPTIONS, {"status": "MAYBE"})
    assert bad.status_code == 400
    assert bad.json()["errors"] == {"status": ['"MAYBE" is not a valid choice.']}


def test_pending_requests_are_listed_for_those_who_decide(
    api, consumer, provider, other_provider, operator, auditor, gated_model
):
    pending = pending_request(api, consumer, gated_model)
    south = released(other_provider, auditor, name="South gated", approval_required=True)
    south_pending = pending_request(api, consumer, south)
    granted = pending_request(
        api, consumer, released(provider, auditor, name="North gated", approval_required=True)
    )
    act(api(provider), granted, "grant")

    def requests(user) -> list[int]:
        answer = api(user).get("/api/v1/subscription-requests/")
        assert answer.status_code == 200, answer.json()
        return [s["id"] for s in answer.json()["results"]]

    assert requests(provider) == [pending]
    assert requests(other_provider) == [south_pending]
    assert requests(operator) == [pending, south_pending]
    refused = api(consumer).get("/api/v1/subscription-requests/")
    assert refused.status_code == 403


def test_a_provider_marks_a_model_approval_required_through_the_api(
    api, provider, auditor, consumer
):
    sam = released(provider, auditor)
    client = api(provider)

    changed = client.patch(
        f"/api/v1/models/{sam.slug}/", {"approval_required": True}, format="json"
    )

    assert changed.status_code == 200, changed.json()
    assert changed.json()["approval_required"] is True
    assert changed.json()["sharing_methods"] == ["INFERENCE"]
    assert subscribe(api(consumer), sam).json()["status"] == SubscriptionStatus.PENDING
