"""A deprecated version announced over HTTP (RFC 9745): the answers that serve a DEPRECATED
version (reasoning calls, package and model-file downloads, API reads of the version) carry
these headers, so that a consumer's systems see the warning without opening the portal."""

from django.urls import reverse

from registry.models import ModelVersion, VersionStatus


def deprecation_headers(version: ModelVersion, model_slug: str) -> dict[str, str]:
    """`Deprecation: @<unix seconds>` (RFC 9745 §2.1, a structured-field Date) of when the
    version was deprecated, and a `Link` with rel="deprecation" (§3) to its panel on the model
    page, which says what replaces it; nothing for a version that is not DEPRECATED. The slug
    is passed in because the inference hot path has it without loading the model."""
    if version.status != VersionStatus.DEPRECATED or version.deprecated_at is None:
        return {}
    page = reverse("registry:model-detail", args=[model_slug]) + f"#v-{version.pk}"
    return {
        "Deprecation": f"@{int(version.deprecated_at.timestamp())}",
        "Link": f'<{page}>; rel="deprecation"; type="text/html"',
    }
