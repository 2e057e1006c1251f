"""Django admin of training for operators: read-only records (datasets, and the TS 28.105
training requests, processes and reports); requests and processes are cancelled, suspended
and resumed by changelist actions that call training.services, so the admin obeys the same
state machines and guards as the API."""

from collections.abc import Callable

from django.contrib import admin

from core.admin import ReadOnlyAdmin, ReadOnlyInline, ServiceActionsMixin, ServiceWritesMixin
from training import permissions, services
from training.aimle import clients, computing
from training.models import (
    AimleClient,
    AimleContextTransfer,
    Dataset,
    ExecutionNode,
    MLTrainingProcess,
    MLTrainingProcessEvent,
    MLTrainingReport,
    MLTrainingRequest,
    MLTrainingRequestEvent,
)


@admin.register(Dataset)
class DatasetAdmin(ReadOnlyAdmin):
    list_display = (
        "name", "organisation", "format", "row_count", "quality_score", "size",
        "uploaded_by", "created_at",
    )  # fmt: skip
    list_filter = ("format", "organisation")
    search_fields = ("name", "filename", "sha256", "organisation__name")
    list_select_related = ("organisation", "uploaded_by")
    date_hierarchy = "created_at"


class RequestEventInline(ReadOnlyInline):
    model = MLTrainingRequestEvent
    fields = ("created_at", "name", "source", "target", "actor", "reason")
    readonly_fields = fields
    verbose_name_plural = "requestStatus changes"


class ProcessEventInline(ReadOnlyInline):
    model = MLTrainingProcessEvent
    fields = (
        "created_at", "name", "source", "target", "progress_state_info", "progress_percentage",
        "actor", "reason",
    )  # fmt: skip
    readonly_fields = fields
    verbose_name_plural = "progressStatus changes"


class TrainingActionsMixin(ServiceActionsMixin):
    """Cancel, suspend and resume through training.services, which check each object."""

    def has_manage_permission(self, request) -> bool:
        return permissions.sees_every_training(request.user) and request.user.has_perm(
            f"training.change_{self.model._meta.model_name}"
        )


@admin.register(MLTrainingRequest)
class MLTrainingRequestAdmin(TrainingActionsMixin, ReadOnlyAdmin):
    service_id_kwarg = "request_id"
    list_display = (
        "__str__", "ml_entity", "status", "priority", "training_request_source", "requested_by",
        "created_at",
    )  # fmt: skip
    list_filter = ("status",)
    search_fields = ("ml_entity__sam__name", "training_request_source", "requested_by__username")
    list_select_related = ("ml_entity", "ml_entity__sam", "requested_by")
    date_hierarchy = "created_at"
    inlines = (RequestEventInline,)
    actions = ("cancel_requests", "suspend_requests", "resume_requests")

    @admin.action(description="Cancel selected training requests", permissions=["manage"])
    def cancel_requests(self, request, queryset):
        self._transition(request, queryset, services.training_request_cancel, "Cancelled")

    @admin.action(description="Suspend selected training requests", permissions=["manage"])
    def suspend_requests(self, request, queryset):
        self._transition(request, queryset, services.training_request_suspend, "Suspended")

    @admin.action(description="Resume selected training requests", permissions=["manage"])
    def resume_requests(self, request, queryset):
        self._transition(request, queryset, services.training_request_resume, "Resumed")


@admin.register(MLTrainingProcess)
class MLTrainingProcessAdmin(TrainingActionsMixin, ReadOnlyAdmin):
    service_id_kwarg = "process_id"
    list_display = (
        "__str__", "ml_entity", "status", "progress_state_info", "progress_percentage",
        "priority", "lost_runs", "started_at", "ended_at",
    )  # fmt: skip
    list_filter = ("status", "progress_state_info")
    search_fields = ("ml_entity__sam__name", "result_state_info")
    list_select_related = ("ml_entity", "ml_entity__sam")
    date_hierarchy = "created_at"
    exclude = ("run_id",)
    inlines = (ProcessEventInline,)
    actions = ("cancel_processes", "suspend_processes", "resume_processes")

    @admin.action(description="Cancel selected training processes", permissions=["manage"])
    def cancel_processes(self, request, queryset):
        self._transition(request, queryset, services.training_process_cancel, "Cancelled")

    @admin.action(description="Suspend selected training processes", permissions=["manage"])
    def suspend_processes(self, request, queryset):
        self._transition(request, queryset, services.training_process_suspend, "Suspended")

    @admin.action(description="Resume selected training processes", permissions=["manage"])
    def resume_processes(self, request, queryset):
        self._transition(request, queryset, services.training_process_resume, "Resumed")


