from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app shares: the domain error and its renderers, the transition engine, roles,
    navigation, API infrastructure (token authentication, errors, pagination, parsing), sign-in
    lockout, and the API tokens of users."""

    name = "core"
    verbose_name = "Accounts and API access"

    def ready(self) -> None:
        from core.navigation import NavLink, nav_link_add

        nav_link_add(NavLink("API tokens", "core:api-tokens", 60, nav="tokens"))
        nav_link_add(NavLink("API docs", "api:docs", 70))
        nav_link_add(NavLink("Admin", "admin:index", 80, shown=lambda user: user.is_staff))
