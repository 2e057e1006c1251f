from django.contrib.auth import views as auth_views
from django.urls import path

from registry import views

urlpatterns = [
    path("", views.catalog, name="catalog"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("my-models/", views.my_models, name="my-models"),
    path("my-models/new/", views.model_create, name="model-create"),
    path("models/<slug:slug>/", views.model_detail, name="model-detail"),
    path("models/<slug:slug>/versions/new/", views.version_create, name="version-create"),
    path("versions/<int:pk>/edit/", views.version_edit, name="version-edit"),
    path("versions/<int:pk>/upload/", views.version_upload, name="version-upload"),
    path("versions/<int:pk>/register/", views.version_register, name="version-register"),
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
