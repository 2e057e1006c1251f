"""Issue 7, item 15 (deployment): `manage.py check --deploy` is clean under production settings
taken from the environment (HTTPS redirect, HSTS, secure cookies); every page sends a
Content-Security-Policy with no inline script or style, and the pages keep working under it in a
real browser; `manage.py portal` warns when the embedded secret key is used outside the demo;
and 500 answers of the API carry no internal paths."""

import json
import os
import re
import secrets
import subprocess
import sys
import time

import pytest
from django.core.files.storage import default_storage
from django.urls import URLPattern, path, reverse
from rest_framework.views import APIView

import config.urls
from core import services as core_services
from core.models import NoticeKind
from core.notices import notice_send
from sharing import services as sharing_services
from tests import factories
from tests.browser_helpers import sign_in, sign_out
from tests.processes import ROOT

TEMPLATES = [ROOT / "templates", ROOT / "registry", ROOT / "sharing", ROOT / "training"]
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
SECRET_PATH = "/srv/samhub/config/settings.py"
ROLES = ["provider", "auditor", "operator", "consumer"]


def clean_env() -> dict[str, str]:
    """This environment without SAM Hub's settings: the embedded defaults (SQLite and the
    folder broker in SAMHUB_DATA_DIR), never the database or broker the tests run against."""
    ours = ("DJANGO_", "SAMHUB_", "DATABASE_URL", "CELERY_BROKER_URL")
    return {k: v for k, v in os.environ.items() if not k.startswith(ours)}


def production_env(tmp_path, **changes) -> dict[str, str]:
    env = clean_env()
    env.update(
        SAMHUB_DATA_DIR=str(tmp_path / "data"),
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_DEBUG="false",
        DJANGO_ALLOWED_HOSTS="samhub.example.org",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://samhub.example.org",
        DJANGO_SECURE_SSL_REDIRECT="true",
        DJANGO_SECURE_HSTS_SECONDS="31536000",
        DJANGO_SECURE_HSTS_PRELOAD="true",
        DJANGO_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
    )
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def manage(env, *args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# --- manage.py check --deploy ----------------------------------------------------------------


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("unset", "warning"),
    [
        ("DJANGO_SECRET_KEY", "security.W009"),  # the embedded key
        ("DJANGO_SECURE_SSL_REDIRECT", "security.W008"),
        ("DJANGO_SECURE_HSTS_SECONDS", "security.W004"),
    ],
)
def test_check_deploy_flags_what_production_leaves_out(tmp_path, unset, warning):
    result = manage(
        production_env(tmp_path, **{unset: None}), "check", "--deploy", "--fail-level", "WARNING"
    )

    assert result.returncode != 0
    assert warning in result.stdout + result.stderr


PROBE = """
from django.test import Client
from django.contrib.auth.models import User
User.objects.create_user("probe", password="pw-for-tests-123")
client = Client(HTTP_HOST="samhub.example.org")
plain = client.get("/login/")
print("plain", plain.status_code, plain["Location"])
tls = client.get("/login/", HTTP_X_FORWARDED_PROTO="https")
print("hsts", tls["Strict-Transport-Security"])
print("csrf-secure", tls.cookies["csrftoken"]["secure"])
print("csp", tls["Content-Security-Policy"])
signed_in = client.post(
    "/login/", {"username": "probe", "password": "pw-for-tests-123",
    "csrfmiddlewaretoken": tls.cookies["csrftoken"].value},
    HTTP_X_FORWARDED_PROTO="https", HTTP_REFERER="https://samhub.example.org/login/",
)
print("session-secure", signed_in.status_code, signed_in.cookies["sessionid"]["secure"])
"""


