import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

# New keys read `samhub_` + 40 url-safe characters (240 random bits); the marker lets secret
# scanners and people recognise a leaked SAM Hub key.
KEY_MARKER = "samhub_"
KEY_RANDOM_BYTES = 30
# Characters of the key kept in clear to tell tokens apart on the page: the marker and 4 of
# the 40 random characters, far too few to guess the rest.
PREFIX_LENGTH = len(KEY_MARKER) + 4


def key_digest(key: str) -> str:
    """What the database keeps of a key: its sha256. Keys are random, so an unsalted fast
    hash is enough (nothing to brute-force), and a lookup stays one index probe."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return KEY_MARKER + secrets.token_urlsafe(KEY_RANDOM_BYTES)


class TokenState(models.TextChoices):
    ACTIVE = "ACTIVE", "Active"
    EXPIRED = "EXPIRED", "Expired"
    REVOKED = "REVOKED", "Revoked"


class ApiToken(models.Model):
    """A named API credential of a user (`Authorization: Token <key>`), used by scripts and
    external systems reaching SAM Hub through the API broker (ENI SAM clause 6). Only the key's
    digest is stored; the key is shown once, when the token is created."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=16, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # Noted at most once per core.services.LAST_USED_PRECISION: a write per call would cost
    # the reasoning call an UPDATE.
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return TokenState.REVOKED
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return TokenState.EXPIRED
        return TokenState.ACTIVE


class StateChange(models.Model):
    """A logged change of a lifecycle: which transition, who, when and why (the subclass adds
    what changed, from and to). Written by core.transitions.transition_apply."""

    name = models.CharField(max_length=32)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["created_at", "pk"]


class NoticeKind(models.TextChoices):
    """What a notice tells, one kind per event the apps announce (each app's notices.py)."""

    AUDIT_APPROVED = "AUDIT_APPROVED", "Audit passed"
    AUDIT_REJECTED = "AUDIT_REJECTED", "Audit failed"
    SUBMISSION_WAITING = "SUBMISSION_WAITING", "Submission waiting for audit"
    SUBSCRIPTION_REQUESTED = "SUBSCRIPTION_REQUESTED", "Subscription request"
    SUBSCRIPTION_GRANTED = "SUBSCRIPTION_GRANTED", "Subscription granted"
    SUBSCRIPTION_DENIED = "SUBSCRIPTION_DENIED", "Subscription denied"
    SUBSCRIPTION_SUSPENDED = "SUBSCRIPTION_SUSPENDED", "Subscription suspended"
    SUBSCRIPTION_RESUMED = "SUBSCRIPTION_RESUMED", "Subscription resumed"
    SUBSCRIPTION_REVOKED = "SUBSCRIPTION_REVOKED", "Subscription revoked"
    VERSION_DEPRECATED = "VERSION_DEPRECATED", "Version deprecated"
    VERSION_RETIRED = "VERSION_RETIRED", "Version retired"
    PACKAGE_READY = "PACKAGE_READY", "Package ready"
    PACKAGE_FAILED = "PACKAGE_FAILED", "Package build failed"
    TRAINING_FINISHED = "TRAINING_FINISHED", "Training finished"
    TRAINING_FAILED = "TRAINING_FAILED", "Training failed"
    RETRAINED_RELEASED = "RETRAINED_RELEASED", "Retrained version released"


class Notice(models.Model):
    """Something SAM Hub tells one user in their portal inbox (and by e-mail if they want):
    an audit decision, a subscription decision, a finished build or training. Written by
    core.notices.notice_send in the transaction of the change it tells of."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices"
    )
    kind = models.CharField(max_length=32, choices=NoticeKind.choices)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    # A path of the portal where the user acts on the notice (set by SAM Hub, never by users).
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="notice_inbox"),
            # The badge counts a user's unread notices on every page: this keeps it one probe.
            models.Index(
                fields=["user"], condition=models.Q(read_at__isnull=True), name="notice_unread"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} (to {self.user})"


class NoticePreference(models.Model):
    """How a user wants to be told, besides the inbox: by e-mail or not (a user without a row
    has the defaults)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notice_preference"
    )
    email = models.BooleanField(default=True, help_text="Also send notices by e-mail.")

    def __str__(self) -> str:
        return f"Notices of {self.user}: {'e-mail' if self.email else 'inbox only'}"
