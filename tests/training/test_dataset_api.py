"""/api/v1/datasets/: upload, list, detail and delete over the REST API with API tokens, for
the owner, another member, an outsider, an auditor and an operator."""

import pytest
from rest_framework.test import APIClient

from tests import factories
from tests.training.datasets import cell_kpis, warehouse_files
from training.models import Dataset

URL = "/api/v1/datasets/"


def post(client: APIClient, path, **fields):
    with open(path, "rb") as f:
        return client.post(
            URL,
            {"name": "Cell KPIs", "target_column": "load_next_hour", "file": f, **fields},
            format="multipart",
        )


@pytest.fixture
def uploaded(member, csv_file):
    answer = post(factories.token_client(member), csv_file())
    assert answer.status_code == 201, answer.content
    return answer.json()


def test_a_member_uploads_a_dataset_of_their_organisation(member, organisation, csv_file):
    answer = post(factories.token_client(member), csv_file(), description="North cells")
    assert answer.status_code == 201, answer.content
    body = answer.json()
    dataset = Dataset.objects.get()
    assert body["id"] == dataset.pk and body["organisation"] == organisation.slug
    assert body["format"] == "CSV" and body["row_count"] == 200 and body["quality_score"] == 100
    assert body["target_column"] == "load_next_hour" and body["uploaded_by"] == "member"
    assert [c["name"] for c in body["columns"]] == [
        "prb_usage", "active_users", "cell", "load_next_hour",
    ]  # fmt: skip
    assert warehouse_files() == [f"datasets/{dataset.sha256[:2]}/{dataset.sha256}.csv"]


def test_a_refused_file_is_a_400_in_the_api_error_shape_and_stores_nothing(member, raw_file):
    answer = post(factories.token_client(member), raw_file(b"prb,load_next_hour\n1,2\n3,4,5\n"))
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "dataset_invalid"
    assert "Expected 2 fields in line 3, saw 3" in body["detail"]
    assert body["errors"]["file"]
    assert not Dataset.objects.exists() and warehouse_files() == []


def test_missing_fields_are_named(member, csv_file):
    with open(csv_file(), "rb") as f:
        answer = factories.token_client(member).post(URL, {"file": f}, format="multipart")
    assert answer.status_code == 400
    assert set(answer.json()["errors"]) == {"name", "target_column"}


def test_someone_in_several_organisations_names_one(member, other_organisation, csv_file):
    other_organisation.members.add(member)
    answer = post(factories.token_client(member), csv_file())
    assert answer.status_code == 400 and "organisation" in answer.json()["errors"]
    answer = post(factories.token_client(member), csv_file(), organisation=other_organisation.slug)
    assert answer.status_code == 201 and answer.json()["organisation"] == other_organisation.slug


def test_nobody_uploads_for_an_organisation_they_are_not_in(
    outsider_consumer, organisation, csv_file
):
    answer = post(
        factories.token_client(outsider_consumer), csv_file(), organisation=organisation.pk
    )
    assert answer.status_code == 400
    assert "organisation" in answer.json()["errors"]
    assert warehouse_files() == []


def test_an_operator_uploads_for_any_organisation(operator, organisation, csv_file):
    answer = post(factories.token_client(operator), csv_file(), organisation=organisation.slug)
    assert answer.status_code == 201


def test_visibility_follows_organisation_membership(
    uploaded, member, provider, outsider_consumer, auditor, operator, consumer
):
    detail = f"{URL}{uploaded['id']}/"
    for user in (member, provider, auditor, operator):
        client = factories.token_client(user)
        assert [d["id"] for d in client.get(URL).json()["results"]] == [uploaded["id"]]
        assert client.get(detail).status_code == 200
    for user in (outsider_consumer, consumer):
        client = factories.token_client(user)
        assert client.get(URL).json()["results"] == []
        answer = client.get(detail)
        assert answer.status_code == 404 and answer.json()["code"] == "not_found"


def test_the_list_is_paginated(member, csv_file):
    client = factories.token_client(member)
    for _ in range(3):
        assert post(client, csv_file()).status_code == 201
    body = client.get(URL, {"page_size": 2}).json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]


def test_members_and_operators_delete(uploaded, provider, operator, member, csv_file):
    answer = factories.token_client(provider).delete(f"{URL}{uploaded['id']}/")
    assert answer.status_code == 204
    assert not Dataset.objects.exists() and warehouse_files() == []
    again = post(factories.token_client(member), csv_file()).json()
    assert factories.token_client(operator).delete(f"{URL}{again['id']}/").status_code == 204


def test_outsiders_and_auditors_do_not_delete(uploaded, outsider_consumer, auditor):
    detail = f"{URL}{uploaded['id']}/"
    assert factories.token_client(outsider_consumer).delete(detail).status_code == 404
    answer = factories.token_client(auditor).delete(detail)
    assert answer.status_code == 403 and answer.json()["code"] == "permission_denied"
    assert Dataset.objects.count() == 1 and len(warehouse_files()) == 1


def test_without_credentials_it_is_401():
    assert APIClient().get(URL).status_code == 401


def test_a_dataset_larger_than_the_general_body_limit_is_let_through(member, csv_file, settings):
    # About 3 MiB: above DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MiB), below SAMHUB_DATASET_MAX_BYTES.
    path = csv_file(cell_kpis(60_000))
    assert path.stat().st_size > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    answer = post(factories.token_client(member), path)
    assert answer.status_code == 201, answer.content
    assert answer.json()["row_count"] == 60_000


def test_a_body_over_the_dataset_limit_is_refused_unread(member, csv_file, settings):
    settings.SAMHUB_DATASET_MAX_BYTES = 10_000
    answer = post(factories.token_client(member), csv_file(cell_kpis(60_000)))
    assert answer.status_code == 413
    assert answer.json()["code"] == "too_large"
    assert "for a dataset" in answer.json()["detail"]
    assert warehouse_files() == []


def test_the_schema_describes_the_datasets_api(operator):
    schema = factories.token_client(operator).get("/api/schema/?format=json").json()
    assert {"get", "post"} <= set(schema["paths"]["/api/v1/datasets/"])
    assert {"get", "delete"} <= set(schema["paths"]["/api/v1/datasets/{id}/"])
    assert (
        "multipart/form-data"
        in schema["paths"]["/api/v1/datasets/"]["post"]["requestBody"]["content"]
    )


def test_a_json_body_is_refused_in_the_error_shape(member):
    answer = factories.token_client(member).post(URL, {"name": "x"}, format="json")
    assert answer.status_code == 415
    assert answer.json()["code"] == "unsupported_media_type"