@admin.register(MLTrainingReport)
class MLTrainingReportAdmin(ReadOnlyAdmin):
    list_display = (
        "__str__", "ml_entity", "trained_version", "are_consumer_training_data_used",
        "confidence_indication", "created_at",
    )  # fmt: skip
    list_filter = ("are_consumer_training_data_used",)
    list_select_related = ("ml_entity", "ml_entity__sam", "trained_version", "trained_version__sam")
    date_hierarchy = "created_at"


# --- AIMLE (TS 23.482): the client registry, written through training.aimle ------------------


class AimleResourceAdmin(ServiceWritesMixin, admin.ModelAdmin):
    """An organisation's AIMLE resource (client, execution node), registered, changed and
    removed through the services the subclass names; its ID and organisation name the record
    and stay as they are."""

    id_field: str
    updatable: tuple[str, ...]
    # Keyword-only services: (user, organisation, <id_field>, **fields), (user, <id_field>,
    # **fields), (user, <id_field>).
    service_register: Callable
    service_update: Callable
    service_remove: Callable

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return (self.id_field, "organisation", *self.readonly_fields)
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in self.updatable}
        if change:
            key = {self.id_field: getattr(obj, self.id_field)}
            self.service_update(user=request.user, **key, **fields)
            return
        resource = self.service_register(
            user=request.user,
            organisation=form.cleaned_data["organisation"],
            **{self.id_field: form.cleaned_data[self.id_field]},
            **fields,
        )
        obj.pk = resource.pk

    def delete_model(self, request, obj):
        self.service_remove(user=request.user, **{self.id_field: getattr(obj, self.id_field)})

    def delete_queryset(self, request, queryset):
        for resource in queryset.order_by("pk"):
            self.delete_model(request, resource)


@admin.register(AimleClient)
class AimleClientAdmin(AimleResourceAdmin):
    """Operators register, change and remove AIMLE clients; a change of managing server is a
    move (the server left joins the previous managing servers)."""

    list_display = (
        "client_id", "client_set_id", "organisation", "managing_server", "service_area",
        "updated_at",
    )  # fmt: skip
    list_filter = ("organisation", "service_area")
    search_fields = ("client_id", "client_set_id", "managing_server", "service_area")
    list_select_related = ("organisation",)
    readonly_fields = ("previous_managing_servers", "created_at", "updated_at")
    id_field = "client_id"
    updatable = clients.UPDATABLE
    service_register = staticmethod(clients.aimle_client_register)
    service_update = staticmethod(clients.aimle_client_update)
    service_remove = staticmethod(clients.aimle_client_remove)

    def get_queryset(self, request):
        return clients.aimle_clients_visible_to(request.user)


@admin.register(AimleContextTransfer)
class AimleContextTransferAdmin(ReadOnlyAdmin):
    """Contexts as their requestors sent them (training.aimle.context writes them)."""

    list_display = (
        "__str__", "client", "requestor_id", "source_server", "current_managing_server",
        "ml_task", "transferred_by", "created_at",
    )  # fmt: skip
    list_filter = ("ml_task",)
    search_fields = ("client__client_id", "requestor_id", "source_server")
    list_select_related = ("client", "transferred_by")
    date_hierarchy = "created_at"


@admin.register(ExecutionNode)
class ExecutionNodeAdmin(AimleResourceAdmin):
    """Operators register, change and remove the execution nodes offered to hierarchical
    computing."""

    list_display = (
        "node_id", "organisation", "service_area", "capacity", "current_load", "task_types",
        "preparation_status", "updated_at",
    )  # fmt: skip
    list_filter = ("organisation", "service_area", "preparation_status")
    search_fields = ("node_id", "service_area")
    list_select_related = ("organisation",)
    readonly_fields = ("created_at", "updated_at")
    id_field = "node_id"
    updatable = computing.UPDATABLE
    service_register = staticmethod(computing.execution_node_register)
    service_update = staticmethod(computing.execution_node_update)
    service_remove = staticmethod(computing.execution_node_remove)
