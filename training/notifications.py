"""ProvMnS notifications about the training MOIs (TS 28.105 §7.6.1: notifyMOICreation,
notifyMOIDeletion, notifyMOIAttributeValueChanges and notifyEvent of TS 28.532), to the
recipients of NtfSubscriptionControl subscriptions (TS 28.623), and the services that make
and delete those subscriptions.

**Where changes are seen.** Every change of `requestStatus` and `progressStatus` is written as
an event row (MLTrainingRequestEvent, MLTrainingProcessEvent; training.services), so this
module listens there, once (post_save of the event tables, connected in TrainingConfig.ready):
an event that creates an object is a notifyMOICreation, one that changes a notifiable
attribute (requestStatus, progressStatus, the §7.5 flags) a notifyMOIAttributeValueChanges,
and a process that fails, loses its worker or pauses also gets a notifyEvent. A report is
announced when the transaction that wrote it commits (its used datasets are set after the
row); a deleted request, process or report just before its row goes (pre_delete).

**Outbox.** The notification rows (MOINotification, one per recipient) are written in the
transaction of the change, so a change that rolls back notifies nobody, and their delivery
tasks are queued when it commits. A recipient gets a notification only when its subscription's
notificationTypes and scope cover it and its owner may see the object (training.selectors).

**Delivery.** notification_deliver() POSTs once (core.callbacks, to an address core.outbound
allows), records the attempt, and on failure queues the next attempt after
SAMHUB_CALLBACK_BACKOFF_SECONDS × 2^(attempt−1), until SAMHUB_CALLBACK_ATTEMPTS attempts
have failed: then the notification is FAILED with the last error.
"""

import logging
import re
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models.signals import post_save, pre_delete
from django.utils import timezone

from core.callbacks import Attempt, callback_post, callback_retry_delay
from core.errors import DomainError
from core.outbound import OutboundRefused, outbound_addresses
from core.roles import is_operator
from training import selectors
from training.models import (
    DeliveryStatus,
    MLTrainingFunction,
    MLTrainingProcess,
    MLTrainingProcessEvent,
    MLTrainingReport,
    MLTrainingRequest,
    MLTrainingRequestEvent,
    MOINotification,
    MOINotificationAttempt,
    NotificationType,
    NtfSubscription,
    ProcessStatus,
    RequestStatus,
    ScopeType,
)
from training.provmns import resources

logger = logging.getLogger(__name__)

# Levels below the subscription's base, SubNetwork=1 (level 0): the training function (1) and
# the requests, processes and reports it contains (2).
LEVEL = {
    MLTrainingFunction: 1,
    MLTrainingRequest: 2,
    MLTrainingProcess: 2,
    MLTrainingReport: 2,
}
SUBSCRIPTION_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
SUBSCRIPTION_ATTRIBUTES = {
    "notificationRecipientAddress",
    "notificationTypes",
    "scope",
    "notificationFilter",
}
# The §7.5 flags an event's transition sets, as (attribute, new value).
REQUEST_FLAGS = {
    "cancel": ("cancelRequest", True),
    "suspend": ("suspendRequest", True),
    "resume": ("suspendRequest", False),
}
PROCESS_FLAGS = {
    "cancel": ("cancelProcess", True),
    "suspend": ("suspendProcess", True),
    "resume": ("suspendProcess", False),
}
# Process events that are told as a notifyEvent too: specificProblem and what it means.
PROCESS_PROBLEMS = {
    "fail": "TRAINING_FAILED",
    "lost": "TRAINING_WORKER_LOST",
    "pause": "TRAINING_PAUSED",
}


# --- subscriptions (NtfSubscriptionControl) --------------------------------------------------


def ntf_subscriptions_visible_to(user: User):
    subscriptions = NtfSubscription.objects.select_related("owner")
    if is_operator(user):
        return subscriptions
    return subscriptions.filter(owner=user)


