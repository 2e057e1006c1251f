"""The operators' Django admin: the version page's steps and the changelist actions go through
the same services and guards as the portal and the API."""

import pytest
from django.contrib import messages
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.urls import reverse

from registry.models import (
    AuditReview,
    ModelPerformance,
    ModelVersion,
    Organisation,
    SmallAIModel,
    Tag,
    VersionStatus,
    VersionTransition,
)
from tests import factories
from tests.form_data import change_form_data

VERSIONS = "admin:registry_modelversion_changelist"
STEP_PAGE = "admin/registry/modelversion/step.html"
FINDING = "Say which cells it was not tested on."


# Only staff reach the admin, so this module's providers and auditors are staff.
@pytest.fixture
def provider(organisation):
    return factories.make_user(
        "provider", organisation=organisation, username="provider", is_staff=True
    )


@pytest.fixture
def auditor(db):
    return factories.make_user("auditor", username="auditor", is_staff=True)


@pytest.fixture
def second_auditor(db):
    return factories.make_user("auditor", username="auditor2", is_staff=True)


def act(client, user: User, action: str, *versions: ModelVersion, **data):
    """Select versions on the changelist, pick an action and press Go, as a browser does."""
    client.force_login(user)
    return client.post(
        reverse(VERSIONS),
        {"action": action, "_selected_action": [v.pk for v in versions], "index": 0, **data},
    )


def apply(client, user: User, action: str, *versions: ModelVersion, **data):
    """Submit an action's intermediate page."""
    client.force_login(user)
    return client.post(
        reverse(VERSIONS),
        {"action": action, "_selected_action": [v.pk for v in versions], "apply": "yes", **data},
    )


def step_url(version: ModelVersion, name: str) -> str:
    return reverse("admin:registry_modelversion_step", args=[version.pk, name])


def step(client, user: User, version: ModelVersion, name: str, **data):
    """Press a step's button on the version page and submit the step's page, as a browser does."""
    client.force_login(user)
    page = client.get(step_url(version, name))
    assert page.status_code == 200
    assert STEP_PAGE in [t.name for t in page.templates]
    return client.post(step_url(version, name), data)


def offered_steps(client, user: User, version: ModelVersion) -> list[str]:
    """The step buttons the version's change page shows the user."""
    client.force_login(user)
    page = client.get(reverse("admin:registry_modelversion_change", args=[version.pk]))
    assert page.status_code == 200
    return [s["name"] for s in page.context["lifecycle_steps"]]


def shown(response) -> list[tuple[int, str]]:
    return [(m.level, m.message) for m in get_messages(response.wsgi_request)]


def errors(response) -> list[str]:
    return [text for level, text in shown(response) if level == messages.ERROR]


def steps(version: ModelVersion) -> list[tuple[str, str, str]]:
    return [
        (t.source, t.target, t.actor.username)
        for t in VersionTransition.objects.filter(version=version).select_related("actor")
    ]


def status(version: ModelVersion) -> str:
    return ModelVersion.objects.get(pk=version.pk).status


def offered_actions(client, user: User) -> set[str]:
    client.force_login(user)
    page = client.get(reverse(VERSIONS))
    assert page.status_code == 200
    return {name for name, _ in page.context["action_form"].fields["action"].choices if name}


def reject_data(reason: str, *findings: tuple[str, str]) -> dict:
    data = {
        "reason": reason,
        "findings-TOTAL_FORMS": max(len(findings), 1),
        "findings-INITIAL_FORMS": 0,
        "findings-MIN_NUM_FORMS": 0,
        "findings-MAX_NUM_FORMS": 1000,
    }
    for n, (field, message) in enumerate(findings):
        data[f"findings-{n}-field"] = field
        data[f"findings-{n}-message"] = message
    return data


