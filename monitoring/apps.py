from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    """NWDAF ML model monitoring (Nnwdaf_MLModelMonitor) of the models SAM Hub shares."""

    name = "monitoring"

    def ready(self) -> None:
        from monitoring import views
        from registry import extensions
        from sharing import extensions as sharing_extensions

        # The "Monitoring" link of each version on the registry's model page.
        extensions.version_link_add(
            extensions.VersionLink(
                "Monitoring", "monitoring:version-monitoring", views.link_visible
            )
        )
        # The accuracy against ground truth on each released version's usage page.
        sharing_extensions.usage_page_section_add(
            sharing_extensions.UsagePageSection(
                "monitoring/_usage_accuracy.html", views.usage_page_section
            )
        )
