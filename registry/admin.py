"""Django admin for operators: browse every registry object, move versions through the lifecycle.

Every write to a model or version goes through registry.services, so the admin obeys the same
state machine, guards and separation of duties as the portal and the API. A version's change
page shows its lifecycle and a button for each step the signed-in user may take now
(registry.selectors.version_available_actions, the guards the services check), each with the
portal's form for what the step needs; the changelist offers the steps that need nothing as
actions on many versions at once. The status field and the artifact fields are never editable
here. The transition log and audit reviews are read-only for everyone.
"""

import json
from collections.abc import Iterable

from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import PermissionDenied
from django.forms import Form
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from core import roles
from core.admin import (
    ReadOnlyAdmin,
    ReadOnlyInline,
    ServiceActionsMixin,
    ServiceWritesMixin,
)
from core.errors import DomainError, error_text
from core.forms import ReasonForm
from registry import forms, permissions, selectors, services
from registry.checklist import REGISTRATION_FIELDS, version_checklist
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

STEP_TEMPLATE = "admin/registry/modelversion/step.html"
# The version page's buttons: each lifecycle step, its label and the service that takes it.
STEPS = {
    "submit": ("Submit for audit", services.version_submit),
    "approve": ("Approve", services.version_approve),
    "reject": ("Reject", services.version_reject),
    "revise": ("Revise (back to DRAFT to correct it)", services.version_revise),
    "register": ("Register", services.version_register),
    "release": ("Release into the catalog", services.version_release),
    "deprecate": ("Deprecate", services.version_deprecate),
    "retire": ("Retire", services.version_retire),
}


def _checklist_table(items: Iterable[dict]) -> str:
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                item.get("label") or item.get("field", ""),
                "OK" if item.get("ok") else "Not met",
                "required" if item.get("required") else "optional",
                item.get("message", ""),
            )
            for item in items
        ),
    )
    return format_html(
        "<table><thead><tr><th>Field</th><th>Result</th><th>Required</th><th>Message</th></tr>"
        "</thead><tbody>{}</tbody></table>",
        rows,
    )


def _json_block(value) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True))


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "member_count")
    search_fields = ("name", "slug", "members__username")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("members",)

    @admin.display(description="Members")
    def member_count(self, obj: Organisation) -> int:
        return obj.members.count()


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "model_count")
    search_fields = ("name",)

    @admin.display(description="Models")
    def model_count(self, obj: Tag) -> int:
        return obj.models.count()


class VersionInline(ReadOnlyInline):
    model = ModelVersion
    fields = ("version", "status", "access_type", "artifact_format", "submitted_by", "updated_at")
    readonly_fields = fields
    show_change_link = True
    ordering = ("-created_at",)


@admin.register(SmallAIModel)
class SmallAIModelAdmin(ServiceWritesMixin, admin.ModelAdmin):
    list_display = (
        "name",
        "organisation",
        "inference_type",
        "inference_name",
        "domain",
        "region",
        "tag_list",
        "updated_at",
    )
    list_filter = ("inference_type", "organisation", "domain", "region", "tags")
    search_fields = (
        "name",
        "slug",
        "description",
        "inference_name",
        "domain",
        "scenario",
        "tags__name",
    )
    filter_horizontal = ("tags",)
    fieldsets = (
        (None, {"fields": ("name", "slug", "organisation", "description")}),
        (
            "Categorisation",
            {
                "fields": (
                    "inference_type",
                    "inference_name",
                    "domain",
                    "region",
                    "scenario",
                    "tags",
                )
            },
        ),
        ("Use", {"fields": ("licence", "intended_use", "limitations")}),
        ("Sharing", {"fields": ("approval_required",)}),
        ("Record", {"fields": ("created_by", "created_at", "updated_at")}),
    )
    readonly_fields = ("slug", "organisation", "created_by", "created_at", "updated_at")
    inlines = (VersionInline,)

    def get_queryset(self, request):
        return selectors.models_visible_to(request.user)

    def get_readonly_fields(self, request, obj=None):
        # Audited fields are shown read-only while the audit covers them (services.sam_update
        # refuses a change to them anyway).
        if obj is not None and selectors.sam_audit_freeze(obj):
            return (*self.readonly_fields, *services.AUDITED_SAM_FIELDS, "tags")
        return self.readonly_fields

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        frozen = selectors.sam_audit_freeze(obj) if obj is not None else None
        if frozen and request.method == "GET":
            self.message_user(request, frozen, messages.WARNING)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def has_add_permission(self, request):
        # Providers sign models in through the portal or the API, for their own organisation.
        return False

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return super().has_change_permission(request)
        return permissions.can_edit_model(obj, request.user)

    def save_model(self, request, obj, form, change):
        # Fields shown read-only (frozen by the audit) are not in the form: leave them alone.
        fields = {
            name: form.cleaned_data[name]
            for name in services.SAM_FIELDS
            if name in form.cleaned_data
        }
        tags = (
            [tag.name for tag in form.cleaned_data["tags"]] if "tags" in form.cleaned_data else None
        )
        services.sam_update(sam=obj, user=request.user, tags=tags, **fields)

    @admin.display(description="Tags")
    def tag_list(self, obj: SmallAIModel) -> str:
        return ", ".join(tag.name for tag in obj.tags.all())


