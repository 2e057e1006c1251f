from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Infrastructure every app shares: API authentication and its tokens."""

    name = "core"
    verbose_name = "Accounts and API access"
