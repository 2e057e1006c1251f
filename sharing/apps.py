from django.apps import AppConfig


class SharingConfig(AppConfig):
    """ETSI ENI SAM sharing (retrieval, subscription, the four sharing methods) and NWDAF
    ML model monitoring."""

    name = "sharing"

    def ready(self) -> None:
        from functools import partial

        from django.conf import settings

        from core import roles
        from core.home import HomeSection, home_section_add
        from core.navigation import NavLink, nav_link_add
        from registry import extensions
        from sharing import extraction, home, notices, permissions, selectors, views
        from sharing.api import fields
        from sharing.models import DeliveryKind

        nav_link_add(
            NavLink(
                "My subscriptions",
                "sharing:my-subscriptions",
                40,
                permissions.can_subscribe,
                "subscriptions",
            )
        )
        nav_link_add(
            NavLink(
                "Subscription requests",
                "sharing:subscription-requests",
                50,
                permissions.decides_subscription_requests,
                "requests",
                badge=selectors.pending_requests_for,
            )
        )
        # Sharing on the registry's pages and in its API answers (registry.extensions).
        extensions.model_page_section_add(
            extensions.ModelPageSection("sharing/_model_sharing.html", views.model_page_section)
        )
        extensions.catalog_card_template_add("sharing/_catalog_card.html")
        # Popularity: shown on the cards (sharing/_catalog_card.html), sorted on in the catalog;
        # recounted by Celery beat (sharing.tasks.version_popularity_count_task).
        every = max(settings.SAMHUB_POPULARITY_SECONDS // 60, 1)
        note = f"Subscribers and calls are counted every {every} min."
        extensions.catalog_count_add(
            extensions.CatalogCount(
                "subscribers", "Most subscribers", selectors.catalog_subscribers, note
            )
        )
        extensions.catalog_count_add(
            extensions.CatalogCount("calls", "Most calls", selectors.catalog_calls, note)
        )
        extensions.api_field_add("model", "sharing_methods", fields.model_sharing_methods_field)
        extensions.api_field_add("version", "sharing_methods", fields.version_sharing_methods_field)
        extensions.api_field_add("catalog", "sharing_methods", fields.catalog_sharing_methods_field)
        extensions.api_field_add("catalog", "subscribers", fields.catalog_subscribers_field)
        extensions.api_field_add("catalog", "calls", fields.catalog_calls_field)
        # Taking the model file out of the warehouse needs a BUNDLE subscription and is logged.
        extensions.artifact_download_check_add(
            partial(extraction.delivery_authorise, kind=DeliveryKind.ARTIFACT)
        )
        # Subscribers are told when a version of their model is deprecated or retired.
        extensions.version_withdrawn_add(notices.version_withdrawn)
        # A released version's usage page, linked from its panel on the model page.
        extensions.version_link_add(
            extensions.VersionLink("Usage", "sharing:version-usage", views.usage_link_visible)
        )
        # The provider's and the consumer's parts of the portal's home (core.home).
        home_section_add(
            HomeSection(
                roles.Role.PROVIDER,
                "sharing/_home_usage.html",
                20,
                home.provider_usage,
                roles.is_provider,
            )
        )
        home_section_add(
            HomeSection(
                roles.Role.CONSUMER,
                "sharing/_home_consumer.html",
                10,
                home.consumer_use,
                permissions.can_subscribe,
            )
        )