class PerformanceInline(ReadOnlyInline):
    model = ModelPerformance
    fields = (
        "inference_output_name",
        "performance_metric",
        "performance_score",
        "decision_confidence_score",
    )
    readonly_fields = fields


class TransitionInline(ReadOnlyInline):
    model = VersionTransition
    fields = ("created_at", "name", "source", "target", "actor", "reason")
    readonly_fields = fields
    verbose_name_plural = "transition log"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


class ReviewInline(ReadOnlyInline):
    model = AuditReview
    fields = ("created_at", "auditor", "decision", "artifact_sha256", "reason", "finding_list")
    readonly_fields = fields

    @admin.display(description="Findings")
    def finding_list(self, obj: AuditReview) -> str:
        return _findings_list(obj.findings)


def _findings_list(findings: list[dict]) -> str:
    if not findings:
        return "-"
    return format_html(
        "<ul>{}</ul>",
        format_html_join(
            "",
            "<li><strong>{}</strong>: {}</li>",
            (
                (REGISTRATION_FIELDS.get(f.get("field"), f.get("field")), f.get("message", ""))
                for f in findings
            ),
        ),
    )


def _step_forms(step: str, data) -> tuple[Form | None, forms.FindingFormSet | None]:
    """The portal's forms for what a step needs: a note, a reason and findings, an access type."""
    if step == "approve":
        return forms.ApproveForm(data), None
    if step == "reject":
        return forms.RejectForm(data), forms.FindingFormSet(data, prefix="findings")
    if step == "register":
        return forms.RegisterForm(data), None
    if step in ("deprecate", "retire"):
        return ReasonForm(data), None
    return None, None


def _step_arguments(step: str, form: Form | None, findings) -> dict:
    """The service's arguments from the step's valid forms."""
    if step == "approve":
        return {"reason": form.cleaned_data["note"]}
    if step == "reject":
        return {"reason": form.cleaned_data["reason"], "findings": findings.findings()}
    if step == "register":
        return {
            "access_type": form.cleaned_data["access_type"],
            "endpoint_url": form.cleaned_data["endpoint_url"],
        }
    if step in ("deprecate", "retire"):
        return {"reason": form.cleaned_data["reason"]}
    return {}


