import hashlib

from registry.models import ModelVersion, VersionStatus
from sharing.models import SharingMethod
from sharing.services import subscription_request
from tests import factories

MODEL = {
    "name": "Cell load forecaster",
    "description": "Predicts next-hour cell load from current KPIs for energy saving.",
    "inference_type": "NWDAF_ANALYTICS",
    "inference_name": "NF_LOAD",
    "domain": "RAN",
    "region": "North",
    "scenario": "Energy saving",
    "tags": ["load", "Energy Saving"],
    "licence": "Apache-2.0",
    "intended_use": "Forecast cell load one hour ahead.",
    "limitations": "Synthetic training data.",
}
PERFORMANCE = [
    {
        "inferenceOutputName": "variable",
        "performanceMetric": "MAE",
        "performanceScore": 2.5,
        "decisionConfidenceScore": 0.9,
    },
    {"inferenceOutputName": "variable", "performanceMetric": "R2", "performanceScore": 0.93},
]


def _post(client, url, body=None):
    return client.post(url, body or {}, format="json")


def test_it_walks_a_model_from_sign_in_to_catalog_and_download(
    api, organisation, provider, auditor, consumer
):
    as_provider = api(provider)
    created = _post(as_provider, "/api/v1/models/", {**MODEL, "organisation": organisation.slug})
    assert created.status_code == 201, created.json()
    sam = created.json()
    # Prefixed with the organisation's slug, so that it reveals no other organisation's models.
    assert sam["slug"] == f"{organisation.slug}--cell-load-forecaster"
    assert sam["organisation"]["slug"] == organisation.slug
    assert sam["tags"] == ["energy-saving", "load"]
    assert sam["versions"] == []

    drafted = _post(
        as_provider,
        "/api/v1/versions/",
        {
            "model": sam["slug"],
            "version": "1.0.0",
            "release_notes": "First release.",
            "training_context": {"dataset": "synthetic KPIs", "samples": 3200},
            "performance": PERFORMANCE,
        },
    )
    assert drafted.status_code == 201, drafted.json()
    version = drafted.json()
    url = f"/api/v1/versions/{version['id']}/"
    assert version["status"] == "DRAFT"
    assert version["created_by"] == "provider"
    assert version["performance"] == sorted(PERFORMANCE, key=lambda p: p["performanceMetric"])
    assert version["available_actions"] == ["submit"]

    onnx = factories.demo_model("onnx").content
    uploaded = as_provider.put(
        f"{url}artifact/?filename=cell_load.onnx",
        data=onnx,
        content_type="application/octet-stream",
    )
    assert uploaded.status_code == 200, uploaded.json()
    version = uploaded.json()
    assert version["artifact_format"] == "onnx"
    assert version["artifact_filename"] == "cell_load.onnx"
    assert version["artifact_size"] == len(onnx)
    assert version["artifact_sha256"] == hashlib.sha256(onnx).hexdigest()
    assert version["signature"]["inputs"] and version["signature"]["outputs"]

    steps = [
        (as_provider, "submit", {}, "SUBMITTED"),
        (api(auditor), "approve", {"reason": "Complete and plausible."}, "APPROVED"),
        (as_provider, "register", {"access_type": "MODEL_FILE"}, "REGISTERED"),
        (as_provider, "release", {}, "RELEASED"),
    ]
    for client, action, body, expected in steps:
        answer = _post(client, f"{url}{action}/", body)
        assert answer.status_code == 200, (action, answer.json())
        assert answer.json()["status"] == expected
    assert answer.json()["access_type"] == "MODEL_FILE"
    assert answer.json()["released_at"]
    assert answer.json()["approved_sha256"] == hashlib.sha256(onnx).hexdigest()
    assert answer.json()["artifact_uploaded_by"] == "provider"

    as_consumer = api(consumer)
    catalog = as_consumer.get("/api/v1/catalog/", {"q": "load"}).json()
    assert [entry["id"] for entry in catalog["results"]] == [version["id"]]
    assert catalog["results"][0]["tags"] == ["energy-saving", "load"]

    released = ModelVersion.objects.get(pk=version["id"])
    subscription_request(user=consumer, sam=released.sam, method=SharingMethod.BUNDLE)
    download = as_consumer.get(f"{url}artifact/")
    assert download.status_code == 200
    body = b"".join(download.streaming_content)
    assert body == onnx
    assert download["X-Checksum-SHA256"] == hashlib.sha256(body).hexdigest()
    assert 'filename="cell_load.onnx"' in download["Content-Disposition"]
    assert download["Content-Disposition"].startswith("attachment")

    history = as_provider.get(f"{url}transitions/").json()
    assert [(h["source"], h["target"], h["actor"], h["name"]) for h in history] == [
        ("DRAFT", "SUBMITTED", "provider", "submit"),
        ("SUBMITTED", "APPROVED", "auditor", "approve"),
        ("APPROVED", "REGISTERED", "provider", "register"),
        ("REGISTERED", "RELEASED", "provider", "release"),
    ]
    assert history[1]["reason"] == "Complete and plausible."
    detail = as_provider.get(f"/api/v1/models/{sam['slug']}/").json()
    assert detail["versions"] == [{"id": version["id"], "version": "1.0.0", "status": "RELEASED"}]


