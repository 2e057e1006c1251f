"""/aimles-amlmsel/v1/subscriptions (AssistMLMdlSelSubsc, TS 29.482) and
/api/v1/model-selections/: creation with 201 + Location, NOTE 1 and NOTE 2 of table
8.23.2.1-1, candidates that are not released trainable versions, the other refusals (each a
400 ProblemDetails that stores nothing), PUT / PATCH / DELETE, and who sees what."""

import pytest
from sklearn.linear_model import LogisticRegression

from registry import services as registry_services
from tests import factories
from tests.aimle.selection import released_estimator, subscription_body
from tests.training.training import upload_dataset
from training.models import ModelSelection, ModelSelectionCandidate

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("use_world_warehouse")]

URL = "/aimles-amlmsel/v1/subscriptions"
# Ids of no version and no dataset: these refusals come before anything is looked up.
NONE = ([101, 102], [7])


def post(client, body):
    return client.post(URL, body, format="json")


def nothing_stored() -> bool:
    return not ModelSelection.objects.exists() and not ModelSelectionCandidate.objects.exists()


def assert_refused(answer, pointer: str, *, status: int = 400, cause: str | None = None) -> dict:
    assert answer.status_code == status, answer.content
    assert answer["Content-Type"] == "application/problem+json"
    body = answer.json()
    assert body["status"] == status and body["detail"]
    if cause:
        assert body["cause"] == cause
    if status == 400:
        assert pointer in [p["param"] for p in body.get("invalidParams", [])], body
    assert nothing_stored()
    return body


@pytest.fixture
def made(api, world):
    """A subscription of the provider's over the first candidate; its Location."""
    answer = post(api(world.provider), subscription_body(world.candidates[:1], [world.dataset]))
    assert answer.status_code == 201, answer.content
    return answer["Location"]


def test_a_subscription_is_created_with_201_and_its_location(api, world, loopback_callbacks):
    candidates = world.candidates
    body = subscription_body(
        candidates, [world.dataset], params={candidates[0].pk: {"C": 0.5}}, target=0.9,
        notifUri="http://127.0.0.1:9/notify",
        repInfo={"notifMethod": "ON_PCT_COMPLETION", "jobPercentage": 25}, suppFeat="0A",
    )  # fmt: skip
    answer = post(api(world.provider), body)

    assert answer.status_code == 201, answer.content
    created = answer.json()
    selection = ModelSelection.objects.get()
    assert answer["Location"] == f"http://testserver{URL}/{selection.pk}"
    assert created["subscriptionId"] == str(selection.pk)
    assert created["aimlProfile"] == body["aimlProfile"]
    assert created["repInfo"] == {"notifMethod": "ON_PCT_COMPLETION", "jobPercentage": 25}
    assert created["notifUri"] == body["notifUri"] and created["suppFeat"] == "0A"
    assert created["opStatus"] == {"status": "QUEUED", "percentage": 0, "targetReached": False}
    assert [m["mlMdlInfo"]["mlMdlId"] for m in created["trainMLModel"]] == [
        str(v.pk) for v in candidates
    ]
    assert [c.params for c in selection.candidates.order_by("pk")] == [{"C": 0.5}, {}, {}]
    assert (selection.metric, selection.rounds, selection.sample_count) == ("ACCURACY", 3, 10)
    assert selection.targets == [{"perfMetric": "ACCURACY", "perfTarget": 0.9}]
    assert selection.client_set_ids == ["set-north"] and selection.requested_by == world.provider
    assert api(world.provider).get(answer["Location"]).json() == created


def test_note_1_neither_client_list_nor_criteria_is_refused(api, world):
    body = subscription_body(*NONE, clients=())
    problem = assert_refused(
        post(api(world.provider), body), "/aimlProfile/clientList", cause="MANDATORY_IE_MISSING"
    )
    assert "NOTE 1" in problem["detail"]


def test_note_2_criteria_without_the_number_of_clients_is_refused(api, world):
    body = subscription_body(
        *NONE, clients=(), profile={"clientSelCriteria": {"service_area": "area-north"}}
    )
    problem = assert_refused(
        post(api(world.provider), body), "/aimlProfile/clNumber", cause="MANDATORY_IE_MISSING"
    )
    assert "NOTE 2" in problem["detail"]


def test_criteria_with_the_number_of_clients_satisfy_both_notes(api, world):
    body = subscription_body(
        world.candidates[:1], [world.dataset], clients=(),
        profile={"clientSelCriteria": {"service_area": "area-north"}, "clNumber": 2},
    )  # fmt: skip
    answer = post(api(world.provider), body)

    assert answer.status_code == 201, answer.content
    selection = ModelSelection.objects.get()
    assert selection.client_criteria == {"service_area": "area-north"}
    assert selection.client_number == 2 and selection.clients == ["client-1", "client-2"]


