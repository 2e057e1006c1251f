"""Portal routes of sharing, included at / before the registry's."""

from django.urls import path

from sharing import views

app_name = "sharing"
urlpatterns = [
    path("models/<slug:slug>/subscribe/", views.subscribe, name="subscribe"),
    path("subscriptions/", views.my_subscriptions, name="my-subscriptions"),
    path("subscription-requests/", views.subscription_requests, name="subscription-requests"),
    path("subscriptions/<int:pk>/use/", views.subscription_use, name="subscription-use"),
    path("versions/<int:pk>/usage/", views.version_usage, name="version-usage"),
    path(
        "subscriptions/<int:pk>/package/",
        views.subscription_package_build,
        name="subscription-package-build",
    ),
    path(
        "subscriptions/<int:pk>/download/",
        views.subscription_package_download,
        name="subscription-package-download",
    ),
    *[
        path(
            f"subscriptions/<int:pk>/{action}/",
            views.subscription_action,
            {"action": action},
            name=f"subscription-{action}",
        )
        for action in views.ACTIONS
    ],
]
