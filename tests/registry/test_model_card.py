"""The model card: a Markdown description rendered and sanitised, an example input from the
signature, the model file for the model's providers, auditors and operators (not consumers),
and an auditor's past decisions."""

import hashlib
import json
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from core.markdown import markdown_to_html, sanitise
from registry import services
from registry.models import ModelVersion
from sharing import services as sharing_services
from sharing.models import Delivery
from tests import factories

HOSTILE = """# Cell load

Forecasts **next-hour** load. See [the paper](https://example.org/paper "Paper").

<script>alert("script")</script>
<img src=x onerror="alert('img')">
<a href="javascript:alert('raw')" onclick="alert('click')">raw link</a>
[a link](javascript:alert('md'))
[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)
<javascript:alert('autolink')>
"""


class Elements(HTMLParser):
    """The elements of an HTML fragment with their attributes."""

    def __init__(self, fragment: str):
        super().__init__()
        self.found: list[tuple[str, dict]] = []
        self.feed(fragment)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def assert_harmless(fragment: str) -> None:
    for tag, attrs in Elements(fragment).found:
        assert tag not in ("script", "img", "iframe", "style"), fragment
        assert not [a for a in attrs if a.startswith("on")], fragment
        assert not (attrs.get("href") or "").lower().startswith(("javascript:", "data:")), fragment


def description_of(page: str) -> str:
    start = page.index('id="model-description">') + len('id="model-description">')
    return page[start : page.index("</div>", start)]


# --- Markdown -----------------------------------------------------------------------------


def test_the_description_is_rendered_as_markdown_without_its_hostile_parts(
    client, provider, consumer
):
    sam = factories.make_model(provider, name="Cell load", description=HOSTILE)
    version = factories.make_draft(provider, sam=sam)
    client.force_login(provider)

    page = client.get(reverse("registry:model-detail", args=[version.sam.slug])).content.decode()

    description = description_of(page)
    # Headings start under the section's own: the page keeps its one h1.
    assert "<h3>Cell load</h3>" in description and "<h1>" not in description
    assert "<strong>next-hour</strong>" in description
    assert (
        '<a href="https://example.org/paper" title="Paper" rel="nofollow noopener noreferrer">'
        "the paper</a>" in description
    )
    assert_harmless(description)
    # What was typed as HTML is shown as text, not dropped without a trace.
    assert "&lt;script&gt;" in description


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html,<script>alert(1)</script>)",
        "<javascript:alert(1)>",
        '<a href="javascript:alert(1)" onmouseover="alert(2)">x</a>',
        "```html\n<script>alert(1)</script>\n```",
        '[x](https://example.org/" onclick="alert(1))',
    ],
)
def test_hostile_markdown_comes_out_harmless(text):
    assert_harmless(markdown_to_html(text))


def test_the_sanitiser_drops_what_the_renderer_let_through():
    # nh3 is the guarantee: HTML handed to it with live parts comes out without them.
    dirty = '<p onclick="x()">a <a href="javascript:x()">b</a><script>c</script><img src=x></p>'

    assert sanitise(dirty) == '<p>a <a rel="nofollow noopener noreferrer">b</a></p>'


# --- example input --------------------------------------------------------------------------


def test_the_example_input_follows_the_signature():
    version = ModelVersion(
        signature={
            "inputs": [
                {"name": "kpis", "type": "float", "shape": [None, 3]},
                {"name": "grid", "type": "float", "shape": ["batch", 2, 2]},
                {"name": "scalar", "type": "float", "shape": []},
                {"name": "unknown", "type": "float"},
            ],
            "outputs": [{"name": "y", "type": "float", "shape": [None]}],
        }
    )

    assert version.example_inputs() == {
        "kpis": [[0.0, 0.0, 0.0]],
        "grid": [[[0.0, 0.0], [0.0, 0.0]]],
        "scalar": [0.0],
        "unknown": [0.0],
    }
    assert ModelVersion(signature={}).example_inputs() == {}


def test_the_model_page_shows_an_example_input_with_the_real_input_names(
    client, provider, auditor, consumer
):
    version = factories.make_version_in("RELEASED", provider=provider, auditor=auditor)
    client.force_login(consumer)

    response = client.get(reverse("registry:model-detail", args=[version.sam.slug]))

    page = response.content.decode()
    name = version.signature["inputs"][0]["name"]
    example = json.dumps({"inputs": version.example_inputs()}).replace('"', "&quot;")
    assert f'<pre class="json" id="example-{version.pk}"' in page and example in page
    assert f"&quot;{name}&quot;: [[0.0" in page