def test_the_clients_of_the_client_sets_take_part(api, world):
    body = subscription_body(
        world.candidates[:1], [world.dataset], clients=("set-north", "set-east")
    )
    assert post(api(world.provider), body).status_code == 201
    assert ModelSelection.objects.get().clients == ["client-1", "client-2", "client-3"]


def test_an_unknown_client_set_is_refused(api, world):
    body = subscription_body(*NONE, clients=("set-nowhere",))
    problem = assert_refused(
        post(api(world.provider), body), "/aimlProfile/clientList", cause="UNKNOWN_AIMLE_CLIENT_SET"
    )
    assert "set-nowhere" in problem["detail"]


def test_fewer_matching_clients_than_asked_for_are_refused(api, world):
    body = subscription_body(
        *NONE,
        clients=(),
        profile={"clientSelCriteria": {"service_area": "area-east"}, "clNumber": 2},
    )
    assert_refused(
        post(api(world.provider), body), "/aimlProfile/clNumber", cause="INSUFFICIENT_AIMLE_CLIENTS"
    )


def test_a_candidate_that_is_not_released_is_refused_at_every_state_before(api, world):
    provider, auditor = world.provider, world.auditor
    version = released_estimator(
        provider, auditor, LogisticRegression(), name="Unreleased", state="DRAFT"
    )
    steps = [
        ("SUBMITTED", lambda: registry_services.version_submit(version_id=version.pk, user=provider)),
        ("APPROVED", lambda: registry_services.version_approve(version_id=version.pk, user=auditor)),
        ("REGISTERED", lambda: registry_services.version_register(
            version_id=version.pk, user=provider, access_type="MODEL_FILE")),
        ("RELEASED", lambda: registry_services.version_release(version_id=version.pk, user=provider)),
    ]  # fmt: skip
    body = subscription_body([world.candidates[0], version], [world.dataset])
    state = "DRAFT"
    for next_state, step in steps:
        problem = assert_refused(post(api(provider), body), "/aimlProfile/candMLMdls")
        assert f"is {state}" in problem["detail"] and "released versions" in problem["detail"]
        step()
        state = next_state
    assert post(api(provider), body).status_code == 201


def test_a_deprecated_candidate_is_refused(api, world):
    registry_services.version_deprecate(version_id=world.candidates[2].pk, user=world.provider)
    body = subscription_body(world.candidates, [world.dataset])
    problem = assert_refused(post(api(world.provider), body), "/aimlProfile/candMLMdls")
    assert "DEPRECATED" in problem["detail"]


def test_candidates_without_a_trainable_estimator_are_refused(api, world):
    onnx = factories.make_version_in(
        "RELEASED", provider=world.provider, auditor=world.auditor, kind="onnx"
    )
    external = factories.make_released(world.provider, world.auditor)
    for version, why in ((onnx, "an ONNX model only"), (external, "an external endpoint")):
        body = subscription_body([world.candidates[0], version], [world.dataset])
        problem = assert_refused(post(api(world.provider), body), "/aimlProfile/candMLMdls")
        assert why in problem["detail"] and "scikit-learn" in problem["detail"]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"mlMdlId": "999999"}, "no such version"),
        ({"mlMdlId": "v1"}, "a whole number"),
        ({"mlMdlParam": {"no_such_parameter": 1}}, "no parameter no_such_parameter"),
        ({"mlMdlParam": {"C": {"nested": 1}}}, "mlMdlParam of candidate 1"),
    ],
)
def test_a_candidate_that_cannot_be_trained_as_asked_is_refused(api, world, change, words):
    body = subscription_body(world.candidates[:1], [world.dataset])
    body["aimlProfile"]["candMLMdls"][0].update(change)
    problem = assert_refused(post(api(world.provider), body), "/aimlProfile/candMLMdls")
    assert words in problem["detail"]


def test_a_regression_metric_for_classifiers_is_refused(api, world):
    body = subscription_body(world.candidates[:1], [world.dataset], metric="MEAN_SQUARED_ERROR")
    problem = assert_refused(post(api(world.provider), body), "/aimlProfile/candMLMdls")
    assert "is a classifier" in problem["detail"]


def test_mixed_metric_kinds_are_refused(api, world):
    body = subscription_body(*NONE)
    body["aimlProfile"]["trainReq"][0]["perfReq"].append({"perfMetric": "MEAN_ABSOLUTE_ERROR"})
    assert_refused(post(api(world.provider), body), "/aimlProfile/trainReq")


