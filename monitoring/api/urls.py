"""Routes of Nnwdaf_MLModelMonitor, included at /nnwdaf-mlmodelmonitor/v1/."""

from django.urls import path

from monitoring.api import views

app_name = "nnwdaf-mlmodelmonitor"
urlpatterns = [
    path("registrations", views.RegistrationCollection.as_view(), name="registrations"),
    path(
        "registrations/<str:registration_id>",
        views.RegistrationDocument.as_view(),
        name="registration",
    ),
    path("subscriptions", views.SubscriptionCollection.as_view(), name="subscriptions"),
    path(
        "subscriptions/<str:subscription_id>",
        views.SubscriptionDocument.as_view(),
        name="subscription",
    ),
]