def test_a_version_goes_from_draft_to_released_through_admin_actions(client, provider, auditor):
    version = factories.make_draft(provider)
    factories.upload(version, provider)

    response = act(client, provider, "submit_versions", version)
    assert response.status_code == 302
    assert errors(response) == []
    assert status(version) == VersionStatus.SUBMITTED
    assert steps(version) == [("DRAFT", "SUBMITTED", "provider")]

    response = act(client, auditor, "approve_versions", version)
    assert errors(response) == []
    assert status(version) == VersionStatus.APPROVED
    assert steps(version)[-1] == ("SUBMITTED", "APPROVED", "auditor")
    assert AuditReview.objects.get(version=version).decision == "APPROVED"

    page = client.get(step_url(version, "register"))
    assert 'value="EXTERNAL_ENDPOINT"' in page.content.decode()
    assert status(version) == VersionStatus.APPROVED

    response = step(client, provider, version, "register", access_type="MODEL_FILE")
    assert response.status_code == 302
    assert errors(response) == []
    registered = ModelVersion.objects.get(pk=version.pk)
    assert registered.status == VersionStatus.REGISTERED
    assert registered.access_type == "MODEL_FILE"
    assert steps(version)[-1] == ("APPROVED", "REGISTERED", "provider")

    response = act(client, provider, "release_versions", version)
    assert errors(response) == []
    assert (messages.SUCCESS, f"Released: {version}.") in shown(response)
    assert status(version) == VersionStatus.RELEASED
    assert ModelVersion.objects.get(pk=version.pk).released_at is not None
    assert steps(version) == [
        ("DRAFT", "SUBMITTED", "provider"),
        ("SUBMITTED", "APPROVED", "auditor"),
        ("APPROVED", "REGISTERED", "provider"),
        ("REGISTERED", "RELEASED", "provider"),
    ]


def test_it_loops_reject_revise_resubmit_through_the_admin(
    client, provider, auditor, second_auditor
):
    version = factories.make_draft(provider)
    act(client, provider, "submit_versions", version)

    client.force_login(auditor)
    page = client.get(step_url(version, "reject"))
    assert '<option value="limitations">Limitations</option>' in page.content.decode()
    assert status(version) == VersionStatus.SUBMITTED

    response = step(
        client,
        auditor,
        version,
        "reject",
        **reject_data("Limitations are too vague.", ("limitations", FINDING)),
    )
    assert response.status_code == 302
    assert errors(response) == []
    assert status(version) == VersionStatus.REJECTED
    review = AuditReview.objects.get(version=version)
    assert review.decision == "REJECTED"
    assert review.auditor == auditor
    assert review.reason == "Limitations are too vague."
    assert review.findings == [{"field": "limitations", "message": FINDING}]
    assert steps(version)[-1] == ("SUBMITTED", "REJECTED", "auditor")
    assert VersionTransition.objects.get(version=version, name="reject").reason == (
        "Limitations are too vague."
    )

    response = act(client, provider, "revise_versions", version)
    assert errors(response) == []
    assert status(version) == VersionStatus.DRAFT

    # The provider fixes the named field on the model's admin page (through services.sam_update).
    sam_url = reverse("admin:registry_smallaimodel_change", args=[version.sam.pk])
    page = client.get(sam_url)
    data = {**change_form_data(page), "limitations": "Not tested on rural cells."}
    assert client.post(sam_url, data).status_code == 302
    assert SmallAIModel.objects.get(pk=version.sam.pk).limitations == "Not tested on rural cells."

    act(client, provider, "submit_versions", version)
    assert status(version) == VersionStatus.SUBMITTED
    response = act(client, second_auditor, "approve_versions", version)
    assert errors(response) == []
    assert status(version) == VersionStatus.APPROVED
    assert steps(version) == [
        ("DRAFT", "SUBMITTED", "provider"),
        ("SUBMITTED", "REJECTED", "auditor"),
        ("REJECTED", "DRAFT", "provider"),
        ("DRAFT", "SUBMITTED", "provider"),
        ("SUBMITTED", "APPROVED", "auditor2"),
    ]


def test_a_rejection_without_findings_is_refused_and_changes_nothing(client, provider, auditor):
    version = factories.make_version_in("SUBMITTED", provider=provider, auditor=auditor)

    page = step(client, auditor, version, "reject", **reject_data("Vague."))

    assert page.status_code == 400
    assert STEP_PAGE in [t.name for t in page.templates]
    assert errors(page) == ["Name at least one field that fails and why. — findings: at least one"]
    assert status(version) == VersionStatus.SUBMITTED
    assert not AuditReview.objects.filter(version=version).exists()


