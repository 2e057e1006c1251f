"""Portal routes of the registry, included at /."""

from django.urls import path

from registry import views

app_name = "registry"
urlpatterns = [
    path("catalog/", views.catalog, name="catalog"),
    path("my-models/", views.my_models, name="my-models"),
    path("my-models/new/", views.model_create, name="model-create"),
    path("models/<slug:slug>/", views.model_detail, name="model-detail"),
    path("models/<slug:slug>/versions/new/", views.version_create, name="version-create"),
    path("models/<slug:slug>/compare/", views.version_compare, name="version-compare"),
    path("versions/<int:pk>/edit/", views.version_edit, name="version-edit"),
    path("versions/<int:pk>/upload/", views.version_upload, name="version-upload"),
    path("versions/<int:pk>/register/", views.version_register, name="version-register"),
    path("versions/<int:pk>/artifact/", views.version_artifact, name="version-artifact"),
    *[
        path(
            f"versions/<int:pk>/{action}/",
            views.version_transition,
            {"action": action},
            name=f"version-{action}",
        )
        for action in views.TRANSITIONS
    ],
    path("audit/", views.audit_queue, name="audit-queue"),
    path("audit/<int:pk>/", views.audit_version, name="audit-version"),
]
