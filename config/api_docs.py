"""The API docs UI at /api/docs/: Swagger UI from drf-spectacular-sidecar, served offline."""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularSwaggerSplitView

from config.csp import HEADER, policy_header

# Swagger UI's stylesheet draws its icons as data: images; nothing else is relaxed.
DOCS_POLICY = policy_header({**settings.SECURE_CSP, "img-src": ["'self'", "data:"]})


class ApiDocsView(SpectacularSwaggerSplitView):
    """The split view serves the page's script from ?script, so no script is inline."""

    template_name = "api/docs.html"

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response[HEADER] = DOCS_POLICY
        return response