@pytest.mark.parametrize(
    ("state", "action", "actor", "message"),
    [
        (
            "DRAFT",
            "release_versions",
            "provider",
            "Cannot release version 1.0.0: it is DRAFT, and release needs REGISTERED.",
        ),
        (
            "APPROVED",
            "approve_versions",
            "auditor",
            "Cannot approve version 1.0.0: it is APPROVED, and approve needs SUBMITTED.",
        ),
    ],
)
def test_an_illegal_admin_action_shows_the_service_error_and_changes_nothing(
    client, provider, auditor, state, action, actor, message
):
    version = factories.make_version_in(state, provider=provider, auditor=auditor)
    before = len(steps(version))

    response = act(client, {"provider": provider, "auditor": auditor}[actor], action, version)

    assert response.status_code == 302
    assert errors(response) == [f"{version}: {message}"]
    assert not [text for level, text in shown(response) if level == messages.SUCCESS]
    assert status(version) == state
    assert len(steps(version)) == before


def test_an_auditor_who_submitted_cannot_approve_in_the_admin(client, organisation, auditor):
    both = factories.make_user("provider", organisation=organisation, is_staff=True)
    both.groups.add(*auditor.groups.all())
    version = factories.make_draft(both)
    act(client, both, "submit_versions", version)
    assert status(version) == VersionStatus.SUBMITTED

    response = act(client, both, "approve_versions", version)

    [error] = errors(response)
    assert "separation of duties" in error
    assert status(version) == VersionStatus.SUBMITTED
    assert len(steps(version)) == 1
    assert not AuditReview.objects.filter(version=version).exists()


def test_each_role_is_offered_only_the_actions_it_may_use(client, provider, auditor, operator):
    assert offered_actions(client, auditor) == {"approve_versions"}
    assert offered_actions(client, operator) == {
        "submit_versions",
        "revise_versions",
        "release_versions",
        "deprecate_versions",
        "retire_versions",
    }
    assert offered_actions(client, provider) == {
        "submit_versions",
        "revise_versions",
        "release_versions",
        "deprecate_versions",
        "retire_versions",
    }


def test_an_action_the_user_is_not_offered_is_not_run(client, provider, auditor):
    version = factories.make_version_in("SUBMITTED", provider=provider, auditor=auditor)

    response = act(client, provider, "approve_versions", version)

    assert (messages.WARNING, "No action selected.") in shown(response)
    assert status(version) == VersionStatus.SUBMITTED


def test_every_registry_page_renders_for_an_operator(client, provider, auditor, operator):
    rejected = factories.make_version_in("REJECTED", provider=provider, auditor=auditor)
    released = factories.make_version_in("RELEASED", provider=provider, auditor=auditor)
    client.force_login(operator)
    objects = {
        Organisation: rejected.sam.organisation,
        Tag: Tag.objects.get(name="load"),
        SmallAIModel: released.sam,
        ModelVersion: released,
        ModelPerformance: ModelPerformance.objects.filter(version=released).first(),
        VersionTransition: VersionTransition.objects.filter(version=released).first(),
        AuditReview: AuditReview.objects.get(version=rejected),
    }

    for model, obj in objects.items():
        name = model._meta.model_name
        changelist = client.get(reverse(f"admin:registry_{name}_changelist"))
        assert changelist.status_code == 200, name
        change = client.get(reverse(f"admin:registry_{name}_change", args=[obj.pk]))
        assert change.status_code == 200, name

    page = client.get(reverse("admin:registry_modelversion_change", args=[released.pk]))
    content = page.content.decode()
    assert "Checklist" in content
    assert "Give at least one performance score" not in content  # the checklist passes
    history = next(
        i for i in page.context["inline_admin_formsets"] if i.formset.model is VersionTransition
    )
    assert [form.instance.target for form in history.formset.forms] == [
        "SUBMITTED",
        "APPROVED",
        "REGISTERED",
        "RELEASED",
    ]

    review = client.get(
        reverse("admin:registry_auditreview_change", args=[objects[AuditReview].pk])
    )
    assert f"<li><strong>Limitations</strong>: {FINDING}</li>" in review.content.decode()