def test_datasets_of_another_organisation_are_refused(api, world, tmp_path):
    theirs = upload_dataset(
        world.other_provider, world.other_provider.organisations.get(), tmp_path, name="Theirs"
    )
    problem = assert_refused(
        post(api(world.provider), subscription_body(NONE[0], [theirs])), "/aimlProfile/dataSetIds"
    )
    assert f"no dataset {theirs.pk}" in problem["detail"]


def test_datasets_with_fewer_rows_than_sample_count_are_refused(api, world):
    rows = world.dataset.row_count
    body = subscription_body(NONE[0], [world.dataset], samples=rows + 1)
    problem = assert_refused(post(api(world.provider), body), "/aimlProfile/dataSetIds")
    assert f"hold {rows} rows" in problem["detail"]


def test_a_loopback_notification_uri_is_refused(api, world):
    body = subscription_body(*NONE, notifUri="http://127.0.0.1:9/notify")
    problem = assert_refused(post(api(world.provider), body), "/notifUri")
    assert "loopback" in problem["detail"]


@pytest.mark.parametrize(
    ("rep_info", "words"),
    [
        ({"notifMethod": "ON_PCT_COMPLETION"}, "jobPercentage"),
        ({"notifMethod": "PERIODIC"}, "repPeriod"),
        (
            {"timeWindow": {"startTime": "2030-01-02T00:00:00Z", "stopTime": "2030-01-01T00:00:00Z"}},
            "stopTime",
        ),
    ],
)  # fmt: skip
def test_inconsistent_reporting_information_is_refused(
    api, world, loopback_callbacks, rep_info, words
):
    body = subscription_body(*NONE, notifUri="http://127.0.0.1:9/notify", repInfo=rep_info)
    problem = assert_refused(post(api(world.provider), body), "/repInfo")
    assert words in problem["detail"]


def test_reporting_without_a_notification_uri_is_refused(api, world):
    body = subscription_body(*NONE, repInfo={"notifMethod": "ON_JOB_COMPLETION"})
    assert_refused(post(api(world.provider), body), "/repInfo")


def test_hostile_sizes_are_refused(api, world, settings):
    settings.SAMHUB_MODEL_SELECTION_MAX_CANDIDATES = 1
    assert_refused(post(api(world.provider), subscription_body(*NONE)), "/aimlProfile/candMLMdls")
    settings.SAMHUB_MODEL_SELECTION_MAX_CANDIDATES = 10
    body = subscription_body(*NONE, rounds=settings.SAMHUB_MODEL_SELECTION_MAX_ROUNDS + 1)
    problem = assert_refused(post(api(world.provider), body), "/aimlProfile/trainReq")
    assert "SAMHUB_MODEL_SELECTION_MAX_ROUNDS" in problem["detail"]


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({}, "/aimlProfile"),
        ({"aimlProfile": {"candMLMdls": [], "dataSetIds": ["1"], "trainReq": []}}, "/aimlProfile/candMLMdls"),
        (
            {"aimlProfile": {"candMLMdls": [{"mlMdlId": "1"}], "dataSetIds": ["1"], "trainReq": [{"perfReq": [{"perfMetric": "F1"}], "trainCount": 1, "sampleCount": 1}]}},
            "/aimlProfile/trainReq/0/perfReq/0/perfMetric",
        ),
        (
            {"aimlProfile": {"candMLMdls": [{"mlMdlId": "1"}], "dataSetIds": ["1"], "trainReq": [{"perfReq": [{"perfMetric": "ACCURACY"}], "trainCount": "3", "sampleCount": 1}]}},
            "/aimlProfile/trainReq/0/trainCount",
        ),
    ],
)  # fmt: skip
def test_bodies_that_do_not_match_the_data_types_are_refused(api, world, body, pointer):
    assert_refused(post(api(world.provider), body), pointer)


def test_put_changes_the_notification_settings_and_keeps_the_profile(
    api, world, made, loopback_callbacks
):
    body = subscription_body(world.candidates[:1], [world.dataset])
    body |= {"notifUri": "http://127.0.0.1:9/n", "repInfo": {"notifMethod": "PERIODIC", "repPeriod": 60}}  # fmt: skip

    answer = api(world.provider).put(made, body, format="json")

    assert answer.status_code == 200, answer.content
    selection = ModelSelection.objects.get()
    assert (selection.notification_uri, selection.period_seconds) == ("http://127.0.0.1:9/n", 60)
    assert answer.json()["repInfo"] == {"notifMethod": "PERIODIC", "repPeriod": 60}


