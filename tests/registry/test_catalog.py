"""The catalog page: facets with counts from the data, sorts (recency, name, score,
popularity), visible pagination, counts on the cards, and scores drawn on the right scale."""

import html

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from registry import selectors, views
from sharing import services as sharing_services
from sharing.models import InferenceOutcome, InferenceRecord
from tests import factories


def score(metric: str, value: float) -> list[dict]:
    return [
        {"inference_output_name": "y", "performance_metric": metric, "performance_score": value}
    ]


@pytest.fixture
def catalog(provider, auditor):
    """Four released versions (one model with two) and a draft, released in this order."""
    load = factories.make_released(
        provider,
        auditor,
        name="Cell load",
        domain="RAN",
        region="North",
        tags=["load", "energy"],
        performance=score("MAE", 2.6),
    )
    anomalies = factories.make_released(
        provider,
        auditor,
        name="anomaly finder",
        inference_type="MDA",
        domain="ran",  # another spelling of the same domain: one facet value
        region="South",
        scenario="Fault detection",
        tags=["anomaly"],
        performance=score("ACCURACY", 0.97),
    )
    core = factories.make_released(
        provider,
        auditor,
        name="Core forecast",
        domain="Core",
        region="North",
        tags=["load"],
        performance=score("MAE", 1.2),
    )
    load_2 = factories.make_draft(
        provider, sam=load.sam, version="1.1.0", performance=score("MAE", 0.9)
    )
    factories.release(load_2, provider, auditor)
    factories.make_draft(provider, sam=factories.make_model(provider, name="Unreleased"))
    return {"load": load, "anomalies": anomalies, "core": core, "load_2": load_2}


def counts(facet) -> dict[str, int]:
    return {value.label: value.count for value in facet}


# --- facets ---------------------------------------------------------------------------------


def test_the_facets_count_released_versions_per_value(catalog):
    facets = selectors.catalog_facets()

    assert counts(facets["inference_type"]) == {"NWDAF Analytics ID": 3, "MDA type": 1}
    assert {v.value for v in facets["inference_type"]} == {"NWDAF_ANALYTICS", "MDA"}
    assert sum(counts(facets["domain"]).values()) == 4
    assert {label.lower(): n for label, n in counts(facets["domain"]).items()} == {
        "ran": 3,
        "core": 1,
    }
    assert counts(facets["region"]) == {"North": 3, "South": 1}
    # Empty values are not offered; the draft counts nowhere.
    assert counts(facets["scenario"]) == {"Energy saving": 3, "Fault detection": 1}
    assert counts(facets["tags"]) == {"load": 3, "energy": 2, "anomaly": 1}
    assert counts(facets["metric"]) == {"MAE": 3, "ACCURACY": 1}
    # Most frequent first.
    assert [v.label for v in facets["tags"]] == ["load", "energy", "anomaly"]


def test_a_chosen_facet_counts_under_the_other_filters_only(catalog):
    facets = selectors.catalog_facets(domain="RAN")

    # The domain facet still shows what choosing another domain would find...
    assert {label.lower(): n for label, n in counts(facets["domain"]).items()} == {
        "ran": 3,
        "core": 1,
    }
    # ...the others count within RAN.
    assert counts(facets["region"]) == {"North": 2, "South": 1}
    assert counts(facets["metric"]) == {"MAE": 2, "ACCURACY": 1}
    # Tags combine (all must match), so they count under every filter, their own included.
    assert counts(selectors.catalog_facets(tags=["load"])["tags"]) == {"load": 3, "energy": 2}


def test_a_facet_lists_its_most_frequent_values_and_always_the_chosen_ones(catalog, monkeypatch):
    monkeypatch.setattr(selectors, "FACET_LIMIT", 1)

    assert counts(selectors.catalog_facets()["region"]) == {"North": 3}
    assert counts(selectors.catalog_facets(region="south")["region"]) == {"South": 1}
    assert counts(selectors.catalog_facets(tags=["anomaly"])["tags"]) == {"anomaly": 1}


def test_the_metric_facet_counts_scores_within_the_bounds(catalog):
    facets = selectors.catalog_facets(metric="MAE", min_score=1.0)

    assert counts(facets["metric"]) == {"MAE": 2}
    assert counts(facets["region"]) == {"North": 2}


