"""The model selection pages: the form (a refusal shown on it, nothing stored), the page with
its ranking table, chart data and progress JSON, the winner taken into the audit flow from
it, deletion, and who sees what."""

import re

import pytest
from django.test import Client

from registry.models import ModelVersion, VersionStatus
from training.aimle import selection_execution
from training.models import ModelSelection

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("use_world_warehouse")]


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form_data(world, **changes) -> dict:
    return {
        "candidates": [v.pk for v in world.candidates],
        "datasets": [world.dataset.pk],
        "metric": "ACCURACY",
        "target": "",
        "rounds": "2",
        "samples": "100",
        "client_set_ids": "set-north, set-east",
        "client_criteria": "",
        "client_number": "",
        "notification_method": "ON_JOB_COMPLETION",
        **changes,
    }


def ran(selection_id) -> ModelSelection:
    found = ModelSelection.objects.get(pk=selection_id)
    for candidate in found.candidates.order_by("pk"):
        selection_execution.candidate_run(candidate_id=candidate.pk)
    found.refresh_from_db()
    return found


def test_the_form_starts_a_selection(world):
    client = client_of(world.provider)
    page = client.get("/model-selection/new/")
    assert page.status_code == 200
    assert all(f'value="{v.pk}"' in page.content.decode() for v in world.candidates)

    answer = client.post("/model-selection/new/", form_data(world))

    selection = ModelSelection.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"/model-selection/{selection.pk}/"
    assert selection.client_set_ids == ["set-north", "set-east"] and selection.rounds == 2
    assert selection.clients == ["client-1", "client-2", "client-3"]
    assert selection.candidates.count() == 3


def test_a_refusal_is_shown_on_the_form_and_stores_nothing(world):
    answer = client_of(world.provider).post(
        "/model-selection/new/", form_data(world, client_set_ids="", client_criteria='{"a": 1}')
    )

    assert answer.status_code == 400
    assert "NOTE 2" in answer.content.decode()
    assert "{&quot;a&quot;: 1}" in answer.content.decode()  # what was typed stays
    assert not ModelSelection.objects.exists()


def test_the_page_shows_the_ranking_and_the_winner_goes_to_the_audit(world):
    client = client_of(world.provider)
    client.post("/model-selection/new/", form_data(world))
    selection = ran(ModelSelection.objects.get().pk)

    page = client.get(f"/model-selection/{selection.pk}/").content.decode()
    progress = client.get(f"/model-selection/{selection.pk}/progress/")
    data = progress.json()
    assert progress["Cache-Control"] == "no-store"
    assert data["status"] == "FINISHED" and data["ended"] and data["can_take_winner"]
    assert sorted(c["rank"] for c in data["candidates"]) == [1, 2, 3]
    assert 'id="selection-chart"' in page and 'id="selection-data"' in page
    assert "/static/vendor/chartjs/chart.umd.min.js" in page and "js/model-selection.js" in page
    assert "hidden" not in re.search(r'<form[^>]*id="winner-form"[^>]*>', page).group(0)
    winner = next(c for c in data["candidates"] if c["rank"] == 1)

    answer = client.post(f"/model-selection/{selection.pk}/winner/")

    version = ModelVersion.objects.get(parent_id=winner["version_id"])
    assert answer.status_code == 302 and answer["Location"].endswith(f"#v-{version.pk}")
    assert version.status == VersionStatus.SUBMITTED
    assert (
        client.get(f"/model-selection/{selection.pk}/progress/").json()["can_take_winner"] is False
    )


def test_an_auditor_sees_a_selection_but_takes_no_winner(world):
    client_of(world.provider).post("/model-selection/new/", form_data(world))
    selection = ran(ModelSelection.objects.get().pk)
    auditor = client_of(world.auditor)

    assert (
        auditor.get(f"/model-selection/{selection.pk}/progress/").json()["can_take_winner"] is False
    )
    assert auditor.post(f"/model-selection/{selection.pk}/winner/").status_code == 302
    assert not ModelVersion.objects.filter(parent__in=world.candidates).exists()


def test_who_sees_the_pages(world):
    client_of(world.provider).post("/model-selection/new/", form_data(world))
    selection = ModelSelection.objects.get()
    detail = f"/model-selection/{selection.pk}/"

    assert str(selection.pk) in client_of(world.provider).get("/model-selection/").content.decode()
    assert client_of(world.operator).get(detail).status_code == 200
    assert client_of(world.colleague).get(detail).status_code == 404
    assert client_of(world.other_provider).get(detail + "progress/").status_code == 404
    assert client_of(world.other_provider).post(detail + "delete/").status_code == 404
    assert Client().get(detail).status_code == 302  # to the sign-in page
    assert "Model selection" in client_of(world.provider).get("/").content.decode()


def test_the_requestor_deletes_a_selection(world):
    client = client_of(world.provider)
    client.post("/model-selection/new/", form_data(world))
    selection = ModelSelection.objects.get()

    answer = client.post(f"/model-selection/{selection.pk}/delete/")

    assert answer.status_code == 302 and answer["Location"] == "/model-selection/"
    assert not ModelSelection.objects.exists()
