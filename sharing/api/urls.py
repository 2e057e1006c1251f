"""Routes of the sharing REST API, included at /api/v1/ before the registry's."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from sharing.api import inference, packages, subscriptions

# SimpleRouter: the registry's DefaultRouter already answers the API root.
router = SimpleRouter()
router.register("subscriptions", subscriptions.SubscriptionViewSet, basename="subscription")

urlpatterns = [
    path("versions/<int:version_id>/infer/", inference.InferView.as_view(), name="version-infer"),
    path("versions/<int:version_id>/sdk/", packages.SdkView.as_view(), name="version-sdk"),
    path("versions/<int:version_id>/bundle/", packages.BundleView.as_view(), name="version-bundle"),
    path("inferences/", inference.InferenceListView.as_view(), name="inference-list"),
    path(
        "inferences/<uuid:inference_id>/",
        inference.InferenceDetailView.as_view(),
        name="inference-detail",
    ),
    path(
        "inferences/<uuid:inference_id>/ground-truth/",
        inference.GroundTruthView.as_view(),
        name="inference-ground-truth",
    ),
    path(
        "subscription-requests/",
        subscriptions.SubscriptionRequestsView.as_view(),
        name="subscription-requests",
    ),
    *router.urls,
]
