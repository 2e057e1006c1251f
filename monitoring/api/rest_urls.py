"""Monitoring's routes of the REST API, included at /api/v1/."""

from django.urls import path

from monitoring.api import views

urlpatterns = [
    path("analytics-feedback/", views.AnalyticsFeedbackView.as_view(), name="analytics-feedback"),
]
