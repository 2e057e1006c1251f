"""Issue 7, item 18: creating a model reveals neither other organisations nor their models.

The attacks: `POST /api/v1/models/` with another organisation's id answered 403 naming that
organisation (an unknown id answers 400); and a model named like another organisation's
hidden model got the slug `…-2`, which told the provider that the hidden model existed.
"""

from rest_framework.test import APIClient

from registry.models import SmallAIModel
from tests import factories

MODEL = {"name": "Cell load forecaster", "inference_type": "MDA"}


def _client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def _create(client, organisation, **fields):
    body = {**MODEL, **fields, "organisation": organisation}
    return client.post("/api/v1/models/", body, format="json")


def test_another_organisations_id_answers_as_an_unknown_one(provider, other_organisation):
    client = _client(provider)
    unknown_id = other_organisation.pk + 1000

    by_id = _create(client, other_organisation.pk)
    by_slug = _create(client, other_organisation.slug)
    unknown_by_id = _create(client, unknown_id)
    unknown_by_slug = _create(client, "no-such-operator")

    answers = [by_id, by_slug, unknown_by_id, unknown_by_slug]
    assert [a.status_code for a in answers] == [400, 400, 400, 400]
    values = [other_organisation.pk, other_organisation.slug, unknown_id, "no-such-operator"]
    for answer, value in zip(answers, values, strict=True):
        # The same body as for an unknown organisation, but for the value the caller sent.
        assert answer.json() == {
            "detail": "Some fields are not valid.",
            "code": "invalid",
            "errors": {
                "organisation": [
                    f"There is no organisation with id or slug {value!r} that you can see."
                ]
            },
        }
        assert other_organisation.name not in answer.content.decode()
    assert not other_organisation.models.exists()


def test_a_name_taken_by_a_hidden_model_does_not_show_in_the_slug(
    provider, other_provider, organisation
):
    hidden = factories.make_draft(other_provider, sam=None).sam  # a DRAFT: hidden from provider
    client = _client(provider)
    assert client.get(f"/api/v1/models/{hidden.slug}/").status_code == 404

    answer = _create(client, organisation.slug, name=hidden.name)

    assert answer.status_code == 201, answer.json()
    slug = answer.json()["slug"]
    # Exactly the slug the model gets when no other organisation has that name.
    assert slug == f"{organisation.slug}--{hidden.slug.split('--', 1)[1]}"
    assert not slug.endswith("-2")


def test_slugs_of_different_organisations_never_collide(db):
    # "north" + "cell-load" and "north-cell" + "load" would both read "north-cell-load".
    north = factories.make_organisation("North")
    north_cell = factories.make_organisation("North Cell")
    in_north = factories.make_user("provider", organisation=north)
    in_north_cell = factories.make_user("provider", organisation=north_cell)

    first = factories.make_model(in_north, name="Cell load")
    second = factories.make_model(in_north_cell, name="Load")

    assert (first.slug, second.slug) == ("north--cell-load", "north-cell--load")


def test_a_clash_inside_your_own_organisation_is_numbered(provider, organisation):
    # Only your own organisation's models can clash, and you see all of them anyway.
    client = _client(provider)

    first = _create(client, organisation.slug, name="Cell load")
    second = _create(client, organisation.slug, name="cell  load")

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json()["slug"] == f"{first.json()['slug']}-2"
    assert SmallAIModel.objects.filter(organisation=organisation).count() == 2