def test_it_loops_reject_revise_edit_resubmit_approve(api, provider, auditor):
    version = factories.make_draft(provider)
    url = f"/api/v1/versions/{version.pk}/"
    as_provider, as_auditor = api(provider), api(auditor)

    assert _post(as_provider, f"{url}submit/").status_code == 200
    rejected = _post(
        as_auditor,
        f"{url}reject/",
        {
            "reason": "The limitations are too vague.",
            "findings": [{"field": "limitations", "message": "Say which cells it misses."}],
        },
    )
    assert rejected.status_code == 200, rejected.json()
    assert rejected.json()["status"] == "REJECTED"

    reviews = as_provider.get(f"{url}reviews/").json()
    assert len(reviews) == 1
    assert reviews[0]["decision"] == "REJECTED"
    assert reviews[0]["auditor"] == "auditor"
    assert reviews[0]["reason"] == "The limitations are too vague."
    assert reviews[0]["findings"] == [
        {"field": "limitations", "message": "Say which cells it misses."}
    ]
    assert {item["field"] for item in reviews[0]["checklist"]} >= {"limitations", "performance"}
    assert as_provider.get(url).json()["available_actions"] == ["revise"]

    assert _post(as_provider, f"{url}revise/").json()["status"] == "DRAFT"
    patched = as_provider.patch(
        f"/api/v1/models/{version.sam.slug}/",
        {"limitations": "Not tested on rural cells."},
        format="json",
    )
    assert patched.status_code == 200
    assert patched.json()["limitations"] == "Not tested on rural cells."
    edited = as_provider.patch(url, {"release_notes": "Limitations named."}, format="json")
    assert edited.status_code == 200
    assert edited.json()["release_notes"] == "Limitations named."

    assert _post(as_provider, f"{url}submit/").json()["status"] == "SUBMITTED"
    approved = _post(as_auditor, f"{url}approve/")
    assert approved.status_code == 200
    assert approved.json()["status"] == "APPROVED"
    history = as_provider.get(f"{url}transitions/").json()
    assert [h["target"] for h in history] == [
        "SUBMITTED",
        "REJECTED",
        "DRAFT",
        "SUBMITTED",
        "APPROVED",
    ]
    assert [r["decision"] for r in as_provider.get(f"{url}reviews/").json()] == [
        "APPROVED",
        "REJECTED",
    ]


def test_it_refuses_to_reject_without_findings(api, provider, auditor):
    version = factories.make_version_in("SUBMITTED", provider=provider, auditor=auditor)

    answer = _post(api(auditor), f"/api/v1/versions/{version.pk}/reject/", {"reason": "No."})

    assert answer.status_code == 400
    assert answer.json()["errors"]["findings"] == ["This field is required."]
    assert ModelVersion.objects.get(pk=version.pk).status == VersionStatus.SUBMITTED


def test_it_refuses_to_edit_a_submitted_version(api, provider, auditor):
    version = factories.make_version_in("SUBMITTED", provider=provider, auditor=auditor)

    answer = api(provider).patch(
        f"/api/v1/versions/{version.pk}/", {"release_notes": "late"}, format="json"
    )

    assert answer.status_code == 409
    assert "only a DRAFT can be edited" in answer.json()["detail"]
    assert ModelVersion.objects.get(pk=version.pk).release_notes == ""


