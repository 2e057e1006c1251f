from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from config.api_docs import ApiDocsView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("core.api.urls")),
    path("api/v1/", include("sharing.api.urls")),
    path("api/v1/", include("registry.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="schema"), name="api-docs"),
    path("", include("core.urls")),
    path("", include("sharing.urls")),
    path("", include("registry.urls")),
]

# Errors raised outside the API's views keep the API's JSON error shape under /api/.
handler400 = "core.api.exceptions.bad_request"
handler404 = "core.api.exceptions.page_not_found"
handler500 = "core.api.exceptions.server_error"