def test_the_facets_take_one_query_each_whatever_the_data(
    catalog, provider, auditor, django_assert_num_queries
):
    with django_assert_num_queries(6):
        selectors.catalog_facets(domain="RAN", tags=["load"], metric="MAE")
    for n in range(3):
        factories.make_released(provider, auditor, name=f"More {n}", tags=[f"t{n}", "load"])
    with django_assert_num_queries(6):
        facets = selectors.catalog_facets(domain="RAN", tags=["load"], metric="MAE")
    assert counts(facets["tags"])["load"] == 5


def test_the_page_links_each_facet_value_with_its_count(client, consumer, catalog):
    client.force_login(consumer)

    response = client.get(reverse("registry:catalog"), {"region": "North", "page": "2"})
    page = html.unescape(response.content.decode())

    facets = {f["name"]: f for f in response.context["facets"]}
    north = next(v for v in facets["region"]["values"] if v["label"] == "North")
    south = next(v for v in facets["region"]["values"] if v["label"] == "South")
    load = next(v for v in facets["tags"]["values"] if v["label"] == "load")
    # A chosen value drops its filter; another replaces it; a tag adds to the others; every
    # link goes back to the first page.
    assert north["chosen"] and north["href"] == "?"
    assert not south["chosen"] and south["href"] == "?region=South"
    assert load["href"] == "?region=North&tag=load"
    assert 'aria-current="true"' in page and "(chosen; follow to remove)" in page
    assert '<span class="count">3<span class="sr-only"> versions</span>' in page


def test_a_facets_rarer_values_wait_behind_more(client, consumer, catalog, monkeypatch):
    monkeypatch.setattr(views, "FACET_SHOWN", 1)
    client.force_login(consumer)

    response = client.get(reverse("registry:catalog"))

    region = next(f for f in response.context["facets"] if f["name"] == "region")
    assert [v["label"] for v in region["values"]] == ["North"]
    assert [v["label"] for v in region["more"]] == ["South"]
    page = response.content.decode()
    more = page[page.index('id="facet-region"') :]
    assert more.index("<summary>1 more</summary>") < more.index(">South<")


def test_tags_combine_and_a_chosen_one_drops_alone(client, consumer, catalog):
    client.force_login(consumer)

    response = client.get(reverse("registry:catalog"), {"tag": ["load", "energy"]})

    names = {v.sam.name for v in response.context["page"].object_list}
    assert names == {"Cell load"}
    tags = {
        v["label"]: v
        for f in response.context["facets"]
        if f["name"] == "tags"
        for v in f["values"]
    }
    assert tags["energy"]["chosen"] and tags["energy"]["href"] == "?tag=load"


def test_a_chosen_value_the_data_lacks_is_shown_with_0_to_drop_it(client, consumer, catalog):
    client.force_login(consumer)

    response = client.get(reverse("registry:catalog"), {"domain": "Transport"})

    domain = next(f for f in response.context["facets"] if f["name"] == "domain")
    transport = next(v for v in domain["values"] if v["label"] == "Transport")
    assert transport == {"label": "Transport", "count": 0, "chosen": True, "href": "?"}
    assert "No released version matches these filters" in response.content.decode()


# --- sorts ----------------------------------------------------------------------------------


def names(client, **params) -> list[str]:
    page = client.get(reverse("registry:catalog"), params).context["page"]
    return [f"{v.sam.name} {v.version}" for v in page.object_list]


def test_it_sorts_by_recency_name_and_score(client, consumer, catalog):
    client.force_login(consumer)
    newest_first = [
        "Cell load 1.1.0",
        "Core forecast 1.0.0",
        "anomaly finder 1.0.0",
        "Cell load 1.0.0",
    ]

    assert names(client) == newest_first
    assert names(client, sort="oldest") == newest_first[::-1]
    # By name case-insensitively, the same on every database; a model's versions newest first.
    assert names(client, sort="name") == [
        "anomaly finder 1.0.0",
        "Cell load 1.0.0",
        "Cell load 1.1.0",
        "Core forecast 1.0.0",
    ]
    # The best MAE is the lowest; versions without the metric are left out by it.
    assert names(client, metric="MAE", sort="best") == [
        "Cell load 1.1.0",
        "Core forecast 1.0.0",
        "Cell load 1.0.0",
    ]
    refused = client.get(reverse("registry:catalog"), {"sort": "best"})
    assert "Choose a metric under Metric to sort by its best score." in refused.content.decode()


