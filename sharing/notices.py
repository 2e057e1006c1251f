"""What sharing tells people (core.notices), inside the transaction of the change: the model's
organisation of a subscription request waiting for its decision, the consumer of each decision
on their subscription, the model's subscribers of a deprecation or retirement (through
registry.extensions.version_withdrawn_add), and whoever asked for a package build of its end."""

from django.contrib.auth.models import User
from django.urls import reverse

from core.models import NoticeKind
from core.notices import notice_send
from registry.models import ModelVersion, VersionStatus
from sharing import selectors
from sharing.models import (
    LIVE_SUBSCRIPTION_STATES,
    PackageStatus,
    SharingMethod,
    Subscription,
    SubscriptionStatus,
    VersionPackage,
)

DECISIONS = {
    "grant": (NoticeKind.SUBSCRIPTION_GRANTED, "is granted"),
    "deny": (NoticeKind.SUBSCRIPTION_DENIED, "is denied"),
    "suspend": (NoticeKind.SUBSCRIPTION_SUSPENDED, "is suspended"),
    "resume": (NoticeKind.SUBSCRIPTION_RESUMED, "is resumed"),
    "revoke": (NoticeKind.SUBSCRIPTION_REVOKED, "is revoked"),
}


def _subscription_url(subscription: Subscription) -> str:
    if subscription.status == SubscriptionStatus.ACTIVE:
        return reverse("sharing:subscription-use", args=[subscription.pk])
    return reverse("sharing:my-subscriptions") + f"#s-{subscription.pk}"


def _what(subscription: Subscription) -> str:
    return f"{SharingMethod(subscription.method).label} subscription to {subscription.sam.name}"


def subscription_requested(*, subscription: Subscription, reason: str) -> None:
    """A request waits for the decision of the model's organisation (its providers)."""
    if subscription.status != SubscriptionStatus.PENDING:
        return
    consumer = subscription.consumer
    purpose = f"Purpose: {subscription.purpose}\n" if subscription.purpose else ""
    notice_send(
        users=subscription.sam.organisation.members.values_list("pk", flat=True),
        kind=NoticeKind.SUBSCRIPTION_REQUESTED,
        title=f"{consumer.get_username()} asks for a {_what(subscription)}",
        body=f"{purpose}Pending: {reason}",
        url=reverse("sharing:subscription-requests"),
        actor=consumer,
    )


def subscription_decided(
    *, subscription: Subscription, name: str, actor: User, reason: str
) -> None:
    """The organisation or an operator decided on the consumer's subscription."""
    if name not in DECISIONS:
        return  # the consumer's own cancellation
    kind, done = DECISIONS[name]
    notice_send(
        users=[subscription.consumer_id],
        kind=kind,
        title=f"Your {_what(subscription)} {done}",
        body=(f"By {actor.get_username()}" + (f": {reason.strip()}" if reason.strip() else ".")),
        url=_subscription_url(subscription),
        actor=actor,
    )


def version_withdrawn(*, version: ModelVersion, actor: User, reason: str) -> None:
    """A version was deprecated or retired: every consumer with a live subscription to its
    model is told (which version each uses is theirs to know)."""
    consumers = (
        Subscription.objects.filter(sam_id=version.sam_id, status__in=LIVE_SUBSCRIPTION_STATES)
        .values_list("consumer_id", flat=True)
        .distinct()
    )
    name = f"{version.sam.name} {version.version}"
    latest = selectors.latest_release(version.sam)
    instead = f" The latest release is {latest.version}." if latest else ""
    because = f"\nReason: {reason.strip()}" if reason.strip() else ""
    if version.status == VersionStatus.DEPRECATED:
        kind, title = NoticeKind.VERSION_DEPRECATED, f"{name} is deprecated"
        body = (
            "It keeps serving the subscriptions made before its deprecation until it is "
            f"retired, and takes no new subscribers.{instead}{because}"
        )
    else:
        kind, title = NoticeKind.VERSION_RETIRED, f"{name} is retired"
        body = f"It serves no one any more.{instead}{because}"
    notice_send(
        users=consumers,
        kind=kind,
        title=title,
        body=body,
        url=reverse("registry:model-detail", args=[version.sam.slug]),
        actor=actor,
    )


def package_build_ended(*, package: VersionPackage) -> None:
    """A package build ended, READY or FAILED: whoever asked for it is told."""
    # Imported here: extraction, which builds packages, imports this module.
    from sharing.extraction import DELIVERY_METHOD, PACKAGE_NAMES

    version = package.version
    subscription = selectors.active_subscription(
        package.requested_by, version.sam_id, DELIVERY_METHOD[package.kind]
    )
    url = (
        reverse("sharing:subscription-use", args=[subscription.pk])
        if subscription is not None
        else reverse("registry:model-detail", args=[version.sam.slug]) + f"#v-{version.pk}"
    )
    if package.status == PackageStatus.READY:
        kind, title = NoticeKind.PACKAGE_READY, "is ready to download"
        body = f"{package.filename}, {package.size} bytes, sha256 {package.sha256}."
    else:
        kind, title = NoticeKind.PACKAGE_FAILED, "could not be built"
        body = f"{package.error}\nYou can ask for it again; an operator has the log."
    notice_send(
        users=[package.requested_by_id],
        kind=kind,
        title=f"The {PACKAGE_NAMES[package.kind]} of {version.sam.name} {version.version} {title}",
        body=body,
        url=url,
    )