def ntf_subscription_visible_to(user: User, moi_id: str) -> NtfSubscription:
    try:
        return ntf_subscriptions_visible_to(user).get(moi_id=moi_id)
    except NtfSubscription.DoesNotExist:
        raise DomainError(
            f"There is no NtfSubscriptionControl={moi_id} that you can see.",
            code="not_found",
            status=404,
        ) from None


def _bad(message: str, attribute: str) -> DomainError:
    return DomainError(message + " Nothing was stored.", details={attribute: [message]})


def _recipient_clean(address) -> str:
    if not isinstance(address, str) or not address.strip():
        raise _bad(
            "notificationRecipientAddress is required: the http(s) URI notifications are "
            "POSTed to.",
            "notificationRecipientAddress",
        )
    address = address.strip()
    if len(address) > 2000:
        raise _bad(
            "notificationRecipientAddress is over 2000 characters.", "notificationRecipientAddress"
        )
    try:
        outbound_addresses(address)
    except OutboundRefused as exc:
        raise _bad(f"notificationRecipientAddress: {exc}", "notificationRecipientAddress") from None
    return address


def _types_clean(types) -> list[str]:
    if types is None:
        return []
    known = list(NotificationType.values)
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise _bad("notificationTypes is a list of notification type names.", "notificationTypes")
    unknown = [t for t in types if t not in known]
    if unknown:
        raise _bad(
            f"notificationTypes: SAM Hub sends {', '.join(known)}; not {', '.join(unknown)}.",
            "notificationTypes",
        )
    return list(dict.fromkeys(types))


def _scope_clean(scope) -> tuple[str, int | None]:
    if scope is None:
        return ScopeType.BASE_ALL, None
    if not isinstance(scope, dict) or set(scope) - {"scopeType", "scopeLevel"}:
        raise _bad(
            "scope is {scopeType, scopeLevel} (a dataNodeSelector is not supported).", "scope"
        )
    scope_type = scope.get("scopeType", ScopeType.BASE_ALL)
    level = scope.get("scopeLevel")
    if scope_type not in ScopeType.values:
        raise _bad(f"scope.scopeType is one of {', '.join(ScopeType.values)}.", "scope")
    if level is not None and (isinstance(level, bool) or not isinstance(level, int) or level < 0):
        raise _bad("scope.scopeLevel is a whole number from 0.", "scope")
    if scope_type == ScopeType.BASE_NTH_LEVEL and level is None:
        raise _bad("scope.scopeLevel is required with BASE_NTH_LEVEL.", "scope")
    return scope_type, level


def ntf_subscription_put(*, user: User, moi_id: str, attributes) -> tuple[NtfSubscription, bool]:
    """Create or replace the subscription NtfSubscriptionControl=`moi_id` (PUT): where to
    POST (an http(s) address that core.outbound allows), which notificationTypes (none: all)
    and which scope below SubNetwork=1 (default BASE_ALL). notificationFilter is refused: SAM
    Hub does not evaluate Jex filters. Returns (subscription, created)."""
    if not isinstance(moi_id, str) or not SUBSCRIPTION_ID.match(moi_id):
        raise DomainError(
            "The id of an NtfSubscriptionControl is 1 to 64 letters, digits, '_', '.' or '-'.",
            details={"id": ["1-64 of A-Z a-z 0-9 _ . -"]},
        )
    if not isinstance(attributes, dict):
        raise _bad("attributes is an object.", "attributes")
    unknown = sorted(set(attributes) - SUBSCRIPTION_ATTRIBUTES)
    if unknown:
        raise DomainError(
            f"NtfSubscriptionControl has no attribute {', '.join(unknown)}; nothing was stored.",
            details={name: ["unknown attribute"] for name in unknown},
        )
    if attributes.get("notificationFilter") not in (None, ""):
        raise _bad(
            "notificationFilter (a Jex expression) is not supported; use notificationTypes "
            "and scope.",
            "notificationFilter",
        )
    fields = {
        "notification_recipient_address": _recipient_clean(
            attributes.get("notificationRecipientAddress")
        ),
        "notification_types": _types_clean(attributes.get("notificationTypes")),
    }
    fields["scope_type"], fields["scope_level"] = _scope_clean(attributes.get("scope"))
    with transaction.atomic():
        existing = NtfSubscription.objects.select_for_update().filter(moi_id=moi_id).first()
        if existing is not None:
            if existing.owner_id != user.pk and not is_operator(user):
                raise DomainError.conflict(
                    f"NtfSubscriptionControl={moi_id} exists and is not yours; choose another id."
                )
            for name, value in fields.items():
                setattr(existing, name, value)
            existing.save()
            return existing, False
        try:
            with transaction.atomic():
                created = NtfSubscription.objects.create(moi_id=moi_id, owner=user, **fields)
        except IntegrityError:
            raise DomainError.conflict(
                f"NtfSubscriptionControl={moi_id} was made meanwhile; choose another id."
            ) from None
    return created, True


