"""Writes of the ML model monitor (Nnwdaf_MLModelMonitor, TS 29.520 §4.2.x): one function per
business action. Callbacks are never sent inside a transaction or a request: notifications are
written here and delivered by Celery tasks queued on commit (monitoring.tasks)."""

import logging
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from threading import local
from types import SimpleNamespace
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from core.callbacks import CallbackClient, callback_retry_delay
from core.errors import DomainError
from core.outbound import callback_uri_check
from core.transitions import transition_apply
from monitoring import permissions, selectors
from monitoring.models import (
    AnalyticsFeedback,
    DeliveryAttempt,
    DeliveryStatus,
    MonitorNotification,
    MonitorRegistration,
    MonitorSubscription,
    NotificationKind,
    NotifyMethod,
)
from registry.models import ModelVersion
from sharing.models import InferenceDataSet

logger = logging.getLogger(__name__)

METRIC_ACCURACY = "ACCURACY"
BATCH_SIZE = 500  # notifications per delivery task
DEFAULT_TERMINATION_CAUSE = "Deregistered by the consumer"


def _refuse(param: str, message: str, *, cause: str = "MANDATORY_IE_INCORRECT") -> DomainError:
    return DomainError(f"{param}: {message}", code=cause, details={param: [message]})


def _versions(version_ids: list[int], param: str) -> list[ModelVersion]:
    """The monitorable versions named, in order; 400 naming the first that is not one."""
    found = selectors.monitorable_versions().in_bulk(version_ids)
    for index, version_id in enumerate(version_ids):
        if version_id not in found:
            name = f"{param}/{index}" if len(version_ids) > 1 or param.endswith("s") else param
            raise _refuse(
                name,
                f"there is no released model version {version_id} (modelIds are the ids "
                "of released SAM Hub versions).",
            )
    return [found[version_id] for version_id in dict.fromkeys(version_ids)]


def _require_monitor_role(user: User) -> None:
    if not permissions.can_monitor(user):
        raise DomainError.not_allowed("Your role cannot use the ML model monitor.")


# --- Register / Deregister -------------------------------------------------------------------


@transaction.atomic
def monitor_registration_create(
    *,
    user: User,
    version_id: int,
    consumer_id: str = "",
    consumer_set_id: str = "",
    model_accuracy_transfer: bool | None = None,
    analytics_id: str = "",
    analytics_filter: dict | None = None,
    analytics_target: dict | None = None,
) -> MonitorRegistration:
    """Nnwdaf_MLModelMonitor_Register: record that the consumer uses the version."""
    _require_monitor_role(user)
    if bool(consumer_id) == bool(consumer_set_id):
        raise _refuse(
            "/consumerId",
            "give exactly one of consumerId and consumerSetId.",
            cause="MANDATORY_IE_MISSING" if not consumer_id else "MANDATORY_IE_INCORRECT",
        )
    (version,) = _versions([version_id], "/modelId")
    registration = MonitorRegistration(
        owner=user,
        version=version,
        consumer_id=consumer_id,
        consumer_set_id=consumer_set_id,
        model_accuracy_transfer=model_accuracy_transfer,
        analytics_id=analytics_id,
        analytics_filter=analytics_filter,
        analytics_target=analytics_target,
    )
    registration.full_clean(exclude=["status"])
    registration.save()
    return registration


def monitor_registration_delete(
    *, user: User, registration_id: str, cause: str = ""
) -> MonitorRegistration:
    """Nnwdaf_MLModelMonitor_Deregister: the registration ends, keeping its termination
    cause; another consumer's (or an unknown) id answers 404."""
    registration_find = selectors.registrations_of(user).filter(pk=registration_id)
    if not _valid_uuid(registration_id) or not registration_find.exists():
        raise DomainError(
            f"There is no registration {registration_id} of yours.",
            code="CONTEXT_NOT_FOUND",
            status=404,
        )
    return transition_apply(
        rows=MonitorRegistration.objects.all(),
        pk=registration_id,
        name="deregister",
        user=user,
        allowed=permissions.owns,
        refusal=lambda r, u: "Only the consumer who registered can deregister.",
        label=lambda r: f"registration {r.pk}",
        log="events",
        changed_meanwhile="The registration changed meanwhile; try again.",
        reason=cause or DEFAULT_TERMINATION_CAUSE,
        kwargs={"cause": cause or DEFAULT_TERMINATION_CAUSE},
    )


