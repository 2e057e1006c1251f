"""Django admin for operators: browse every registry object, move versions through the lifecycle.

Every write to a model or version goes through registry.services, so the admin obeys the same
state machine, guards and separation of duties as the portal and the API. Lifecycle steps are
changelist actions (select versions, pick an action); the status field and the artifact fields
are never editable here. The transition log and audit reviews are read-only for everyone.
"""

import json
from collections.abc import Callable, Iterable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import flatten_fieldsets
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join

from core import roles
from core.errors import DomainError
from registry import permissions, selectors, services
from registry.checklist import REGISTRATION_FIELDS, version_checklist
from registry.models import (
    AccessType,
    AuditReview,
    ModelPerformance,
    ModelVersion,
    Organisation,
    SmallAIModel,
    Tag,
    VersionStatus,
    VersionTransition,
)

ACTION_FORM_TEMPLATE = "admin/registry/modelversion/action_form.html"


def _error_text(exc: DomainError) -> str:
    """The service's message, followed by its per-field details when it has any."""
    details = exc.details
    if isinstance(details, dict):
        parts = [
            f"{field}: {', '.join(str(p) for p in problems) if isinstance(problems, list) else problems}"
            for field, problems in details.items()
        ]
    elif isinstance(details, list):
        parts = [str(p) for p in details]
    else:
        parts = []
    extra = "; ".join(p for p in parts if p not in exc.message)
    return f"{exc.message} ({extra})" if extra else exc.message


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


class ServiceWritesMixin:
    """Saves go through a service; a refusal rolls the whole save back and is shown to the user."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            # Raised inside the admin's transaction, so nothing of this save was kept.
            self.message_user(request, _error_text(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_related(self, request, form, formsets, change):
        # The service wrote the many-to-many fields; inlines here are read-only.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


class NoWrites:
    """Only services write these records: nobody adds, changes or deletes them in the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ServiceActionsMixin:
    """Admin actions that call one service per selected object and report each outcome."""

    #: The keyword the services take the object's id by, e.g. "version_id".
    service_id_kwarg: str

    def _transition(self, request, queryset, service: Callable, done: str, **kwargs) -> None:
        changed = []
        for obj in queryset.order_by("pk"):
            try:
                service(**{self.service_id_kwarg: obj.pk}, user=request.user, **kwargs)
            except DomainError as exc:
                self.message_user(request, f"{obj}: {_error_text(exc)}", messages.ERROR)
            else:
                changed.append(str(obj))
        if changed:
            self.message_user(request, f"{done}: {', '.join(changed)}.", messages.SUCCESS)

    def _action_page(self, request, queryset, *, action: str, title: str, submit: str, **extra):
        """The intermediate page that asks for what an action needs (a reason, findings)."""
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "subtitle": None,
            "opts": self.model._meta,
            "queryset": queryset.order_by("pk"),
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "submit_label": submit,
            **extra,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, ACTION_FORM_TEMPLATE, context)


class ReadOnlyAdmin(NoWrites, admin.ModelAdmin):
    """A record that only services write."""


class ReadOnlyInline(NoWrites, admin.TabularInline):
    """Part of the parent's record, shown read-only to whoever may see the parent."""

    extra = 0
    can_delete = False

    def has_view_permission(self, request, obj=None):
        return self.admin_site.get_model_admin(self.parent_model).has_view_permission(request, obj)


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
    verbose_name_plural = "transition history"

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


class RejectForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Why the version fails the audit; the provider sees it.",
    )


class FindingForm(forms.Form):
    field = forms.ChoiceField(choices=[("", "---------"), *REGISTRATION_FIELDS.items()])
    message = forms.CharField(widget=forms.TextInput(attrs={"size": 60}))


FindingFormSet = forms.formset_factory(FindingForm, extra=2, min_num=1, validate_min=True)


class RegisterForm(forms.Form):
    access_type = forms.ChoiceField(choices=AccessType.choices)
    endpoint_url = forms.URLField(
        required=False,
        assume_scheme="https",
        help_text="Only for an external inference endpoint.",
    )


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
    actions = (
        "submit_versions",
        "approve_versions",
        "reject_versions",
        "revise_versions",
        "register_versions",
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

    def has_register_permission(self, request) -> bool:
        return request.user.has_perm("registry.register_modelversion")

    def has_release_permission(self, request) -> bool:
        return request.user.has_perm("registry.release_modelversion")

    def has_retire_permission(self, request) -> bool:
        return request.user.has_perm("registry.retire_modelversion")

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in self.editable_fields}
        services.version_update(version_id=obj.pk, user=request.user, **fields)

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
        description="Reject selected versions (reason and findings)…", permissions=["audit"]
    )
    def reject_versions(self, request, queryset):
        data = request.POST if "apply" in request.POST else None
        form = RejectForm(data)
        findings = FindingFormSet(data, prefix="findings")
        if data is not None and form.is_valid() and findings.is_valid():
            self._transition(
                request,
                queryset,
                services.version_reject,
                "Rejected",
                reason=form.cleaned_data["reason"],
                findings=[
                    {"field": f.cleaned_data["field"], "message": f.cleaned_data["message"]}
                    for f in findings
                    if f.cleaned_data
                ],
            )
            return None
        return self._action_page(
            request,
            queryset,
            action="reject_versions",
            title="Reject versions",
            submit="Reject",
            form=form,
            formset=findings,
            formset_title="Findings: the fields that fail and why",
        )

    @admin.action(
        description="Revise selected rejected versions (back to draft)", permissions=["change"]
    )
    def revise_versions(self, request, queryset):
        self._transition(request, queryset, services.version_revise, "Back to draft")

    @admin.action(description="Register selected versions (access type)…", permissions=["register"])
    def register_versions(self, request, queryset):
        data = request.POST if "apply" in request.POST else None
        form = RegisterForm(data)
        if data is not None and form.is_valid():
            self._transition(
                request,
                queryset,
                services.version_register,
                "Registered",
                access_type=form.cleaned_data["access_type"],
                endpoint_url=form.cleaned_data["endpoint_url"],
            )
            return None
        return self._action_page(
            request,
            queryset,
            action="register_versions",
            title="Register versions",
            submit="Register",
            form=form,
        )

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