# --- model file download -------------------------------------------------------------------


def download(client, user, version):
    client.force_login(user)
    return client.get(reverse("registry:version-artifact", args=[version.pk]))


def test_providers_auditors_and_operators_download_the_model_file(
    client, provider, auditor, second_auditor, operator
):
    version = factories.make_version_in("RELEASED", provider=provider, auditor=auditor)

    for user in (provider, second_auditor, operator):
        response = download(client, user, version)
        assert response.status_code == 200, user
        content = b"".join(response.streaming_content)
        assert hashlib.sha256(content).hexdigest() == version.artifact_sha256
        assert response["X-Checksum-SHA256"] == version.artifact_sha256
        assert f'filename="{version.artifact_filename}"' in response["Content-Disposition"]
        page = client.get(reverse("registry:model-detail", args=[version.sam.slug]))
        assert f'id="download-artifact-{version.pk}"' in page.content.decode()
    # Each delivery is logged, as the API's are (sharing through registry.extensions).
    assert sorted(d.user.username for d in Delivery.objects.filter(version=version)) == sorted(
        u.username for u in (provider, second_auditor, operator)
    )


def test_a_consumer_and_another_organisations_provider_are_refused_the_model_file(
    client, provider, auditor, consumer, other_provider
):
    version = factories.make_version_in("RELEASED", provider=provider, auditor=auditor)
    # Even a consumer who may take the model out as a bundle does that through sharing.
    sharing_services.subscription_request(user=consumer, sam=version.sam, method="BUNDLE")

    for user in (consumer, other_provider):
        response = download(client, user, version)
        assert response.status_code == 403, user
        assert "takes a released model out through a subscription" in response.content.decode()
        page = client.get(reverse("registry:model-detail", args=[version.sam.slug]))
        assert 'id="download-artifact-' not in page.content.decode()
    assert not Delivery.objects.exists()


def test_a_draft_of_another_organisation_is_not_found_and_a_version_without_file_neither(
    client, provider, auditor, other_provider
):
    draft = factories.make_version_in("DRAFT", provider=provider, auditor=auditor)
    endpoint = factories.make_released(provider, auditor)

    assert download(client, other_provider, draft).status_code == 404
    assert download(client, provider, endpoint).status_code == 404


def test_an_auditor_downloads_the_file_they_audit_from_the_audit_page(client, provider, auditor):
    version = factories.make_version_in("SUBMITTED", provider=provider, auditor=auditor)
    client.force_login(auditor)

    page = client.get(reverse("registry:audit-version", args=[version.pk])).content.decode()

    href = reverse("registry:version-artifact", args=[version.pk])
    assert f'href="{href}" id="download-artifact"' in page
    response = client.get(href)
    assert response.status_code == 200
    assert hashlib.sha256(b"".join(response.streaming_content)).hexdigest() == (
        version.artifact_sha256
    )


# --- an auditor's past decisions -----------------------------------------------------------


def test_the_audit_queue_lists_the_auditors_past_decisions(
    client, provider, auditor, second_auditor
):
    approved = factories.make_version_in("SUBMITTED", provider=provider, auditor=auditor)
    rejected = factories.make_version_in("REJECTED", provider=provider, auditor=auditor)
    by_another = factories.make_version_in("SUBMITTED", provider=provider, auditor=auditor)
    services.version_approve(version_id=approved.pk, user=auditor, reason="Complete")
    services.version_approve(version_id=by_another.pk, user=second_auditor)
    client.force_login(auditor)

    page = client.get(reverse("registry:audit-queue")).content.decode()

    past = page[page.index('id="past-audits"') :]
    assert past.count('<tr id="review-') == 2
    assert f"#v-{approved.pk}" in past and f"#v-{rejected.pk}" in past
    assert f"#v-{by_another.pk}" not in past
    assert "Complete" in past and "1 finding" in past
    # Newest first: the approval came after the rejection.
    assert past.index(f"#v-{approved.pk}") < past.index(f"#v-{rejected.pk}")
