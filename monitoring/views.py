"""The monitoring page of a version (portal): its accuracy over time measured from metered
inferences with ground truth, the inference counts, the thresholds its subscribers set, its
registrations and the notification delivery log. For the version's providers, operators and
subscribed consumers; consumers see only their own registrations, subscriptions and
notifications."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.formats import date_format

from core import roles
from monitoring import selectors
from registry import extensions
from registry.models import ModelVersion
from registry.selectors import version_visible_to
from sharing.usage import UsageWindow

CHART_BUCKETS = 24
CHART_DAYS = 7


def link_visible(user, version: ModelVersion) -> bool:
    """Whether the version panel of the model page links to the monitoring page."""
    return version.status != "DRAFT" and selectors.version_monitoring_visible(user, version)


def _chart(
    series: list[selectors.Measurement],
    thresholds: list[int],
    start,
    width: float,
    *,
    buckets: int = CHART_BUCKETS,
    label_format: str = "j M H:i",
):
    """The chart's data for static/js/monitoring-chart.js (json_script): per period (by
    default of the last CHART_DAYS days), its label, the accuracy in % (None without ground
    truth) and the inferences; and the thresholds in %."""
    by_index = {int((m.start - start).total_seconds() // width): m for m in series}
    periods = [by_index.get(i) for i in range(buckets)]
    return {
        "labels": [
            date_format(timezone.localtime(start + timedelta(seconds=width * i)), label_format)
            for i in range(buckets)
        ],
        "accuracy": [m.accuracy_percent if m else None for m in periods],
        "inferences": [m.inferences if m else 0 for m in periods],
        "thresholds": thresholds,
    }


@login_required
def version_monitoring(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    try:
        version = version_visible_to(user, pk)
    except ModelVersion.DoesNotExist:
        raise Http404("No such version.") from None
    if not selectors.version_monitoring_visible(user, version):
        raise Http404("No such version.")  # as for a version one cannot see
    sees_all = roles.is_operator(user) or roles.is_member(user, version.sam.organisation_id)
    now = timezone.now()
    start = now - timedelta(days=CHART_DAYS)
    width = (now - start).total_seconds() / CHART_BUCKETS
    series = selectors.version_measure_series(version, start=start, end=now, width=width)
    window = timedelta(seconds=settings.SAMHUB_MONITOR_WINDOW_SECONDS)
    current = selectors.version_measure(version, start=now - window, end=now)
    registrations = selectors.version_registrations(version)
    subscriptions = selectors.version_subscriptions(version)
    notifications = selectors.version_notifications(version)
    if not sees_all:
        registrations = registrations.filter(owner=user)
        subscriptions = subscriptions.filter(owner=user)
        notifications = [n for n in notifications if n.subscription.owner_id == user.pk]
    subscriptions = list(subscriptions)
    thresholds = sorted(
        {s.accuracy_threshold for s in subscriptions if s.accuracy_threshold is not None}
    )
    context = {
        "version": version,
        "sam": version.sam,
        "monitored": selectors.monitored_output(version),
        "current": current,
        "window_hours": window.total_seconds() / 3600,
        "series": series,
        "chart": _chart(series, thresholds, start, width),
        "chart_days": CHART_DAYS,
        "thresholds": thresholds,
        "registrations": list(registrations),
        "subscriptions": subscriptions,
        "notifications": notifications,
        "sees_all": sees_all,
        "degraded": bool(
            thresholds
            and current.accuracy is not None
            and current.accuracy_percent < thresholds[-1]
        ),
        # Actions of other apps on the version (training's "Start retraining"), through the
        # registry's extension point: monitoring and training do not import each other.
        "actions": extensions.version_actions_for(user, version),
        "nav": "catalog",
    }
    return render(request, "monitoring/version_monitoring.html", context)


def usage_page_section(
    request: HttpRequest, version: ModelVersion, window: UsageWindow
) -> dict | None:
    """Monitoring's section of a version's usage page (sharing.extensions): the version's
    accuracy against ground truth in each of the page's periods (`window`,
    sharing.usage.UsageWindow), drawn by the monitoring page's chart; for those who see the
    version's monitoring."""
    if not selectors.version_monitoring_visible(request.user, version):
        return None
    width = window.width.total_seconds()
    series = selectors.version_measure_series(
        version, start=window.start, end=window.end, width=width
    )
    return {
        "version": version,
        "monitored": selectors.monitored_output(version),
        "series": series,
        "labelled": [m for m in series if m.labelled],
        "chart": _chart(
            series,
            [],
            window.start,
            width,
            buckets=window.count,
            label_format=window.label_format,
        ),
        "window": window,
    }
