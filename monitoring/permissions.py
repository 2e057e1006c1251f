"""Who may use the NWDAF ML model monitor and see a version's monitoring: the one place
monitoring decides it. Functions taking (instance, user) double as django-fsm guards."""

from django.contrib.auth.models import AnonymousUser, User

from core.roles import is_member, is_operator, is_subscriber


def can_monitor(user: User | AnonymousUser) -> bool:
    """Consumers register and subscribe (so may providers and operators, as for sharing)."""
    return is_subscriber(user)


def owns(resource, user: User | AnonymousUser) -> bool:
    """A registration or subscription is changed and ended by the consumer who made it."""
    return user.is_authenticated and resource.owner_id == user.pk


def sees_version_monitoring(version, user: User | AnonymousUser, *, subscribed: bool) -> bool:
    """A version's monitoring page: its organisation's providers, operators, and consumers
    subscribed to the model (`subscribed`: a live sharing subscription, or a monitor
    registration or subscription of theirs on the version)."""
    if not user.is_authenticated:
        return False
    return is_operator(user) or is_member(user, version.sam.organisation_id) or subscribed


def told_of_data_set(data_set, version, user: User | AnonymousUser) -> bool:
    """The input data set of a wrong prediction (a notification's dataSetTag) is told to who
    may read the calls themselves (sharing.selectors.inferences_visible_to): the one who named
    it, the version's organisation and operators; not to other consumers of the model."""
    return user.is_authenticated and (
        data_set.owner_id == user.pk
        or is_operator(user)
        or is_member(user, version.sam.organisation_id)
    )