def test_it_refuses_to_submit_an_incomplete_version_naming_the_fields(api, provider):
    version = factories.make_draft(provider, performance=[])

    answer = _post(api(provider), f"/api/v1/versions/{version.pk}/submit/")

    assert answer.status_code == 400
    assert answer.json()["code"] == "incomplete_registration"
    assert set(answer.json()["errors"]) == {"performance"}
    assert ModelVersion.objects.get(pk=version.pk).status == VersionStatus.DRAFT


def test_it_refuses_repeated_performance_metrics(api, provider):
    version = factories.make_draft(provider)
    repeated = [PERFORMANCE[0], PERFORMANCE[0]]

    answer = api(provider).patch(
        f"/api/v1/versions/{version.pk}/", {"performance": repeated}, format="json"
    )

    assert answer.status_code == 400
    assert "repeated: variable/MAE" in answer.json()["errors"]["performance"][0]


def test_it_names_the_model_of_a_new_version_by_slug_or_id(api, provider):
    sam = factories.make_model(provider)
    as_provider = api(provider)

    by_slug = _post(as_provider, "/api/v1/versions/", {"model": sam.slug, "version": "1.0.0"})
    by_id = _post(as_provider, "/api/v1/versions/", {"model": sam.pk, "version": "1.1.0"})
    unknown = _post(as_provider, "/api/v1/versions/", {"model": "nope", "version": "1.2.0"})

    assert (by_slug.status_code, by_id.status_code) == (201, 201)
    assert by_id.json()["model"] == sam.slug
    assert unknown.status_code == 400
    assert "no model with id or slug 'nope'" in unknown.json()["errors"]["model"][0]


def test_it_shows_the_lineage_of_a_derived_version(api, provider):
    first = factories.make_draft(provider)
    second = factories.make_draft(provider, sam=first.sam, version="1.1.0", parent=first)
    as_provider = api(provider)

    third = _post(
        as_provider,
        "/api/v1/versions/",
        {"model": first.sam.slug, "version": "2.0.0", "parent": second.pk},
    ).json()

    assert third["parent"] == second.pk
    assert third["lineage"] == [
        {"id": second.pk, "version": "1.1.0"},
        {"id": first.pk, "version": "1.0.0"},
    ]


def test_it_refuses_illegal_transitions_with_409_and_changes_nothing(api, provider, auditor):
    draft = factories.make_draft(provider)
    approved = factories.make_version_in("APPROVED", provider=provider, auditor=auditor)
    cases = [
        (api(provider), draft, "release", "Cannot release version 1.0.0: it is DRAFT"),
        (api(auditor), approved, "approve", "Cannot approve version 1.0.0: it is APPROVED"),
    ]
    for client, version, action, message in cases:
        history_before = list(version.transitions.values_list("pk", flat=True))

        answer = _post(client, f"/api/v1/versions/{version.pk}/{action}/")

        assert answer.status_code == 409
        assert answer.json()["code"] == "invalid_state"
        assert answer.json()["detail"].startswith(message)
        fresh = ModelVersion.objects.get(pk=version.pk)
        assert fresh.status == version.status
        assert list(fresh.transitions.values_list("pk", flat=True)) == history_before


def test_it_issues_a_token_that_authenticates_api_calls(api, provider, auditor):
    factories.make_version_in("SUBMITTED", provider=provider, auditor=auditor)
    anonymous = api()

    issued = anonymous.post(
        "/api/v1/auth/token/",
        {"username": "auditor", "password": "pw-for-tests-123"},
        format="json",
    )
    assert issued.status_code == 200
    token = issued.json()["token"]

    anonymous.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    queue = anonymous.get("/api/v1/audit-queue/")
    assert queue.status_code == 200
    assert queue.json()["count"] == 1


def test_it_refuses_a_wrong_password_and_missing_credentials(api, auditor):
    wrong = api().post(
        "/api/v1/auth/token/", {"username": "auditor", "password": "nope"}, format="json"
    )
    assert wrong.status_code == 400
    assert "Unable to log in" in wrong.json()["errors"]["non_field_errors"][0]

    missing = api().get("/api/v1/versions/")
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"] == "Token"

    bad_token = api()
    bad_token.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert bad_token.get("/api/v1/versions/").status_code == 401