def _valid_uuid(value: str) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


# --- Subscribe / modify / Unsubscribe --------------------------------------------------------


@dataclass(frozen=True)
class Reporting:
    """eventReportReq (TS 29.523 ReportingInformation) as SAM Hub uses it; `options` is the
    rest of it (sampling, muting, grouping), kept and answered as given."""

    immediate: bool = False
    method: str | None = None
    period_seconds: int | None = None
    max_reports: int | None = None
    until: datetime | None = None
    options: dict = field(default_factory=dict)


def _reporting_fields(reporting: Reporting, now: datetime) -> dict:
    method = reporting.method or (
        NotifyMethod.PERIODIC if reporting.period_seconds else NotifyMethod.ON_EVENT_DETECTION
    )
    if method == NotifyMethod.PERIODIC and not reporting.period_seconds:
        raise _refuse("/eventReportReq/repPeriod", "a PERIODIC report needs repPeriod (seconds).")
    if reporting.until is not None and reporting.until <= now:
        raise _refuse(
            "/eventReportReq/monDur",
            "the monitoring duration ends in the past.",
            cause="OPTIONAL_IE_INCORRECT",
        )
    expires_at = reporting.until
    policy = settings.SAMHUB_MONITOR_SUBSCRIPTION_MAX_SECONDS
    if policy > 0:
        latest = now + timedelta(seconds=policy)
        expires_at = min(expires_at, latest) if expires_at else latest
    max_reports = 1 if method == NotifyMethod.ONE_TIME else reporting.max_reports
    next_report_at = None
    if method == NotifyMethod.PERIODIC:
        next_report_at = now + timedelta(seconds=reporting.period_seconds)
    elif method == NotifyMethod.ONE_TIME:
        next_report_at = now
    return {
        "notify_method": method,
        "period_seconds": reporting.period_seconds if method == NotifyMethod.PERIODIC else None,
        "max_reports": max_reports,
        "expires_at": expires_at,
        "report_options": reporting.options,
        "next_report_at": next_report_at,
    }


def _reflect_registrations(user: User, versions: list[ModelVersion], given: dict) -> dict:
    """Analytics id, target and filter from the consumer's registrations of these models where
    the subscription gives none (TS 23.288: they reflect the Register request)."""
    registrations = selectors.registrations_matching(user, [v.pk for v in versions])
    for registration in registrations:
        for name in ("analytics_id", "analytics_filter", "analytics_target"):
            if not given.get(name) and getattr(registration, name):
                given[name] = getattr(registration, name)
    return given


def _check_metric(metric: str) -> None:
    if metric != METRIC_ACCURACY:
        raise _refuse(
            "/modelMetric",
            f"SAM Hub measures ACCURACY only, not {metric!r}.",
            cause="OPTIONAL_IE_INCORRECT",
        )


def monitor_subscription_create(
    *,
    user: User,
    version_ids: list[int],
    notification_uri: str,
    notif_corr_id: str,
    metric: str = METRIC_ACCURACY,
    accuracy_threshold: int | None = None,
    reporting: Reporting | None = None,
    analytics_id: str = "",
    analytics_filter: dict | None = None,
    analytics_target: dict | None = None,
    supported_features: str = "",
) -> tuple[MonitorSubscription, dict | None]:
    """Nnwdaf_MLModelMonitor_Subscribe. Returns the subscription and, when eventReportReq asks
    for an immediate report (immRep), that report (an MLModelMonitorNotify body)."""
    _require_monitor_role(user)
    reporting = reporting or Reporting()
    _check_metric(metric)
    callback_uri_check(notification_uri, param="/notificationUri")  # resolves: outside the lock
    now = timezone.now()
    with transaction.atomic():
        versions = _versions(version_ids, "/modelIds")
        analytics = _reflect_registrations(
            user,
            versions,
            {
                "analytics_id": analytics_id,
                "analytics_filter": analytics_filter,
                "analytics_target": analytics_target,
            },
        )
        subscription = MonitorSubscription(
            owner=user,
            notification_uri=notification_uri,
            notif_corr_id=notif_corr_id,
            metric=metric,
            accuracy_threshold=accuracy_threshold,
            supported_features=supported_features,
            interval_start=now,
            created_at=now,
            **analytics,
            **_reporting_fields(reporting, now),
        )
        subscription.full_clean(exclude=["status"])
        subscription.save()
        subscription.versions.set(versions)
        immediate = None
        if reporting.immediate:
            immediate = _immediate_report(subscription, versions, now)
    return subscription, immediate


