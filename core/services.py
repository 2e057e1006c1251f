"""Writes of API tokens: create (the only moment the key exists in clear), revoke, and the
throttled note of when a token was last used."""

import math
import time
from datetime import timedelta

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.errors import DomainError
from core.models import PREFIX_LENGTH, ApiToken, key_digest, new_key

# Longest lifetime a token may be given, and how stale `last_used_at` may get: it is written
# at most once per period per token, never on every call.
MAX_LIFETIME_DAYS = 3650
LAST_USED_PRECISION = timedelta(hours=1)
# Who may revoke other people's tokens (operators, in the admin).
REVOKE_ANY = "core.change_apitoken"
# When this process last noted each token's use (time.monotonic(), by digest).
_noted_at: dict[str, float] = {}


@transaction.atomic
def api_token_create(
    *, user: User, name: str, expires_in_days: int | None = None
) -> tuple[ApiToken, str]:
    """A new token of `user` and its key. The key is returned here only: the database keeps
    its sha256, so it can be checked but never shown again."""
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_LIFETIME_DAYS:
        raise DomainError(
            f"A token lives from 1 to {MAX_LIFETIME_DAYS} days, or without expiry.",
            details={"expires_in_days": ["out of range"]},
        )
    key = new_key()
    now = timezone.now()
    token = ApiToken(
        user=user,
        name=name.strip(),
        digest=key_digest(key),
        prefix=key[:PREFIX_LENGTH],
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    try:
        # The digest's uniqueness is the database's to enforce: 240 random bits do not collide.
        token.full_clean(exclude=["digest", "prefix"], validate_unique=False)
    except ValidationError as exc:
        raise DomainError(
            "Some fields are not valid.", code="invalid", details=exc.message_dict
        ) from None
    token.save()
    return token, key


@transaction.atomic
def api_token_revoke(*, user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's tokens (operators: anyone's); it is refused from the next
    request on. Revoking a revoked token changes nothing."""
    token = ApiToken.objects.select_for_update().filter(pk=token_id).first()
    if token is None or (token.user_id != user.pk and not user.has_perm(REVOKE_ANY)):
        # The same answer for someone else's token as for none: ids reveal nothing.
        raise DomainError("No such API token.", code="not_found", status=404)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_token_used(*, token_id: int, digest: str) -> None:
    """Note that the token was used now, at most once per LAST_USED_PRECISION per process:
    this process's memory says whether a note is due, so a request costs no statement for it;
    the UPDATE's condition keeps several processes from writing the note more than once."""
    moment = time.monotonic()
    # Keyed by the digest, which is never reused (ids are, e.g. after a rollback).
    if moment - _noted_at.get(digest, -math.inf) < LAST_USED_PRECISION.total_seconds():
        return
    _noted_at[digest] = moment
    now = timezone.now()
    ApiToken.objects.filter(pk=token_id).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_PRECISION)
    ).update(last_used_at=now)