def test_production_settings_from_the_environment_take_effect(tmp_path):
    env = production_env(tmp_path)
    assert manage(env, "migrate", "--verbosity", "0").returncode == 0

    result = manage(env, "shell", "--command", PROBE)

    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)
    assert lines["plain"] == "301 https://samhub.example.org/login/"
    assert lines["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert lines["csrf-secure"] == "True"
    assert lines["csp"] == POLICY
    assert lines["session-secure"] == "302 True"


def test_the_demo_defaults_keep_working_over_plain_http(client, provider):
    login = client.get("/login/")

    assert login.status_code == 200
    assert "Strict-Transport-Security" not in login
    assert not login.cookies["csrftoken"]["secure"]
    signed_in = client.post("/login/", {"username": "provider", "password": "pw-for-tests-123"})
    assert signed_in.status_code == 302
    assert not signed_in.cookies["sessionid"]["secure"]


# --- Content-Security-Policy -----------------------------------------------------------------


@pytest.fixture
def portal_objects(db):
    """One of everything a portal route can point at."""
    organisation = factories.make_organisation("North Operator")
    provider = factories.make_user("provider", organisation=organisation, username="provider")
    auditor = factories.make_user("auditor", username="auditor")
    factories.make_user("operator", username="operator", is_staff=True)
    consumer = factories.make_user("consumer", username="consumer")
    released = factories.make_version_in("RELEASED", provider=provider, auditor=auditor)
    submitted = factories.make_version_in("SUBMITTED", provider=provider, auditor=auditor)
    subscription = sharing_services.subscription_request(
        user=consumer, sam=released.sam, method="INFERENCE"
    )
    token, _ = core_services.api_token_create(user=consumer, name="probe")
    (notice,) = notice_send(
        users=[consumer], kind=NoticeKind.SUBSCRIPTION_GRANTED, title="probe", url="/"
    )
    return {
        "sam": released.sam,
        "released": released,
        "version": submitted,
        "subscription": subscription,
        "token": token,
        "notice": notice,
    }


def portal_paths(objects) -> list[str]:
    """Every route of the portal (core, registry and sharing pages), its arguments filled in."""
    from core import urls as core_urls
    from registry import urls as registry_urls
    from sharing import urls as sharing_urls

    paths = []
    patterns = [
        (urls.app_name, pattern)
        for urls in (core_urls, registry_urls, sharing_urls)
        for pattern in urls.urlpatterns
    ]
    for namespace, pattern in patterns:
        assert isinstance(pattern, URLPattern)
        route = str(pattern.pattern)
        kwargs = {}
        for name in pattern.pattern.converters:
            if name == "slug":
                kwargs[name] = objects["sam"].slug
            elif name == "pk" and route.startswith("subscriptions/"):
                kwargs[name] = objects["subscription"].pk
            elif name == "pk" and route.endswith("/usage/"):
                kwargs[name] = objects["released"].pk  # only a released version has one
            elif name == "pk" and route.startswith(("versions/", "audit/")):
                kwargs[name] = objects["version"].pk
            elif name == "pk" and route.startswith("account/api-tokens/"):
                kwargs[name] = objects["token"].pk
            elif name == "pk" and route.startswith("account/notices/"):
                kwargs[name] = objects["notice"].pk
            else:
                raise AssertionError(f"give the new route {route!r} an object to point at")
        paths.append(reverse(f"{namespace}:{pattern.name}", kwargs=kwargs))
    return paths


INLINE = [
    re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.I),  # a script element without src
    re.compile(r"<style[\s>]", re.I),
    re.compile(r"\sstyle\s*=", re.I),
    re.compile(r"\son[a-z]+\s*=", re.I),  # event handler attributes
    re.compile(r"javascript:", re.I),
]


def assert_no_inline_code(html: str, where: str) -> None:
    for pattern in INLINE:
        assert not pattern.search(html), f"{where}: inline code {pattern.pattern}"


@pytest.mark.parametrize("role", [None, *ROLES])
def test_every_portal_page_of_each_role_sends_the_policy(client, portal_objects, role):
    from django.contrib.auth.models import User

    if role:
        client.force_login(User.objects.get(username=role))
    shown = 0
    for url in portal_paths(portal_objects):
        answer = client.get(url)
        assert answer["Content-Security-Policy"] == POLICY, url
        if answer.status_code == 200 and answer["Content-Type"].startswith("text/html"):
            assert_no_inline_code(answer.content.decode(), url)
            shown += 1
    # Pages were rendered, not only refused: the sign-in page, or a role's own pages.
    assert shown >= (1 if role is None else 3)


