"""Portal routes of training, included at /."""

from django.urls import path

from training import views

app_name = "training"
urlpatterns = [
    path("datasets/", views.dataset_list, name="dataset-list"),
    path("datasets/<int:pk>/", views.dataset_detail, name="dataset-detail"),
    path("datasets/<int:pk>/delete/", views.dataset_delete, name="dataset-delete"),
    path("training/", views.training_list, name="request-list"),
    path("training/new/", views.training_request_create, name="request-create"),
    path("training/requests/<int:pk>/", views.training_request_detail, name="request-detail"),
    path(
        "training/requests/<int:pk>/progress/",
        views.training_request_progress,
        name="request-progress",
    ),
    path(
        "training/processes/<int:pk>/progress/",
        views.training_process_progress,
        name="process-progress",
    ),
    path("training/reports/<int:pk>/", views.training_report_detail, name="report-detail"),
    *[
        path(
            f"training/{plural}/<int:pk>/{action}/",
            views.training_action,
            {"kind": kind, "action": action},
            name=f"{kind}-{action}",
        )
        for kind, plural in (("request", "requests"), ("process", "processes"))
        for action in ("cancel", "suspend", "resume")
    ],
]