@admin.register(ModelVersion)
class ModelVersionAdmin(ServiceActionsMixin, ServiceWritesMixin, admin.ModelAdmin):
    service_id_kwarg = "version_id"
    list_display = (
        "sam",
        "version",
        "status",
        "organisation",
        "access_type",
        "artifact_format",
        "submitted_by",
        "updated_at",
    )
    list_filter = ("status", "access_type", "artifact_format", "sam__organisation")
    search_fields = (
        "sam__name",
        "sam__slug",
        "version",
        "sam__organisation__name",
        "submitted_by__username",
    )
    list_select_related = ("sam", "sam__organisation", "submitted_by")
    fieldsets = (
        (None, {"fields": ("sam", "version", "status", "parent", "release_notes")}),
        ("Training", {"fields": ("training_context",)}),
        (
            "Audit",
            {"fields": ("audit_checklist", "submitted_by", "submitted_at", "approved_sha256")},
        ),
        ("Access", {"fields": ("access_type", "endpoint_url", "released_at", "deprecated_at")}),
        (
            "Artifact",
            {
                "fields": (
                    "warehouse_file",
                    "artifact_filename",
                    "artifact_format",
                    "artifact_sha256",
                    "artifact_size",
                    "artifact_uploaded_by",
                    "artifact_loaded_bytes",
                    "artifact_peak_memory",
                    "io_signature",
                )
            },
        ),
        ("Record", {"fields": ("created_by", "created_at", "updated_at")}),
    )
    # Only these change outside the lifecycle, and only while the version is a DRAFT.
    editable_fields = services.VERSION_FIELDS
    inlines = (PerformanceInline, ReviewInline, TransitionInline)
    # Steps that need nothing but the decision, on many versions at once; the version page has
    # a button for every step, with the form of what it needs (findings, access type...).
    actions = (
        "submit_versions",
        "approve_versions",
        "revise_versions",
        "release_versions",
        "deprecate_versions",
        "retire_versions",
    )

    def get_queryset(self, request):
        return selectors.versions_visible_to(request.user)

    def get_readonly_fields(self, request, obj=None):
        shown = flatten_fieldsets(self.get_fieldsets(request, obj))
        return [name for name in shown if name not in self.editable_fields]

    def has_add_permission(self, request):
        # Versions are started in the portal or the API, where the provider gives its files.
        return False

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return super().has_change_permission(request)
        return obj.status == VersionStatus.DRAFT and permissions.can_edit_version(obj, request.user)

    def has_submit_permission(self, request) -> bool:
        return request.user.has_perm("registry.submit_modelversion")

    def has_audit_permission(self, request) -> bool:
        return request.user.has_perm(roles.AUDIT)

    def has_release_permission(self, request) -> bool:
        return request.user.has_perm("registry.release_modelversion")

    def has_retire_permission(self, request) -> bool:
        return request.user.has_perm("registry.retire_modelversion")

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in self.editable_fields}
        services.version_update(version_id=obj.pk, user=request.user, **fields)

    def get_urls(self):
        step = path(
            "<path:object_id>/step/<str:step>/",
            self.admin_site.admin_view(self.step_view),
            name="registry_modelversion_step",
        )
        return [step, *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        version = self.get_object(request, unquote(object_id))
        if version is not None:
            extra_context = {**(extra_context or {}), **self._lifecycle_context(request, version)}
        return super().change_view(request, object_id, form_url, extra_context)

    def _lifecycle_context(self, request, version: ModelVersion) -> dict:
        """The stepper, a button per step the user may take now, and why an auditor may not
        audit this version (separation of duties), for the change page."""
        user = request.user
        steps = [
            {
                "name": name,
                "label": STEPS[name][0],
                "url": reverse("admin:registry_modelversion_step", args=[version.pk, name]),
            }
            for name in selectors.version_available_actions(version, user)
        ]
        refusal = (
            permissions.audit_refusal(version, user)
            if version.status == VersionStatus.SUBMITTED and permissions.is_auditor(user)
            else None
        )
        sam_url = (
            reverse("admin:registry_smallaimodel_change", args=[version.sam_id])
            if version.status == VersionStatus.DRAFT
            and permissions.can_edit_model(version.sam, user)
            else None
        )
        return {"lifecycle_steps": steps, "audit_refusal": refusal, "sam_change_url": sam_url}

    def step_view(self, request, object_id: str, step: str):
        """One lifecycle step of one version: its form on GET, the service on POST."""
        version = self.get_object(request, unquote(object_id))
        if version is None or step not in STEPS:
            raise Http404("No such version or step.")
        if not self.has_view_permission(request, version):
            raise PermissionDenied
        label, service = STEPS[step]
        data = request.POST if request.method == "POST" else None
        form, findings = _step_forms(step, data)
        status = 200
        if data is not None and all(f.is_valid() for f in (form, findings) if f is not None):
            try:
                version = service(
                    version_id=version.pk,
                    user=request.user,
                    **_step_arguments(step, form, findings),
                )
            except DomainError as exc:
                self.message_user(
                    request, error_text(exc, labels=REGISTRATION_FIELDS), messages.ERROR
                )
                status = exc.status
            else:
                self.message_user(
                    request, f"{version} is now {version.get_status_display()}.", messages.SUCCESS
                )
                return HttpResponseRedirect(
                    reverse("admin:registry_modelversion_change", args=[version.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": f"{label}: {version}",
            "subtitle": None,
            "opts": self.model._meta,
            "original": version,
            "step": step,
            "label": label,
            "form": form,
            "formset": findings,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, STEP_TEMPLATE, context, status=status)

    @admin.display(description="Organisation", ordering="sam__organisation__name")
    def organisation(self, obj: ModelVersion) -> Organisation:
        return obj.sam.organisation

    @admin.display(description="Checklist")
    def audit_checklist(self, obj: ModelVersion) -> str:
        return _checklist_table(item.as_dict() for item in version_checklist(obj))

    @admin.display(description="Artifact")
    def warehouse_file(self, obj: ModelVersion) -> str:
        # The storage name only: downloads go through the access-checked portal and API.
        return obj.artifact.name or "-"

    @admin.display(description="Input/output signature")
    def io_signature(self, obj: ModelVersion) -> str:
        return _json_block(obj.signature) if obj.signature else "-"

    @admin.action(description="Submit selected versions for audit", permissions=["submit"])
    def submit_versions(self, request, queryset):
        self._transition(request, queryset, services.version_submit, "Submitted for audit")

    @admin.action(description="Approve selected versions", permissions=["audit"])
    def approve_versions(self, request, queryset):
        self._transition(request, queryset, services.version_approve, "Approved")

    @admin.action(
        description="Revise selected rejected versions (back to draft)", permissions=["change"]
    )
    def revise_versions(self, request, queryset):
        self._transition(request, queryset, services.version_revise, "Back to draft")

    @admin.action(description="Release selected versions into the catalog", permissions=["release"])
    def release_versions(self, request, queryset):
        self._transition(request, queryset, services.version_release, "Released")

    @admin.action(description="Deprecate selected versions", permissions=["retire"])
    def deprecate_versions(self, request, queryset):
        self._transition(request, queryset, services.version_deprecate, "Deprecated")

    @admin.action(description="Retire selected versions", permissions=["retire"])
    def retire_versions(self, request, queryset):
        self._transition(request, queryset, services.version_retire, "Retired")


@admin.register(ModelPerformance)
class ModelPerformanceAdmin(ReadOnlyAdmin):
    """Scores are written with their version (services.version_create / version_update)."""

    list_display = (
        "version",
        "inference_output_name",
        "performance_metric",
        "performance_score",
        "decision_confidence_score",
    )
    list_filter = ("performance_metric",)
    search_fields = ("version__sam__name", "inference_output_name", "performance_metric")

    def get_queryset(self, request):
        visible = selectors.versions_visible_to(request.user).values("pk")
        return (
            super().get_queryset(request).filter(version__in=visible).select_related("version__sam")
        )


@admin.register(VersionTransition)
class VersionTransitionAdmin(ReadOnlyAdmin):
    list_display = ("version", "name", "source", "target", "actor", "created_at", "reason")
    list_filter = ("name", "source", "target")
    search_fields = ("version__sam__name", "version__version", "actor__username", "reason")
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        visible = selectors.versions_visible_to(request.user).values("pk")
        return (
            super()
            .get_queryset(request)
            .filter(version__in=visible)
            .select_related("version__sam", "actor")
        )


@admin.register(AuditReview)
class AuditReviewAdmin(ReadOnlyAdmin):
    list_display = ("version", "decision", "auditor", "created_at", "finding_count")
    list_filter = ("decision", "version__sam__organisation")
    search_fields = ("version__sam__name", "version__version", "auditor__username", "reason")
    fields = (
        "version",
        "auditor",
        "decision",
        "created_at",
        "reason",
        "artifact_sha256",
        "finding_list",
        "checklist_table",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        visible = selectors.versions_visible_to(request.user).values("pk")
        return (
            super()
            .get_queryset(request)
            .filter(version__in=visible)
            .select_related("version__sam", "auditor")
        )

    @admin.display(description="Findings")
    def finding_count(self, obj: AuditReview) -> int:
        return len(obj.findings)

    @admin.display(description="Findings")
    def finding_list(self, obj: AuditReview) -> str:
        return _findings_list(obj.findings)

    @admin.display(description="Checklist as the auditor saw it")
    def checklist_table(self, obj: AuditReview) -> str:
        return _checklist_table(obj.checklist) if obj.checklist else "-"
