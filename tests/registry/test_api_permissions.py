"""Who may do what through the API: every role against every registry action."""

import pytest
from django.contrib.auth.models import Group

from registry.models import ModelVersion, VersionStatus
from tests import factories

ROLES = ["owner", "outsider", "auditor", "self_auditor", "operator", "consumer", "anonymous"]


@pytest.fixture
def people(organisation, provider, other_provider, auditor, operator, consumer):
    # Holds provider and auditor roles in the organisation, and submits every version below:
    # separation of duties must keep them from auditing it.
    self_auditor = factories.make_user(
        "provider", organisation=organisation, username="provider-auditor"
    )
    self_auditor.groups.add(Group.objects.get(name="auditor"))
    return {
        "owner": provider,
        "outsider": other_provider,
        "auditor": auditor,
        "self_auditor": self_auditor,
        "operator": operator,
        "consumer": consumer,
        "anonymous": None,
    }


def _versions(name: str, body: dict | None = None):
    def call(client, version, organisation):
        return client.post(f"/api/v1/versions/{version.pk}/{name}/", body or {}, format="json")

    return call


def _create_model(client, version, organisation):
    body = {"name": "Another model", "inference_type": "MDA", "organisation": organisation.slug}
    return client.post("/api/v1/models/", body, format="json")


def _patch_model(client, version, organisation):
    # A sharing setting: the audited fields of a released model are frozen for everyone
    # (tests/security/test_artifact_frozen_after_submit.py).
    body = {"approval_required": True}
    return client.patch(f"/api/v1/models/{version.sam.slug}/", body, format="json")


def _create_version(client, version, organisation):
    body = {"model": version.sam.slug, "version": "9.0.0"}
    return client.post("/api/v1/versions/", body, format="json")


def _upload(client, version, organisation):
    return client.put(
        f"/api/v1/versions/{version.pk}/artifact/?filename=model.onnx",
        data=factories.demo_model("onnx").content,
        content_type="application/octet-stream",
    )


def _view(client, version, organisation):
    return client.get(f"/api/v1/versions/{version.pk}/")


def _download(client, version, organisation):
    return client.get(f"/api/v1/versions/{version.pk}/artifact/")


def _audit_queue(client, version, organisation):
    return client.get("/api/v1/audit-queue/")


REJECTION = {"reason": "Vague", "findings": [{"field": "limitations", "message": "Be precise."}]}

# action: (state of the version it acts on, request, expected status per role in ROLES order).
# Operators correct, resubmit and register any organisation's versions (ENI SAM clause 5, steps
# 2-4), but never approve or reject, nor start models or versions (providers give the files).
MATRIX = {
    # An organisation you cannot see answers like an unknown one (400), not 403 naming it.
    "create model in org": (None, _create_model, [201, 400, 403, 201, 403, 400, 401]),
    "patch model": ("RELEASED", _patch_model, [200, 403, 403, 200, 200, 403, 401]),
    "create version": ("RELEASED", _create_version, [201, 403, 403, 201, 403, 403, 401]),
    "submit": ("DRAFT", _versions("submit"), [200, 404, 403, 200, 200, 404, 401]),
    "approve": ("SUBMITTED", _versions("approve"), [403, 404, 200, 403, 403, 404, 401]),
    "reject": ("SUBMITTED", _versions("reject", REJECTION), [403, 404, 200, 403, 403, 404, 401]),
    "revise": ("REJECTED", _versions("revise"), [200, 404, 403, 200, 200, 404, 401]),
    # Anonymous: a model file is over SAMHUB_ANONYMOUS_MAX_BODY_BYTES, refused (413) unread.
    "upload artifact": ("DRAFT", _upload, [200, 404, 403, 200, 200, 404, 413]),
    "register": (
        "APPROVED",
        _versions("register", {"access_type": "MODEL_FILE"}),
        [200, 404, 403, 200, 200, 404, 401],
    ),
    "release": ("REGISTERED", _versions("release"), [200, 404, 403, 200, 200, 404, 401]),
    "deprecate": ("RELEASED", _versions("deprecate"), [200, 403, 403, 200, 200, 403, 401]),
    "view a draft": ("DRAFT", _view, [200, 404, 200, 200, 200, 404, 401]),
    "view a released version": ("RELEASED", _view, [200, 200, 200, 200, 200, 200, 401]),
    "download unreleased artifact": (
        "REGISTERED",
        _download,
        [200, 404, 200, 200, 200, 404, 401],
    ),
    "list audit queue": ("SUBMITTED", _audit_queue, [403, 403, 200, 200, 403, 403, 401]),
}
CASES = [
    pytest.param(action, role, codes[i], id=f"{action}-{role}")
    for action, (_, _, codes) in MATRIX.items()
    for i, role in enumerate(ROLES)
]


def _version_in(state: str | None, people) -> ModelVersion | None:
    if state is None:
        return None
    return factories.make_version_in(
        state, provider=people["self_auditor"], auditor=people["auditor"]
    )


@pytest.mark.parametrize(("action", "role", "expected"), CASES)
def test_it_allows_and_denies_by_role(api, people, organisation, action, role, expected):
    state, call, _ = MATRIX[action]
    version = _version_in(state, people)
    before = ModelVersion.objects.get(pk=version.pk) if version else None

    answer = call(api(people[role]), version, organisation)

    assert answer.status_code == expected, getattr(answer, "data", answer)
    if expected >= 400:
        body = answer.json()
        assert body["detail"], body
        if version is not None:
            after = ModelVersion.objects.get(pk=version.pk)
            assert (after.status, after.artifact_sha256, after.updated_at) == (
                before.status,
                before.artifact_sha256,
                before.updated_at,
            )