def _immediate_report(
    subscription: MonitorSubscription, versions: list[ModelVersion], now: datetime
) -> dict:
    """The report answered in the 201 (immReport): each model over the last window."""
    start = now - timedelta(seconds=settings.SAMHUB_MONITOR_WINDOW_SECONDS)
    measurements = [selectors.version_measure(v, start=start, end=now) for v in versions]
    data_sets = selectors.DataSetsTold().told(subscription.owner_id, measurements)
    body = notify_body(subscription, measurements, data_sets=data_sets)
    MonitorNotification.objects.create(
        subscription=subscription,
        kind=NotificationKind.IMMEDIATE,
        sequence=subscription.reports_sent + 1,
        body=body,
        status=DeliveryStatus.DELIVERED,
        delivered_at=now,
    )
    MonitorSubscription.objects.filter(pk=subscription.pk).update(
        reports_sent=F("reports_sent") + 1
    )
    subscription.reports_sent += 1
    if subscription.max_reports and subscription.reports_sent >= subscription.max_reports:
        MonitorSubscription.objects.filter(pk=subscription.pk).update(next_report_at=None)
    return body


def _own_subscription(user: User, subscription_id: str) -> MonitorSubscription:
    subscription = None
    if _valid_uuid(subscription_id):
        subscription = selectors.subscriptions_of(user).filter(pk=subscription_id).first()
    if subscription is None:
        raise DomainError(
            f"There is no subscription {subscription_id} of yours.",
            code="SUBSCRIPTION_NOT_FOUND",
            status=404,
        )
    return subscription


def monitor_subscription_update(
    *,
    user: User,
    subscription_id: str,
    version_ids: list[int],
    notification_uri: str,
    notif_corr_id: str,
    metric: str = METRIC_ACCURACY,
    accuracy_threshold: int | None = None,
    reporting: Reporting | None = None,
    analytics_id: str = "",
    analytics_filter: dict | None = None,
    analytics_target: dict | None = None,
    supported_features: str = "",
) -> MonitorSubscription:
    """Modify a subscription (PUT: the whole representation is replaced). Its reporting starts
    afresh from now; reports already sent still count towards maxReportNbr."""
    _own_subscription(user, subscription_id)
    reporting = reporting or Reporting()
    _check_metric(metric)
    callback_uri_check(notification_uri, param="/notificationUri")
    now = timezone.now()
    with transaction.atomic():
        subscription = (
            MonitorSubscription.objects.select_for_update().filter(pk=subscription_id).first()
        )
        if subscription is None or not permissions.owns(subscription, user):
            raise DomainError(
                "The subscription ended meanwhile.", code="SUBSCRIPTION_NOT_FOUND", status=404
            )
        versions = _versions(version_ids, "/modelIds")
        analytics = _reflect_registrations(
            user,
            versions,
            {
                "analytics_id": analytics_id,
                "analytics_filter": analytics_filter,
                "analytics_target": analytics_target,
            },
        )
        changes = {
            "notification_uri": notification_uri,
            "notif_corr_id": notif_corr_id,
            "metric": metric,
            "accuracy_threshold": accuracy_threshold,
            "supported_features": supported_features,
            "interval_start": now,
            "threshold_met": {},
            **analytics,
            **_reporting_fields(reporting, now),
        }
        for name, value in changes.items():
            setattr(subscription, name, value)
        subscription.full_clean(exclude=["status"])
        subscription.save()
        subscription.versions.set(versions)
    return subscription


