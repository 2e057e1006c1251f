"""Who may do what to which model: the one place SAM Hub decides it.

Role permissions come from the groups (registry.roles); organisation scope is added here.
The functions take (instance, user) so they double as django-fsm transition guards.
"""

from django.contrib.auth.models import AnonymousUser, User

OPERATE_WAREHOUSE = "registry.operate_warehouse"
AUDIT = "registry.audit_modelversion"


def is_operator(user: User | AnonymousUser) -> bool:
    return user.is_authenticated and (user.is_superuser or user.has_perm(OPERATE_WAREHOUSE))


def is_auditor(user: User | AnonymousUser) -> bool:
    return user.is_authenticated and user.has_perm(AUDIT)


def is_provider(user: User | AnonymousUser) -> bool:
    return user.is_authenticated and user.has_perm("registry.add_smallaimodel")


def is_member(user: User | AnonymousUser, organisation_id: int) -> bool:
    return user.is_authenticated and user.organisations.filter(pk=organisation_id).exists()


def can_create_model(user: User | AnonymousUser, organisation) -> bool:
    return user.has_perm("registry.add_smallaimodel") and is_member(user, organisation.pk)


def can_edit_model(sam, user: User | AnonymousUser) -> bool:
    """Providers change only their own organisation's models."""
    return user.has_perm("registry.change_smallaimodel") and is_member(user, sam.organisation_id)


def can_edit_version(version, user: User | AnonymousUser) -> bool:
    return user.has_perm("registry.change_modelversion") and is_member(
        user, version.sam.organisation_id
    )


def can_submit(version, user: User | AnonymousUser) -> bool:
    return user.has_perm("registry.submit_modelversion") and is_member(
        user, version.sam.organisation_id
    )


def can_audit(version, user: User | AnonymousUser) -> bool:
    """Separation of duties: an auditor never audits a version they submitted."""
    return is_auditor(user) and version.submitted_by_id != user.pk


def can_register(version, user: User | AnonymousUser) -> bool:
    return user.has_perm("registry.register_modelversion") and is_member(
        user, version.sam.organisation_id
    )


def can_release(version, user: User | AnonymousUser) -> bool:
    return user.has_perm("registry.release_modelversion") and (
        is_operator(user) or is_member(user, version.sam.organisation_id)
    )


def can_retire(version, user: User | AnonymousUser) -> bool:
    return user.has_perm("registry.retire_modelversion") and (
        is_operator(user) or is_member(user, version.sam.organisation_id)
    )


def sees_every_version(user: User | AnonymousUser) -> bool:
    """Auditors and operators see work in progress of every organisation."""
    return is_operator(user) or is_auditor(user)


# --- sharing (ENI SAM clause 5 sharing process, clause 6 methods) ---------------------------


def can_subscribe(user: User | AnonymousUser) -> bool:
    """Consumers subscribe; so may providers and operators, e.g. to try another team's model."""
    return user.is_authenticated and user.has_perm("sharing.add_subscription")


def can_decide_subscription(subscription, user: User | AnonymousUser) -> bool:
    """The model's organisation or an operator grants, denies, suspends, resumes and revokes."""
    return user.is_authenticated and (
        is_operator(user) or is_member(user, subscription.sam.organisation_id)
    )


def can_cancel_subscription(subscription, user: User | AnonymousUser) -> bool:
    return user.is_authenticated and subscription.consumer_id == user.pk


def shares_without_subscription(version, user: User | AnonymousUser) -> bool:
    """Providers of the model's organisation, auditors and operators need no subscription to
    take a version out of the warehouse (ENI SAM clause 5 sharing, step 6)."""
    return user.is_authenticated and (
        is_operator(user) or is_auditor(user) or is_member(user, version.sam.organisation_id)
    )


def can_attach_ground_truth(record, user: User | AnonymousUser) -> bool:
    """The caller of an inference, the model's providers or an operator add its ground truth."""
    return user.is_authenticated and (
        record.caller_id == user.pk or is_operator(user) or can_edit_model(record.version.sam, user)
    )
