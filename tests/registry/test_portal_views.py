import pickle

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from registry import services, views
from registry.models import ModelVersion, SmallAIModel, VersionStatus
from tests import factories
from tests.form_data import registration_data


def onnx_upload(name: str = "cell-load.onnx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, factories.demo_model("onnx").content)


def stored_files(tmp_path) -> list:
    warehouse = tmp_path / "warehouse"
    return [p for p in warehouse.rglob("*") if p.is_file()] if warehouse.exists() else []


# --- who may open which page -------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["registry:catalog", "registry:my-models", "registry:model-create", "registry:audit-queue"],
)
def test_it_sends_anonymous_visitors_to_sign_in(client, db, name):
    response = client.get(reverse(name))

    assert response.status_code == 302
    assert response.url.startswith(reverse("core:login") + "?next=")


def test_it_signs_in_and_out(client, provider):
    response = client.post(
        reverse("core:login"), {"username": "provider", "password": "pw-for-tests-123"}
    )
    assert response.status_code == 302
    assert response.url == reverse("core:home")
    assert "provider" in client.get(reverse("core:home")).content.decode()

    response = client.post(reverse("core:logout"))
    assert response.status_code == 302
    assert response.url == reverse("core:login")
    assert client.get(reverse("registry:catalog")).status_code == 302


def test_it_shows_the_navigation_each_role_opens(client, provider, auditor, operator, consumer):
    expectations = {
        provider: {"My models": True, "Audit queue": False, "Admin": False},
        auditor: {"My models": False, "Audit queue": True, "Admin": False},
        operator: {"My models": False, "Audit queue": False, "Admin": True},
        consumer: {"My models": False, "Audit queue": False, "Admin": False},
    }
    for user, shown in expectations.items():
        client.force_login(user)
        page = client.get(reverse("registry:catalog")).content.decode()
        assert user.username in page
        assert "Sign out" in page and "/api/docs/" in page
        for label, visible in shown.items():
            assert (f">{label}</a>" in page) is visible, (user.username, label)


@pytest.mark.parametrize("role", ["consumer", "auditor"])
def test_it_refuses_provider_pages_to_other_roles(client, db, role):
    client.force_login(factories.make_user(role))

    assert client.get(reverse("registry:my-models")).status_code == 403
    assert client.get(reverse("registry:model-create")).status_code == 403


@pytest.mark.parametrize("role", ["consumer", "provider"])
def test_it_refuses_the_audit_pages_to_non_auditors(client, provider, auditor, role):
    version = factories.make_version_in("SUBMITTED", provider=provider, auditor=auditor)
    client.force_login(provider if role == "provider" else factories.make_user(role))

    assert client.get(reverse("registry:audit-queue")).status_code == 403
    assert client.get(reverse("registry:audit-version", args=[version.pk])).status_code == 403
    response = client.post(
        reverse("registry:audit-version", args=[version.pk]), {"decision": "approve"}
    )
    assert response.status_code == 403
    assert ModelVersion.objects.get(pk=version.pk).status == VersionStatus.SUBMITTED


def test_it_hides_another_organisations_drafts(client, provider, other_provider):
    version = factories.make_draft(provider)
    client.force_login(other_provider)

    assert client.get(reverse("registry:model-detail", args=[version.sam.slug])).status_code == 404
    assert client.post(reverse("registry:version-submit", args=[version.pk])).status_code == 404
    assert client.get(reverse("registry:version-edit", args=[version.pk])).status_code == 404
    assert ModelVersion.objects.get(pk=version.pk).status == VersionStatus.DRAFT


def test_my_models_lists_only_the_providers_organisations(client, provider, other_provider):
    mine = factories.make_draft(provider)
    theirs = factories.make_draft(other_provider)
    client.force_login(provider)

    page = client.get(reverse("registry:my-models")).content.decode()

    assert mine.sam.name in page and "DRAFT" in page
    assert theirs.sam.name not in page
    assert "New model" in page


# --- registration -------------------------------------------------------------------------