def test_the_api_the_admin_and_error_pages_send_the_policy_too(client, portal_objects):
    from django.contrib.auth.models import User

    client.force_login(User.objects.get(username="operator"))
    for url in ["/api/v1/models/", "/admin/", "/admin/registry/modelversion/", "/nowhere/"]:
        assert client.get(url)["Content-Security-Policy"] == POLICY, url


def test_the_api_docs_load_no_inline_script(client, db):
    docs = client.get("/api/docs/")

    assert docs.status_code == 200
    html = docs.content.decode()
    assert_no_inline_code(html, "/api/docs/")
    # Its script is a file of this origin, like the UI's bundle (drf-spectacular-sidecar).
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert any("?script=" in src or "&script=" in src for src in scripts)
    assert all(src.startswith("/") for src in scripts)
    init = client.get(next(s for s in scripts if "script=" in s).replace("&amp;", "&"))
    assert init.status_code == 200 and b"SwaggerUIBundle" in init.content
    # Swagger UI's stylesheet draws its icons as data: images; nothing else is relaxed.
    assert docs["Content-Security-Policy"] == POLICY.replace(
        "img-src 'self'", "img-src 'self' data:"
    )


def test_no_template_has_inline_script_or_style():
    templates = [p for root in TEMPLATES for p in root.rglob("*.html")]
    assert len(templates) > 20
    for template in templates:
        text = re.sub(r"{% comment %}.*?{% endcomment %}", "", template.read_text(), flags=re.S)
        # Template tags may pass words like style="primary" to an include; only markup counts.
        text = re.sub(r"{#.*?#}|{%.*?%}", "", text, flags=re.S)
        assert_no_inline_code(text, str(template.relative_to(ROOT)))


def html_pages(role: str, urls: list[str]) -> list[str]:
    """The urls that show the role a page (not a refusal, a redirect or a POST-only 405)."""
    from django.contrib.auth.models import User
    from django.test import Client

    client = Client()
    client.force_login(User.objects.get(username=role))
    shown = []
    for url in urls:
        answer = client.get(url)
        if answer.status_code == 200 and answer["Content-Type"].startswith("text/html"):
            shown.append(url)
    return shown


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_no_page_of_any_role_breaks_the_policy_in_a_browser(live_server, page, portal_objects):
    violations: list[str] = []
    page.on(
        "console",
        lambda m: (
            violations.append(f"{page.url}: {m.text}")
            if "Content Security Policy" in m.text
            else None
        ),
    )
    page.on("pageerror", lambda e: violations.append(f"{page.url}: {e}"))
    base = live_server.url
    paths = portal_paths(portal_objects)

    page.goto(base + "/login/")
    for role in ROLES:
        extra = ["/admin/", "/admin/registry/modelversion/"] if role == "operator" else []
        shown = html_pages(role, [*paths, *extra])
        sign_in(page, base, role)
        for url in [*shown, "/"]:  # back to the home, where "Sign out" is
            answer = page.goto(base + url)
            assert answer.headers["content-security-policy"] == POLICY, url
        sign_out(page)
    # The API docs run Swagger UI's scripts: they must render the schema, not only load.
    assert (
        "img-src 'self' data:" in page.goto(base + "/api/docs/").headers["content-security-policy"]
    )
    page.locator(".swagger-ui .info .title", has_text="SAM Hub API").wait_for()
    assert page.locator(".opblock").count() > 10

    assert violations == []


# --- the embedded secret key -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bind", "hosts", "outside"),
    [
        ("127.0.0.1:8000", ["localhost", "127.0.0.1", "[::1]"], False),
        ("localhost:8000", ["localhost"], False),
        ("0.0.0.0:8000", ["localhost", "127.0.0.1", "[::1]"], True),
        ("10.1.2.3:8000", ["localhost"], True),
        ("127.0.0.1:8000", ["localhost", "samhub.example.org"], True),
    ],
)
def test_outside_the_demo_means_reachable_from_other_machines(settings, bind, hosts, outside):
    from registry.management.commands.portal import _reachable_by_others

    settings.ALLOWED_HOSTS = hosts
    assert _reachable_by_others(bind) is outside


