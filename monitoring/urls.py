"""Portal routes of monitoring, included at /."""

from django.urls import path

from monitoring import views

app_name = "monitoring"
urlpatterns = [
    path("versions/<int:pk>/monitoring/", views.version_monitoring, name="version-monitoring"),
]
