"""Who may see, upload and delete datasets: the one place training decides it.

Datasets follow the registry's rule for work that is not published (registry.selectors,
versions_visible_to): the organisation's members see theirs, and auditors and operators see
every organisation's (an auditor reviews what a retrained version was trained on). A dataset
is never published to the catalog, so nobody else sees it.
"""

from django.contrib.auth.models import AnonymousUser, User

from core.roles import has_organisation, is_member, is_operator, is_provider, is_subscriber
from registry.permissions import can_add_version, sees_every_version
from sharing.models import SharingMethod
from sharing.selectors import active_subscription, serves_subscription


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


# --- training requests, processes and reports (TS 28.105 clause 7) ---------------------------
#
# A training request produces a new version of the model, so those who may add versions to it
# request it: its organisation's providers; and a consumer with an ACTIVE RETRAINING
# subscription to the model, for a version that subscription works with (re-training sharing,
# ENI SAM clause 6.1: the model's organisation granted it; the version they produce goes to
# the audit like any other, made and submitted as theirs under the subscription).
# Who may see a request also sees its processes and report: the requester, the model's
# organisation, and auditors and operators (an auditor reviews what a retrained version was
# trained on). The requester, the model's organisation's providers and operators cancel,
# suspend and resume.


def uses_training(user: User | AnonymousUser) -> bool:
    """Whether the Training pages (and their link) serve the user: auditors and operators see
    every training; members of an organisation train its models; consumers retrain what their
    RETRAINING subscriptions allow."""
    return user.is_authenticated and (
        sees_every_training(user) or has_organisation(user) or is_subscriber(user)
    )


def can_request_training(version, user: User | AnonymousUser) -> bool:
    return can_add_version(version.sam, user) or retraining_subscription(version, user) is not None


def retraining_subscription(version, user: User | AnonymousUser):
    """The user's ACTIVE RETRAINING subscription that lets them retrain the version: to its
    model, served by the version (its release, or a deprecated version that still serves
    subscriptions made before its deprecation); None when there is none."""
    if not is_subscriber(user):
        return None
    subscription = active_subscription(user, version.sam_id, SharingMethod.RETRAINING)
    if subscription is None or not serves_subscription(version, subscription):
        return None
    return subscription


def who_requests_training(version) -> str:
    """Who may request training of the version, in words (the rule above)."""
    return (
        f"providers of {version.sam.organisation}, and consumers with an active Re-training "
        "sharing subscription to a released version of the model"
    )


def can_use_dataset(dataset, user: User | AnonymousUser) -> bool:
    """Candidate training data: the requester's organisations' datasets (operators: any)."""
    return user.is_authenticated and (is_operator(user) or is_member(user, dataset.organisation_id))


def sees_every_training(user: User | AnonymousUser) -> bool:
    return sees_every_version(user)


def can_manage_training(request, user: User | AnonymousUser) -> bool:
    """Cancel, suspend, resume a request and its processes."""
    if not user.is_authenticated:
        return False
    if is_operator(user) or request.requested_by_id == user.pk:
        return True
    return is_provider(user) and is_member(user, request.ml_entity.sam.organisation_id)


def who_manages_training(request) -> str:
    """Who may cancel, suspend and resume the request, in words (the rule above)."""
    return (
        f"its requester ({request.requested_by}), a provider of "
        f"{request.ml_entity.sam.organisation} or an operator"
    )


# --- AIMLE clients, context transfer and hierarchical computing (TS 23.482) -----------------
#
# AIMLE clients run on the UEs of an organisation: its members and operators see them (and
# auditors, who see every organisation's work); its providers and operators register, change
# and remove them. A context transfer moves a client between AIMLE servers: any AIMLE consumer
# (consumers, providers, operators) who sees the client may ask for it. Execution nodes are
# the edge computing the AIMLE server offers to everybody's hierarchical computing, so every
# AIMLE consumer sees them; their organisation's providers and operators manage them.


def sees_every_aimle_client(user: User | AnonymousUser) -> bool:
    return sees_every_version(user)


def can_manage_aimle_resource(organisation_id: int, user: User | AnonymousUser) -> bool:
    """Register, change, remove an AIMLE client or an execution node of the organisation."""
    if is_operator(user):
        return True
    return is_provider(user) and is_member(user, organisation_id)


def uses_aimle(user: User | AnonymousUser) -> bool:
    """Ask the AIMLE server for a context transfer or hierarchical computing assistance."""
    return is_subscriber(user) or is_operator(user)
