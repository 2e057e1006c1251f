"""Django admin of API tokens for operators: see every token (never a key, never a digest)
and revoke through core.services. Tokens are created by their users only."""

from django.contrib import admin, messages

from core import services
from core.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
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
