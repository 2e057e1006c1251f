"""Issue 7, item 1: the model file (and every audited field) cannot change after submission.

The attack: a provider's `PUT /api/v1/versions/{id}/artifact/` on an APPROVED version stored a
new file, and register and release then published a file no auditor had seen.
"""

import hashlib

import pytest
from django.contrib.auth.models import Group
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from registry import services
from registry.models import ModelVersion, SmallAIModel, VersionStatus
from tests import factories
from tests.form_data import change_form_data

FROZEN_STATES = ["SUBMITTED", "REJECTED", "APPROVED", "REGISTERED", "RELEASED", "DEPRECATED"]


def _client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def _put_file(client, version, kind: str):
    model = factories.demo_model(kind)
    return client.put(
        f"/api/v1/versions/{version.pk}/artifact/?filename={model.filename}",
        data=model.content,
        content_type="application/octet-stream",
    )


def _sha(kind: str) -> str:
    return hashlib.sha256(factories.demo_model(kind).content).hexdigest()


def _approved_without_file(provider, auditor) -> ModelVersion:
    version = factories.make_draft(provider)
    services.version_submit(version_id=version.pk, user=provider)
    return services.version_approve(version_id=version.pk, user=auditor)


def test_a_provider_cannot_swap_the_file_of_an_approved_version(provider, auditor, consumer):
    """The attack as filed: PUT a different file on the APPROVED version, then register and
    release. The swap is refused, and what is released is the audited file."""
    version = factories.make_version_in("APPROVED", provider=provider, auditor=auditor)
    as_provider = _client(provider)
    assert version.artifact_sha256 == _sha("onnx")

    raw = _put_file(as_provider, version, "skops")
    multipart = as_provider.post(
        f"/api/v1/versions/{version.pk}/artifact/",
        {"file": SimpleUploadedFile("swap.skops", factories.demo_model("skops").content)},
        format="multipart",
    )

    for answer in (raw, multipart):
        assert answer.status_code == 409, answer.json()
        assert answer.json()["code"] == "invalid_state"
        assert "frozen" in answer.json()["detail"]
    fresh = ModelVersion.objects.get(pk=version.pk)
    assert fresh.artifact_sha256 == fresh.approved_sha256 == _sha("onnx")

    url = f"/api/v1/versions/{version.pk}/"
    registered = as_provider.post(f"{url}register/", {"access_type": "MODEL_FILE"}, format="json")
    released = as_provider.post(f"{url}release/", format="json")
    assert (registered.status_code, released.status_code) == (200, 200)
    assert released.json()["artifact_sha256"] == released.json()["approved_sha256"]
    assert released.json()["approved_sha256"] == _sha("onnx")
    # The bytes the warehouse hands out are the audited ones.
    with default_storage.open(ModelVersion.objects.get(pk=version.pk).artifact.name) as f:
        assert hashlib.sha256(f.read()).hexdigest() == _sha("onnx")


@pytest.mark.parametrize("state", FROZEN_STATES)
def test_the_file_is_frozen_in_every_state_after_draft(provider, auditor, state):
    version = factories.make_version_in(state, provider=provider, auditor=auditor)
    before = ModelVersion.objects.get(pk=version.pk)

    answer = _put_file(_client(provider), version, "skops")

    assert answer.status_code == 409
    assert f"Version 1.0.0 is {state}" in answer.json()["detail"]
    after = ModelVersion.objects.get(pk=version.pk)
    assert (after.artifact.name, after.artifact_sha256, after.updated_at) == (
        before.artifact.name,
        before.artifact_sha256,
        before.updated_at,
    )


def test_the_portal_takes_no_file_after_draft(client, provider, auditor):
    version = factories.make_version_in("APPROVED", provider=provider, auditor=auditor)
    client.force_login(provider)
    skops = factories.demo_model("skops")

    page = client.get(reverse("registry:model-detail", args=[version.sam.slug])).content.decode()
    upload = client.post(
        reverse("registry:version-upload", args=[version.pk]),
        {"artifact": SimpleUploadedFile(skops.filename, skops.content)},
    )
    # The old "register-with-upload": a file posted with the register form is not taken.
    register = client.post(
        reverse("registry:version-register", args=[version.pk]),
        {
            "access_type": "MODEL_FILE",
            "endpoint_url": "",
            "artifact": SimpleUploadedFile(skops.filename, skops.content),
        },
    )

    assert 'type="file"' not in page  # neither an upload form nor a file field at register
    assert upload.status_code == 409
    assert register.status_code == 302
    fresh = ModelVersion.objects.get(pk=version.pk)
    assert fresh.status == VersionStatus.REGISTERED
    assert fresh.artifact_sha256 == fresh.approved_sha256 == _sha("onnx")