def monitor_subscription_delete(*, user: User, subscription_id: str) -> MonitorSubscription:
    """Nnwdaf_MLModelMonitor_Unsubscribe: no report is made for it from now on (one made
    before is still delivered)."""
    _own_subscription(user, subscription_id)
    return transition_apply(
        rows=MonitorSubscription.objects.all(),
        pk=subscription_id,
        name="unsubscribe",
        user=user,
        allowed=permissions.owns,
        refusal=lambda s, u: "Only the consumer who subscribed can unsubscribe.",
        label=lambda s: f"subscription {s.pk}",
        log="events",
        changed_meanwhile="The subscription changed meanwhile; try again.",
    )


# --- Notify: the body ------------------------------------------------------------------------


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def accuracy_info(
    measurement: selectors.Measurement, metric: str, data_set: InferenceDataSet | None = None
) -> dict:
    """MLModelAccuracyInfo of one measurement, with the input data set of wrong predictions
    (dataSetTag, and the ADRF holding it) when one is told."""
    info = {
        "modelId": measurement.version_id,
        "inferenceNum": measurement.inferences,
        "modelMetric": metric,
        "monitorInterval": {
            "startTime": _instant(measurement.start),
            "stopTime": _instant(measurement.end),
        },
    }
    if measurement.accuracy is not None:
        info["mlModelAcc"] = measurement.accuracy_percent
        info["deviation"] = round(measurement.deviation, 6)
    if data_set is not None:
        info["dataSetTag"] = {"dataSetId": data_set.data_set_id}
        if data_set.data_set_desc:
            info["dataSetTag"]["dataSetDesc"] = data_set.data_set_desc
        if data_set.adrf_id:
            info["adrfId"] = data_set.adrf_id
        if data_set.adrf_set_id:
            info["adrfSetId"] = data_set.adrf_set_id
    return info


def notify_body(
    subscription: MonitorSubscription,
    measurements: list[selectors.Measurement] = (),
    *,
    feedbacks: list[dict] | None = None,
    data_sets: dict[int, InferenceDataSet] | None = None,
) -> dict:
    """MLModelMonitorNotify for the subscription: the measurements as modelAccuInfos (each
    with the input data set `data_sets` tells for its model), with accuMeetInd when the
    subscription has a threshold (true when every measured model meets it), the analytics
    feedback, and the analytics id, filter and target it is for."""
    body: dict = {"notifCorrId": subscription.notif_corr_id}
    data_sets = data_sets or {}
    if measurements:
        body["modelAccuInfos"] = [
            accuracy_info(m, subscription.metric, data_sets.get(m.version_id)) for m in measurements
        ]
        measured = [m for m in measurements if m.accuracy is not None]
        if subscription.accuracy_threshold is not None and measured:
            body["accuMeetInd"] = all(
                m.accuracy_percent >= subscription.accuracy_threshold for m in measured
            )
    if feedbacks:
        body["anaFeedbacks"] = feedbacks
    if subscription.analytics_id:
        body["mLEvent"] = subscription.analytics_id
    if subscription.analytics_filter:
        body["mLEventFilter"] = subscription.analytics_filter
    if subscription.analytics_target:
        body["tgtUe"] = subscription.analytics_target
    return body


# --- the reporting cycle (Celery beat) -------------------------------------------------------


@dataclass
class CycleResult:
    periodic: int = 0
    threshold: int = 0
    deliveries: list[tuple[int, str]] = field(default_factory=list)  # (notification, URI)


def monitor_cycle_run(*, now: datetime | None = None) -> CycleResult:
    """One reporting cycle: a periodic report to every subscription whose period ended, and a
    threshold report to every subscription on a model whose accuracy crossed its threshold.
    Each version is measured once per interval, however many subscriptions share it. The
    notifications are delivered by tasks queued when the cycle commits. Running the cycle twice
    sends nothing twice: a report is claimed by moving the subscription's schedule in the same
    transaction, and each periodic report's number is unique per subscription."""
    now = now or timezone.now()
    result = CycleResult()
    with transaction.atomic():
        _periodic_reports(now, result)
        _threshold_reports(now, result)
        deliveries = list(result.deliveries)
        transaction.on_commit(lambda: notifications_enqueue(deliveries=deliveries))
    return result


def _measured(cache: dict, version: ModelVersion, start: datetime, end: datetime):
    key = (version.pk, start, end)
    if key not in cache:
        cache[key] = selectors.version_measure(version, start=start, end=end)
    return cache[key]


