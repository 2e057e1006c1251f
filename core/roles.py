"""The four roles of SAM Hub and the questions every app asks about them.

Each role is a Django group holding ROLE_PERMISSIONS, kept so after every migrate and every
flush (role_groups_sync, on post_migrate, as Django keeps its permissions). Organisation
scope (membership) is checked on top of the roles by each app's permissions module
(registry.permissions, sharing.permissions); templates get the roles from
core.context_processors, never re-deriving them.
"""

from django.contrib.auth.models import AnonymousUser, User
from django.db import models


class Role(models.TextChoices):
    PROVIDER = "provider", "Provider"
    AUDITOR = "auditor", "Auditor"
    OPERATOR = "operator", "Operator"
    CONSUMER = "consumer", "Consumer"


# Django permissions (app_label.codename) each role's group holds.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.PROVIDER: [
        "registry.add_smallaimodel",
        "registry.change_smallaimodel",
        "registry.view_smallaimodel",
        "registry.add_modelversion",
        "registry.change_modelversion",
        "registry.view_modelversion",
        "registry.submit_modelversion",
        "registry.register_modelversion",
        "registry.release_modelversion",
        "registry.retire_modelversion",
    ],
    Role.AUDITOR: [
        "registry.view_smallaimodel",
        "registry.view_modelversion",
        "registry.audit_modelversion",
        "registry.view_auditreview",
    ],
    Role.OPERATOR: [
        "registry.view_organisation",
        "registry.add_organisation",
        "registry.change_organisation",
        "registry.view_smallaimodel",
        "registry.view_modelversion",
        "registry.view_auditreview",
        "registry.view_versiontransition",
        "registry.view_tag",
        "registry.add_tag",
        "registry.change_tag",
        "registry.view_modelperformance",
        # Seed step 2: after a rejection "the operation and maintenance manager will modify the
        # information again" (revise, edit, resubmit); steps 3-4: register. Any organisation's
        # (registry.permissions); approve and reject stay with auditors.
        "registry.change_smallaimodel",
        "registry.change_modelversion",
        "registry.submit_modelversion",
        "registry.register_modelversion",
        "registry.release_modelversion",
        "registry.retire_modelversion",
        "registry.operate_warehouse",
    ],
    Role.CONSUMER: [
        "sharing.add_subscription",
        "sharing.view_subscription",
    ],
}
for _role in (Role.PROVIDER, Role.OPERATOR):
    ROLE_PERMISSIONS[_role] += ["sharing.add_subscription", "sharing.view_subscription"]
# Operators read sign-in attempts and lift lockouts by deleting them (core.lockout).
ROLE_PERMISSIONS[Role.OPERATOR] += [
    "axes.view_accessattempt",
    "axes.delete_accessattempt",
    "axes.view_accesslog",
    "axes.view_accessfailurelog",
]
ROLE_PERMISSIONS[Role.OPERATOR] += [
    "sharing.view_subscriptionevent",
    "sharing.view_inferencerecord",
    "sharing.view_delivery",
    "sharing.view_versionpackage",
    "core.view_apitoken",
    "core.change_apitoken",  # revoke, through core.services.api_token_revoke
    # Datasets in the admin, read-only (uploads and deletions go through training.services).
    "training.view_dataset",
    # Training requests, processes and reports in the admin, read-only; cancel, suspend and
    # resume are admin actions through training.services ("change").
    "training.view_mltrainingrequest",
    "training.change_mltrainingrequest",
    "training.view_mltrainingprocess",
    "training.change_mltrainingprocess",
    "training.view_mltrainingreport",
    "training.view_mltrainingfunction",
    # AIMLE clients and execution nodes in the admin, written through training.aimle's
    # services; context transfers read-only.
    "training.view_aimleclient",
    "training.add_aimleclient",
    "training.change_aimleclient",
    "training.delete_aimleclient",
    "training.view_aimlecontexttransfer",
    "training.view_executionnode",
    "training.add_executionnode",
    "training.change_executionnode",
    "training.delete_executionnode",
    # The ML model monitor in the admin, read-only (written by monitoring.services).
    "monitoring.view_monitorregistration",
    "monitoring.view_registrationevent",
    "monitoring.view_monitorsubscription",
    "monitoring.view_monitorsubscriptionevent",
    "monitoring.view_monitornotification",
    "monitoring.view_deliveryattempt",
    "monitoring.view_analyticsfeedback",
]


OPERATE_WAREHOUSE = "registry.operate_warehouse"
AUDIT = "registry.audit_modelversion"
PROVIDE = "registry.add_smallaimodel"
SUBSCRIBE = "sharing.add_subscription"


def is_operator(user: User | AnonymousUser) -> bool:
    return user.is_authenticated and (user.is_superuser or user.has_perm(OPERATE_WAREHOUSE))


def is_auditor(user: User | AnonymousUser) -> bool:
    return user.is_authenticated and user.has_perm(AUDIT)


def is_provider(user: User | AnonymousUser) -> bool:
    return user.is_authenticated and user.has_perm(PROVIDE)


def is_subscriber(user: User | AnonymousUser) -> bool:
    """Consumers subscribe; so may providers and operators, e.g. to try another team's model."""
    return user.is_authenticated and user.has_perm(SUBSCRIBE)


def holds_role(user: User | AnonymousUser, role: Role) -> bool:
    """Whether the user was given the role (is in its group). The checks above ask what a user
    may do, and roles overlap there (providers and operators may subscribe as consumers do);
    this asks what they were made."""
    return user.is_authenticated and user.groups.filter(name=role).exists()


def is_member(user: User | AnonymousUser, organisation_id: int) -> bool:
    return user.is_authenticated and user.organisations.filter(pk=organisation_id).exists()


def has_organisation(user: User | AnonymousUser) -> bool:
    """Whether the user belongs to any organisation (works for a provider of models)."""
    return user.is_authenticated and user.organisations.exists()


def grant_role_permissions(apps, app_label: str) -> None:
    """Create the role groups and give them ROLE_PERMISSIONS of one app (used by migrations)."""
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; a migration needs them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        for perm in perms:
            label, codename = perm.split(".")
            if label != app_label:
                continue
            permission = Permission.objects.filter(
                content_type__app_label=label, codename=codename
            ).first()
            # None: its model comes with a later migration of the app, which grants it again.
            if permission is not None:
                group.permissions.add(permission)


def role_groups_sync(app_config, using: str = "default", apps=None, **kwargs) -> None:
    """post_migrate (core.apps): the role groups exist and hold ROLE_PERMISSIONS of the app
    just migrated. Django sends post_migrate per app after every migrate and every flush (a
    transactional test's teardown), each time after creating the app's permissions; so the
    groups come back as the permissions do, and an app's new model needs no data migration
    to grant its permissions."""
    from django.apps import apps as global_apps

    apps = apps or global_apps
    try:
        Group = apps.get_model("auth", "Group")
        Permission = apps.get_model("auth", "Permission")
    except LookupError:  # auth not migrated yet
        return
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=role)
        codenames = [perm.split(".")[1] for perm in perms if perm.split(".")[0] == app_config.label]
        if codenames:
            group.permissions.add(
                *Permission.objects.using(using).filter(
                    content_type__app_label=app_config.label, codename__in=codenames
                )
            )
