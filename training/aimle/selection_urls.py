"""Portal routes of AIMLE model selection, included at /."""

from django.urls import path

from training.aimle import selection_views as views

app_name = "model-selection"
urlpatterns = [
    path("model-selection/", views.model_selection_list, name="list"),
    path("model-selection/new/", views.model_selection_create, name="create"),
    path("model-selection/<uuid:pk>/", views.model_selection_detail, name="detail"),
    path("model-selection/<uuid:pk>/progress/", views.model_selection_progress, name="progress"),
    path("model-selection/<uuid:pk>/winner/", views.model_selection_winner_submit, name="winner"),
    path("model-selection/<uuid:pk>/delete/", views.model_selection_delete, name="delete"),
]
