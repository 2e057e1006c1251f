"""Routes of Aimles_AMLMSel, included at /aimles-amlmsel/v1/."""

from django.urls import path

from training.aimle.api import selection_views as views

app_name = "aimles-amlmsel"
urlpatterns = [
    path("subscriptions", views.SubscriptionCollection.as_view(), name="subscriptions"),
    path(
        "subscriptions/<str:subscription_id>",
        views.SubscriptionDocument.as_view(),
        name="subscription",
    ),
]
