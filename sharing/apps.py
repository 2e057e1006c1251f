from django.apps import AppConfig


class SharingConfig(AppConfig):
    """ETSI ENI SAM sharing (retrieval, subscription, the four sharing methods) and NWDAF
    ML model monitoring."""

    name = "sharing"

    def ready(self) -> None:
        from core.navigation import NavLink, nav_link_add
        from sharing import permissions

        nav_link_add(
            NavLink(
                "My subscriptions",
                "my-subscriptions",
                40,
                permissions.can_subscribe,
                "subscriptions",
            )
        )
        nav_link_add(
            NavLink(
                "Subscription requests",
                "subscription-requests",
                50,
                permissions.decides_subscription_requests,
                "requests",
            )
        )
