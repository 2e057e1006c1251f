"""One journey per role in a real browser (issue 12): a provider, an auditor, a consumer and an
operator sign in through the login page and walk through the pages of their role, each page
showing the real figures of the data made here: the home's part of the role, the usage and
accuracy charts of a released version, the comparison of versions, the notices inbox with its
badge in the navigation, the catalog's facets, sort and pages, the model card (Markdown
description, example input, model file), the API tokens page and the audit queue with past
audits. Each main page is audited by axe-core (no serious or critical violation) and, when
SAMHUB_DOCS_SCREENSHOTS names a folder, saved there at desktop and phone width for the docs
(tests/browser_helpers.main_page)."""

import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from core.models import Notice
from registry import views as registry_views
from registry.models import ModelVersion
from sharing import extraction
from sharing import services as sharing_services
from sharing.models import DeliveryKind, InferenceOutcome, Subscription
from tests import factories
from tests.browser_helpers import charts_drawn, main_page, sign_in
from tests.monitoring.conftest import infer_with_truth
from tests.sharing.calls import record_calls

DESCRIPTION = """## What it flags

Cells whose KPIs stray from their **usual week**:

- drops in handover success
- bursts of dropped calls
"""


def score(metric: str, value: float) -> dict:
    return {"inference_output_name": "variable", "performance_metric": metric,
            "performance_score": value}  # fmt: skip


@dataclass
class World:
    provider: User
    auditor: User
    consumer: User
    operator: User
    released: ModelVersion  # with its model file, used by the consumer
    child: ModelVersion  # a draft derived from it
    rejected: ModelVersion  # with a finding to fix
    waiting: ModelVersion  # submitted three days ago
    catalog: list[ModelVersion]  # every released version, newest release first
    inference: Subscription
    bundle: Subscription


def make_world() -> World:
    """Four people and what each of them has to look at, made through the services."""
    north = factories.make_organisation("North Operator")
    south = factories.make_organisation("South Operator")
    provider = factories.make_user("provider", organisation=north, username="provider")
    elsewhere = factories.make_user("provider", organisation=south, username="southern")
    auditor = factories.make_user("auditor", username="auditor")
    consumer = factories.make_user("consumer", username="consumer")
    operator = factories.make_user("operator", username="operator", is_staff=True)

    sam = factories.make_model(
        provider, name="Cell KPI anomaly detector", description=DESCRIPTION, tags=["anomaly"]
    )
    released = factories.make_version_in(
        "RELEASED", provider=provider, auditor=auditor, kind="skops", sam=sam,
        performance=[score("ACCURACY", 0.81)],
    )  # fmt: skip
    child = factories.make_draft(
        provider, sam=sam, version="1.1.0", parent=released, performance=[score("ACCURACY", 0.86)]
    )
    rejected = factories.make_version_in(
        "REJECTED", provider=provider, auditor=auditor, with_file=False,
        sam=factories.make_model(provider, name="Energy saving advisor"),
    )  # fmt: skip
    waiting = factories.make_version_in(
        "SUBMITTED", provider=elsewhere, auditor=auditor, with_file=False,
        sam=factories.make_model(elsewhere, name="Paging load forecaster"),
    )  # fmt: skip
    ModelVersion.objects.filter(pk=waiting.pk).update(
        submitted_at=timezone.now() - timedelta(days=3, hours=2)
    )
    others = [
        factories.make_released(elsewhere, auditor, name=name, domain=domain, region="South")
        for name, domain in (
            ("Backhaul congestion predictor", "Transport"),
            ("Uplink interference finder", "RAN"),
            ("Core signalling storm detector", "Core"),
        )
    ]

    inference = sharing_services.subscription_request(
        user=consumer, sam=sam, method="INFERENCE", purpose="Alarms for the north region"
    )
    bundle = sharing_services.subscription_request(user=consumer, sam=sam, method="BUNDLE")
    extraction.package_request(user=consumer, version_id=released.pk, kind="BUNDLE")
    extraction.delivery_authorise(user=consumer, version=released, kind=DeliveryKind.BUNDLE)
    infer_with_truth(released, consumer, right=3, wrong=1)
    record_calls(
        released, consumer, at=timezone.now() - timedelta(hours=3), latencies=[40],
        outcome=InferenceOutcome.ERROR,
    )  # fmt: skip
    # The provider's decisions, told to the consumer as notices.
    for name, reason in (("suspend", "Over quota"), ("resume", "Quota raised")):
        sharing_services.subscription_transition(
            subscription_id=inference.pk, user=provider, name=name, reason=reason
        )
    return World(
        provider=provider, auditor=auditor, consumer=consumer, operator=operator,
        released=released, child=child, rejected=rejected, waiting=waiting,
        catalog=[*reversed(others), released], inference=inference, bundle=bundle,
    )  # fmt: skip