def test_the_approval_records_the_sha256_and_checklist_it_approved(client, provider, auditor):
    version = factories.make_version_in("SUBMITTED", provider=provider, auditor=auditor)
    approved = _client(auditor).post(
        f"/api/v1/versions/{version.pk}/approve/", {"reason": "ok"}, format="json"
    )
    assert approved.status_code == 200
    assert approved.json()["approved_sha256"] == _sha("onnx")
    assert approved.json()["artifact_uploaded_by"] == provider.username

    # On the audit record (API and audit page) ...
    reviews = _client(provider).get(f"/api/v1/versions/{version.pk}/reviews/").json()
    assert reviews[0]["decision"] == "APPROVED"
    assert reviews[0]["artifact_sha256"] == _sha("onnx")
    artifact_item = next(i for i in reviews[0]["checklist"] if i["field"] == "artifact")
    assert artifact_item["ok"] and artifact_item["required"]
    client.force_login(auditor)
    audit_page = client.get(reverse("registry:audit-version", args=[version.pk])).content.decode()
    assert f'review-sha256">{_sha("onnx")}' in audit_page
    # ... and on the model page.
    client.force_login(provider)
    page = client.get(reverse("registry:model-detail", args=[version.sam.slug])).content.decode()
    assert f'id="approved-sha256-{version.pk}">{_sha("onnx")}' in page


def test_register_and_release_refuse_a_file_that_differs_from_the_approved_one(
    provider, auditor, settings
):
    """Defence in depth below the API: the row or the warehouse's bytes changed behind the
    services' back (a direct database write, a bucket overwritten)."""
    version = factories.make_version_in("APPROVED", provider=provider, auditor=auditor)
    as_provider = _client(provider)
    url = f"/api/v1/versions/{version.pk}/"
    skops_sha = _sha("skops")
    factories.upload(factories.make_draft(provider), provider, "skops")  # a stored other file
    ModelVersion.objects.filter(pk=version.pk).update(
        artifact=f"artifacts/{skops_sha[:2]}/{skops_sha}.skops", artifact_sha256=skops_sha
    )

    refused = as_provider.post(f"{url}register/", {"access_type": "MODEL_FILE"}, format="json")
    refused_as_endpoint = as_provider.post(
        f"{url}register/",
        {"access_type": "EXTERNAL_ENDPOINT", "endpoint_url": "https://infer.example.net/x"},
        format="json",
    )

    for answer in (refused, refused_as_endpoint):
        assert answer.status_code == 409
        assert answer.json()["code"] == "artifact_not_approved"
        assert skops_sha in answer.json()["detail"] and _sha("onnx") in answer.json()["detail"]
    assert ModelVersion.objects.get(pk=version.pk).status == VersionStatus.APPROVED

    # Put the approved row back, register, then overwrite the stored bytes before release.
    ModelVersion.objects.filter(pk=version.pk).update(
        artifact=version.artifact.name, artifact_sha256=version.artifact_sha256
    )
    registered = as_provider.post(f"{url}register/", {"access_type": "MODEL_FILE"}, format="json")
    assert registered.status_code == 200
    (settings.MEDIA_ROOT / version.artifact.name).write_bytes(factories.demo_model("skops").content)

    release = as_provider.post(f"{url}release/", format="json")

    assert release.status_code == 409
    assert release.json()["code"] == "artifact_not_approved"
    assert "warehouse's copy" in release.json()["detail"]
    assert ModelVersion.objects.get(pk=version.pk).status == VersionStatus.REGISTERED


def test_a_version_approved_without_a_file_registers_only_as_an_external_endpoint(
    provider, auditor
):
    version = _approved_without_file(provider, auditor)
    as_provider = _client(provider)
    url = f"/api/v1/versions/{version.pk}/"

    late_upload = _put_file(as_provider, version, "onnx")
    as_file = as_provider.post(f"{url}register/", {"access_type": "MODEL_FILE"}, format="json")
    as_endpoint = as_provider.post(
        f"{url}register/",
        {"access_type": "EXTERNAL_ENDPOINT", "endpoint_url": "https://infer.example.net/load"},
        format="json",
    )

    assert late_upload.status_code == 409
    assert as_file.status_code == 400
    assert "approved without a model file" in as_file.json()["detail"]
    assert as_endpoint.status_code == 200
    assert as_endpoint.json()["approved_sha256"] == as_endpoint.json()["artifact_sha256"] == ""