def test_it_sorts_by_subscribers_and_calls_and_shows_them_on_the_cards(client, consumer, catalog):
    others = [factories.make_user("consumer") for _ in range(2)]
    for user in [consumer, *others]:
        sharing_services.subscription_request(
            user=user, sam=catalog["anomalies"].sam, method="INFERENCE"
        )
    sharing_services.subscription_request(
        user=consumer, sam=catalog["core"].sam, method="INFERENCE"
    )
    for version, calls in ((catalog["load"], 3), (catalog["core"], 5)):
        InferenceRecord.objects.bulk_create(
            InferenceRecord(
                version=version,
                caller=consumer,
                count=1,
                latency_ms=1.0,
                outcome=InferenceOutcome.OK,
            )
            for _ in range(calls)
        )
    client.force_login(consumer)
    before_counting = names(client, sort="calls")
    sharing_services.version_popularity_count()  # as Celery beat does every few minutes

    # Counted periodically: before the count, no version is ahead; after it, the sorts and
    # the cards show the counts.
    assert before_counting == names(client)
    assert names(client, sort="subscribers")[:2] == ["anomaly finder 1.0.0", "Core forecast 1.0.0"]
    # Ties: the newest release first.
    assert names(client, sort="calls") == [
        "Core forecast 1.0.0",
        "Cell load 1.0.0",
        "Cell load 1.1.0",
        "anomaly finder 1.0.0",
    ]
    page = client.get(reverse("registry:catalog")).content.decode()

    def card(version) -> str:
        start = page.index(f'id="catalog-v-{version.pk}"')
        return page[start : page.index("</li>\n", page.index('class="card-counts"', start))]

    assert '<span class="subscribers">3 subscribers</span>' in card(catalog["anomalies"])
    assert '<span class="calls">0 calls</span>' in card(catalog["anomalies"])
    assert '<span class="subscribers">1 subscriber</span>' in card(catalog["core"])
    assert '<span class="calls">5 calls</span>' in card(catalog["core"])


def test_the_api_sorts_by_name_and_popularity_and_returns_the_counts(api, consumer, catalog):
    answer = api(consumer).get("/api/v1/catalog/", {"sort": "-calls"})
    assert answer.status_code == 200, answer.content
    assert {e["calls"] for e in answer.json()["results"]} == {0}
    assert {e["subscribers"] for e in answer.json()["results"]} == {0}
    by_name = api(consumer).get("/api/v1/catalog/", {"sort": "-name"}).json()["results"]
    assert [e["model_name"] for e in by_name] == [
        "Core forecast",
        "Cell load",
        "Cell load",
        "anomaly finder",
    ]
    refused = api(consumer).get("/api/v1/catalog/", {"sort": "popularity"})
    assert refused.status_code == 400


# --- pagination and scales -----------------------------------------------------------------


def test_the_pages_are_numbered_and_keep_the_query(client, consumer, catalog, monkeypatch):
    monkeypatch.setattr(views, "CATALOG_PAGE_SIZE", 1)
    client.force_login(consumer)

    response = client.get(reverse("registry:catalog"), {"region": "North", "page": "2"})
    page = response.content.decode()

    assert "2–2 of 3 versions found" in page
    assert "Page 2 of 3" in page
    assert '<span aria-current="page">2</span>' in page
    assert 'href="?region=North&amp;page=3" aria-label="Page 3"' in page
    assert 'href="?region=North&amp;page=1" rel="prev"' in page


def test_an_error_metric_is_drawn_on_the_catalogs_range_not_as_a_share_of_1(
    client, consumer, catalog
):
    client.force_login(consumer)

    page = client.get(
        reverse("registry:catalog"), {"metric": "MAE", "sort": "best"}
    ).content.decode()

    # MAE 0.9, 1.2, 2.6 in the catalog: markers at 0 %, 18 % and 100 % of that range.
    assert page.count('class="bar-track scale"') == 3
    assert 'aria-label="0 % of the way from 0.9 to 2.6, the catalog\'s range"' in page
    assert 'aria-label="18 % of the way from 0.9 to 2.6' in page
    assert 'x="97.0"' in page  # the worst, its marker kept inside the track
    # A score in [0, 1] of a metric where higher is better still fills its bar.
    accuracy = client.get(reverse("registry:catalog"), {"metric": "ACCURACY"}).content.decode()
    assert '<rect class="bar-fill" width="97.0"' in accuracy


def test_the_catalog_page_takes_as_many_queries_for_more_versions(
    client, consumer, catalog, provider, auditor
):
    client.force_login(consumer)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse("registry:catalog"), {"sort": "calls", "tag": "load"})
        assert response.status_code == 200
        return len(captured)

    before = queries()
    for n in range(4):
        factories.make_released(provider, auditor, name=f"Extra {n}", tags=[f"x{n}", "load"])

    assert queries() == before
