"""Routes of the registry REST API, included at /api/v1/."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from registry.api import views

router = DefaultRouter()
router.register("organisations", views.OrganisationViewSet, basename="organisation")
router.register("models", views.SamViewSet, basename="model")
router.register("versions", views.VersionViewSet, basename="version")

urlpatterns = [
    path("audit-queue/", views.AuditQueueView.as_view(), name="audit-queue"),
    path("catalog/", views.CatalogView.as_view(), name="catalog"),
    *router.urls,
]
