"""Routes of the training REST API, included at /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from training.aimle import api_clients, api_computing, api_context
from training.api import views

# SimpleRouter: the registry's DefaultRouter already answers the API root.
router = SimpleRouter()
router.register("datasets", views.DatasetViewSet, basename="dataset")
router.register("training-requests", views.TrainingRequestViewSet, basename="training-request")
router.register("training-processes", views.TrainingProcessViewSet, basename="training-process")
router.register("training-reports", views.TrainingReportViewSet, basename="training-report")
# AIMLE (TS 23.482): the client registry, context transfer, hierarchical computing assistance.
router.register("aimle/clients", api_clients.AimleClientViewSet, basename="aimle-client")
router.register(
    "aimle/context-transfers", api_context.ContextTransferViewSet, basename="aimle-context-transfer"
)
router.register(
    "aimle/execution-nodes", api_computing.ExecutionNodeViewSet, basename="aimle-execution-node"
)

urlpatterns = [
    *router.urls,
    path(
        "aimle/computing-assistance/",
        api_computing.ComputingAssistanceView.as_view(),
        name="aimle-computing-assistance",
    ),
]
