"""Who may see, upload and delete datasets: the one place training decides it.

Datasets follow the registry's rule for work that is not published (registry.selectors,
versions_visible_to): the organisation's members see theirs, and auditors and operators see
every organisation's (an auditor reviews what a retrained version was trained on). A dataset
is never published to the catalog, so nobody else sees it.
"""

from django.contrib.auth.models import AnonymousUser, User

from core.roles import has_organisation, is_member, is_operator, is_provider, is_subscriber
from registry.permissions import sees_every_version


def sees_every_dataset(user: User | AnonymousUser) -> bool:
    return sees_every_version(user)


def uses_datasets(user: User | AnonymousUser) -> bool:
    """Whether the Datasets page (and its link) serves the user."""
    return user.is_authenticated and (sees_every_dataset(user) or has_organisation(user))


def can_upload_dataset(user: User | AnonymousUser, organisation) -> bool:
    """Providers and consumers upload for their organisations; operators for any."""
    if is_operator(user):
        return True
    return (is_provider(user) or is_subscriber(user)) and is_member(user, organisation.pk)


def can_delete_dataset(dataset, user: User | AnonymousUser) -> bool:
    return user.is_authenticated and (is_operator(user) or is_member(user, dataset.organisation_id))