def ntf_subscription_delete(*, user: User, moi_id: str) -> None:
    """Delete a subscription (its owner or an operator): nothing more is sent to it, and its
    notifications still pending are not retried (their record stays)."""
    subscription = ntf_subscription_visible_to(user, moi_id)
    subscription.delete()


# --- what is notified, to whom ----------------------------------------------------------------


def _covers(subscription: NtfSubscription, obj) -> bool:
    level = LEVEL[type(obj)]
    limit = subscription.scope_level
    return {
        ScopeType.BASE_ONLY: level == 0,
        ScopeType.BASE_NTH_LEVEL: level == limit,
        ScopeType.BASE_SUBTREE: limit is None or level <= limit,
        ScopeType.BASE_ALL: True,
    }[subscription.scope_type]


def _visible(obj, user: User) -> bool:
    queryset = {
        MLTrainingRequest: selectors.training_requests_visible_to,
        MLTrainingProcess: selectors.training_processes_visible_to,
        MLTrainingReport: selectors.training_reports_visible_to,
    }[type(obj)](user)
    return queryset.filter(pk=obj.pk).exists()


def _recipients(notification_type: str, obj) -> list[NtfSubscription]:
    return [
        s
        for s in NtfSubscription.objects.select_related("owner").order_by("pk")
        if (not s.notification_types or notification_type in s.notification_types)
        and _covers(s, obj)
        and s.owner.is_active
        and _visible(obj, s.owner)
    ]


