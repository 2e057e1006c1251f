"""Issue 7, item 17: API tokens were stored in plain text, so anyone who could read the
database (a SQL dump, a backup, a read-only replica, a leaked fixture) held every user's API
access. Only a sha256 of each key is stored now; the key is shown once, at creation. Tokens
have names and expiries and can be revoked, on the API, in the portal and in the admin, and a
revoked or expired token is refused everywhere, the reasoning call included."""

import importlib
import re
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from core.models import ApiToken
from sharing import services as sharing_services
from sharing.models import InferenceRecord
from tests import factories

ROW = [9.0, 2.0, 80.5, 61.2, 250.0, 0.3]
TOKENS_PAGE = "/account/api-tokens/"


@pytest.fixture
def released(provider, auditor):
    return factories.make_version_in("RELEASED", provider=provider, auditor=auditor, kind="skops")


@pytest.fixture
def subscribed(consumer, released):
    return sharing_services.subscription_request(
        user=consumer, sam=released.sam, method="INFERENCE"
    )


def issue_token(username: str, **body) -> dict:
    """POST /api/v1/auth/token/ with the username and password, as scripts do."""
    answer = APIClient().post(
        "/api/v1/auth/token/",
        {"username": username, "password": factories.PASSWORD, **body},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    return answer.json()


def by_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def infer(key: str, version):
    return by_token(key).post(
        f"/api/v1/versions/{version.pk}/infer/", {"inputs": {"input": [ROW]}}, format="json"
    )


def database_dump() -> str:
    """Every row of every table, as a SQL dump would show it."""
    rows = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            rows += [repr(row) for row in cursor.fetchall()]
    return "\n".join(rows)


def test_a_dump_of_the_database_yields_no_usable_key(consumer):
    key = issue_token("consumer", name="nightly report")["token"]
    assert by_token(key).get("/api/v1/catalog/").status_code == 200

    dump = database_dump()

    assert key not in dump
    assert key[len("samhub_") :] not in dump  # not even without its marker
    # What the token table does hold opens nothing when presented as a key.
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM core_apitoken")
        stolen = [v for row in cursor.fetchall() for v in row if isinstance(v, str) and v]
    assert stolen
    for value in stolen:
        refused = by_token(value).get("/api/v1/catalog/")
        assert refused.status_code == 401, value
        assert refused.json()["detail"].startswith("Invalid token")


def test_the_key_is_shown_once_and_works_and_the_list_never_returns_it(consumer):
    created = issue_token("consumer", name="NWDAF staging", expires_in_days=30)
    key = created["token"]
    assert key.startswith("samhub_") and len(key) == len("samhub_") + 40
    assert created["name"] == "NWDAF staging"
    assert created["prefix"] == key[: len(created["prefix"])] and len(created["prefix"]) < 16
    expires = timezone.datetime.fromisoformat(created["expires_at"])
    assert timedelta(days=29) < expires - timezone.now() <= timedelta(days=30)

    client = by_token(key)
    assert ApiToken.objects.get(pk=created["id"]).last_used_at is None
    listed = client.get("/api/v1/auth/tokens/")
    one = client.get(f"/api/v1/auth/tokens/{created['id']}/")

    assert listed.status_code == 200 and one.status_code == 200
    assert [t["name"] for t in listed.json()["results"]] == ["NWDAF staging"]
    assert listed.json()["results"][0]["state"] == "ACTIVE"
    assert listed.json()["results"][0]["last_used_at"] is not None
    assert key not in listed.content.decode() and key not in one.content.decode()
    assert "token" not in one.json() and "digest" not in one.json()
    # Each call of the endpoint is a new named token; the earlier one keeps working.
    second = issue_token("consumer")["token"]
    assert second != key and by_token(key).get("/api/v1/catalog/").status_code == 200
    assert by_token(second).get("/api/v1/catalog/").status_code == 200


def test_a_revoked_token_is_refused_on_the_api_and_on_the_reasoning_call(
    consumer, released, subscribed
):
    created = issue_token("consumer", name="to revoke")
    key = created["token"]
    warm = infer(key, released)  # loads the model, notes the token's use
    assert warm.status_code == 200, warm.content
    with CaptureQueriesContext(connection) as queries:
        assert infer(key, released).status_code == 200
    assert len(queries) == 2, [q["sql"] for q in queries]  # token and grant, then the record
    assert ApiToken.objects.get(pk=created["id"]).last_used_at is not None  # noted once
    calls = InferenceRecord.objects.count()

    revoked = by_token(key).delete(f"/api/v1/auth/tokens/{created['id']}/")

    assert revoked.status_code == 204
    for answer in (infer(key, released), by_token(key).get("/api/v1/catalog/")):
        assert answer.status_code == 401
        assert answer["WWW-Authenticate"] == "Token"
        assert "revoked" in answer.json()["detail"]
    assert InferenceRecord.objects.count() == calls


def test_an_expired_token_is_refused_on_the_api_and_on_the_reasoning_call(
    consumer, released, subscribed
):
    created = issue_token("consumer", name="short-lived", expires_in_days=1)
    key = created["token"]
    assert infer(key, released).status_code == 200
    calls = InferenceRecord.objects.count()
    # A day later it expired a minute ago. (Expiry is checked by the database's clock, which
    # PostgreSQL reads at the start of a transaction: this test runs in one.)
    ApiToken.objects.filter(pk=created["id"]).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )

    for answer in (infer(key, released), by_token(key).get("/api/v1/versions/")):
        assert answer.status_code == 401
        assert "expired" in answer.json()["detail"]
    assert InferenceRecord.objects.count() == calls
    assert by_token(issue_token("consumer")["token"]).get("/api/v1/catalog/").status_code == 200


