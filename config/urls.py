from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("sharing.api.urls")),
    path("api/v1/", include("registry.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("", include("sharing.urls")),
    path("", include("registry.urls")),
]

# Errors raised outside the API's views keep the API's JSON error shape under /api/.
handler400 = "registry.api.exceptions.bad_request"
handler404 = "registry.api.exceptions.page_not_found"
