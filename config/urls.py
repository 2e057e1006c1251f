from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from config.api_docs import ApiDocsView

# Every route of the API under one namespace, "api:" (the apps' API modules share /api/v1/;
# sharing's before the registry's, whose router answers the API root). Django tries the routes
# in order on every request: the API first, and sharing's (the reasoning call) first in it,
# so that the call is found after a few routes, not after all of them (docs/benchmarks.md).
# The apps' prefixes do not overlap, so the order decides nothing else.
api = [
    path("v1/", include("sharing.api.urls")),
    path("v1/", include("core.api.urls")),
    path("v1/", include("monitoring.api.rest_urls")),
    path("v1/", include("training.api.urls")),
    path("v1/", include("training.aimle.api.selection_rest_urls")),
    path("v1/", include("registry.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", ApiDocsView.as_view(url_name="api:schema"), name="docs"),
]

urlpatterns = [
    path("api/", include((api, "api"))),
    # TS 28.532 provisioning of the training NRM (training/provmns/, docs/training.md).
    path("", include("training.provmns.urls")),
    path("admin/", admin.site.urls),
    # 3GPP surfaces, as their OpenAPI files define them.
    path("nnwdaf-mlmodelmonitor/v1/", include("monitoring.api.urls")),
    path("aimles-amlmsel/v1/", include("training.aimle.api.selection_urls")),
    # The portal: namespaces "core:", "training:", "model-selection:", "monitoring:", "sharing:"
    # (before the registry's) and "registry:".
    path("", include("core.urls")),
    path("", include("training.urls")),
    path("", include("training.aimle.selection_urls")),
    path("", include("monitoring.urls")),
    path("", include("sharing.urls")),
    path("", include("registry.urls")),
]

# Errors raised outside the API's views keep the API's JSON error shape under /api/.
handler400 = "core.api.exceptions.bad_request"
handler404 = "core.api.exceptions.page_not_found"
handler500 = "core.api.exceptions.server_error"