def test_put_with_another_profile_is_refused_and_changes_nothing(api, world, made):
    other = subscription_body(world.candidates[:1], [world.dataset], rounds=4)
    answer = api(world.provider).put(made, other, format="json")

    assert answer.status_code == 409 and answer["Content-Type"] == "application/problem+json"
    assert ModelSelection.objects.get().rounds == 3


def test_patch_merges_into_the_subscription(api, world, made, loopback_callbacks):
    client = api(world.provider)
    answer = client.patch(
        made,
        {"notifUri": "http://127.0.0.1:9/n", "repInfo": {"notifMethod": "ON_PCT_COMPLETION", "jobPercentage": 10}},
        format="json",
    )  # fmt: skip

    assert answer.status_code == 200, answer.content
    assert answer.json()["repInfo"] == {"notifMethod": "ON_PCT_COMPLETION", "jobPercentage": 10}
    refused = client.patch(made, {"aimlProfile": {"clientList": None}}, format="json")
    assert refused.status_code == 400 and "NOTE 1" in refused.json()["detail"]
    assert ModelSelection.objects.get().client_set_ids == ["set-north"]


def test_delete_ends_the_subscription(api, world, made):
    assert api(world.provider).delete(made).status_code == 204
    assert nothing_stored()
    gone = api(world.provider).get(made)
    assert gone.status_code == 404 and gone["Content-Type"] == "application/problem+json"


def test_who_sees_and_changes_a_subscription(api, world, made):
    for user, status in (
        (world.provider, 200), (world.auditor, 200), (world.operator, 200),
        (world.colleague, 404), (world.other_provider, 404), (None, 401),
    ):  # fmt: skip
        assert api(user).get(made).status_code == status, user
    assert api(world.other_provider).delete(made).status_code == 404
    assert api(world.colleague).delete(made).status_code == 404
    assert api(world.auditor).delete(made).status_code == 403
    assert api(world.provider).get(f"{URL}/not-a-uuid").status_code == 404
    assert api(world.operator).delete(made).status_code == 204


def test_the_rest_api_serves_the_same_resource(api, world):
    client = api(world.provider)
    body = subscription_body(world.candidates[:1], [world.dataset])
    created = client.post("/api/v1/model-selections/", body, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["subscriptionId"]

    listed = client.get("/api/v1/model-selections/").json()
    assert [s["subscriptionId"] for s in listed["results"]] == [pk]
    assert client.get(f"/api/v1/model-selections/{pk}/").json() == created.json()
    outsider = api(world.other_provider)
    assert outsider.get("/api/v1/model-selections/").json()["results"] == []
    assert outsider.get(f"/api/v1/model-selections/{pk}/").status_code == 404
    refused = client.post(
        "/api/v1/model-selections/", subscription_body(*NONE, clients=()), format="json"
    )
    assert refused.status_code == 400 and "NOTE 1" in refused.json()["detail"]
    assert client.post(f"/api/v1/model-selections/{pk}/submit-winner/").status_code == 409
    assert client.delete(f"/api/v1/model-selections/{pk}/").status_code == 204


def test_ml_model_requirements_pick_further_candidates_from_the_catalog(api, world):
    body = subscription_body(
        world.candidates[:1], [world.dataset],
        profile={"mlMdlReq": {"inferenceType": "NWDAF_ANALYTICS", "domain": "ran", "perfMetric": "ACCURACY"}},
    )  # fmt: skip
    answer = post(api(world.provider), body)

    assert answer.status_code == 201, answer.content
    created = answer.json()
    assert created["aimlProfile"]["candMLMdls"] == [{"mlMdlId": str(world.candidates[0].pk)}]
    assert sorted(
        (m["mlMdlInfo"]["mlMdlId"], m["mlMdlInfo"]["source"]) for m in created["trainMLModel"]
    ) == sorted(
        [(str(world.candidates[0].pk), "REQUESTED")]
        + [(str(v.pk), "CATALOG") for v in world.candidates[1:]]
    )
    nothing = subscription_body(
        world.candidates[:1], [world.dataset], profile={"mlMdlReq": {"domain": "Core"}}
    )
    assert len(post(api(world.provider), nothing).json()["trainMLModel"]) == 1


def test_ml_model_requirements_name_only_catalog_fields(api, world):
    body = subscription_body(*NONE, profile={"mlMdlReq": {"algorithm": "forest"}})
    problem = assert_refused(post(api(world.provider), body), "/aimlProfile/mlMdlReq")
    assert "algorithm" in problem["detail"]