def test_the_transition_log_and_reviews_are_read_only_even_for_a_superuser(
    client, provider, auditor
):
    version = factories.make_version_in("REJECTED", provider=provider, auditor=auditor)
    transition = VersionTransition.objects.filter(version=version).first()
    review = AuditReview.objects.get(version=version)
    client.force_login(User.objects.create_superuser("root", password="pw-for-tests-123"))

    for name, obj in (("versiontransition", transition), ("auditreview", review)):
        assert client.get(reverse(f"admin:registry_{name}_add")).status_code == 403
        assert client.post(reverse(f"admin:registry_{name}_delete", args=[obj.pk])).status_code == (
            403
        )
        change_url = reverse(f"admin:registry_{name}_change", args=[obj.pk])
        assert client.post(change_url, {"reason": "rewritten"}).status_code == 403

    assert VersionTransition.objects.get(pk=transition.pk).reason == transition.reason
    assert AuditReview.objects.get(pk=review.pk).reason == review.reason
    assert ModelVersion.objects.filter(pk=version.pk).exists()


def test_an_operator_cannot_post_the_version_change_form(client, provider, auditor, operator):
    version = factories.make_version_in("REGISTERED", provider=provider, auditor=auditor)
    client.force_login(operator)
    url = reverse("admin:registry_modelversion_change", args=[version.pk])

    response = client.post(url, {"status": "RELEASED", "release_notes": "changed"})

    assert response.status_code == 403
    fresh = ModelVersion.objects.get(pk=version.pk)
    assert fresh.status == VersionStatus.REGISTERED
    assert fresh.release_notes == ""
    assert len(steps(version)) == 3


def test_the_status_cannot_be_changed_by_posting_the_change_form(client, provider):
    version = factories.make_draft(provider)
    client.force_login(provider)
    url = reverse("admin:registry_modelversion_change", args=[version.pk])
    page = client.get(url)
    assert "status" not in page.context["adminform"].form.fields
    assert "artifact_sha256" not in page.context["adminform"].form.fields

    data = {
        **change_form_data(page),
        "status": "RELEASED",
        "artifact_sha256": "0" * 64,
        "release_notes": "First cut.",
    }
    response = client.post(url, data)

    assert response.status_code == 302
    fresh = ModelVersion.objects.get(pk=version.pk)
    assert fresh.release_notes == "First cut."  # the form was saved ...
    assert fresh.status == VersionStatus.DRAFT  # ... but not the status
    assert fresh.artifact_sha256 == ""
    assert steps(version) == []


def test_a_submitted_version_is_read_only_on_its_change_page(client, provider, auditor):
    version = factories.make_version_in("SUBMITTED", provider=provider, auditor=auditor)
    client.force_login(provider)
    url = reverse("admin:registry_modelversion_change", args=[version.pk])

    assert client.get(url).status_code == 200
    response = client.post(url, {"release_notes": "Sneaked in after submission."})

    assert response.status_code == 403
    assert ModelVersion.objects.get(pk=version.pk).release_notes == ""


def test_a_refused_service_save_keeps_nothing_and_says_why(client, provider):
    first = factories.make_draft(provider, version="1.0.0")
    second = factories.make_draft(provider, sam=first.sam, version="1.1.0")
    client.force_login(provider)
    url = reverse("admin:registry_modelversion_change", args=[second.pk])
    data = {**change_form_data(client.get(url)), "version": "1.0.0", "release_notes": "Dup."}

    response = client.post(url, data)

    assert response.status_code == 302
    [error] = errors(response)
    assert "Some fields are not valid." in error
    fresh = ModelVersion.objects.get(pk=second.pk)
    assert (fresh.version, fresh.release_notes) == ("1.1.0", "")


def test_a_provider_sees_only_their_organisations_work_in_progress(
    client, provider, other_provider
):
    mine = factories.make_draft(provider)
    other_provider.is_staff = True
    other_provider.save()
    theirs = factories.make_draft(other_provider)
    client.force_login(provider)

    page = client.get(reverse(VERSIONS))

    assert list(page.context["cl"].result_list) == [mine]
    change = client.get(reverse("admin:registry_modelversion_change", args=[theirs.pk]))
    assert change.status_code == 302  # the admin's "does not exist" redirect
    response = act(client, provider, "submit_versions", theirs)
    assert status(theirs) == VersionStatus.DRAFT
    assert errors(response) == []  # an unseen version cannot even be selected


# --- the version page drives the lifecycle ---------------------------------------------------


