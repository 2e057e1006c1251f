"""Who may do what to which model and version: the one place the registry decides it.

Roles come from core.roles (the groups and their permissions); organisation scope is added
here. The functions take (instance, user) so they double as django-fsm transition guards.
"""

from django.contrib.auth.models import AnonymousUser, User

from core.roles import is_auditor, is_member, is_operator, is_provider


def can_create_model(user: User | AnonymousUser, organisation) -> bool:
    return is_provider(user) and is_member(user, organisation.pk)


def _operator_or_member(user: User | AnonymousUser, organisation_id: int) -> bool:
    return is_operator(user) or is_member(user, organisation_id)


def can_add_version(sam, user: User | AnonymousUser) -> bool:
    """Versions are started by providers of the model's organisation, with their files."""
    return user.has_perm("registry.add_modelversion") and is_member(user, sam.organisation_id)


def can_edit_model(sam, user: User | AnonymousUser) -> bool:
    """Providers change their own organisation's models; operators any model, to correct the
    registration after a rejection (ENI SAM clause 5, step 2: "the operation and maintenance
    manager will modify the information again")."""
    return user.has_perm("registry.change_smallaimodel") and _operator_or_member(
        user, sam.organisation_id
    )


def can_edit_version(version, user: User | AnonymousUser) -> bool:
    """Revise, edit and upload to a DRAFT: its organisation's providers, or an operator."""
    return user.has_perm("registry.change_modelversion") and _operator_or_member(
        user, version.sam.organisation_id
    )


def can_submit(version, user: User | AnonymousUser) -> bool:
    return user.has_perm("registry.submit_modelversion") and _operator_or_member(
        user, version.sam.organisation_id
    )


def audit_refusal(version, user: User | AnonymousUser) -> str | None:
    """Why the user may not approve or reject the version, or None if they may.

    Separation of duties: whoever made the version (created it, uploaded its file, submitted
    it) and every member of its organisation are parties to it, so none of them audits it.
    """
    if not is_auditor(user):
        return "Only auditors can approve or reject a version."
    roles = [
        role
        for role, party_id in (
            ("created", version.created_by_id),
            ("uploaded the model file of", version.artifact_uploaded_by_id),
            ("submitted", version.submitted_by_id),
        )
        if party_id == user.pk
    ]
    if roles:
        return (
            f"You {' and '.join(roles)} this version, so another auditor must audit it "
            "(separation of duties)."
        )
    if is_member(user, version.sam.organisation_id):
        return (
            f"You are a member of {version.sam.organisation}, whose model this is, so an "
            "auditor from outside the organisation must audit it (separation of duties)."
        )
    return None


def can_audit(version, user: User | AnonymousUser) -> bool:
    """Separation of duties (audit_refusal): never one's own or one's organisation's work."""
    return audit_refusal(version, user) is None


def can_register(version, user: User | AnonymousUser) -> bool:
    """ENI SAM clause 5, steps 3-4: the provider or an operator registers an approved version."""
    return user.has_perm("registry.register_modelversion") and _operator_or_member(
        user, version.sam.organisation_id
    )


def can_release(version, user: User | AnonymousUser) -> bool:
    return user.has_perm("registry.release_modelversion") and _operator_or_member(
        user, version.sam.organisation_id
    )


def can_retire(version, user: User | AnonymousUser) -> bool:
    return user.has_perm("registry.retire_modelversion") and _operator_or_member(
        user, version.sam.organisation_id
    )


def who_takes(step: str, version) -> str:
    """Who may take a lifecycle step of the version, in words, for a refusal to say (the rules
    are the can_* functions above: keep the two together)."""
    if step in ("approve", "reject"):
        return f"an auditor from outside {version.sam.organisation} who took no part in it"
    return f"a provider of {version.sam.organisation} or an operator"


def can_download_artifact(version, user: User | AnonymousUser) -> bool:
    """The model file straight from the warehouse, on the model page: the model's providers
    (its organisation's members), auditors (to test-run the file they decide on) and
    operators. Consumers take a released model out through a subscription (sharing); sharing
    exempts these same people from needing one."""
    return user.is_authenticated and (
        is_operator(user) or is_auditor(user) or is_member(user, version.sam.organisation_id)
    )


def sees_every_version(user: User | AnonymousUser) -> bool:
    """Auditors and operators see work in progress of every organisation."""
    return is_operator(user) or is_auditor(user)
