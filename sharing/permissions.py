"""Who may subscribe, decide subscriptions and use what is shared: the one place sharing
decides it (ENI SAM clause 5 sharing process, clause 6 methods).

Roles come from core.roles; organisation scope is added here. The functions that take
(instance, user) double as django-fsm transition guards.
"""

from collections.abc import Callable

from django.contrib.auth.models import AnonymousUser, User

from core.roles import has_organisation, is_member, is_operator, is_subscriber
from registry.permissions import can_download_artifact, can_edit_model


def can_subscribe(user: User | AnonymousUser) -> bool:
    """Consumers subscribe; so may providers and operators, e.g. to try another team's model."""
    return is_subscriber(user)


def decides_subscription_requests(user: User | AnonymousUser) -> bool:
    """Whether the user has subscription requests to decide (the page, its API and its link in
    the navigation): providers of an organisation and operators."""
    return is_operator(user) or has_organisation(user)


def can_decide_subscription(subscription, user: User | AnonymousUser) -> bool:
    """The model's organisation or an operator grants, denies, suspends, resumes and revokes."""
    return user.is_authenticated and (
        is_operator(user) or is_member(user, subscription.sam.organisation_id)
    )


def can_cancel_subscription(subscription, user: User | AnonymousUser) -> bool:
    return user.is_authenticated and subscription.consumer_id == user.pk


def shares_without_subscription(version, user: User | AnonymousUser) -> bool:
    """Providers of the model's organisation, auditors and operators need no subscription to
    take a version out of the warehouse (ENI SAM clause 5 sharing, step 6): those who may
    download its model file from the registry (registry.permissions)."""
    return can_download_artifact(version, user)


def can_attach_ground_truth(record, user: User | AnonymousUser) -> bool:
    """The caller of an inference, the model's providers or an operator add its ground truth."""
    return user.is_authenticated and (
        record.caller_id == user.pk or is_operator(user) or can_edit_model(record.version.sam, user)
    )


def sees_every_call(version, user: User | AnonymousUser) -> bool:
    """All the metered calls of a version: its organisation's providers and operators."""
    return user.is_authenticated and (
        is_operator(user) or is_member(user, version.sam.organisation_id)
    )


def sees_version_usage(
    version, user: User | AnonymousUser, *, subscribed: Callable[[], bool]
) -> bool:
    """A released version's usage page: whoever sees every call, and consumers subscribed to
    the model (`subscribed()`: a granted subscription, sharing.selectors.
    granted_subscription_exists, looked up only for those who do not see every call), who
    see their own calls."""
    if version.released_at is None or not user.is_authenticated:
        return False
    return sees_every_call(version, user) or subscribed()