def test_the_version_page_shows_lifecycle_checklist_audit_record_and_log(
    client, provider, auditor, operator
):
    version = factories.make_version_in("APPROVED", provider=provider, auditor=auditor)
    client.force_login(operator)

    page = client.get(reverse("admin:registry_modelversion_change", args=[version.pk]))

    content = page.content.decode()
    assert '<ol class="stepper" aria-label="Lifecycle, now APPROVED">' in content
    assert '<li class="step current" aria-current="step">' in content
    assert "Checklist" in content
    assert version.approved_sha256 and content.count(version.approved_sha256) >= 2  # row, review
    assert "transition log" in content.lower()
    assert [s["name"] for s in page.context["lifecycle_steps"]] == ["register"]
    assert f'href="{step_url(version, "register")}"' in content
    assert "/static/css/admin.css" in content


def test_an_operator_registers_and_releases_an_approved_version_on_its_page(
    client, provider, auditor, operator
):
    version = factories.make_version_in("APPROVED", provider=provider, auditor=auditor)

    response = step(client, operator, version, "register", access_type="MODEL_FILE")

    assert errors(response) == []
    assert response.url == reverse("admin:registry_modelversion_change", args=[version.pk])
    assert offered_steps(client, operator, version) == ["release"]
    response = step(client, operator, version, "release")
    assert errors(response) == []
    assert (messages.SUCCESS, f"{version} is now Released.") in shown(response)
    assert status(version) == VersionStatus.RELEASED
    assert steps(version)[-2:] == [
        ("APPROVED", "REGISTERED", "operator"),
        ("REGISTERED", "RELEASED", "operator"),
    ]


def test_an_operator_corrects_and_resubmits_a_rejected_version_as_theirs(
    client, provider, auditor, operator
):
    version = factories.make_version_in("REJECTED", provider=provider, auditor=auditor)
    assert offered_steps(client, operator, version) == ["revise"]

    assert errors(step(client, operator, version, "revise")) == []
    assert status(version) == VersionStatus.DRAFT

    # The version's own fields on its page, the model's on the model's page: both services.
    url = reverse("admin:registry_modelversion_change", args=[version.pk])
    page = client.get(url)
    assert page.context["sam_change_url"]
    data = {**change_form_data(page), "release_notes": "Tested on urban cells only."}
    assert client.post(url, data).status_code == 302
    sam_url = reverse("admin:registry_smallaimodel_change", args=[version.sam.pk])
    data = {**change_form_data(client.get(sam_url)), "limitations": "Not tested on rural cells."}
    assert client.post(sam_url, data).status_code == 302
    assert offered_steps(client, operator, version) == ["submit"]
    assert errors(step(client, operator, version, "submit")) == []

    fresh = ModelVersion.objects.select_related("sam").get(pk=version.pk)
    assert fresh.status == VersionStatus.SUBMITTED
    assert fresh.release_notes == "Tested on urban cells only."
    assert fresh.sam.limitations == "Not tested on rural cells."
    assert fresh.submitted_by == operator
    assert steps(version)[-2:] == [
        ("REJECTED", "DRAFT", "operator"),
        ("DRAFT", "SUBMITTED", "operator"),
    ]
    # The operator's work is audited like anyone's: an auditor approves it.
    assert offered_steps(client, auditor, version) == ["approve", "reject"]


def test_an_auditor_approves_with_a_note_on_the_version_page(client, provider, auditor):
    version = factories.make_version_in("SUBMITTED", provider=provider, auditor=auditor)

    response = step(client, auditor, version, "approve", note="Complete; scores plausible.")

    assert errors(response) == []
    assert status(version) == VersionStatus.APPROVED
    log = VersionTransition.objects.get(version=version, name="approve")
    assert (log.actor, log.reason) == (auditor, "Complete; scores plausible.")
    review = AuditReview.objects.get(version=version)
    assert (review.decision, review.artifact_sha256) == ("APPROVED", version.artifact_sha256)


