"""Issue 7, item 12: malformed JSON answered {"detail": "JSON parse error - …"} without the
`code` every other API error has, and NaN a message about JSON compliance. Every error under
/api/ now has one shape, {"detail": <plain sentence>, "code": <machine code>}."""

import pytest
from rest_framework.test import APIClient

from sharing.models import InferenceRecord
from tests import factories

ROW = "9.0, 2.0, 80.5, 61.2, 250.0"


@pytest.mark.parametrize(
    "make_client", [factories.token_client, factories.session_client], ids=["token", "session"]
)
@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ("X=1", "The body is not valid JSON: Expecting value (line 1, column 1)."),
        ('{"inputs": {"input": [[' + ROW, "The body is not valid JSON: Expecting ',' delimiter"),
        (
            '{"inputs": {"input": [[NaN, ' + ROW + "]]}}",
            "The body holds NaN, which is not a JSON number; send finite numbers only.",
        ),
        (
            '{"inputs": {"input": [[Infinity, ' + ROW + "]]}}",
            "The body holds Infinity, which is not a JSON number; send finite numbers only.",
        ),
        (
            '{"inputs": {"input": [[-Infinity, ' + ROW + "]]}}",
            "The body holds -Infinity, which is not a JSON number; send finite numbers only.",
        ),
        (b'{"inputs": "\xff"}', "The body is not UTF-8 text."),
    ],
    ids=["not-json", "truncated", "nan", "infinity", "minus-infinity", "not-utf8"],
)
def test_a_malformed_body_to_infer_gets_the_error_shape(
    version, subscription, consumer, make_client, body, detail
):
    answer = make_client(consumer).post(
        f"/api/v1/versions/{version.pk}/infer/", body, content_type="application/json"
    )

    assert answer.status_code == 400
    assert answer["Content-Type"] == "application/json"
    assert answer.json()["code"] == "parse_error"
    assert answer.json()["detail"].startswith(detail)
    assert set(answer.json()) == {"detail", "code"}
    assert "JSON parse error" not in answer.json()["detail"]
    assert not InferenceRecord.objects.exists()


def test_a_malformed_body_elsewhere_gets_the_same_shape(consumer, version):
    answer = factories.token_client(consumer).post(
        "/api/v1/subscriptions/",
        '{"model": "' + version.sam.slug + '", "method": NaN}',
        content_type="application/json",
    )

    assert (answer.status_code, answer.json()) == (
        400,
        {
            "detail": "The body holds NaN, which is not a JSON number; send finite numbers only.",
            "code": "parse_error",
        },
    )


def test_every_kind_of_api_error_has_detail_and_code(consumer, version):
    anonymous = APIClient()
    bad_token = APIClient()
    bad_token.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    client = factories.token_client(consumer)

    answers = {
        "not_authenticated": anonymous.get("/api/v1/models/"),
        "authentication_failed": bad_token.get("/api/v1/models/"),
        "method_not_allowed": client.delete("/api/v1/catalog/"),
        "unsupported_media_type": client.post(
            f"/api/v1/versions/{version.pk}/infer/", "inputs", content_type="text/plain"
        ),
        "not_found": client.get("/api/v1/no-such-endpoint/"),
        "invalid": client.post("/api/v1/subscriptions/", {}, format="json"),
        "bad_request": client.post(  # over DATA_UPLOAD_MAX_NUMBER_FIELDS: Django's refusal
            "/api/v1/subscriptions/",
            "&".join(f"f{i}=1" for i in range(1001)),
            content_type="application/x-www-form-urlencoded",
        ),
    }

    for code, answer in answers.items():
        assert answer["Content-Type"] == "application/json", (code, answer.content[:200])
        body = answer.json()
        assert body["code"] == code, body
        assert isinstance(body["detail"], str) and body["detail"]
        assert set(body) <= {"detail", "code", "errors"}
    assert answers["not_authenticated"].status_code == 401
    assert answers["not_authenticated"]["WWW-Authenticate"] == "Token"
    assert answers["not_found"].status_code == 404


def test_json_in_another_charset_is_refused_in_the_shape(consumer, version):
    answer = factories.token_client(consumer).post(
        "/api/v1/subscriptions/",
        '{"model": "x", "method": "INFERENCE"}'.encode("utf-16"),
        content_type="application/json; charset=utf-16",
    )

    assert (answer.status_code, answer.json()) == (
        400,
        {"detail": "Send JSON as UTF-8, not utf-16.", "code": "parse_error"},
    )
