"""Reads of API tokens."""

from django.contrib.auth.models import User
from django.db.models import QuerySet

from core.models import ApiToken


def api_tokens_of(user: User) -> QuerySet[ApiToken]:
    """The user's tokens, newest first, revoked ones included (the page says which)."""
    return ApiToken.objects.filter(user=user)
