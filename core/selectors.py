"""Reads of API tokens and notices."""

from django.contrib.auth.models import User
from django.db.models import QuerySet

from core.models import ApiToken, Notice


def api_tokens_of(user: User) -> QuerySet[ApiToken]:
    """The user's tokens, newest first, revoked ones included (the page says which)."""
    return ApiToken.objects.filter(user=user)


def notices_of(user: User) -> QuerySet[Notice]:
    """The user's notices, newest first: only their own, ever."""
    return Notice.objects.filter(user=user)


def unread_notices_of(user: User) -> QuerySet[Notice]:
    """What the badge in the navigation counts."""
    return Notice.objects.filter(user=user, read_at__isnull=True)
