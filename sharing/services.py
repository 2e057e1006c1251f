"""Sharing writes: subscriptions and the access rule of the warehouse (ENI SAM clause 5 sharing
process, steps 1, 2 and 6). Step 3-5 (retraining before reuse) hook in through subscriptions
with method RETRAINING, which the training app consumes."""

from collections.abc import Callable

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from core.errors import DomainError
from core.transitions import transition_apply
from registry.models import ModelVersion, SmallAIModel, VersionStatus
from sharing import notices, permissions, selectors
from sharing.models import (
    LIVE_SUBSCRIPTION_STATES,
    SharingMethod,
    Subscription,
    SubscriptionEvent,
    SubscriptionStatus,
)

# The reason logged with a request that waits for the organisation's approval.
APPROVAL_REQUIRED = "approval required"
WITHDRAWN = {"deny": "denied", "suspend": "suspended", "revoke": "revoked"}


def subscription_request(
    *, user: User, sam: SmallAIModel, method: str, purpose: str = ""
) -> Subscription:
    """Subscribe to a released model by one sharing method; granted at once unless the model
    needs approval or the organisation withdrew the user's access by that method before (a
    denial, suspension or revocation not lifted since: selectors.access_withdrawal), in which
    case it is PENDING and the request's event says why."""
    if not permissions.can_subscribe(user):
        raise DomainError.not_allowed("Your role cannot subscribe to models.")
    if method not in SharingMethod.values:
        raise DomainError(
            f"Choose a sharing method: {', '.join(SharingMethod.values)}.",
            details={"method": ["invalid"]},
        )
    offered = subscription_offer_check(sam=sam)
    if method not in offered:
        raise DomainError(
            f"{sam.name} is not shared by {SharingMethod(method).label}; "
            f"it offers {', '.join(SharingMethod(m).label for m in offered)}.",
            details={"method": ["not offered"]},
        )
    withdrawal = selectors.access_withdrawal(user, sam.pk, method)
    if withdrawal is not None:
        # Access taken away stays away until the organisation or an operator gives it back.
        status, reason = SubscriptionStatus.PENDING, _held_reason(sam, method, withdrawal)
    elif sam.approval_required:
        status, reason = SubscriptionStatus.PENDING, APPROVAL_REQUIRED
    else:
        status, reason = SubscriptionStatus.ACTIVE, "granted automatically"
    try:
        with transaction.atomic():
            subscription = Subscription.objects.create(
                consumer=user, sam=sam, method=method, purpose=purpose, status=status
            )
            SubscriptionEvent.objects.create(
                subscription=subscription,
                name="request",
                target=status,
                actor=user,
                reason=reason,
            )
            notices.subscription_requested(subscription=subscription, reason=reason)
    except IntegrityError:
        raise DomainError.conflict(
            f"You already have a subscription to {sam.name} by {SharingMethod(method).label}."
        ) from None
    return subscription


def subscription_offer_check(*, sam: SmallAIModel) -> list[str]:
    """The sharing methods a new subscription to the model may choose (those of its latest
    release); 409 when there are none: no release yet, or only deprecated versions, which
    keep serving the subscriptions made before and take no new subscribers."""
    offered = selectors.model_sharing_methods(sam)
    if not offered and selectors.deprecated_versions(sam):
        raise DomainError.conflict(
            f"{sam.name} is deprecated: it takes no new subscriptions. Subscriptions made "
            "before its deprecation keep working until it is retired."
        )
    if not offered:
        raise DomainError(f"{sam.name} has no released version to subscribe to.", status=409)
    return offered


def _held_reason(sam: SmallAIModel, method: str, withdrawal: SubscriptionEvent) -> str:
    what = "request" if withdrawal.name == "deny" else "subscription"
    because = f": {withdrawal.reason.strip()}" if withdrawal.reason.strip() else ""
    return (
        f"{sam.organisation} or an operator must grant it, whatever the model's approval "
        f"setting: your earlier {what} by {SharingMethod(method).label} was "
        f"{WITHDRAWN[withdrawal.name]} on {withdrawal.created_at:%Y-%m-%d %H:%M} UTC{because}."
    )


# Each change of a subscription after its request: who may make it (the guard its model's
# @transition carries too) and whether it needs a reason (the consumer sees it in the log).
SUBSCRIPTION_TRANSITIONS: dict[str, tuple[Callable[[Subscription, User], bool], bool]] = {
    "grant": (permissions.can_decide_subscription, False),
    "deny": (permissions.can_decide_subscription, True),
    "suspend": (permissions.can_decide_subscription, True),
    "resume": (permissions.can_decide_subscription, False),
    "revoke": (permissions.can_decide_subscription, True),
    "cancel": (permissions.can_cancel_subscription, False),
}


@transaction.atomic
def subscription_transition(
    *, subscription_id: int, user: User, name: str, reason: str = ""
) -> Subscription:
    """Grant, deny, suspend, resume or revoke a subscription (the model's organisation or an
    operator), or cancel it (its consumer); deny, suspend and revoke need a reason. The
    consumer is told of each decision (sharing.notices)."""
    allowed, needs_reason = SUBSCRIPTION_TRANSITIONS[name]
    if needs_reason and not reason.strip():
        raise DomainError(f"Say why you {name} the subscription.", details={"reason": ["required"]})
    subscription = transition_apply(
        rows=Subscription.objects.select_related("sam", "sam__organisation"),
        pk=subscription_id,
        name=name,
        user=user,
        allowed=allowed,
        refusal=lambda subscription, user: (
            "Only the consumer can cancel a subscription."
            if name == "cancel"
            else f"Only {subscription.sam.organisation} or an operator can {name} it."
        ),
        label=lambda subscription: "this subscription",
        log="events",
        changed_meanwhile="The subscription changed meanwhile; reload and try again.",
        reason=reason,
    )
    notices.subscription_decided(subscription=subscription, name=name, actor=user, reason=reason)
    return subscription


def sharing_access_check(*, user: User, version: ModelVersion, method: str) -> Subscription | None:
    """The active subscription that lets the user use the version by this method; None for
    those who need none (its providers, auditors, operators); 403 for everyone else. A
    DEPRECATED version serves only subscriptions made before its deprecation: it keeps working
    for those who use it and takes no new subscribers (selectors.serves_subscription)."""
    # The subscription first: it is the common case and one query; the exemptions need more.
    subscription = selectors.active_subscription(user, version.sam_id, method)
    if (
        subscription is not None
        and version.status == VersionStatus.DEPRECATED
        and not selectors.serves_subscription(version, subscription)
    ):
        if permissions.shares_without_subscription(version, user):
            return None
        latest = selectors.latest_release(version.sam)
        instead = f"; use {latest.version}, the latest release" if latest else ""
        raise DomainError.not_allowed(
            f"{version.sam.name} {version.version} is deprecated since "
            f"{version.deprecated_at:%Y-%m-%d %H:%M} UTC and serves only subscriptions made "
            f"before then; yours was made on {subscription.created_at:%Y-%m-%d %H:%M} UTC"
            f"{instead}."
        )
    if subscription is None:
        if permissions.shares_without_subscription(version, user):
            return None
        live = Subscription.objects.filter(
            consumer=user, sam_id=version.sam_id, method=method, status__in=LIVE_SUBSCRIPTION_STATES
        ).first()
        state = f" (your subscription is {live.status})" if live else ""
        raise DomainError.not_allowed(
            f"You need an active {SharingMethod(method).label} subscription to "
            f"{version.sam.name}{state}."
        )
    return subscription
