"""Quality of the portal across its apps (issue 12, scope 7): every destructive action asks
first, /favicon.ico answers, and an empty list says what it means and what to do next. The
browser side (no horizontal scroll at 390 px, the confirm dialog, the skip link) is in
tests/browser/test_quality.py."""

import html
import re

from django.urls import reverse

from registry import services as registry_services
from sharing import services as sharing_services
from tests import factories


def page_of(client, user, url: str) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def confirm_of(page: str, action: str) -> str:
    """The question of the form that posts to `action` (a URL): what confirm.js shows."""
    form = re.search(rf'<form [^>]*action="{re.escape(action)}"[^>]*>', page)
    assert form, f"no form posting to {action}"
    question = re.search(r'data-confirm="([^"]+)"', form.group(0))
    assert question, f"the form posting to {action} does not ask first"
    return question.group(1)


# --- confirmation before destructive actions ------------------------------------------------


def test_every_page_loads_the_confirmation_script_once(client, provider, auditor):
    version = factories.make_released(provider, auditor)

    for url in (reverse("core:home"), reverse("registry:model-detail", args=[version.sam.slug])):
        assert page_of(client, provider, url).count("js/confirm.js") == 1


def test_deprecating_and_retiring_a_version_ask_first(client, provider, auditor):
    released = factories.make_released(provider, auditor, name="Cell load forecaster")
    deprecated = factories.make_released(provider, auditor, name="KPI anomaly detector")
    deprecated = registry_services.version_deprecate(version_id=deprecated.pk, user=provider)

    released_page = page_of(
        client, provider, reverse("registry:model-detail", args=[released.sam.slug])
    )
    deprecated_page = page_of(
        client, provider, reverse("registry:model-detail", args=[deprecated.sam.slug])
    )

    deprecate = confirm_of(released_page, reverse("registry:version-deprecate", args=[released.pk]))
    retire = confirm_of(deprecated_page, reverse("registry:version-retire", args=[deprecated.pk]))
    assert deprecate.startswith("Deprecate version 1.0.0 of Cell load forecaster?")
    assert retire.startswith("Retire version 1.0.0 of KPI anomaly detector?")


def test_cancelling_a_subscription_asks_first(client, consumer, provider, auditor):
    sam = factories.make_released(provider, auditor, name="Cell load forecaster").sam
    subscription = sharing_services.subscription_request(user=consumer, sam=sam, method="INFERENCE")

    page = page_of(client, consumer, reverse("sharing:my-subscriptions"))

    cancel = confirm_of(page, reverse("sharing:subscription-cancel", args=[subscription.pk]))
    assert cancel.startswith("Cancel your INFERENCE subscription to Cell load forecaster?")


def test_denying_suspending_and_revoking_ask_first_and_granting_does_not(
    client, consumer, provider, auditor
):
    gated = factories.make_released(
        provider, auditor, name="KPI anomaly detector", approval_required=True
    ).sam
    pending = sharing_services.subscription_request(user=consumer, sam=gated, method="INFERENCE")
    open_sam = factories.make_released(provider, auditor, name="Cell load forecaster").sam
    active = sharing_services.subscription_request(user=consumer, sam=open_sam, method="INFERENCE")

    page = page_of(client, provider, reverse("sharing:subscription-requests"))

    def url(action, subscription):
        return reverse(f"sharing:subscription-{action}", args=[subscription.pk])

    assert confirm_of(page, url("deny", pending)).startswith(
        "Deny consumer's INFERENCE request for KPI anomaly detector?"
    )
    assert confirm_of(page, url("suspend", active)).startswith(
        "Suspend consumer's INFERENCE subscription to Cell load forecaster?"
    )
    assert confirm_of(page, url("revoke", active)).startswith(
        "Revoke consumer's INFERENCE subscription to Cell load forecaster?"
    )
    grant = re.search(rf'<form [^>]*action="{re.escape(url("grant", pending))}"[^>]*>', page)
    assert grant and "data-confirm" not in grant.group(0)


# --- the icon -------------------------------------------------------------------------------


def test_favicon_ico_leads_to_the_svg_mark_that_every_page_links(client, db):
    answer = client.get("/favicon.ico", follow=True)

    assert answer.status_code == 200
    assert answer.redirect_chain == [("/static/favicon.svg", 301)]
    assert answer["Content-Type"] == "image/svg+xml"
    assert b"<svg" in b"".join(answer.streaming_content)
    page = client.get(reverse("core:login")).content.decode()  # base.html, as every page
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page


# --- empty states: what the emptiness means and where to go next ---------------------------


def empty_state(page: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</(?:div|p)>', page, re.S)
    assert found, f"no #{element_id}"
    return found.group(1)


def test_an_empty_catalog_says_whether_the_filters_or_no_release_is_why(
    client, provider, consumer, auditor
):
    nothing_released = empty_state(
        page_of(client, provider, reverse("registry:catalog")), "no-results"
    )
    factories.make_released(provider, auditor, name="Cell load forecaster")
    nothing_matches = empty_state(
        page_of(client, consumer, reverse("registry:catalog") + "?q=handover"), "no-results"
    )

    assert "No version is released yet" in nothing_released
    assert f'<a href="{reverse("registry:my-models")}">Register yours</a>' in nothing_released
    assert "No released version matches these filters" in nothing_matches
    assert f'<a href="{reverse("registry:catalog")}">start again</a>' in nothing_matches


def test_no_tokens_no_audits_and_no_notices_each_say_what_to_do(client, consumer, auditor):
    tokens = empty_state(page_of(client, consumer, reverse("core:api-tokens")), "no-tokens")
    notices = empty_state(page_of(client, consumer, reverse("core:notices")), "no-notices")
    audits = empty_state(page_of(client, auditor, reverse("registry:audit-queue")), "no-audits")

    assert "You have no API tokens yet" in tokens and '<a href="#id_name">Create one' in tokens
    assert "No notices yet" in notices and '<a href="#preference-title">' in notices
    assert "Nothing waits for your audit" in audits
    assert '<a href="#past-audits">' in audits
    assert f'<a href="{reverse("registry:catalog")}">catalog</a>' in audits
