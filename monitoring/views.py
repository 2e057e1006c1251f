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

from core import roles
from monitoring import selectors
from registry.models import ModelVersion
from registry.selectors import version_visible_to

CHART_BUCKETS = 24
CHART_DAYS = 7
# The chart's drawing area in SVG user units (the SVG scales to the page's width).
WIDTH, HEIGHT, LEFT, TOP, BOTTOM = 640, 220, 40, 10, 30


def link_visible(user, version: ModelVersion) -> bool:
    """Whether the version panel of the model page links to the monitoring page."""
    return version.status != "DRAFT" and selectors.version_monitoring_visible(user, version)


def _chart(series: list[selectors.Measurement], thresholds: list[int], start, width: float):
    """Points of the accuracy line and the inference bars, in the SVG's coordinates."""
    plot_height = HEIGHT - TOP - BOTTOM
    plot_width = WIDTH - LEFT - 10
    step = plot_width / CHART_BUCKETS
    most = max((m.inferences for m in series), default=0) or 1
    points, bars = [], []
    for m in series:
        index = int((m.start - start).total_seconds() // width)
        x = LEFT + step * (index + 0.5)
        height = plot_height * m.inferences / most
        bars.append(
            {
                "x": round(x - step * 0.35, 1),
                "y": round(TOP + plot_height - height, 1),
                "width": round(step * 0.7, 1),
                "height": round(height, 1),
                "m": m,
            }
        )
        if m.accuracy is not None:
            points.append((round(x, 1), round(TOP + plot_height * (1 - m.accuracy), 1), m))
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - 10,
        "top": TOP,
        "bottom": TOP + plot_height,
        "mid": TOP + plot_height / 2,
        "line": " ".join(f"{x},{y}" for x, y, _ in points),
        "points": points,
        "bars": bars,
        "thresholds": [
            {"value": t, "y": round(TOP + plot_height * (1 - t / 100), 1)} for t in thresholds
        ],
        "most": most,
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
        "nav": "catalog",
    }
    return render(request, "monitoring/version_monitoring.html", context)
