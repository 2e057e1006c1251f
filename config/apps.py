from django.contrib.admin.apps import AdminConfig


class SamHubAdminConfig(AdminConfig):
    """django.contrib.admin with SAM Hub's site (config.admin) as the default admin.site."""

    default_site = "config.admin.SamHubAdminSite"
