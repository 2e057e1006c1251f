"""The portal's Datasets pages: the list with scores and the upload form, a dataset's page,
deletion, the navigation link, and the read-only admin."""

import re

from django.contrib.messages import get_messages

from tests import factories
from tests.training.datasets import cell_kpis, warehouse_files
from training import services
from training.models import Dataset


def signed_in(client, user):
    client.force_login(user)
    return client


def upload_form(client, path, **fields):
    with open(path, "rb") as f:
        return client.post(
            "/datasets/",
            {"name": "Cell KPIs", "target_column": "load_next_hour", "file": f, **fields},
        )


def stored(user, organisation, path, name="Cell KPIs") -> Dataset:
    with open(path, "rb") as f:
        return services.dataset_upload(
            user=user, organisation=organisation, name=name, stream=f, filename=path.name,
            target_column="load_next_hour",
        )  # fmt: skip


def test_a_member_uploads_from_the_page_and_sees_columns_and_score(
    client, member, organisation, csv_file
):
    frame = cell_kpis(100)
    frame["region"] = "north"
    answer = upload_form(signed_in(client, member), csv_file(frame), organisation=organisation.pk)
    dataset = Dataset.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"/datasets/{dataset.pk}/"
    page = client.get(answer["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert re.search(r'id="quality-score">80\.0<', html)
    assert "<code>region</code>" in html and "<td>target</td>" in html
    assert 'id="row-count">100<' in html
    assert 'id="delete"' in html
    assert 'data-confirm="Delete the dataset Cell KPIs? It cannot be undone."' in html
    listing = client.get("/datasets/").content.decode()
    assert f'id="dataset-{dataset.pk}"' in listing and 'data-score="80.0"' in listing


def test_a_refused_upload_shows_why_keeps_the_form_and_stores_nothing(
    client, member, organisation, raw_file
):
    bad = raw_file(b"prb,load_next_hour\n1,high\n")
    answer = upload_form(
        signed_in(client, member), bad, organisation=organisation.pk, name="Typed name"
    )
    html = answer.content.decode()
    assert answer.status_code == 400
    assert "must be numeric; it holds string values" in html
    assert 'value="Typed name"' in html
    assert not Dataset.objects.exists() and warehouse_files() == []


def test_the_navigation_links_to_datasets_for_members_only(client, member, consumer):
    page = signed_in(client, member).get("/datasets/")
    assert page.status_code == 200
    assert re.search(
        r'<a href="/datasets/" aria-current="page">Datasets</a>', page.content.decode()
    )
    client.logout()
    other = signed_in(client, consumer)  # a consumer in no organisation
    assert ">Datasets<" not in other.get("/subscriptions/").content.decode()
    assert other.get("/datasets/").status_code == 403


def test_another_organisations_dataset_is_not_found(
    client, member, organisation, outsider_consumer, csv_file
):
    dataset = stored(member, organisation, csv_file())
    client = signed_in(client, outsider_consumer)
    assert client.get(f"/datasets/{dataset.pk}/").status_code == 404
    assert f"dataset-{dataset.pk}" not in client.get("/datasets/").content.decode()
    assert client.post(f"/datasets/{dataset.pk}/delete/").status_code == 404
    assert Dataset.objects.count() == 1


def test_a_member_deletes_from_the_page(client, member, organisation, csv_file):
    dataset = stored(member, organisation, csv_file())
    answer = signed_in(client, member).post(f"/datasets/{dataset.pk}/delete/")
    assert answer.status_code == 302 and answer["Location"] == "/datasets/"
    assert [m.message for m in get_messages(answer.wsgi_request)] == ["Cell KPIs is deleted."]
    assert not Dataset.objects.exists() and warehouse_files() == []


def test_an_auditor_sees_datasets_but_neither_uploads_nor_deletes(
    client, member, organisation, auditor, csv_file
):
    dataset = stored(member, organisation, csv_file())
    client = signed_in(client, auditor)
    listing = client.get("/datasets/").content.decode()
    assert f"dataset-{dataset.pk}" in listing and 'id="dataset-upload"' not in listing
    assert 'id="delete"' not in client.get(f"/datasets/{dataset.pk}/").content.decode()
    answer = client.post(f"/datasets/{dataset.pk}/delete/")
    assert answer.status_code == 302 and Dataset.objects.count() == 1


def test_operators_read_datasets_in_the_admin_and_change_nothing(
    client, member, organisation, operator, csv_file
):
    dataset = stored(member, organisation, csv_file())
    client = signed_in(client, operator)
    assert "Cell KPIs" in client.get("/admin/training/dataset/").content.decode()
    page = client.get(f"/admin/training/dataset/{dataset.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert client.get("/admin/training/dataset/add/").status_code == 403
    assert client.post(f"/admin/training/dataset/{dataset.pk}/delete/").status_code == 403


def test_the_upload_form_is_offered_only_for_ones_own_organisations(
    client, member, organisation, other_organisation, csv_file
):
    page = signed_in(client, member).get("/datasets/").content.decode()
    assert f'<option value="{organisation.pk}" selected>' in page
    assert f'value="{other_organisation.pk}"' not in page
    answer = upload_form(client, csv_file(), organisation=other_organisation.pk)
    assert answer.status_code == 400 and not Dataset.objects.exists()


def test_the_page_takes_a_file_larger_than_the_general_body_limit(
    client, member, organisation, csv_file, settings
):
    path = csv_file(cell_kpis(60_000))
    assert path.stat().st_size > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    answer = upload_form(signed_in(client, member), path, organisation=organisation.pk)
    assert answer.status_code == 302
    assert Dataset.objects.get().row_count == 60_000


def test_a_token_client_cannot_use_the_portal_upload(member, csv_file):
    # The portal's form is for sessions; scripts use /api/v1/datasets/.
    answer = upload_form(factories.token_client(member), csv_file())
    assert answer.status_code == 302 and "/login/" in answer["Location"]
