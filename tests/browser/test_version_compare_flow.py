"""Comparing versions in a real browser (issue 12, scope 3): from the model page a provider
opens the comparison of a version with its parent; both charts are drawn by the vendored
Chart.js under the Content-Security-Policy, the lineage graph highlights the two versions,
and at phone width nothing but the tables and the graph (inside their cards) scrolls
sideways."""

import pytest

from tests import factories
from tests.browser_helpers import sign_in


def score(metric, value):
    return {"inference_output_name": "variable", "performance_metric": metric,
            "performance_score": value}  # fmt: skip


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_provider_compares_a_version_with_its_parent(live_server, page):
    from playwright.sync_api import expect

    north = factories.make_organisation("North Operator")
    provider = factories.make_user("provider", organisation=north, username="provider")
    first = factories.make_draft(provider, performance=[score("ACCURACY", 0.81), score("MAE", 2.6)])
    second = factories.make_draft(
        provider, sam=first.sam, version="1.1.0", parent=first,
        performance=[score("ACCURACY", 0.86), score("MAE", 2.2)],
    )  # fmt: skip
    factories.make_draft(provider, sam=first.sam, version="2.0.0-rc.1", parent=first)
    problems = []
    # Script errors and CSP refusals show in the console; a failed load as its response (the
    # favicon is issue 12's quality item, not this page's).
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on(
        "response",
        lambda r: (
            problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    base = live_server.url

    sign_in(page, base, "provider")
    page.goto(f"{base}/models/{first.sam.slug}/")
    page.click(f"#compare-{second.pk}")

    expect(page.locator("h1")).to_have_text("Compare versions")
    expect(page.locator("#chart-score")).to_have_attribute("data-rendered", "true")
    expect(page.locator("#chart-error")).to_have_attribute("data-rendered", "true")
    assert page.locator(f"#compare-form input[value='{first.pk}']").is_checked()
    assert page.locator(".lineage-node.compared").count() == 2
    assert page.locator(".lineage-edge").count() == 2
    assert problems == []

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.locator("#chart-error")).to_have_attribute("data-rendered", "true")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert problems == []
