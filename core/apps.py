from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app shares: the domain error and its renderers, the transition engine, roles,
    navigation, API infrastructure (token authentication, errors, pagination, parsing), sign-in
    lockout, the API tokens of users and their notices (core.notices)."""

    name = "core"
    verbose_name = "Accounts and API access"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from core import selectors
        from core.navigation import NavLink, nav_link_add
        from core.roles import role_groups_sync

        post_migrate.connect(role_groups_sync, dispatch_uid="core.roles.role_groups_sync")

        nav_link_add(
            NavLink(
                "Notices",
                "core:notices",
                55,
                nav="notices",
                badge=selectors.unread_notices_of,
                badge_label="unread",
            )
        )
        nav_link_add(NavLink("API tokens", "core:api-tokens", 60, nav="tokens"))
        nav_link_add(NavLink("API docs", "api:docs", 70))
        nav_link_add(NavLink("Admin", "admin:index", 80, shown=lambda user: user.is_staff))
