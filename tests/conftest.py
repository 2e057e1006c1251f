"""Fixtures that tests in more than one folder use. Plain helpers live in modules beside this
one (factories, processes, form_data, browser_helpers); a folder's conftest.py holds only what
that folder alone uses."""

import os
import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connections
from rest_framework.test import APIClient

from sharing import services as sharing_services
from tests import factories
from tests.callbacks import CallbackReceiver
from tests.s3 import moto_server, warehouse_settings


def pytest_configure(config):
    """Under pytest-xdist (`-n`), each test process gets a broker of its own: a Redis database
    (the configured one, then the ones below it) or a folder broker in a folder of its own. A
    Celery worker that one process starts must not take another's tasks, whose rows it cannot
    see, and a ping must reach only its own worker. Worker fixtures hand these settings on."""
    process = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1, ...
    if process is None:
        return
    from django.conf import settings

    from config.celery import app
    from config.settings import folder_broker_options

    if settings.CELERY_BROKER_URL == "filesystem://":
        settings.DATA_DIR = settings.DATA_DIR / process
        settings.CELERY_BROKER_TRANSPORT_OPTIONS = folder_broker_options(settings.DATA_DIR)
        os.environ["SAMHUB_DATA_DIR"] = str(settings.DATA_DIR)  # for the children
    else:
        url = urlsplit(settings.CELERY_BROKER_URL)
        database = int(url.path.strip("/") or 0) - int(process.removeprefix("gw"))
        settings.CELERY_BROKER_URL = urlunsplit(url._replace(path=f"/{database % 16}"))
        # Celery reads the environment's CELERY_BROKER_URL before its settings.
        os.environ["CELERY_BROKER_URL"] = settings.CELERY_BROKER_URL
    app.conf.broker_url = settings.CELERY_BROKER_URL
    app.conf.broker_transport_options = settings.CELERY_BROKER_TRANSPORT_OPTIONS


@pytest.fixture(autouse=True)
def _warehouse_in_tmp(settings, tmp_path):
    """Each test gets its own local warehouse folder."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "warehouse"},
        },
    }
    settings.MEDIA_ROOT = tmp_path / "warehouse"


@pytest.fixture(autouse=True)
def _empty_model_cache():
    """Each test loads its models anew (the per-process cache would outlive the test database)."""
    from sharing import inference

    inference.cache.clear()
    yield
    inference.cache.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Every role fixture creates a user with a password; PBKDF2 would dominate the run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def organisation(db):
    return factories.make_organisation("North Operator")


@pytest.fixture
def other_organisation(db):
    return factories.make_organisation("South Operator")


@pytest.fixture
def provider(organisation):
    return factories.make_user("provider", organisation=organisation, username="provider")


@pytest.fixture
def other_provider(other_organisation):
    return factories.make_user("provider", organisation=other_organisation, username="outsider")


@pytest.fixture
def auditor(db):
    return factories.make_user("auditor", username="auditor")


@pytest.fixture
def second_auditor(db):
    return factories.make_user("auditor", username="auditor2")


@pytest.fixture
def operator(db):
    return factories.make_user("operator", username="operator", is_staff=True)


@pytest.fixture
def consumer(db):
    return factories.make_user("consumer", username="consumer")


@pytest.fixture
def api():
    """api(user) gives an APIClient signed in as user; api() an anonymous one."""

    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            # A session cookie too, as a real signed-in request carries: the body-size limits
            # (registry.middleware) look at credentials before DRF authenticates anyone.
            client.force_login(user)
            client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def draft(provider):
    return factories.make_draft(provider)


@pytest.fixture
def version(provider, auditor):
    """A released skops model that SAM Hub runs itself, without approval required."""
    return factories.make_version_in("RELEASED", provider=provider, auditor=auditor, kind="skops")


@pytest.fixture
def subscription(consumer, version):
    """The consumer's ACTIVE INFERENCE subscription to that model."""
    return sharing_services.subscription_request(user=consumer, sam=version.sam, method="INFERENCE")