def test_separation_of_duties_holds_on_the_version_page(client, organisation, auditor):
    both = factories.make_user("provider", organisation=organisation, is_staff=True)
    both.groups.add(*auditor.groups.all())
    version = factories.make_draft(both)
    factories.upload(version, both)
    step(client, both, version, "submit")
    assert status(version) == VersionStatus.SUBMITTED

    assert offered_steps(client, both, version) == []
    page = client.get(reverse("admin:registry_modelversion_change", args=[version.pk]))
    assert "separation of duties" in page.context["audit_refusal"]
    response = step(client, both, version, "approve", note="Mine is fine.")

    assert response.status_code == 403
    [error] = errors(response)
    assert error.startswith("You created and uploaded the model file of and submitted this version")
    assert status(version) == VersionStatus.SUBMITTED
    assert not AuditReview.objects.filter(version=version).exists()


def test_a_refused_step_says_who_can_take_the_one_it_needs(client, provider, auditor, operator):
    version = factories.make_version_in("APPROVED", provider=provider, auditor=auditor)

    response = step(client, operator, version, "release")

    assert response.status_code == 409
    assert errors(response) == [
        "Cannot release version 1.0.0: it is APPROVED, and release needs REGISTERED. A provider "
        "of North Operator or an operator must register it first."
    ]
    assert status(version) == VersionStatus.APPROVED


def test_an_operator_cannot_approve_or_reject(client, provider, auditor, operator):
    version = factories.make_version_in("SUBMITTED", provider=provider, auditor=auditor)

    assert offered_steps(client, operator, version) == []
    response = step(client, operator, version, "approve")

    assert errors(response) == ["Only auditors can approve or reject a version."]
    assert status(version) == VersionStatus.SUBMITTED


def test_a_step_on_a_version_the_user_cannot_see_is_not_found(client, provider, other_provider):
    version = factories.make_draft(other_provider)
    client.force_login(provider)

    assert client.get(step_url(version, "submit")).status_code == 404
    assert client.post(step_url(version, "submit")).status_code == 404
    assert client.get(step_url(version, "explode")).status_code == 404
    assert status(version) == VersionStatus.DRAFT


# --- the admin site: branding and the operators' dashboard -----------------------------------


def test_the_admin_is_branded_and_links_to_the_portal_and_the_api_docs(client, operator):
    client.force_login(operator)

    content = client.get(reverse("admin:index")).content.decode()

    assert "<title>Operations | SAM Hub admin</title>" in content
    assert "SAM Hub administration" in content
    assert f'href="{reverse("registry:catalog")}" id="portal-link"' in content
    assert f'href="{reverse("api:docs")}" id="api-docs-link"' in content
    assert f'href="{reverse("admin:dashboard")}"' in content


def test_the_dashboard_shows_where_work_waits(
    client, provider, auditor, operator, consumer, monkeypatch
):
    from config import admin as site
    from sharing import services as sharing_services
    from sharing.models import PackageKind, PackageStatus, VersionPackage

    monkeypatch.setattr(site, "WORKER_PING_TIMEOUT_SECONDS", 0.2)  # no worker runs in this test
    factories.make_version_in("SUBMITTED", provider=provider, auditor=auditor)
    factories.make_draft(provider)
    approval = factories.make_model(provider, approval_required=True)
    released = factories.make_version_in(
        "RELEASED", provider=provider, auditor=auditor, sam=approval
    )
    sharing_services.subscription_request(
        user=consumer, sam=released.sam, method="INFERENCE", purpose="Capacity planning"
    )
    VersionPackage.objects.create(version=released, kind=PackageKind.SDK, requested_by=provider)
    VersionPackage.objects.filter(version=released).update(
        status=PackageStatus.FAILED, error="pip: no network"
    )
    client.force_login(operator)

    page = client.get(reverse("admin:dashboard"))

    assert page.status_code == 200
    states = {s["status"]: s for s in page.context["states"]}
    assert (states["DRAFT"]["count"], states["SUBMITTED"]["count"]) == (1, 1)
    assert states["RELEASED"]["count"] == 1 and states["RELEASED"]["since"] is not None
    assert states["RETIRED"] == {"status": "RETIRED", "label": "Retired", "count": 0, "since": None}
    assert page.context["waiting_count"] == 1
    assert page.context["builds_count"] == 1
    content = page.content.decode()
    assert "pip: no network" in content
    assert page.context["workers"] == []
    assert "No worker answered a ping" in content


def test_only_operators_open_the_dashboard(client, provider):
    client.force_login(provider)

    assert client.get(reverse("admin:dashboard")).status_code == 403
    assert 'id="dashboard-link"' not in client.get(reverse("admin:index")).content.decode()
