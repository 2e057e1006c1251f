"""Portal routes of training, included at /."""

from django.urls import path

from training import views

app_name = "training"
urlpatterns = [
    path("datasets/", views.dataset_list, name="dataset-list"),
    path("datasets/<int:pk>/", views.dataset_detail, name="dataset-detail"),
    path("datasets/<int:pk>/delete/", views.dataset_delete, name="dataset-delete"),
]