# --- a warehouse that the test and a Celery worker in a child process both see ---------------


@pytest.fixture(scope="module")
def shared_warehouse(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("shared-warehouse")


@pytest.fixture
def in_shared_warehouse(settings, shared_warehouse):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": shared_warehouse},
        },
    }
    settings.MEDIA_ROOT = shared_warehouse


# --- callbacks: a loopback server standing for whoever SAM Hub notifies --------------------


@pytest.fixture
def loopback_callbacks(settings):
    """Callbacks to loopback allowed (the receivers of the tests listen there)."""
    settings.SAMHUB_CALLBACK_ALLOWED_NETWORKS = ["127.0.0.0/8"]


@pytest.fixture
def receiver():
    """A callback server on loopback (tests/callbacks.py), for the test's duration."""
    with CallbackReceiver() as server:
        yield server


# --- a real browser: Debian chromium driven by Playwright ------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_MISSING = "Debian chromium is not installed (apt-get install chromium)"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


_CALL_REPORT = pytest.StashKey()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep the test's own report (its call phase), for fixtures that act on a failure."""
    report = yield
    if report.when == "call":
        item.stash[_CALL_REPORT] = report
    return report


@pytest.fixture
def page(monkeypatch, request, tmp_path):
    """A Playwright page in headless chromium. Where chromium is missing the test skips, saying
    why; CI sets SAMHUB_REQUIRE_BROWSER=1 and fails instead. When the test fails, a screenshot
    of the page as it was and its HTML are saved (in SAMHUB_BROWSER_SCREENSHOTS, or the test's
    tmp_path) and their paths printed with the failure. Helpers: tests/browser_helpers.py."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("SAMHUB_REQUIRE_BROWSER") == "1":
            pytest.fail(CHROMIUM_MISSING)
        pytest.skip(CHROMIUM_MISSING)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # synchronous and safe here, so let Django allow them.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(30_000)
        opened = context.new_page()
        yield opened
        report = request.node.stash.get(_CALL_REPORT, None)
        if report is not None and report.failed:
            _screenshot(opened, request.node.name, tmp_path)
        # While Playwright's loop runs, Django keeps the test's database connection per
        # context; close it here, or PostgreSQL refuses to drop the test database at the end.
        connections.close_all()
        browser.close()


def _screenshot(page, test_name: str, tmp_path: Path) -> tuple[Path, Path]:
    """Save the failed test's page as a PNG and its HTML (what the DOM held, after scripts ran)
    side by side, in SAMHUB_BROWSER_SCREENSHOTS or tmp_path; print both paths. Returns them."""
    folder = Path(os.environ.get("SAMHUB_BROWSER_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^\w.-]+", "-", test_name)
    picture, html = folder / f"{stem}.png", folder / f"{stem}.html"
    # Each is tried on its own: the page may be gone with what failed; say so, do not mask it.
    try:
        page.screenshot(path=str(picture), full_page=True)
    except Exception as exc:
        print(f"No screenshot of the failed test's page: {exc}")
    else:
        print(f"Screenshot of the failed test's page: {picture} ({page.url})")
    try:
        html.write_text(page.content(), encoding="utf-8")
    except Exception as exc:
        print(f"No HTML of the failed test's page: {exc}")
    else:
        print(f"HTML of the failed test's page: {html} ({page.url})")
    return picture, html


@pytest.fixture(scope="session")
def s3_endpoint():
    """One moto S3 server on loopback for the run: (endpoint URL, boto3 client)."""
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3_warehouse(settings, s3_endpoint):
    """The warehouse in the test bucket, for this test; the boto3 client to look into it."""
    url, client = s3_endpoint
    settings.STORAGES = {**settings.STORAGES, "default": warehouse_settings(url)}
    return client