def unread_badge(page, count: int) -> None:
    """The navigation's badge of unread notices says `count` (no badge for none)."""
    from playwright.sync_api import expect

    badge = page.locator("#badge-notices")
    if count:
        expect(badge).to_have_text(f"{count} unread")
    else:
        expect(badge).to_have_count(0)


def create_api_token(page, name: str) -> None:
    """On the API tokens page: create a token, see its key once, and find it in the list."""
    from playwright.sync_api import expect

    page.click("nav >> text=API tokens")
    expect(page.locator("h1")).to_have_text("API tokens")
    page.fill("#id_name", name)
    page.click("#create-token")
    expect(page.locator("h1")).to_have_text(f"Token “{name}” created")
    assert len(page.input_value("#token-key")) > 30
    page.click("#done")
    expect(page.locator("#tokens tbody tr")).to_have_count(1)
    expect(page.locator("#tokens tbody tr")).to_contain_text(name)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_provider_follows_their_models_from_home_to_usage_comparison_and_model_file(
    live_server, page
):
    from playwright.sync_api import expect

    world = make_world()
    released, rejected = world.released, world.rejected
    base = live_server.url

    page.goto(base + "/login/")
    main_page(page, "login")
    sign_in(page, base, "provider")
    # Home: models by state, the finding to fix, subscribers and calls (errors) per day.
    expect(page.locator("#home-provider h2")).to_have_text("Your models")
    expect(page.locator("#total-released")).to_have_text("Released: 1")
    expect(page.locator("#total-draft")).to_have_text("Draft: 1")
    expect(page.locator("#total-rejected")).to_have_text("Rejected: 1")
    expect(page.locator(f"#home-fix-{rejected.pk}")).to_contain_text(
        "Say which cells it was not tested on."
    )
    expect(page.locator(f"#subscribers-{released.pk}")).to_have_text("1")
    expect(page.locator(f"#week-{released.pk}")).to_have_text("5 (1 error)")
    expect(page.locator("#home-notices li")).to_have_count(2)
    main_page(page, "home-provider")

    # The usage page of the released version: calls, latency and accuracy charted.
    page.click(f"#home-usage-{released.pk} a")
    expect(page.locator("h1")).to_have_text(f"Usage of {released.sam.name} 1.0.0")
    expect(page.locator("#whose-calls")).to_contain_text("Every metered reasoning call")
    expect(page.locator("#total-calls")).to_have_text("5")
    expect(page.locator("#total-errors")).to_have_text("1")
    charts_drawn(page, "calls-chart", "latency-chart", "accuracy-chart")
    main_page(page, "usage")

    # The model card: Markdown description, example input, the model file to download.
    page.click(f"a:text-is('{released.sam.name}')")
    expect(page.locator("#model-description h4")).to_have_text("What it flags")
    expect(page.locator("#model-description strong")).to_have_text("usual week")
    expect(page.locator("#model-description li")).to_have_count(2)
    input_name = released.signature["inputs"][0]["name"]
    expect(page.locator(f"#example-{released.pk}")).to_contain_text(f'"{input_name}"')
    with page.expect_download() as download:
        page.click(f"#download-artifact-{released.pk}")
    content = Path(download.value.path()).read_bytes()
    assert hashlib.sha256(content).hexdigest() == released.artifact_sha256
    main_page(page, "model-card")

    # The comparison of the draft with the version it derives from.
    page.click(f"#compare-{world.child.pk}")
    expect(page.locator("h1")).to_have_text("Compare versions")
    expect(page.locator("#compare-metrics")).to_contain_text("0.86")
    expect(page.locator("#chart-score")).to_have_attribute("data-rendered", "true")
    assert page.locator(".lineage-node.compared").count() == 2
    main_page(page, "compare")

    # The inbox: the two audit decisions; opening the rejection leads to the version.
    unread_badge(page, 2)
    page.click("nav >> text=Notices")
    approval, rejection = (
        Notice.objects.get(user=world.provider, kind=kind)
        for kind in ("AUDIT_APPROVED", "AUDIT_REJECTED")
    )
    expect(page.locator(f"#notice-{approval.pk}")).to_contain_text(released.sam.name)
    expect(page.locator(f"#notice-{rejection.pk}")).to_contain_text(rejected.sam.name)
    page.click(f"#open-{rejection.pk}")
    expect(page.locator(f"#v-{rejected.pk}")).to_be_visible()
    unread_badge(page, 1)

    create_api_token(page, "provider-ci")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_auditor_works_through_the_queue_and_past_decisions(live_server, page):
    from playwright.sync_api import expect

    world = make_world()
    waiting = world.waiting
    base = live_server.url

    sign_in(page, base, "auditor")
    # Home: the queue with the submission's age, and the auditor's past decisions.
    expect(page.locator("#home-auditor h2")).to_have_text("Your audits")
    expect(page.locator("#home-queue-title")).to_have_text("Waiting for an audit (1)")
    expect(page.locator(f"#home-queue-{waiting.pk} .age")).to_have_text("3 days, 2 hours")
    rejection = world.rejected.reviews.get()
    # Their five decisions: the rejection, and the approvals of the four released versions.
    expect(page.locator("#home-decisions tbody tr")).to_have_count(5)
    expect(page.locator(f"#home-decision-{rejection.pk}")).to_contain_text("Rejected")
    expect(page.locator(f"#home-decision-{rejection.pk}")).to_contain_text("Incomplete")
    expect(page.locator("#badge-audit")).to_contain_text("1")
    main_page(page, "home-auditor")

    # The audit queue and the past audits.
    page.click("nav >> text=Audit queue")
    expect(page.locator("#audit-queue tbody tr")).to_have_count(1)
    expect(page.locator("#audit-queue tbody tr")).to_contain_text(waiting.sam.name)
    expect(page.locator("#past-audits-table tbody tr")).to_have_count(5)
    expect(page.locator(f"#review-{rejection.pk}")).to_contain_text("1 finding")
    main_page(page, "audit-queue")
    page.click(f"#audit-{waiting.pk}")
    expect(page.locator("h1")).to_have_text(f"Audit {waiting.sam.name} 1.0.0")
    expect(page.locator("#registration-fields")).to_contain_text(waiting.sam.limitations)

    # The inbox: the submission waiting for them, one notice per audited submission.
    notices = Notice.objects.filter(user=world.auditor, read_at__isnull=True)
    unread_badge(page, notices.count())
    page.click("nav >> text=Notices")
    told = notices.get(kind="SUBMISSION_WAITING", title__contains=waiting.sam.name)
    expect(page.locator(f"#notice-{told.pk}")).to_contain_text(waiting.sam.name)
    expect(page.locator("#notices .notice-item.unread")).to_have_count(notices.count())
    main_page(page, "notices")
    page.click("#read-all")
    expect(page.locator("#notices .notice-item.unread")).to_have_count(0)
    unread_badge(page, 0)

    create_api_token(page, "auditor-ci")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_consumer_browses_the_catalog_and_follows_their_subscriptions_and_calls(
    live_server, page, monkeypatch
):
    from playwright.sync_api import expect

    monkeypatch.setattr(registry_views, "CATALOG_PAGE_SIZE", 2)  # four versions, two pages
    world = make_world()
    released, inference, bundle = world.released, world.inference, world.bundle
    base = live_server.url

    sign_in(page, base, "consumer")
    # Home: subscriptions, own calls and errors, the bundle's build and download, notices.
    expect(page.locator("#home-consumer h2")).to_have_text("Your subscriptions and calls")
    expect(page.locator(f"#home-subscription-{inference.pk}")).to_contain_text("Active")
    expect(page.locator(f"#home-subscription-{bundle.pk}")).to_contain_text("Mirror download")
    expect(page.locator(f"#my-calls-{released.pk} td")).to_have_text(["5", "1"])  # calls, errors
    expect(page.locator(f"#home-build-{bundle.pk}")).to_contain_text("Queued")
    expect(page.locator("#home-downloads tbody tr")).to_contain_text("Mirror bundle")
    expect(page.locator("#home-notices li")).to_have_count(2)
    unread_badge(page, 2)
    main_page(page, "home-consumer")

    # Their own calls of the version: usage and accuracy charts.
    page.click(f"#my-calls-{released.pk} a")
    expect(page.locator("#whose-calls")).to_contain_text("Your own reasoning calls")
    expect(page.locator("#total-calls")).to_have_text("5")
    charts_drawn(page, "calls-chart", "latency-chart", "accuracy-chart")

    # The catalog: pages, sort and facets.
    page.click("nav >> text=Catalog")
    expect(page.locator("#result-count")).to_have_text("1–2 of 4 versions found")
    names = page.locator(".model-card h2")
    expect(names).to_have_text([v.sam.name for v in world.catalog[:2]])
    main_page(page, "catalog")
    page.click("#next-page")
    expect(page.locator("#result-count")).to_have_text("3–4 of 4 versions found")
    expect(names).to_have_text([v.sam.name for v in world.catalog[2:]])
    page.select_option("#id_sort", "name")
    page.click("#apply-filter")
    expect(page.locator("#result-count")).to_have_text("1–2 of 4 versions found")
    expect(names).to_have_text(sorted(v.sam.name for v in world.catalog)[:2])
    page.click("#facet-domain a:has-text('RAN')")
    expect(page.locator("#result-count")).to_have_text("1–2 of 2 versions found")
    expect(page.locator("#facet-domain a[aria-current='true']")).to_contain_text("RAN")
    expect(names).to_have_text(["Cell KPI anomaly detector", "Uplink interference finder"])

    # The model card: description and example input; consumers get no model file.
    page.click("a:text-is('Cell KPI anomaly detector')")
    expect(page.locator("#model-description li")).to_have_count(2)
    expect(page.locator(f"#example-{released.pk}")).to_contain_text('"inputs"')
    expect(page.locator(f"#download-artifact-{released.pk}")).to_have_count(0)

    # Their subscriptions, then the inbox: the suspension and the resumption, newest first.
    page.click("nav >> text=My subscriptions")
    expect(page.locator(f"#status-{inference.pk}")).to_contain_text("Active")
    expect(page.locator(f"#s-{bundle.pk}")).to_be_visible()
    main_page(page, "my-subscriptions")
    page.click("nav >> text=Notices")
    expect(page.locator("#notices .notice-item h2")).to_have_text(
        [re.compile("resumed", re.I), re.compile("suspended", re.I)]
    )
    page.click("#read-all")
    unread_badge(page, 0)

    create_api_token(page, "consumer-script")
    main_page(page, "api-tokens")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_operator_checks_workers_and_queues_and_opens_the_dashboard(
    live_server, page, monkeypatch
):
    from playwright.sync_api import expect

    from config import admin as site

    # No worker runs here: the pings give up sooner than a real deployment's.
    monkeypatch.setattr(site, "HOME_PING_TIMEOUT_SECONDS", 0.2)
    monkeypatch.setattr(site, "WORKER_PING_TIMEOUT_SECONDS", 0.2)
    make_world()
    base = live_server.url

    sign_in(page, base, "operator")
    # Home: worker and queue health, and the way to the dashboard.
    expect(page.locator("#home-operator h2")).to_have_text("Operations")
    expect(page.locator("#home-worker")).to_contain_text("No worker answered a ping within 0.2 s")
    expect(page.locator("#home-builds-count")).to_contain_text("1")  # the consumer's bundle
    expect(page.locator("#home-submitted-count")).to_contain_text("1")
    expect(page.locator("#home-unfinished-builds tbody tr")).to_have_count(1)
    main_page(page, "home-operator")

    page.click("#home-dashboard-link")
    expect(page.locator("#worker-status")).to_contain_text("No worker answered a ping")
    expect(page.locator("#state-SUBMITTED td").first).to_have_text("1")
    expect(page.locator("#state-RELEASED td").first).to_have_text("4")
    main_page(page, "admin-dashboard")

    page.goto(base + "/")
    create_api_token(page, "operator-monitoring")
