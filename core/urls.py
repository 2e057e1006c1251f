"""Portal routes of core: sign-in and sign-out, the signed-in user's API tokens."""

from django.contrib.auth import views as auth_views
from django.urls import path

from core import home, views

app_name = "core"
urlpatterns = [
    path("", home.home, name="home"),  # the portal's home page, a part per role (core.home)
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/api-tokens/", views.api_tokens, name="api-tokens"),
    path("account/api-tokens/<int:pk>/revoke/", views.api_token_revoke, name="api-token-revoke"),
]