def test_another_users_token_can_be_neither_seen_nor_revoked(consumer, provider):
    victim = issue_token("consumer", name="victim's")
    attacker = by_token(issue_token("provider")["token"])
    portal = Client()
    portal.force_login(provider)

    assert attacker.get(f"/api/v1/auth/tokens/{victim['id']}/").status_code == 404
    assert attacker.delete(f"/api/v1/auth/tokens/{victim['id']}/").status_code == 404
    assert attacker.get("/api/v1/auth/tokens/").json()["count"] == 1
    assert portal.get(f"{TOKENS_PAGE}{victim['id']}/revoke/").status_code == 404
    assert portal.post(f"{TOKENS_PAGE}{victim['id']}/revoke/").status_code == 404
    assert "victim" not in portal.get(TOKENS_PAGE).content.decode()
    assert by_token(victim["token"]).get("/api/v1/catalog/").status_code == 200
    assert ApiToken.objects.get(pk=victim["id"]).revoked_at is None


def test_the_portal_page_creates_lists_and_revokes_tokens(client, consumer, released, subscribed):
    assert client.login(username="consumer", password=factories.PASSWORD)
    page = client.get(TOKENS_PAGE)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'href="/account/api-tokens/" aria-current="page">API tokens<' in html
    assert 'name="name"' in html and 'name="expires_in_days"' in html

    created = client.post(TOKENS_PAGE, {"name": "Grafana panel", "expires_in_days": "90"})

    assert created.status_code == 200
    assert "no-store" in created["Cache-Control"]
    token = ApiToken.objects.get(user=consumer, name="Grafana panel")
    html = created.content.decode()
    key = html.split('id="token-key" class="mono" value="')[1].split('"')[0]
    assert key.startswith(token.prefix) and "only time" in html
    # The Content-Security-Policy allows no inline script: only files (src) of this origin.
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None
    assert timedelta(days=89) < token.expires_at - timezone.now() <= timedelta(days=90)
    assert infer(key, released).status_code == 200

    listed = client.get(TOKENS_PAGE).content.decode()
    assert "Grafana panel" in listed and f"{token.prefix}…" in listed and key not in listed
    confirm = client.get(f"{TOKENS_PAGE}{token.pk}/revoke/")
    assert confirm.status_code == 200 and 'id="confirm-revoke"' in confirm.content.decode()
    assert infer(key, released).status_code == 200  # asking is not revoking

    done = client.post(f"{TOKENS_PAGE}{token.pk}/revoke/", follow=True)

    assert done.redirect_chain[-1][0] == TOKENS_PAGE
    assert f'id="token-{token.pk}" data-state="REVOKED"' in done.content.decode()
    assert infer(key, released).status_code == 401
    # A token without expiry, and a form error keeps the page.
    assert client.post(TOKENS_PAGE, {"name": "", "expires_in_days": ""}).status_code == 400
    client.post(TOKENS_PAGE, {"name": "forever", "expires_in_days": ""})
    assert ApiToken.objects.get(user=consumer, name="forever").expires_at is None


def test_an_operator_revokes_a_token_in_the_admin_which_never_shows_keys(operator, consumer):
    key = issue_token("consumer", name="leaked on a wiki")["token"]
    token = ApiToken.objects.get(user=consumer)
    admin = Client()
    admin.force_login(operator)

    listed = admin.get("/admin/core/apitoken/")
    assert listed.status_code == 200
    assert "leaked on a wiki" in listed.content.decode()
    assert key not in listed.content.decode() and token.digest not in listed.content.decode()
    assert (
        token.digest not in admin.get(f"/admin/core/apitoken/{token.pk}/change/").content.decode()
    )

    admin.post(
        "/admin/core/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
    )

    assert by_token(key).get("/api/v1/catalog/").status_code == 401


def test_keys_issued_before_hashing_keep_working_and_leave_no_plain_copy(consumer):
    """The data migration, on a database that still has DRF's authtoken_token rows."""
    migration = importlib.import_module("core.migrations.0002_hash_drf_tokens")
    legacy_key = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"  # DRF's format: 40 hex digits
    created = "timestamp with time zone" if connection.vendor == "postgresql" else "datetime"
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, user_id integer, "
            f"created {created})"
        )
        cursor.execute(
            "INSERT INTO authtoken_token VALUES (%s, %s, %s)",
            [legacy_key, consumer.pk, connection.ops.adapt_datetimefield_value(timezone.now())],
        )
    # As `migrate` calls it (the function only takes the editor's connection; entering the
    # editor would need foreign-key checks off, which SQLite cannot do in a test transaction).
    migration.hash_drf_tokens(apps, connection.schema_editor())

    assert legacy_key not in database_dump()
    assert by_token(legacy_key).get("/api/v1/catalog/").status_code == 200
    token = ApiToken.objects.get(user=consumer)
    assert token.prefix == legacy_key[:4] and token.expires_at is None
