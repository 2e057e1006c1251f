"""The four roles of SAM Hub. Each is a Django group created by a migration."""

from django.db import models


class Role(models.TextChoices):
    PROVIDER = "provider", "Provider"
    AUDITOR = "auditor", "Auditor"
    OPERATOR = "operator", "Operator"
    CONSUMER = "consumer", "Consumer"


# Django permissions (app_label.codename) each role's group holds. Organisation scope is
# checked on top of these in registry.permissions.
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
        "registry.release_modelversion",
        "registry.retire_modelversion",
        "registry.operate_warehouse",
    ],
    Role.CONSUMER: [],
}
