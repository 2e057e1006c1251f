"""Issue 7, item 16 (brute force): 60 wrong passwords at /api/v1/auth/token/ were all answered
and the right one still worked. Sign-in is now locked per account and per address, on the API
and on the login page, with a 429, until the cool-off passes or an operator lifts the lockout in
the admin."""

import pytest
from django.conf import settings
from django.urls import reverse
from rest_framework.test import APIClient

from tests import factories

TOKEN_URL = "/api/v1/auth/token/"
PASSWORD = "pw-for-tests-123"  # tests.factories.make_user's
ATTEMPTS = 60
ATTEMPTS_ADMIN = "admin:axes_accessattempt_changelist"


@pytest.fixture
def victim(db):
    return factories.make_user("provider", username="alice")


def ask_token(username: str, password: str, address: str = "198.51.100.1", **headers):
    return APIClient().post(
        TOKEN_URL,
        {"username": username, "password": password},
        format="json",
        REMOTE_ADDR=address,
        **headers,
    )


def sign_in_page(client, username: str, password: str, address: str = "198.51.100.1"):
    return client.post(
        reverse("core:login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def assert_locked_json(answer) -> None:
    assert answer.status_code == 429
    assert answer.json()["code"] == "locked_out"
    assert "Too many failed sign-in attempts" in answer.json()["detail"]
    assert answer["Retry-After"] == str(settings.SAMHUB_LOGIN_LOCKOUT_MINUTES * 60)
    assert "token" not in answer.json()


def assert_token_works(token: str) -> None:
    answer = APIClient().get("/api/v1/models/", HTTP_AUTHORIZATION=f"Token {token}")
    assert answer.status_code == 200


def attempts():
    from axes.models import AccessAttempt  # django-axes' record of failed sign-ins

    return AccessAttempt.objects


def lift_lockout_in_admin(client, operator, **lookup) -> None:
    """What an operator does: filter the access attempts, select them, delete, confirm."""
    client.force_login(operator)
    listed = client.get(reverse(ATTEMPTS_ADMIN), lookup)
    assert listed.status_code == 200
    attempts = list(listed.context["cl"].queryset)
    assert attempts, "the lockout is listed in the admin"
    selected = {"action": "delete_selected", "_selected_action": [a.pk for a in attempts]}
    confirm = client.post(reverse(ATTEMPTS_ADMIN), selected)
    assert confirm.status_code == 200  # the "Are you sure?" page
    done = client.post(reverse(ATTEMPTS_ADMIN), {**selected, "post": "yes"})
    assert done.status_code == 302
    client.logout()


def test_sixty_wrong_passwords_for_one_account_lock_it_even_from_many_addresses(victim):
    limit = settings.AXES_FAILURE_LIMIT
    # Each guess from its own address, so that only the per-account count can stop them.
    answers = [ask_token("alice", f"guess-{i}", f"203.0.113.{i}") for i in range(ATTEMPTS)]

    assert [a.status_code for a in answers[: limit - 1]] == [400] * (limit - 1)
    for answer in answers[limit - 1 :]:
        assert_locked_json(answer)
    # The right password, from an address never seen, is refused while the account is locked.
    assert_locked_json(ask_token("alice", PASSWORD, "192.0.2.200"))


def test_sixty_wrong_passwords_from_one_address_lock_the_address(victim):
    limit = settings.AXES_FAILURE_LIMIT
    # Password spraying: one guess per account name, all from one address.
    answers = [ask_token(f"user{i}", "Winter2026!", "203.0.113.9") for i in range(ATTEMPTS)]

    assert [a.status_code for a in answers[: limit - 1]] == [400] * (limit - 1)
    for answer in answers[limit - 1 :]:
        assert_locked_json(answer)
    # Locked: even a real account's right password from that address...
    assert_locked_json(ask_token("alice", PASSWORD, "203.0.113.9"))
    # ...while the account itself, from elsewhere, is not locked.
    elsewhere = ask_token("alice", PASSWORD, "198.51.100.77")
    assert elsewhere.status_code == 200
    assert_token_works(elsewhere.json()["token"])


def test_an_operator_lifts_the_lockout_in_the_admin(client, victim, operator):
    for i in range(ATTEMPTS):
        ask_token("alice", f"guess-{i}", f"203.0.113.{i}")
    assert_locked_json(ask_token("alice", PASSWORD))

    lift_lockout_in_admin(client, operator, username="alice")

    assert not attempts().filter(username="alice").exists()
    answer = ask_token("alice", PASSWORD)
    assert answer.status_code == 200
    assert_token_works(answer.json()["token"])


def test_only_operators_may_lift_a_lockout(client, victim):
    ask_token("alice", "wrong")
    staff_provider = factories.make_user("provider", username="staff-provider", is_staff=True)
    client.force_login(staff_provider)

    assert client.get(reverse(ATTEMPTS_ADMIN)).status_code == 403
    attempt = attempts().get(username="alice")
    client.post(
        reverse(ATTEMPTS_ADMIN),
        {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"},
    )
    assert attempts().filter(pk=attempt.pk).exists()


def test_the_login_page_locks_out_with_a_429_page(client, victim, operator):
    limit = settings.AXES_FAILURE_LIMIT
    answers = [
        sign_in_page(client, "alice", f"guess-{i}", f"203.0.113.{i}") for i in range(ATTEMPTS)
    ]

    assert [a.status_code for a in answers[: limit - 1]] == [200] * (limit - 1)  # the form again
    for answer in answers[limit - 1 :]:
        assert answer.status_code == 429
        assert b"Too many failed sign-in attempts" in answer.content
        assert answer["Retry-After"] == str(settings.SAMHUB_LOGIN_LOCKOUT_MINUTES * 60)
    right = sign_in_page(client, "alice", PASSWORD, "192.0.2.200")
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session

    lift_lockout_in_admin(client, operator, username="alice")

    signed_in = sign_in_page(client, "alice", PASSWORD)
    assert signed_in.status_code == 302
    assert client.session["_auth_user_id"] == str(victim.pk)


def test_the_login_page_locks_an_address_too(client, victim):
    for i in range(ATTEMPTS):
        sign_in_page(client, f"user{i}", "Winter2026!", "203.0.113.9")

    assert sign_in_page(client, "alice", PASSWORD, "203.0.113.9").status_code == 429
    assert sign_in_page(client, "alice", PASSWORD, "198.51.100.77").status_code == 302


def test_a_lockout_on_the_page_holds_on_the_api_and_back(client, victim):
    for i in range(ATTEMPTS):
        sign_in_page(client, "alice", f"guess-{i}", f"203.0.113.{i}")

    assert_locked_json(ask_token("alice", PASSWORD, "192.0.2.200"))


def test_no_password_is_stored_with_the_attempts(victim):
    ask_token("alice", "my-real-password-typo")
    sign_in_page(APIClient(), "alice", "my-other-typo")

    for attempt in attempts().all():
        assert "typo" not in attempt.post_data + attempt.get_data


def test_behind_a_proxy_a_forged_forwarded_for_does_not_dodge_the_count(victim, settings):
    settings.SAMHUB_TRUSTED_PROXY_COUNT = 1
    limit = settings.AXES_FAILURE_LIMIT
    # The proxy (10.0.0.2) appends the real client (203.0.113.50); the client forges the rest.
    answers = [
        ask_token(
            f"user{i}",
            "Winter2026!",
            "10.0.0.2",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{i}, 203.0.113.50",
        )
        for i in range(limit + 5)
    ]

    assert answers[-1].status_code == 429
    assert set(attempts().values_list("ip_address", flat=True)) == {"203.0.113.50"}
    # Another client behind the same proxy is not locked with it.
    other = ask_token("alice", PASSWORD, "10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.3")
    assert other.status_code == 200