def _locked(queryset):
    return queryset.select_for_update(skip_locked=True, of=("self",))


# What a report needs of a due subscription, read as plain rows: building model instances
# for ten thousand subscriptions would cost more than the whole cycle.
_DUE_FIELDS = (
    "pk", "owner_id", "notif_corr_id", "metric", "accuracy_threshold", "analytics_id",
    "analytics_filter", "analytics_target", "notify_method", "period_seconds", "max_reports",
    "reports_sent", "interval_start", "next_report_at", "notification_uri",
)  # fmt: skip


def _periodic_reports(now: datetime, result: CycleResult) -> None:
    due = [
        SimpleNamespace(**row)
        for row in _locked(selectors.subscriptions_due(now)).values(*_DUE_FIELDS)
    ]
    if not due:
        return
    versions_of = defaultdict(list)
    through = MonitorSubscription.versions.through.objects
    for chunk in _chunks([s.pk for s in due], 900):
        pairs = through.filter(monitorsubscription_id__in=chunk).order_by("modelversion_id")
        for subscription_id, version_id in pairs.values_list(
            "monitorsubscription_id", "modelversion_id"
        ):
            versions_of[subscription_id].append(version_id)
    versions = ModelVersion.objects.in_bulk({v for ids in versions_of.values() for v in ids})
    cache: dict = {}
    measured: dict = {}
    told = selectors.DataSetsTold()
    bodies: dict = {}  # subscriptions alike share their report but for notifCorrId
    rows = []
    schedule = defaultdict(list)  # next report -> subscription ids
    for subscription in due:
        alike = (
            subscription.interval_start, tuple(versions_of[subscription.pk]), subscription.metric,
            subscription.accuracy_threshold, subscription.analytics_id,
            repr(subscription.analytics_filter), repr(subscription.analytics_target),
        )  # fmt: skip
        if alike not in measured:
            measured[alike] = [
                _measured(cache, versions[version_id], subscription.interval_start, now)
                for version_id in versions_of[subscription.pk]
            ]
        data_sets = told.told(subscription.owner_id, measured[alike])
        key = (alike, tuple(sorted((v, d.pk) for v, d in data_sets.items())))
        if key not in bodies:
            bodies[key] = notify_body(subscription, measured[alike], data_sets=data_sets)
        body = {**bodies[key], "notifCorrId": subscription.notif_corr_id}
        rows.append((subscription.pk, subscription.reports_sent + 1, body))
        schedule[_next_report(subscription, now)].append(subscription.pk)
    ids = _notifications_insert(rows, kind=NotificationKind.PERIODIC, now=now)
    for next_report_at, subscription_ids in schedule.items():
        for chunk in _chunks(subscription_ids, 900):
            selectors.subscriptions_due(now).filter(pk__in=chunk).update(
                reports_sent=F("reports_sent") + 1,
                interval_start=now,
                next_report_at=next_report_at,
            )
    result.periodic += len(ids)
    # Inserted in the order of `due`, so the ids in ascending order are theirs.
    result.deliveries += zip(ids, [s.notification_uri for s in due], strict=True)


