import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests import factories

SPECS = Path(__file__).resolve().parents[1] / "specs" / "3gpp"


@pytest.fixture(scope="module")
def model_performance_validator():
    """TS 28.105 ModelPerformance, with its Float $ref resolved from TS 28.623 ComDefs."""
    registry = Registry().with_resources(
        (
            f"file://{SPECS}/{name}",
            Resource.from_contents(
                yaml.safe_load((SPECS / name).read_text()), default_specification=DRAFT202012
            ),
        )
        for name in ("TS28105_AiMlNrm.yaml", "TS28623_ComDefs.yaml")
    )
    schema = {"$ref": f"file://{SPECS}/TS28105_AiMlNrm.yaml#/components/schemas/ModelPerformance"}
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    properties = yaml.safe_load((SPECS / "TS28105_AiMlNrm.yaml").read_text())["components"][
        "schemas"
    ]["ModelPerformance"]["properties"]
    return validator, set(properties)


@pytest.fixture
def catalog(provider, auditor):
    """Three released versions with different categories, and one that is not released."""
    specs = {
        "load": (
            {
                "name": "Cell load forecaster",
                "description": "Predicts next-hour cell load from current KPIs.",
                "intended_use": "Forecast cell load one hour ahead for energy saving.",
                "inference_type": "NWDAF_ANALYTICS",
                "domain": "RAN",
                "region": "North",
                "scenario": "Energy saving",
                "tags": ["load", "energy"],
            },
            [
                {
                    "inference_output_name": "load",
                    "performance_metric": "MAE",
                    "performance_score": 2.5,
                },
                {
                    "inference_output_name": "load",
                    "performance_metric": "R2",
                    "performance_score": 0.93,
                    "decision_confidence_score": 0.8,
                },
            ],
        ),
        "anomaly": (
            {
                "name": "KPI anomaly detector",
                "description": "Flags KPI samples that look like faults.",
                "intended_use": "Alarm triage in the operations centre.",
                "inference_type": "MDA",
                "inference_name": "MDA_KPI_ANOMALY",
                "domain": "Core",
                "region": "South",
                "scenario": "Fault detection",
                "tags": ["anomaly"],
            },
            [
                {
                    "inference_output_name": "label",
                    "performance_metric": "F1",
                    "performance_score": 0.88,
                }
            ],
        ),
        "handover": (
            {
                "name": "Handover failure predictor",
                "description": "Predicts handover failures per neighbour relation.",
                "intended_use": "Mobility robustness tuning.",
                "inference_type": "VENDOR_SPECIFIC",
                "inference_name": "acme",
                "domain": "RAN",
                "region": "South",
                "scenario": "Mobility",
                "tags": ["handover", "ran"],
            },
            [
                {
                    "inference_output_name": "label",
                    "performance_metric": "F1",
                    "performance_score": 0.71,
                }
            ],
        ),
    }
    released = {}
    for key, (fields, performance) in specs.items():
        sam = factories.make_model(provider, **fields)
        released[key] = factories.make_version_in(
            "RELEASED", provider=provider, auditor=auditor, sam=sam, performance=performance
        )
    hidden = factories.make_model(provider, name="Anomaly draft", tags=["anomaly"])
    factories.make_version_in("APPROVED", provider=provider, auditor=auditor, sam=hidden)
    return {key: version.pk for key, version in released.items()}


def _ids(client, **params) -> set[int]:
    answer = client.get("/api/v1/catalog/", params)
    assert answer.status_code == 200, answer.json()
    return {entry["id"] for entry in answer.json()["results"]}


FILTER_CASES = [
    ({}, {"load", "anomaly", "handover"}),
    ({"inference_type": "MDA"}, {"anomaly"}),
    ({"domain": "ran"}, {"load", "handover"}),
    ({"region": "South"}, {"anomaly", "handover"}),
    ({"scenario": "energy saving"}, {"load"}),
    ({"tags": "anomaly"}, {"anomaly"}),
    ({"tags": "RAN, handover"}, {"handover"}),
    ({"tags": "load,anomaly"}, set()),
    ({"metric": "F1", "min_score": "0.8"}, {"anomaly"}),
    ({"metric": "f1", "max_score": "0.8"}, {"handover"}),
    ({"metric": "R2", "min_score": "0.9", "max_score": "1"}, {"load"}),
    ({"min_score": "1"}, {"load"}),
    ({"q": "anomaly"}, {"anomaly"}),
    ({"q": "handover"}, {"handover"}),
    ({"q": "forecaster"}, {"load"}),
    ({"q": "forecaster", "region": "South"}, set()),
    ({"domain": "RAN", "region": "South", "inference_type": "VENDOR_SPECIFIC"}, {"handover"}),
]