def _notify(notification_type: str, obj, fields: dict, *, when=None) -> list[int]:
    """Write one notification per recipient (in the caller's transaction) and queue their
    delivery when it commits."""
    recipients = _recipients(notification_type, obj)
    if not recipients:
        return []
    when = when or timezone.now()
    body = {
        "href": resources.href(obj.dn),
        "notificationType": notification_type,
        "eventTime": when.isoformat(),
        "systemDN": resources.FUNCTION_DN,
        # TS 28.105 §7.6.1: the header's objectClass/objectInstance name the MOI.
        "objectClass": resources.class_of(obj),
        "objectInstance": obj.dn,
        **fields,
    }
    rows = MOINotification.objects.bulk_create(
        MOINotification(
            subscription=s,
            recipient_address=s.notification_recipient_address,
            notification_type=notification_type,
            object_instance=obj.dn,
            body=body,
            event_time=when,
        )
        for s in recipients
    )
    ids = [row.pk for row in rows]
    if None in ids:  # a backend that does not return ids from bulk inserts
        ids = list(
            MOINotification.objects.filter(object_instance=obj.dn, event_time=when)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    transaction.on_commit(lambda: _enqueue(ids))
    return ids


def _enqueue(ids: list[int], countdown: float = 0) -> None:
    from training.tasks import moi_notification_deliver_task

    for pk in ids:
        moi_notification_deliver_task.apply_async((pk,), countdown=countdown)


def _source(actor) -> str:
    """SourceIndicator: a person's management operation, or SAM Hub's own work."""
    return "MANAGEMENT_OPERATION" if actor is not None else "RESOURCE_OPERATION"


def _creation(obj, *, actor=None, when=None) -> None:
    _notify(
        NotificationType.MOI_CREATION,
        obj,
        {"sourceIndicator": _source(actor), "attributeList": resources.attributes_of(obj)},
        when=when,
    )


def _changes(obj, new: dict, old: dict, *, actor=None, reason: str = "", when=None) -> None:
    fields = {
        "sourceIndicator": _source(actor),
        "attributeListValueChanges": [new, old] if old else [new],
    }
    if reason:
        fields["additionalText"] = reason
    _notify(NotificationType.MOI_ATTRIBUTE_VALUE_CHANGES, obj, fields, when=when)


def request_event_recorded(event: MLTrainingRequestEvent) -> None:
    """A change of a request's requestStatus (and the flag its step set)."""
    request = event.request
    if event.name == "create":
        _creation(request, actor=event.actor, when=event.created_at)
        return
    new, old = {}, {}
    if event.source != event.target:
        new["requestStatus"], old["requestStatus"] = event.target, event.source
    flag = REQUEST_FLAGS.get(event.name)
    if event.name == "cancelled" and event.source != RequestStatus.CANCELLING:
        flag = REQUEST_FLAGS["cancel"]  # all its processes were cancelled: cancel + cancelled
    if flag is not None:
        new[flag[0]], old[flag[0]] = flag[1], not flag[1]
    if new:
        _changes(request, new, old, actor=event.actor, reason=event.reason, when=event.created_at)


def _progress(status: str, state: str, percent: int) -> dict:
    return {"status": status, "progressStateInfo": state, "progressPercentage": percent}


def process_event_recorded(event: MLTrainingProcessEvent) -> None:
    """A change of a process's progressStatus (status, progressStateInfo, percentage), the
    flag its step set, and a notifyEvent for a failure, a lost worker or a pause."""
    process = event.process
    if event.name == "create":
        _creation(process, actor=event.actor, when=event.created_at)
        return
    previous = (
        MLTrainingProcessEvent.objects.filter(process_id=process.pk, pk__lt=event.pk)
        .order_by("-pk")
        .first()
    )
    now = _progress(event.target, event.progress_state_info, event.progress_percentage)
    before = (
        _progress(previous.target, previous.progress_state_info, previous.progress_percentage)
        if previous is not None
        else _progress(event.source, "", 0)
    )
    new, old = {}, {}
    if now != before:
        new["progressStatus"] = {**now, "resultStateInfo": process.result_state_info}
        old["progressStatus"] = before
    flag = PROCESS_FLAGS.get(event.name)
    if flag is not None:
        new[flag[0]], old[flag[0]] = flag[1], not flag[1]
    if new:
        _changes(process, new, old, actor=event.actor, reason=event.reason, when=event.created_at)
    problem = PROCESS_PROBLEMS.get(event.name)
    if problem is not None and (event.name != "fail" or event.target == ProcessStatus.FAILED):
        _notify(
            NotificationType.EVENT,
            process,
            {
                "specificProblem": problem,
                "additionalText": event.reason or process.result_state_info,
                "additionalInformation": {"progressStatus": resources.progress_status(process)},
            },
            when=event.created_at,
        )


def report_written(report_id: int) -> None:
    """notifyMOICreation of a report, once the transaction that wrote it has committed."""
    report = MLTrainingReport.objects.filter(pk=report_id).first()
    if report is not None:
        with transaction.atomic():
            _creation(report, when=report.created_at)


def moi_deleting(obj) -> None:
    """notifyMOIDeletion, with the attributes the object had, just before its row goes."""
    _notify(
        NotificationType.MOI_DELETION,
        obj,
        {"sourceIndicator": "MANAGEMENT_OPERATION", "attributeList": resources.attributes_of(obj)},
    )


def _on_request_event(sender, instance, created, raw=False, **kwargs) -> None:
    if created and not raw:
        request_event_recorded(instance)


def _on_process_event(sender, instance, created, raw=False, **kwargs) -> None:
    if created and not raw:
        process_event_recorded(instance)


def _on_report_saved(sender, instance, created, raw=False, **kwargs) -> None:
    if created and not raw:
        pk = instance.pk
        transaction.on_commit(lambda: report_written(pk))


def _on_delete(sender, instance, **kwargs) -> None:
    moi_deleting(instance)


def connect() -> None:
    """Listen where changes are recorded (TrainingConfig.ready)."""
    post_save.connect(_on_request_event, sender=MLTrainingRequestEvent, dispatch_uid="ntf-req")
    post_save.connect(_on_process_event, sender=MLTrainingProcessEvent, dispatch_uid="ntf-proc")
    post_save.connect(_on_report_saved, sender=MLTrainingReport, dispatch_uid="ntf-report")
    for model in (MLTrainingRequest, MLTrainingProcess, MLTrainingReport):
        pre_delete.connect(_on_delete, sender=model, dispatch_uid=f"ntf-del-{model.__name__}")


# --- delivery -----------------------------------------------------------------------------------


def notification_body(notification: MOINotification) -> dict:
    """What is POSTed: the stored body with notificationId (the row's id) and subscriptionId."""
    body = {**notification.body, "notificationId": notification.pk}
    if notification.subscription_id is not None:
        body["subscriptionId"] = notification.subscription.moi_id
    return body


def notification_deliver(*, notification_id: int) -> MOINotification | None:
    """One attempt at a PENDING notification: POST it, record the attempt, and DELIVERED, or a
    retry queued with backoff, or FAILED after SAMHUB_CALLBACK_ATTEMPTS attempts. A
    notification whose subscription was deleted meanwhile FAILS without a POST."""
    notification = (
        MOINotification.objects.select_related("subscription").filter(pk=notification_id).first()
    )
    if notification is None or notification.status != DeliveryStatus.PENDING:
        return notification
    if notification.subscription_id is None:
        MOINotification.objects.filter(pk=notification_id, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.FAILED, last_error="The subscription was deleted."
        )
        return MOINotification.objects.get(pk=notification_id)
    attempted_at = timezone.now()
    attempt = callback_post(
        notification.recipient_address,
        notification_body(notification),
        timeout=settings.SAMHUB_CALLBACK_TIMEOUT_SECONDS,
    )
    with transaction.atomic():
        notification = MOINotification.objects.select_for_update().get(pk=notification_id)
        MOINotificationAttempt.objects.create(
            notification=notification,
            number=notification.attempts + 1,
            attempted_at=attempted_at,
            http_status=attempt.status,
            error=attempt.error,
            duration_ms=attempt.duration_ms,
        )
        delivery_record(
            notification,
            attempt,
            retry=lambda delay: _enqueue([notification_id], countdown=delay),
            to=notification.recipient_address,
        )
    return notification


def delivery_record(
    notification, attempt: Attempt, *, retry: Callable[[int], None], to: str
) -> None:
    """One POST's outcome on a notification row the caller holds locked (`attempts`, `status`,
    `last_error`, `delivered_at`; ProvMnS notifications and AIMLE model selection's): DELIVERED;
    or FAILED once SAMHUB_CALLBACK_ATTEMPTS attempts have failed; or `retry(delay)` when the
    transaction commits, the delay doubling from SAMHUB_CALLBACK_BACKOFF_SECONDS."""
    notification.attempts += 1
    if attempt.delivered:
        notification.status, notification.delivered_at = DeliveryStatus.DELIVERED, timezone.now()
        notification.last_error = ""
    else:
        notification.last_error = attempt.error
        if notification.attempts >= max(1, settings.SAMHUB_CALLBACK_ATTEMPTS):
            notification.status = DeliveryStatus.FAILED
            logger.warning(
                "Notification %s to %s failed after %s attempts: %s",
                notification.pk, to, notification.attempts, attempt.error,
            )  # fmt: skip
        else:
            delay = callback_retry_delay(notification.attempts)
            transaction.on_commit(lambda: retry(delay))
    notification.save()
