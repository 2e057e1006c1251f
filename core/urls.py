"""Portal routes of core: sign-in and sign-out, the signed-in user's API tokens and notices,
the portal's icon."""

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
    path("favicon.ico", views.favicon, name="favicon"),
    path("account/api-tokens/", views.api_tokens, name="api-tokens"),
    path("account/api-tokens/<int:pk>/revoke/", views.api_token_revoke, name="api-token-revoke"),
    path("account/notices/", views.notice_list, name="notices"),
    path("account/notices/read/", views.notices_mark_all_read, name="notices-read-all"),
    path("account/notices/preference/", views.notice_preference, name="notice-preference"),
    path("account/notices/<int:pk>/", views.notice_open, name="notice-open"),
    path("account/notices/<int:pk>/read/", views.notice_mark_read, name="notice-read"),
]
