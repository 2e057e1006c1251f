"""Admin building blocks every app's admin uses, and the admin of API tokens.

Apps' admins write only through their services: a record is read-only (ReadOnlyAdmin,
ReadOnlyInline), a save calls a service (ServiceWritesMixin), a lifecycle step is an action or a
button that calls one service per object (ServiceActionsMixin). A refusal (DomainError) is shown
as an admin message, written by core.errors.error_text.
"""

from collections.abc import Callable

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse

from core import services
from core.errors import DomainError, error_text
from core.models import ApiToken

ACTION_FORM_TEMPLATE = "admin/action_form.html"


class ServiceWritesMixin:
    """Saves go through a service; a refusal rolls the whole save back and is shown to the user."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            # Raised inside the admin's transaction, so nothing of this save was kept.
            self.message_user(request, error_text(exc), messages.ERROR)
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
                self.message_user(request, f"{obj}: {error_text(exc)}", messages.ERROR)
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


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Operators see every token (never a key, never a digest) and revoke through
    core.services. Tokens are created by their users only."""

    list_display = (
        "name", "user", "prefix", "state", "created_at", "expires_at", "last_used_at", "revoked_at",
    )  # fmt: skip
    list_filter = ("revoked_at", "expires_at")
    search_fields = ("name", "prefix", "user__username")
    list_select_related = ("user",)
    date_hierarchy = "created_at"
    fields = list_display
    readonly_fields = fields
    actions = ("revoke",)

    def has_add_permission(self, request):
        return False  # the key could not be handed over: its owner creates it

    def has_delete_permission(self, request, obj=None):
        return False  # revoked, not deleted: the row says what was refused and since when

    @admin.action(description="Revoke selected API tokens", permissions=["change"])
    def revoke(self, request, queryset):
        for token in queryset.filter(revoked_at__isnull=True).order_by("pk"):
            services.api_token_revoke(user=request.user, token_id=token.pk)
        self.message_user(request, "The selected tokens are revoked.", messages.SUCCESS)