def _notifications_insert(
    rows: list[tuple[uuid.UUID, int | None, dict]], *, kind: str, now: datetime
) -> list[int]:
    """INSERT the notifications (subscription id, sequence, body) of one kind made at `now`,
    in one executemany, each value converted by its field as save() converts it; returns their
    ids. (bulk_create's per-field machinery costs half a millisecond a row: seconds for a
    cycle of ten thousand.)"""
    fields = {f.name: f for f in MonitorNotification._meta.concrete_fields}
    names = ["subscription", "kind", "sequence", "body", "status", "attempts", "last_error",
             "created_at"]  # fmt: skip
    quote = connection.ops.quote_name
    statement = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(MonitorNotification._meta.db_table),
        ", ".join(quote(fields[name].column) for name in names),
        ", ".join(["%s"] * len(names)),
    )
    subscription, body = fields["subscription"], fields["body"]
    created_at = fields["created_at"].get_db_prep_save(now, connection)
    with connection.cursor() as cursor:
        cursor.executemany(
            statement,
            [
                (
                    subscription.get_db_prep_save(subscription_id, connection),
                    kind,
                    sequence,
                    body.get_db_prep_save(content, connection),
                    DeliveryStatus.PENDING,
                    0,
                    "",
                    created_at,
                )
                for subscription_id, sequence, content in rows
            ],
        )
    return list(
        MonitorNotification.objects.filter(created_at=now, kind=kind)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _next_report(subscription: MonitorSubscription, now: datetime) -> datetime | None:
    if subscription.notify_method != NotifyMethod.PERIODIC:
        return None
    if subscription.max_reports and subscription.reports_sent + 1 >= subscription.max_reports:
        return None
    period = timedelta(seconds=subscription.period_seconds)
    following = subscription.next_report_at + period
    # Behind by more than a period (no worker for a while): the next one is a period from now.
    return following if following > now else now + period


def _threshold_reports(now: datetime, result: CycleResult) -> None:
    watching = list(
        _locked(selectors.subscriptions_watching_threshold(now)).prefetch_related("versions")
    )
    cache: dict = {}
    told = selectors.DataSetsTold()
    notifications, changed = [], []
    for subscription in watching:
        start = selectors.threshold_window_start(subscription, now)
        met_before = dict(subscription.threshold_met)
        for version in subscription.versions.all():
            measurement = _measured(cache, version, start, now)
            if measurement.accuracy is None:
                continue
            met = measurement.accuracy_percent >= subscription.accuracy_threshold
            before = met_before.get(str(version.pk))
            subscription.threshold_met[str(version.pk)] = met
            # A crossing: under it after being over (or at the first measurement), or back over.
            if before is None and met:
                continue
            if before is not None and before == met:
                continue
            data_sets = told.told(subscription.owner_id, [measurement])
            body = notify_body(subscription, [measurement], data_sets=data_sets)
            body["accuMeetInd"] = met
            notifications.append(
                MonitorNotification(
                    subscription=subscription,
                    kind=NotificationKind.THRESHOLD,
                    body=body,
                    created_at=now,
                )
            )
        if subscription.threshold_met != met_before:
            changed.append(subscription)
    if changed:
        MonitorSubscription.objects.bulk_update(changed, ["threshold_met"], batch_size=500)
    created = MonitorNotification.objects.bulk_create(notifications, batch_size=1000)
    result.threshold += len(created)
    result.deliveries += [(n.pk, n.subscription.notification_uri) for n in created]


def _chunks(items: list, size: int):
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


# --- Notify: delivery ------------------------------------------------------------------------


def notifications_enqueue(*, deliveries: list[tuple[int, str]]) -> None:
    """Queue the delivery of notifications, given as (id, notification URI): batches of one
    callback origin each, so a slow or dead consumer holds up only its own notifications."""
    from monitoring.tasks import notification_batch_deliver_task

    by_origin = defaultdict(list)
    for pk, uri in deliveries:
        parts = urlsplit(uri)
        by_origin[(parts.scheme, parts.netloc)].append(pk)
    for ids in by_origin.values():
        for batch in _chunks(sorted(ids), BATCH_SIZE):
            notification_batch_deliver_task.delay(batch)


_clients = local()


def _client() -> CallbackClient:
    """This thread's client: its connections are kept alive between deliveries."""
    timeout = settings.SAMHUB_CALLBACK_TIMEOUT_SECONDS
    client = getattr(_clients, "client", None)
    if client is None or client.timeout != timeout:
        client = _clients.client = CallbackClient(timeout=timeout)
    return client


_pool: ThreadPoolExecutor | None = None


def _threads() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(
            max_workers=settings.SAMHUB_CALLBACK_THREADS, thread_name_prefix="callback"
        )
    return _pool


def notification_batch_deliver(*, notification_ids: list[int]) -> list[int]:
    """Try each pending notification of the batch once, a few at a time (outside any
    transaction), then record the attempts; returns the ids delivered. Failures are retried
    with backoff by their own tasks. Notifications no longer pending are skipped, so running
    the batch again sends nothing twice."""
    rows = list(
        selectors.notifications_pending(notification_ids).values_list(
            "pk", "subscription__notification_uri", "body", "attempts"
        )
    )
    if not rows:
        return []
    started_at = timezone.now()
    outcomes = list(_threads().map(lambda row: _client().post(row[1], row[2]), rows))
    return _attempts_record(rows, outcomes, started_at)


def notification_attempt(*, notification_id: int) -> MonitorNotification | None:
    """One more attempt at a notification that is still pending (a retry)."""
    rows = list(
        selectors.notifications_pending([notification_id]).values_list(
            "pk", "subscription__notification_uri", "body", "attempts"
        )
    )
    if not rows:
        return None
    started_at = timezone.now()
    outcome = _client().post(rows[0][1], rows[0][2])
    _attempts_record(rows, [outcome], started_at)
    return MonitorNotification.objects.get(pk=notification_id)


def _attempts_record(rows: list[tuple], outcomes: list, started_at: datetime) -> list[int]:
    now = timezone.now()
    delivered, retries = [], []
    with transaction.atomic():
        DeliveryAttempt.objects.bulk_create(
            [
                DeliveryAttempt(
                    notification_id=pk,
                    number=attempts + 1,
                    attempted_at=started_at,
                    duration_ms=outcome.duration_ms,
                    http_status=outcome.status,
                    error=outcome.error,
                )
                for (pk, _, _, attempts), outcome in zip(rows, outcomes, strict=True)
            ],
            batch_size=1000,
        )
        for (pk, _, _, attempts), outcome in zip(rows, outcomes, strict=True):
            if outcome.delivered:
                delivered.append(pk)
                continue
            pending = MonitorNotification.objects.filter(pk=pk, status=DeliveryStatus.PENDING)
            if attempts + 1 >= settings.SAMHUB_CALLBACK_ATTEMPTS:
                pending.update(
                    status=DeliveryStatus.FAILED, attempts=attempts + 1, last_error=outcome.error
                )
                logger.warning(
                    "Notification %s failed after %s attempts: %s", pk, attempts + 1, outcome.error
                )
            else:
                pending.update(attempts=attempts + 1, last_error=outcome.error)
                retries.append((pk, attempts + 1))
        for chunk in _chunks(delivered, 900):
            MonitorNotification.objects.filter(pk__in=chunk, status=DeliveryStatus.PENDING).update(
                status=DeliveryStatus.DELIVERED,
                delivered_at=now,
                attempts=F("attempts") + 1,
                last_error="",
            )
        transaction.on_commit(lambda: _retries_enqueue(retries))
    return delivered


def _retries_enqueue(retries: list[tuple[int, int]]) -> None:
    from monitoring.tasks import notification_retry_task

    for pk, attempts in retries:
        notification_retry_task.apply_async((pk,), countdown=callback_retry_delay(attempts))


# --- Analytics feedback ----------------------------------------------------------------------


def analytics_feedback_record(
    *,
    user: User,
    analytics_ids: list[str],
    version_ids: list[int],
    affects_ground_truth: bool = False,
    action_at: datetime | None = None,
) -> AnalyticsFeedback:
    """Analytics Feedback Information from a consumer that took an action influenced by the
    analytics of these models: kept, and forwarded at once as anaFeedbacks to every live
    subscription on any of them."""
    _require_monitor_role(user)
    with transaction.atomic():
        versions = _versions(version_ids, "/modelIds")
        feedback = AnalyticsFeedback.objects.create(
            owner=user,
            analytics_ids=analytics_ids,
            affects_ground_truth=affects_ground_truth,
            action_at=action_at,
        )
        feedback.versions.set(versions)
        item = {
            "events": analytics_ids,
            "modelIds": [v.pk for v in versions],
            "groundDataImpactInd": affects_ground_truth,
        }
        if action_at is not None:
            item["timeStamp"] = _instant(action_at)
        now = timezone.now()
        created = MonitorNotification.objects.bulk_create(
            [
                MonitorNotification(
                    subscription=subscription,
                    kind=NotificationKind.FEEDBACK,
                    body=notify_body(subscription, feedbacks=[item]),
                    created_at=now,
                )
                for subscription in selectors.subscriptions_on([v.pk for v in versions], now)
            ]
        )
        deliveries = [(n.pk, n.subscription.notification_uri) for n in created]
        transaction.on_commit(lambda: notifications_enqueue(deliveries=deliveries))
    return feedback