def test_a_self_auditor_is_told_why_they_cannot_approve(api, people):
    version = _version_in("SUBMITTED", people)

    answer = api(people["self_auditor"]).post(f"/api/v1/versions/{version.pk}/approve/")

    assert answer.status_code == 403
    assert "separation of duties" in answer.json()["detail"]
    assert api(people["self_auditor"]).get(url := "/api/v1/audit-queue/").json()["count"] == 0
    assert [v["id"] for v in api(people["auditor"]).get(url).json()["results"]] == [version.pk]


def test_available_actions_follow_role_and_state(api, people):
    submitted = _version_in("SUBMITTED", people)
    released = _version_in("RELEASED", people)

    def actions(role, version):
        return api(people[role]).get(f"/api/v1/versions/{version.pk}/").json()["available_actions"]

    assert actions("auditor", submitted) == ["approve", "reject"]
    assert actions("self_auditor", submitted) == []
    assert actions("owner", submitted) == []
    assert actions("owner", released) == ["deprecate"]
    assert actions("operator", released) == ["deprecate"]
    assert actions("consumer", released) == []


def test_consumers_and_outsiders_see_only_released_work(api, people):
    versions = {
        state: factories.make_version_in(
            state, provider=people["self_auditor"], auditor=people["auditor"]
        )
        for state in ("DRAFT", "SUBMITTED", "REJECTED", "APPROVED", "RELEASED")
    }
    released = versions["RELEASED"]
    unreleased = [v for state, v in versions.items() if state != "RELEASED"]
    outsiders_own = factories.make_draft(people["outsider"])

    for role, own in (("consumer", []), ("outsider", [outsiders_own.pk])):
        client = api(people[role])
        listed = client.get("/api/v1/versions/", {"page_size": 50}).json()
        assert sorted(v["id"] for v in listed["results"]) == sorted([released.pk, *own])
        assert client.get("/api/v1/versions/", {"status": "DRAFT"}).json()["count"] == len(own)
        models = client.get("/api/v1/models/", {"page_size": 50}).json()
        expected_models = {released.sam.slug, *([outsiders_own.sam.slug] if own else [])}
        assert {m["slug"] for m in models["results"]} == expected_models
        detail = client.get(f"/api/v1/models/{released.sam.slug}/").json()
        assert detail["versions"] == [{"id": released.pk, "version": "1.0.0", "status": "RELEASED"}]
        for version in unreleased:
            assert client.get(f"/api/v1/versions/{version.pk}/").status_code == 404
            assert client.get(f"/api/v1/models/{version.sam.slug}/").status_code == 404
            assert client.get(f"/api/v1/versions/{version.pk}/transitions/").status_code == 404
            assert client.get(f"/api/v1/versions/{version.pk}/reviews/").status_code == 404
            assert client.get(f"/api/v1/versions/{version.pk}/checklist/").status_code == 404

    owner = api(people["owner"]).get("/api/v1/versions/", {"page_size": 50}).json()
    assert owner["count"] == len(versions)
    auditor = api(people["auditor"]).get("/api/v1/versions/", {"page_size": 50}).json()
    assert auditor["count"] == len(versions) + 1


def test_organisations_list_only_your_own_unless_you_oversee_all(
    api, people, organisation, other_organisation
):
    def slugs(role):
        return [
            o["slug"] for o in api(people[role]).get("/api/v1/organisations/").json()["results"]
        ]

    assert slugs("owner") == [organisation.slug]
    assert slugs("outsider") == [other_organisation.slug]
    assert slugs("consumer") == []
    assert slugs("auditor") == slugs("operator") == [organisation.slug, other_organisation.slug]
    other = api(people["owner"]).get(f"/api/v1/organisations/{other_organisation.pk}/")
    assert other.status_code == 404


def test_it_refuses_a_model_for_an_organisation_you_do_not_belong_to(
    api, people, other_organisation
):
    body = {"name": "Sneaky", "inference_type": "MDA", "organisation": other_organisation.pk}

    answer = api(people["owner"]).post("/api/v1/models/", body, format="json")

    # Answered as for an unknown organisation: nothing says that it exists (issue 7, item 18).
    assert answer.status_code == 400
    assert answer.json()["errors"]["organisation"] == [
        f"There is no organisation with id or slug {other_organisation.pk!r} that you can see."
    ]
    assert not other_organisation.models.exists()


def test_it_lists_versions_filtered_by_model_and_status(api, people):
    first = _version_in("SUBMITTED", people)
    second = factories.make_draft(people["owner"])
    client = api(people["owner"])

    by_model = client.get("/api/v1/versions/", {"model": second.sam.slug}).json()
    by_status = client.get("/api/v1/versions/", {"status": "SUBMITTED"}).json()
    bad = client.get("/api/v1/versions/", {"status": "LOST"})

    assert [v["id"] for v in by_model["results"]] == [second.pk]
    assert [v["id"] for v in by_status["results"]] == [first.pk]
    assert bad.status_code == 400
    assert "not a valid choice" in bad.json()["errors"]["status"][0]
    assert by_status["results"][0]["status"] == VersionStatus.SUBMITTED