def start_portal(tmp_path, env: dict[str, str], until: str) -> str:
    """Run `manage.py portal` as an operator would, until a line; return its output so far."""
    log = tmp_path / "portal.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "portal", "--no-seed", "--bind", "127.0.0.1:0",
             "--web-workers", "1", "--worker-concurrency", "1"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while until not in log.read_text():
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"no {until!r} from the portal:\n{log.read_text()[-3000:]}")
                time.sleep(0.2)
        finally:
            process.terminate()
            process.wait(timeout=30)
    return log.read_text()


def test_the_portal_warns_of_the_embedded_key_outside_the_demo(tmp_path):
    env = production_env(tmp_path, DJANGO_SECRET_KEY=None)

    output = start_portal(tmp_path, env, until="embedded development SECRET_KEY")

    assert "DJANGO_SECRET_KEY" in output


def test_the_demo_and_a_real_key_start_without_the_warning(tmp_path):
    demo = clean_env()
    demo["SAMHUB_DATA_DIR"] = str(tmp_path / "demo")
    keyed = production_env(tmp_path)

    for env in (demo, keyed):
        output = start_portal(tmp_path, env, until="SAM Hub is up")
        assert "SECRET_KEY" not in output


# --- 500 answers of the API --------------------------------------------------------------------


def test_a_model_failure_answers_500_without_the_warehouse_path(api, portal_objects):
    from django.contrib.auth.models import User

    version = portal_objects["released"]
    default_storage.delete(version.artifact.name)  # the warehouse lost the file

    name = version.signature["inputs"][0]["name"]
    answer = api(User.objects.get(username="consumer")).post(
        f"/api/v1/versions/{version.pk}/infer/", {"inputs": {name: [[0.5] * 6]}}, format="json"
    )

    assert answer.status_code == 500
    assert answer.json() == {
        "detail": "Internal server error; the error is logged.",
        "code": "model_error",
    }
    assert str(default_storage.location) not in answer.content.decode()


def test_the_portals_try_it_form_shows_no_warehouse_path_either(client, portal_objects):
    from django.contrib.auth.models import User

    version, subscription = portal_objects["released"], portal_objects["subscription"]
    default_storage.delete(version.artifact.name)
    client.force_login(User.objects.get(username="consumer"))
    name = version.signature["inputs"][0]["name"]

    answer = client.post(
        reverse("sharing:subscription-use", args=[subscription.pk]),
        {"inputs": json.dumps({name: [[0.5] * 6]})},
    )

    assert answer.status_code == 500
    html = answer.content.decode()
    assert str(default_storage.location) not in html
    assert "No such file" not in html
    assert "Internal server error; the error is logged." in html


class Crash(APIView):
    permission_classes = []

    def get(self, request):
        raise OSError(f"[Errno 13] Permission denied: '{SECRET_PATH}'")


def crash_outside_drf(request):
    raise RuntimeError(f"cannot import {SECRET_PATH}")


def portal_crash(request):
    raise RuntimeError(f"cannot import {SECRET_PATH}")


urlpatterns = [
    path("api/v1/crash/", Crash.as_view()),
    path("api/v1/crash-plain/", crash_outside_drf),
    path("crash/", portal_crash),
    *config.urls.urlpatterns,
]
handler500 = getattr(config.urls, "handler500", "django.views.defaults.server_error")


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("url", ["/api/v1/crash/", "/api/v1/crash-plain/"])
def test_an_unexpected_api_error_answers_json_without_paths(client, db, url):
    client.raise_request_exception = False

    answer = client.get(url)

    assert answer.status_code == 500
    assert answer["Content-Type"] == "application/json"
    assert answer.json() == {
        "detail": "Internal server error; the error is logged.",
        "code": "server_error",
    }
    assert SECRET_PATH not in answer.content.decode()


@pytest.mark.urls(__name__)
def test_the_portal_keeps_its_own_500_page(client, db):
    client.raise_request_exception = False

    answer = client.get("/crash/")

    assert answer.status_code == 500
    assert answer["Content-Type"].startswith("text/html")
    assert SECRET_PATH not in answer.content.decode()
