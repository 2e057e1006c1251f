"""Routes of the API token endpoints, included at /api/v1/."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from core.api import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("auth/tokens", views.TokenViewSet, basename="token")

urlpatterns = [
    path("auth/token/", views.TokenCreateView.as_view(), name="token"),
    *router.urls,
]
