"""Retrieval (ENI SAM clause 5 sharing, step 1): the catalog says how each released version is
shared, sorts by recency and by a metric's score, and serves external systems with a token."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from registry.models import ModelVersion
from tests import factories

CATALOG = "/api/v1/catalog/"


def f1(score: float, *extra: dict) -> list[dict]:
    return [
        {"inference_output_name": "label", "performance_metric": "F1", "performance_score": score},
        *extra,
    ]


def released_days_ago(version: ModelVersion, days: int) -> ModelVersion:
    ModelVersion.objects.filter(pk=version.pk).update(
        released_at=timezone.now() - timedelta(days=days)
    )
    return version


@pytest.fixture
def by_format(provider, auditor):
    """One released version per access: ONNX file, skops file, external endpoint."""
    return {
        "onnx": factories.make_version_in(
            "RELEASED", provider=provider, auditor=auditor, kind="onnx"
        ),
        "skops": factories.make_version_in(
            "RELEASED", provider=provider, auditor=auditor, kind="skops"
        ),
        "external": factories.make_released(provider, auditor, approval_required=True),
    }


@pytest.fixture
def scored(provider, auditor):
    """Four released versions: F1 0.71 (newest), 0.62 and 0.93 on two outputs (oldest), 0.88,
    and one scored by MAE only."""
    versions = {
        "low": factories.make_released(provider, auditor, name="Low F1", performance=f1(0.71)),
        "high": factories.make_released(
            provider,
            auditor,
            name="High F1",
            # Two outputs scored by F1: the version's best one counts.
            performance=f1(
                0.62,
                {
                    "inference_output_name": "severity",
                    "performance_metric": "F1",
                    "performance_score": 0.93,
                },
            ),
        ),
        "mid": factories.make_released(provider, auditor, name="Mid F1", performance=f1(0.88)),
        "mae": factories.make_released(provider, auditor, name="Load MAE"),
    }
    for days, key in enumerate(["low", "mae", "mid", "high"]):
        released_days_ago(versions[key], days)
    return {key: version.pk for key, version in versions.items()}


def ids(client, **params) -> list[int]:
    answer = client.get(CATALOG, params)
    assert answer.status_code == 200, answer.json()
    return [entry["id"] for entry in answer.json()["results"]]


def test_the_catalog_lists_the_sharing_methods_of_each_version(api, consumer, by_format):
    entries = api(consumer).get(CATALOG).json()["results"]

    methods = {entry["id"]: entry["sharing_methods"] for entry in entries}
    assert methods == {
        by_format["onnx"].pk: ["INFERENCE", "SDK", "BUNDLE"],
        by_format["skops"].pk: ["INFERENCE", "SDK", "BUNDLE", "RETRAINING"],
        by_format["external"].pk: ["INFERENCE"],
    }
    approval = {entry["id"]: entry["approval_required"] for entry in entries}
    assert approval[by_format["external"].pk] is True
    assert approval[by_format["onnx"].pk] is False


def test_versions_and_models_show_what_they_offer_once_released(
    api, consumer, provider, auditor, by_format
):
    client = api(provider)
    draft = factories.make_draft(provider)
    factories.upload(draft, provider, "skops")

    assert client.get(f"/api/v1/versions/{by_format['skops'].pk}/").json()["sharing_methods"] == [
        "INFERENCE",
        "SDK",
        "BUNDLE",
        "RETRAINING",
    ]
    assert client.get(f"/api/v1/versions/{draft.pk}/").json()["sharing_methods"] == []
    model = api(consumer).get(f"/api/v1/models/{by_format['external'].sam.slug}/").json()
    assert (model["sharing_methods"], model["approval_required"]) == (["INFERENCE"], True)
    assert client.get(f"/api/v1/models/{draft.sam.slug}/").json()["sharing_methods"] == []


def test_the_catalog_sorts_by_release_time(api, consumer, scored):
    client = api(consumer)
    newest_first = [scored[k] for k in ("low", "mae", "mid", "high")]

    assert ids(client) == newest_first
    assert ids(client, sort="-released_at") == newest_first
    assert ids(client, sort="released_at") == newest_first[::-1]


def test_the_catalog_sorts_by_the_chosen_metrics_score(api, consumer, scored):
    client = api(consumer)

    # Versions without the metric are left out, as with any metric filter. A version scored on
    # two outputs ranks by its best in the sort's direction: its highest for -score (0.93),
    # its lowest for score (0.62), as "best" means for an error metric.
    assert ids(client, metric="F1", sort="-score") == [scored[k] for k in ("high", "mid", "low")]
    assert ids(client, metric="f1", sort="score") == [scored[k] for k in ("high", "low", "mid")]
    assert ids(client, metric="F1", sort="-score", min_score="0.8") == [
        scored["high"],
        scored["mid"],
    ]
    assert ids(client, metric="MAE", sort="score") == [scored["mae"]]


def test_sorting_combines_with_text_search(api, consumer, scored):
    assert ids(api(consumer), q="F1", metric="F1", sort="-score") == [
        scored[k] for k in ("high", "mid", "low")
    ]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"sort": "-score"}, "metric", "required to sort by score"),
        ({"sort": "popularity"}, "sort", '"popularity" is not a valid choice.'),
    ],
)
def test_a_sort_it_cannot_apply_is_refused_with_a_clear_message(
    api, consumer, params, field, message
):
    answer = api(consumer).get(CATALOG, params)

    assert answer.status_code == 400
    assert answer.json()["errors"] == {field: [message]}


def test_an_external_system_searches_the_catalog_with_its_api_token(db, scored, by_format):
    broker = factories.make_user("consumer", username="eni-api-broker")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {factories.make_api_token(broker)}")

    answer = client.get(CATALOG, {"metric": "F1", "sort": "-score", "page_size": 2})

    assert answer.status_code == 200
    body = answer.json()
    assert body["count"] == 3
    assert [e["id"] for e in body["results"]] == [scored["high"], scored["mid"]]
    assert all(e["sharing_methods"] == ["INFERENCE"] for e in body["results"])
    found = client.get(CATALOG, {"q": by_format["skops"].sam.name}).json()["results"]
    assert by_format["skops"].pk in [e["id"] for e in found]


def test_a_wrong_token_gets_no_catalog(db, scored):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")

    answer = client.get(CATALOG)

    assert answer.status_code == 401
    assert answer.json()["detail"] == "Invalid token."
