"""Content negotiation of the routes that answer with a file."""

from rest_framework.negotiation import DefaultContentNegotiation


class JsonOnlyNegotiation(DefaultContentNegotiation):
    """A route that answers a download with the file itself (not rendered) answers everything
    else (upload results, errors) in JSON, whatever the client accepts."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type