def test_the_registration_form_creates_a_model_and_its_first_version(
    client, provider, organisation
):
    client.force_login(provider)
    assert client.get(reverse("registry:model-create")).status_code == 200

    response = client.post(reverse("registry:model-create"), registration_data(organisation))

    assert response.status_code == 302
    sam = SmallAIModel.objects.get()
    version = sam.versions.get()
    assert response.url == reverse("registry:model-detail", args=[sam.slug]) + f"#v-{version.pk}"
    assert (sam.organisation, sam.domain, version.version) == (organisation, "RAN", "1.0.0")
    assert sorted(t.name for t in sam.tags.all()) == ["forecast", "load"]
    assert version.status == VersionStatus.DRAFT
    assert version.training_context == {"dataset": "synthetic hourly KPIs"}
    scores = {(p.performance_metric, p.performance_score) for p in version.performance.all()}
    assert scores == {("MAE", 2.5), ("R2", 0.93)}
    assert not version.artifact_sha256
    page = client.get(response.url).content.decode()
    assert "is created as a DRAFT" in page


def test_the_registration_form_stores_an_uploaded_onnx_file(
    client, provider, organisation, tmp_path
):
    client.force_login(provider)

    response = client.post(
        reverse("registry:model-create"),
        {**registration_data(organisation), "artifact": onnx_upload()},
    )

    assert response.status_code == 302
    version = ModelVersion.objects.get()
    assert version.artifact_format == "onnx"
    assert len(version.artifact_sha256) == 64
    assert version.signature["inputs"]
    assert len(stored_files(tmp_path)) == 1
    page = client.get(response.url).content.decode()
    assert version.artifact_sha256 in page


