"""Portal routes of core: the signed-in user's API tokens."""

from django.urls import path

from core import views

urlpatterns = [
    path("account/api-tokens/", views.api_tokens, name="api-tokens"),
    path("account/api-tokens/<int:pk>/revoke/", views.api_token_revoke, name="api-token-revoke"),
]