def test_it_filters_the_catalog_by_category_metric_and_text(api, consumer, catalog):
    # One catalog, many queries: building the released versions is the slow part.
    client = api(consumer)
    names = {pk: key for key, pk in catalog.items()}

    found = [{names[pk] for pk in _ids(client, **params)} for params, _ in FILTER_CASES]

    assert found == [expected for _, expected in FILTER_CASES]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"min_score": "high"}, "min_score", "min_score must be a number, such as 0.9."),
        ({"max_score": "1,5"}, "max_score", "max_score must be a number, such as 0.9."),
        ({"min_score": "0.9", "max_score": "0.1"}, "min_score", "min_score (0.9) is above"),
        ({"inference_type": "GUESS"}, "inference_type", '"GUESS" is not a valid choice.'),
    ],
)
def test_it_refuses_bad_filters_with_a_clear_message(api, consumer, params, field, message):
    answer = api(consumer).get("/api/v1/catalog/", params)

    assert answer.status_code == 400
    assert answer.json()["errors"][field][0].startswith(message)


def test_it_pages_the_catalog(api, consumer, catalog):
    client = api(consumer)

    first = client.get("/api/v1/catalog/", {"page_size": 2}).json()
    assert first["count"] == 3
    assert len(first["results"]) == 2
    assert first["previous"] is None
    assert first["next"].startswith("http://testserver/api/v1/catalog/?")
    assert "page=2" in first["next"] and "page_size=2" in first["next"]

    second = client.get(first["next"]).json()
    assert len(second["results"]) == 1
    assert second["next"] is None
    seen = [entry["id"] for entry in first["results"] + second["results"]]
    assert sorted(seen) == sorted(catalog.values())


def test_catalog_entries_carry_ts28105_model_performance(
    api, consumer, catalog, model_performance_validator
):
    validator, properties = model_performance_validator

    entries = api(consumer).get("/api/v1/catalog/").json()["results"]
    by_id = {entry["id"]: entry for entry in entries}

    assert by_id[catalog["load"]]["performance"][1]["decisionConfidenceScore"] == 0.8
    for entry in entries:
        assert entry["performance"], entry
        for item in entry["performance"]:
            validator.validate(item)
            assert set(item) <= properties
        version = api(consumer).get(f"/api/v1/versions/{entry['id']}/").json()
        for item in version["performance"]:
            validator.validate(item)
    assert by_id[catalog["anomaly"]]["tags"] == ["anomaly"]
    assert by_id[catalog["anomaly"]]["inference_type"] == "MDA"
    assert by_id[catalog["anomaly"]]["organisation"]["name"] == "North Operator"


def test_the_validator_would_catch_a_wrong_performance_shape(model_performance_validator):
    validator, _ = model_performance_validator

    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"inferenceOutputName": "x", "performanceScore": "high"})
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"performanceMetric": "MAE", "decisionConfidenceScore": None})


def test_anonymous_users_get_no_catalog(api, catalog):
    assert api().get("/api/v1/catalog/").status_code == 401


def test_it_serves_an_openapi_3_schema(api):
    answer = api().get("/api/schema/", {"format": "json"})

    assert answer.status_code == 200
    schema = answer.json()
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    assert "/api/v1/versions/{id}/approve/" in paths
    assert "/api/v1/catalog/" in paths
    assert set(paths["/api/v1/versions/{id}/artifact/"]) == {"get", "put", "post"}
    raw = paths["/api/v1/versions/{id}/artifact/"]["put"]["requestBody"]["content"]
    assert list(raw) == ["application/octet-stream"]


def test_the_docs_page_loads_every_asset_locally(api):
    client = api()
    answer = client.get("/api/docs/")

    assert answer.status_code == 200
    html = answer.content.decode()
    assert "<html" in html.lower()
    urls = re.findall(r'<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)"', html)
    assert any("swagger-ui-bundle" in url for url in urls), urls
    for url in urls:
        assert not re.match(r"^(https?:)?//(?!testserver[/:])", url), url
        assert client.get(url).status_code == 200, url
    for cdn in ("jsdelivr", "unpkg", "cdnjs", "googleapis"):
        assert cdn not in html