@pytest.mark.parametrize("state", ["SUBMITTED", "APPROVED", "REGISTERED", "RELEASED"])
def test_audited_fields_are_frozen_from_submission_on(provider, auditor, state):
    version = factories.make_version_in(state, provider=provider, auditor=auditor)
    sam = version.sam
    as_provider = _client(provider)

    version_patch = as_provider.patch(
        f"/api/v1/versions/{version.pk}/", {"release_notes": "Changed later."}, format="json"
    )
    model_patch = as_provider.patch(
        f"/api/v1/models/{sam.slug}/",
        {"description": "A different model altogether, says the provider.", "tags": ["x"]},
        format="json",
    )
    sharing_patch = as_provider.patch(
        f"/api/v1/models/{sam.slug}/", {"approval_required": True}, format="json"
    )

    assert version_patch.status_code == 409
    assert model_patch.status_code == 409
    assert set(model_patch.json()["errors"]) == {"description", "tags"}
    assert sharing_patch.status_code == 200  # a sharing setting, not an audited field
    fresh = SmallAIModel.objects.get(pk=sam.pk)
    assert fresh.description == sam.description
    assert [t.name for t in fresh.tags.all()] == ["load"]
    assert ModelVersion.objects.get(pk=version.pk).release_notes == version.release_notes


def test_a_change_after_release_needs_a_new_revision_through_draft(provider, auditor, client):
    released = factories.make_version_in("RELEASED", provider=provider, auditor=auditor)
    sam = released.sam
    as_provider = _client(provider)
    new_text = "Predicts next-hour cell load, now also for indoor small cells."

    refused = as_provider.patch(
        f"/api/v1/models/{sam.slug}/", {"description": new_text}, format="json"
    )
    assert refused.status_code == 409
    assert "new version" in refused.json()["detail"]

    revision = as_provider.post(
        "/api/v1/versions/", {"model": sam.slug, "version": "1.1.0"}, format="json"
    )
    assert revision.status_code == 201
    revision_id = revision.json()["id"]
    assert _put_file(as_provider, ModelVersion(pk=revision_id), "skops").status_code == 200
    changed = as_provider.patch(
        f"/api/v1/models/{sam.slug}/", {"description": new_text}, format="json"
    )
    assert changed.status_code == 200

    # The released version still holds, and serves, the file that was audited with it.
    assert ModelVersion.objects.get(pk=released.pk).artifact_sha256 == _sha("onnx")
    assert ModelVersion.objects.get(pk=revision_id).artifact_sha256 == _sha("skops")


def test_the_portal_edit_form_and_the_admin_keep_frozen_fields(client, provider, auditor):
    submitted = factories.make_version_in("SUBMITTED", provider=provider, auditor=auditor)
    sam = submitted.sam
    draft = factories.make_draft(provider, sam=sam, version="2.0.0")
    client.force_login(provider)

    # The portal edit form of the other, DRAFT version shows the model's fields read-only
    # and ignores a posted change to them.
    edit_url = reverse("registry:version-edit", args=[draft.pk])
    page = client.get(edit_url).content.decode()
    assert 'id="sam-frozen"' in page and "SUBMITTED" in page
    form = client.get(edit_url).context
    data = {
        **{name: form["sam_form"][name].value() or "" for name in form["sam_form"].fields},
        **{name: form["version_form"][name].value() or "" for name in form["version_form"].fields},
        "perf-TOTAL_FORMS": "1",
        "perf-INITIAL_FORMS": "0",
        "perf-0-inference_output_name": "variable",
        "perf-0-performance_metric": "MAE",
        "perf-0-performance_score": "2.1",
        "description": "Rewritten while the audit runs.",
        "release_notes": "Second.",
    }
    assert client.post(edit_url, data).status_code == 302
    assert SmallAIModel.objects.get(pk=sam.pk).description == sam.description
    assert ModelVersion.objects.get(pk=draft.pk).release_notes == "Second."

    # The admin shows them read-only and keeps them.
    provider.is_staff = True
    provider.save()
    provider.groups.add(Group.objects.get(name="provider"))
    admin_url = reverse("admin:registry_smallaimodel_change", args=[sam.pk])
    admin_page = client.get(admin_url)
    assert "description" not in admin_page.context["adminform"].form.fields
    data = {
        **change_form_data(admin_page),
        "description": "Rewritten in the admin.",
        "approval_required": "on",
    }
    assert client.post(admin_url, data).status_code == 302
    fresh = SmallAIModel.objects.get(pk=sam.pk)
    assert fresh.description == sam.description
    assert fresh.approval_required  # the form was saved; only the frozen field was kept