def test_the_registration_form_refuses_a_pickle_and_keeps_what_was_typed(
    client, provider, organisation, tmp_path
):
    client.force_login(provider)
    pickled = SimpleUploadedFile("model.pkl", pickle.dumps({"weights": [1, 2, 3]}))

    response = client.post(
        reverse("registry:model-create"),
        {**registration_data(organisation, name="My pickled model"), "artifact": pickled},
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "pickle/joblib file" in page and "runs arbitrary code" in page
    assert 'value="My pickled model"' in page
    assert 'value="Apache-2.0"' in page
    assert 'value="1.0.0"' in page
    assert 'value="0.93"' in page
    assert SmallAIModel.objects.count() == 0
    assert ModelVersion.objects.count() == 0
    assert stored_files(tmp_path) == []


def test_the_registration_form_shows_service_errors_next_to_fields(client, provider, organisation):
    client.force_login(provider)

    response = client.post(
        reverse("registry:model-create"), registration_data(organisation, version="1.0")
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "Some fields are not valid." in page
    assert "Use a semantic version" in page
    assert 'id="field-version"' in page and 'class="field has-error"' in page
    assert SmallAIModel.objects.count() == 0


def test_the_registration_form_needs_a_performance_row_and_valid_json(
    client, provider, organisation
):
    client.force_login(provider)
    data = registration_data(organisation, training_context="{not json")
    for key in list(data):
        if key.startswith(("perf-0-", "perf-1-")):
            data[key] = ""

    response = client.post(reverse("registry:model-create"), data)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Give at least one performance row" in page
    assert "This is not valid JSON" in page
    assert SmallAIModel.objects.count() == 0


def test_a_provider_adds_a_version_with_its_parent(client, provider, auditor):
    first = factories.make_version_in("APPROVED", provider=provider, auditor=auditor)
    client.force_login(provider)
    url = reverse("registry:version-create", args=[first.sam.slug])
    assert 'value="MAE"' in client.get(url).content.decode()  # rows start from the latest

    data = registration_data(first.sam.organisation, version="1.1.0", parent=first.pk)
    response = client.post(url, data)

    assert response.status_code == 302
    second = first.sam.versions.get(version="1.1.0")
    assert second.parent == first
    page = client.get(reverse("registry:model-detail", args=[first.sam.slug])).content.decode()
    assert "(derived)" in page


# --- lifecycle through the pages ----------------------------------------------------------


def test_a_provider_submits_a_draft(client, provider):
    version = factories.make_draft(provider)
    client.force_login(provider)
    page = client.get(reverse("registry:model-detail", args=[version.sam.slug])).content.decode()
    assert f'id="action-submit-{version.pk}"' in page

    response = client.post(reverse("registry:version-submit", args=[version.pk]), follow=True)

    assert ModelVersion.objects.get(pk=version.pk).status == VersionStatus.SUBMITTED
    assert "is now Submitted for audit" in response.content.decode()


def test_submitting_an_incomplete_draft_says_which_fields_are_missing(client, provider):
    version = factories.make_draft(provider)
    services.sam_update(sam=version.sam, user=provider, licence="")
    client.force_login(provider)

    response = client.post(reverse("registry:version-submit", args=[version.pk]), follow=True)

    page = response.content.decode()
    assert "Required registration fields are missing" in page and "Licence" in page
    assert ModelVersion.objects.get(pk=version.pk).status == VersionStatus.DRAFT


def test_an_auditor_rejects_with_findings_and_the_provider_sees_them(client, provider, auditor):
    version = factories.make_version_in("SUBMITTED", provider=provider, auditor=auditor)
    client.force_login(auditor)
    queue = client.get(reverse("registry:audit-queue")).content.decode()
    assert reverse("registry:audit-version", args=[version.pk]) in queue
    audit_page = client.get(reverse("registry:audit-version", args=[version.pk])).content.decode()
    assert 'id="checklist"' in audit_page and "Registration fields" in audit_page

    response = client.post(
        reverse("registry:audit-version", args=[version.pk]),
        {
            "decision": "reject",
            "reason": "Limitations are vague.",
            "findings-TOTAL_FORMS": "3",
            "findings-INITIAL_FORMS": "0",
            "findings-0-field": "limitations",
            "findings-0-message": "Say which cell types were never tested.",
            "findings-1-field": "licence",
            "findings-1-message": "Name the licence version.",
        },
    )

    assert response.status_code == 302 and response.url == reverse("registry:audit-queue")
    version.refresh_from_db()
    assert version.status == VersionStatus.REJECTED
    assert version.reviews.get().findings == [
        {"field": "limitations", "message": "Say which cell types were never tested."},
        {"field": "licence", "message": "Name the licence version."},
    ]

    client.force_login(provider)
    page = client.get(reverse("registry:model-detail", args=[version.sam.slug])).content.decode()
    assert "Say which cell types were never tested." in page
    assert f'id="action-revise-{version.pk}"' in page
    client.post(reverse("registry:version-revise", args=[version.pk]))
    edit = client.get(reverse("registry:version-edit", args=[version.pk])).content.decode()
    assert 'data-finding-field="limitations"' in edit
    assert "Say which cell types were never tested." in edit


def test_a_rejection_needs_findings_and_keeps_the_reason(client, provider, auditor):
    version = factories.make_version_in("SUBMITTED", provider=provider, auditor=auditor)
    client.force_login(auditor)

    response = client.post(
        reverse("registry:audit-version", args=[version.pk]),
        {
            "decision": "reject",
            "reason": "Too thin.",
            "findings-TOTAL_FORMS": "3",
            "findings-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "Name at least one field that fails and why." in page
    assert "Too thin." in page
    assert ModelVersion.objects.get(pk=version.pk).status == VersionStatus.SUBMITTED


def test_the_provider_revises_the_named_field_and_resubmits(client, provider, auditor):
    version = factories.make_version_in("REJECTED", provider=provider, auditor=auditor)
    client.force_login(provider)
    client.post(reverse("registry:version-revise", args=[version.pk]))
    edit_url = reverse("registry:version-edit", args=[version.pk])
    form = client.get(edit_url).context
    data = {
        **{name: form["sam_form"][name].value() or "" for name in form["sam_form"].fields},
        **{name: form["version_form"][name].value() or "" for name in form["version_form"].fields},
        "perf-TOTAL_FORMS": "1",
        "perf-INITIAL_FORMS": "0",
        "perf-0-inference_output_name": "variable",
        "perf-0-performance_metric": "MAE",
        "perf-0-performance_score": "2.1",
        "limitations": "Not tested on rural or indoor cells.",
    }

    response = client.post(edit_url, data)

    assert response.status_code == 302
    version.refresh_from_db()
    assert version.sam.limitations == "Not tested on rural or indoor cells."
    assert [p.performance_score for p in version.performance.all()] == [2.1]
    client.post(reverse("registry:version-submit", args=[version.pk]))
    assert ModelVersion.objects.get(pk=version.pk).status == VersionStatus.SUBMITTED


def test_an_auditor_approves(client, provider, auditor):
    version = factories.make_version_in("SUBMITTED", provider=provider, auditor=auditor)
    client.force_login(auditor)

    response = client.post(
        reverse("registry:audit-version", args=[version.pk]),
        {"decision": "approve", "note": "Complete and clear."},
        follow=True,
    )

    assert "is approved" in response.content.decode()
    version.refresh_from_db()
    assert version.status == VersionStatus.APPROVED
    assert version.transitions.last().reason == "Complete and clear."
    assert version.transitions.last().actor == auditor


def test_an_auditor_cannot_decide_on_their_own_submission(client, organisation, auditor):
    both = factories.make_user("provider", organisation=organisation)
    both.groups.add(*auditor.groups.all())
    version = factories.make_draft(both)
    services.version_submit(version_id=version.pk, user=both)
    client.force_login(both)

    page = client.get(reverse("registry:audit-version", args=[version.pk])).content.decode()
    assert "separation of duties" in page and 'id="approve-form"' not in page

    response = client.post(
        reverse("registry:audit-version", args=[version.pk]), {"decision": "approve"}
    )
    assert response.status_code == 403
    assert "separation of duties" in response.content.decode()


def test_a_provider_registers_the_approved_file_and_releases(client, provider, auditor, tmp_path):
    # The file was uploaded to the DRAFT and approved with it; the register form takes none.
    version = factories.make_version_in("APPROVED", provider=provider, auditor=auditor)
    client.force_login(provider)
    page = client.get(reverse("registry:model-detail", args=[version.sam.slug])).content.decode()
    assert f'id="register-form-{version.pk}"' in page
    assert 'type="file"' not in page
    assert version.approved_sha256 in page

    response = client.post(
        reverse("registry:version-register", args=[version.pk]),
        {"access_type": "MODEL_FILE", "endpoint_url": ""},
    )

    assert response.status_code == 302
    version.refresh_from_db()
    assert version.status == VersionStatus.REGISTERED
    assert version.access_type == "MODEL_FILE" and len(version.artifact_sha256) == 64
    assert len(stored_files(tmp_path)) == 1

    response = client.post(reverse("registry:version-release", args=[version.pk]), follow=True)

    assert "is now Released" in response.content.decode()
    assert ModelVersion.objects.get(pk=version.pk).status == VersionStatus.RELEASED
    catalog = client.get(reverse("registry:catalog")).content.decode()
    assert version.sam.name in catalog and f"v{version.version}" in catalog


def test_registering_a_model_file_without_a_file_is_refused_clearly(client, provider, auditor):
    version = factories.make_draft(provider)
    services.version_submit(version_id=version.pk, user=provider)
    services.version_approve(version_id=version.pk, user=auditor)
    client.force_login(provider)

    response = client.post(
        reverse("registry:version-register", args=[version.pk]),
        {"access_type": "MODEL_FILE", "endpoint_url": ""},
    )

    assert response.status_code == 400
    assert "was approved without a model file" in response.content.decode()
    assert ModelVersion.objects.get(pk=version.pk).status == VersionStatus.APPROVED


def test_registering_an_external_endpoint_keeps_the_typed_url_on_error(client, provider, auditor):
    version = factories.make_version_in("APPROVED", provider=provider, auditor=auditor)
    client.force_login(provider)

    response = client.post(
        reverse("registry:version-register", args=[version.pk]),
        {"access_type": "EXTERNAL_ENDPOINT", "endpoint_url": ""},
    )

    assert response.status_code == 400
    assert "An external endpoint needs its URL." in response.content.decode()

    response = client.post(
        reverse("registry:version-register", args=[version.pk]),
        {"access_type": "EXTERNAL_ENDPOINT", "endpoint_url": "https://infer.example.net/load"},
    )
    assert response.status_code == 302
    assert ModelVersion.objects.get(pk=version.pk).endpoint_url == "https://infer.example.net/load"


def test_a_draft_upload_of_a_pickle_is_refused_on_the_model_page(client, provider, tmp_path):
    version = factories.make_draft(provider)
    client.force_login(provider)

    response = client.post(
        reverse("registry:version-upload", args=[version.pk]),
        {"artifact": SimpleUploadedFile("m.joblib", pickle.dumps([1, 2]))},
    )

    assert response.status_code == 400
    assert "runs arbitrary code" in response.content.decode()
    assert not ModelVersion.objects.get(pk=version.pk).artifact_sha256
    assert stored_files(tmp_path) == []


def test_a_provider_deprecates_and_retires_with_a_reason(client, provider, auditor):
    version = factories.make_released(provider, auditor)
    client.force_login(provider)

    client.post(
        reverse("registry:version-deprecate", args=[version.pk]), {"reason": "Superseded by 2.0"}
    )
    client.post(reverse("registry:version-retire", args=[version.pk]), {"reason": "No more users"})

    version.refresh_from_db()
    assert version.status == VersionStatus.RETIRED
    assert [t.reason for t in version.transitions.all()][-2:] == [
        "Superseded by 2.0",
        "No more users",
    ]


def test_a_consumer_sees_a_released_model_without_action_buttons(
    client, provider, auditor, consumer
):
    version = factories.make_released(provider, auditor)
    client.force_login(consumer)

    page = client.get(reverse("registry:model-detail", args=[version.sam.slug])).content.decode()

    assert version.sam.name in page
    assert 'id="action-' not in page
    response = client.post(reverse("registry:version-deprecate", args=[version.pk]), follow=True)
    assert "You are not allowed to deprecate" in response.content.decode()
    assert ModelVersion.objects.get(pk=version.pk).status == VersionStatus.RELEASED


def test_the_model_page_shows_history_signature_and_lifecycle(client, provider, auditor):
    version = factories.make_version_in("RELEASED", provider=provider, auditor=auditor)
    client.force_login(provider)

    response = client.get(reverse("registry:model-detail", args=[version.sam.slug]))

    page = response.content.decode()
    history = page[page.index(f'id="history-{version.pk}"') :]
    for state in ("DRAFT", "SUBMITTED", "APPROVED", "REGISTERED", "RELEASED"):
        assert f">{state}</span>" in history
    assert "auditor" in history and "provider" in history
    signature = version.signature
    assert "Input/output signature" in page
    assert signature["inputs"][0]["name"] in page and signature["outputs"][0]["name"] in page
    assert version.artifact_sha256 in page
    assert 'aria-current="step"' in page and "Released" in page
    # Its MAE, an error without an upper bound, is drawn on its own scale, not as a bar of 1.
    assert 'class="bar-track scale"' in page and 'class="bar-fill' not in page


# --- catalog ------------------------------------------------------------------------------


def test_the_catalog_filters_released_versions(client, provider, auditor, consumer):
    ran = factories.make_released(provider, auditor, name="RAN load", domain="RAN", tags=["load"])
    core = factories.make_released(
        provider,
        auditor,
        name="Core anomalies",
        domain="Core",
        region="South",
        tags=["anomaly"],
        performance=[
            {
                "inference_output_name": "label",
                "performance_metric": "ACCURACY",
                "performance_score": 0.97,
            }
        ],
    )
    draft = factories.make_draft(provider, sam=factories.make_model(provider, name="Unreleased"))
    client.force_login(consumer)

    def names(**params) -> set[str]:
        page = client.get(reverse("registry:catalog"), params).context["page"]
        return {v.sam.name for v in page.object_list}

    assert names() == {ran.sam.name, core.sam.name}
    assert draft.sam.name not in names()
    assert names(domain="core") == {"Core anomalies"}
    assert names(region="South") == {"Core anomalies"}
    assert names(tag="load") == {"RAN load"}
    assert names(inference_type="MDA") == set()
    assert names(metric="ACCURACY", min_score="0.9") == {"Core anomalies"}
    assert names(metric="ACCURACY", min_score="0.99") == set()
    assert names(q="anomalies") == {"Core anomalies"}
    page = client.get(reverse("registry:catalog"), {"min_score": "lots"}).content.decode()
    assert "Enter a number." in page


def test_the_catalog_paginates_and_keeps_the_filters(client, provider, auditor, monkeypatch):
    monkeypatch.setattr(views, "CATALOG_PAGE_SIZE", 2)
    for n in range(3):
        factories.make_released(provider, auditor, name=f"Forecast {n}", domain="RAN")
    factories.make_released(provider, auditor, name="Elsewhere", domain="Core")
    client.force_login(provider)

    first = client.get(reverse("registry:catalog"), {"domain": "RAN"})
    second = client.get(reverse("registry:catalog"), {"domain": "RAN", "page": "2"})

    assert len(first.context["page"].object_list) == 2
    assert len(second.context["page"].object_list) == 1
    assert "Page 1 of 2" in first.content.decode()
    assert "?domain=RAN&amp;page=2" in first.content.decode()
    shown = {v.sam.name for p in (first, second) for v in p.context["page"].object_list}
    assert shown == {"Forecast 0", "Forecast 1", "Forecast 2"}
