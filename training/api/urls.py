"""Routes of the training REST API, included at /api/v1/."""

from rest_framework.routers import SimpleRouter

from training.api import views

# SimpleRouter: the registry's DefaultRouter already answers the API root.
router = SimpleRouter()
router.register("datasets", views.DatasetViewSet, basename="dataset")

urlpatterns = router.urls
