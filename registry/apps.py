from django.apps import AppConfig


class RegistryConfig(AppConfig):
    """ETSI ENI SAM centralised management: sign-in, audit, registration, release."""

    name = "registry"
    verbose_name = "Model registry"

    def ready(self) -> None:
        from core import forked, roles
        from core.home import HomeSection, home_section_add
        from core.navigation import NavLink, nav_link_add
        from registry import artifact_inspection, home, selectors

        # Model files are checked in children of a fork server that imported these once.
        forked.forkserver_preload_add(*artifact_inspection.PRELOAD)

        nav_link_add(NavLink("Catalog", "registry:catalog", 10, nav="catalog"))
        nav_link_add(NavLink("My models", "registry:my-models", 20, roles.is_provider, "mine"))
        nav_link_add(
            NavLink(
                "Audit queue",
                "registry:audit-queue",
                30,
                roles.is_auditor,
                "audit",
                badge=selectors.audit_queue,  # the submissions this auditor may take up
            )
        )
        # The provider's and the auditor's parts of the portal's home (core.home).
        home_section_add(
            HomeSection(
                roles.Role.PROVIDER,
                "registry/_home_models.html",
                10,
                home.provider_models,
                roles.is_provider,
            )
        )
        home_section_add(
            HomeSection(
                roles.Role.AUDITOR,
                "registry/_home_audits.html",
                10,
                home.auditor_audits,
                roles.is_auditor,
            )
        )
