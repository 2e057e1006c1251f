"""Routes of the training REST API, included at /api/v1/."""

from rest_framework.routers import SimpleRouter

from training.api import views

# SimpleRouter: the registry's DefaultRouter already answers the API root.
router = SimpleRouter()
router.register("datasets", views.DatasetViewSet, basename="dataset")
router.register("training-requests", views.TrainingRequestViewSet, basename="training-request")
router.register("training-processes", views.TrainingProcessViewSet, basename="training-process")
router.register("training-reports", views.TrainingReportViewSet, basename="training-report")

urlpatterns = router.urls
