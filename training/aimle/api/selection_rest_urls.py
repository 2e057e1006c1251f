"""Routes of model selection in the REST API, included at /api/v1/."""

from rest_framework.routers import SimpleRouter

from training.aimle.api import selection_rest

router = SimpleRouter()
router.register(
    "model-selections", selection_rest.ModelSelectionViewSet, basename="model-selection"
)

urlpatterns = router.urls
