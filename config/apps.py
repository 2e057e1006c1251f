from django.contrib.admin.apps import AdminConfig


class SamHubAdminConfig(AdminConfig):
    """django.contrib.admin with SAM Hub's site (config.admin) as the default admin.site, and
    the operators' part of the portal's home."""

    default_site = "config.admin.SamHubAdminSite"

    def ready(self) -> None:
        super().ready()
        from config import admin
        from core import roles
        from core.home import HomeSection, home_section_add

        # The operators' part of the portal's home: the dashboard's health figures, its link.
        home_section_add(
            HomeSection(
                roles.Role.OPERATOR,
                "admin/_home_operations.html",
                10,
                admin.home_operations,
                roles.is_operator,
            )
        )
