from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app shares: the domain error and its renderers, the transition engine, roles,
    API infrastructure (token authentication, errors, pagination, parsing), sign-in lockout."""

    name = "core"
    verbose_name = "Accounts and API access"
