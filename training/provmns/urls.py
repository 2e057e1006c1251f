"""Routes of the ProvMnS facade, included at the site root by config/urls.py: every DN under
/ProvMnS/v1/ goes to one view, which resolves it; any other /ProvMnS/ address is a 404 in the
ProvMnS error shape."""

from django.urls import re_path

from training.provmns import errors, views

urlpatterns = [
    re_path(
        r"^ProvMnS/v1/(?P<dn>SubNetwork=[^?#]*?)/?$", views.ProvMnSView.as_view(), name="provmns"
    ),
    re_path(r"^ProvMnS(?:/.*)?$", errors.not_found),
]
