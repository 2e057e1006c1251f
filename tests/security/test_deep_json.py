"""Issue 7, item 9: JSON nested 5,000 lists deep was an HTML 500 (RecursionError) on /infer/,
/subscriptions/, /models/ and the portal's try-it form. Every JSON endpoint now answers 400 in
the API's error shape (or the form's error), the depth being measured before parsing."""

import html
import json

import pytest
from django.urls import reverse

from core import json_input
from sharing.models import InferenceRecord, Subscription
from tests import factories

ROW = [9.0, 2.0, 80.5, 61.2, 250.0, 0.3]
DEEP = "[" * 5000 + "]" * 5000
DEEP_OBJECTS = '{"a": ' * 5000 + "1" + "}" * 5000


def assert_refused_as_too_deep(answer) -> None:
    assert answer.status_code == 400, answer.content[:300]
    assert answer["Content-Type"] == "application/json"
    assert answer.json() == {
        "detail": "The body nests lists and objects more than 64 levels deep; SAM Hub does "
        "not read it.",
        "code": "parse_error",
    }


@pytest.mark.parametrize(
    "make_client", [factories.token_client, factories.session_client], ids=["token", "session"]
)
@pytest.mark.parametrize("deep", [DEEP, DEEP_OBJECTS], ids=["lists", "objects"])
def test_infer_refuses_deep_json_with_400_on_both_paths(
    version, subscription, consumer, make_client, deep
):
    body = '{"inputs": {"input": ' + deep + "}}"

    answer = make_client(consumer).post(
        f"/api/v1/versions/{version.pk}/infer/", body, content_type="application/json"
    )

    assert_refused_as_too_deep(answer)
    assert not InferenceRecord.objects.exists()


def test_subscriptions_refuse_deep_json(version, consumer):
    body = '{"model": "' + version.sam.slug + '", "method": "INFERENCE", "purpose": ' + DEEP + "}"

    answer = factories.token_client(consumer).post(
        "/api/v1/subscriptions/", body, content_type="application/json"
    )

    assert_refused_as_too_deep(answer)
    assert not Subscription.objects.exists()


def test_models_refuse_deep_json(provider, organisation):
    body = '{"name": "Deep", "organisation": ' + str(organisation.pk) + ', "tags": ' + DEEP + "}"

    answer = factories.token_client(provider).post(
        "/api/v1/models/", body, content_type="application/json"
    )

    assert_refused_as_too_deep(answer)


def test_brackets_inside_strings_do_not_count(version, consumer):
    body = {"model": version.sam.slug, "method": "INFERENCE", "purpose": DEEP + ' "\\" ' + DEEP}

    answer = factories.token_client(consumer).post("/api/v1/subscriptions/", body, format="json")

    assert answer.status_code == 201, answer.content[:300]
    assert Subscription.objects.get().purpose == body["purpose"]


def test_the_portal_try_it_form_explains_deep_json(client, consumer, version, subscription):
    client.force_login(consumer)

    answer = client.post(
        reverse("sharing:subscription-use", args=[subscription.pk]),
        {"inputs": '{"input": ' + DEEP + "}"},
    )

    assert answer.status_code == 400
    assert (
        "This nests lists and objects more than 64 levels deep; SAM Hub does not read it."
        in html.unescape(answer.content.decode())
    )
    assert not InferenceRecord.objects.exists()


def test_the_portal_training_context_field_explains_deep_json(client, provider):
    sam = factories.make_model(provider)
    client.force_login(provider)

    answer = client.post(
        reverse("registry:version-create", args=[sam.slug]),
        {
            "version": "2.0.0",
            "training_context": DEEP_OBJECTS,
            "perf-TOTAL_FORMS": "0",
            "perf-INITIAL_FORMS": "0",
        },
    )

    assert answer.status_code == 200
    assert "This nests lists and objects more than 64 levels deep" in html.unescape(
        answer.content.decode()
    )
    assert not sam.versions.exists()


def nested(depth: int):
    value = 1
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


@pytest.mark.parametrize(("depth", "refused"), [(1, False), (64, False), (65, True), (500, True)])
def test_the_bound_is_exact_whatever_the_brackets(depth, refused):
    text = json.dumps(nested(depth))

    if refused:
        with pytest.raises(json_input.InvalidJSON, match="more than 64 levels deep"):
            json_input.loads(text)
    else:
        assert json_input.loads(text) == nested(depth)


@pytest.mark.parametrize(
    "text", ["[" * 5000, "[" * 3000 + "}" * 3000, "]" * 3000 + "[" * 3000, '["' + "[" * 5000]
)
def test_unbalanced_deep_brackets_never_reach_the_parser(text):
    with pytest.raises(json_input.InvalidJSON):
        json_input.loads(text)


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ('["' + "[" * 100 + '"]', False),  # brackets inside a string
        ('["\\"' + "[" * 100 + '"]', False),  # after an escaped quote, still inside
        ('["\\\\", ' + "[" * 100 + "]" * 100 + "]", True),  # the string ended: real brackets
        ('["\\\\\\"' + "[" * 100 + '"]', False),  # escaped backslash, then escaped quote
    ],
    ids=["in-string", "escaped-quote", "escaped-backslash", "both-escapes"],
)
def test_strings_and_their_escapes_are_read_as_the_parser_reads_them(text, refused):
    if refused:
        with pytest.raises(json_input.InvalidJSON, match="more than 64 levels deep"):
            json_input.loads(text)
    else:
        assert json_input.loads(text) == json.loads(text)
