"""Sharing's sections of the portal's home (core.home): for a provider, the subscribers, calls
and errors per day of each released version of their organisations; for a consumer, their
subscriptions, their own calls and errors per day, their package builds and downloads. (What
was decided on their subscriptions comes as notices, sharing.notices, listed above the parts.)"""

from django.http import HttpRequest

from core import roles
from registry import selectors as registry_selectors
from registry.models import ModelVersion
from sharing import selectors, usage, views
from sharing.models import SharingMethod, SubscriptionStatus

HOME_DAYS = 7  # the days of calls shown, today included
HOME_ROWS = 10  # rows of each list; the full list is a link away
PACKAGE_METHODS = (SharingMethod.SDK, SharingMethod.BUNDLE)


def _days(window: usage.UsageWindow, counts: dict, version_ids) -> list[usage.UsagePeriod]:
    """Per day of the window, the calls and errors of the versions summed."""
    days = []
    for i, start in enumerate(window.starts()):
        found = [counts[(v, i)] for v in version_ids if (v, i) in counts]
        days.append(
            usage.UsagePeriod(
                start=start,
                calls=sum(p.calls for p in found),
                errors=sum(p.errors for p in found),
                instances=sum(p.instances for p in found),
            )
        )
    return days


def provider_usage(request: HttpRequest) -> dict | None:
    """Each released (or deprecated) version of the provider's organisations: its model's
    subscribers, and its calls and errors on each of the last HOME_DAYS days."""
    user = request.user
    if not roles.has_organisation(user):
        return None  # the registry's section says why there is nothing
    versions = list(registry_selectors.organisation_published_versions(user))
    window = usage.usage_window("day", count=HOME_DAYS)
    counts = usage.usage_counts(window, version_ids=[v.pk for v in versions]) if versions else {}
    subscribers = usage.subscribers_per_model([v.sam_id for v in versions])
    rows = []
    for version in versions:
        days = _days(window, counts, [version.pk])
        rows.append(
            {
                "version": version,
                "subscribers": subscribers.get(version.sam_id, 0),
                "days": days,
                "calls": sum(d.calls for d in days),
                "errors": sum(d.errors for d in days),
            }
        )
    return {"rows": rows, "window": window, "days": window.starts()}


def consumer_use(request: HttpRequest) -> dict | None:
    """The consumer's subscriptions, their calls and errors per day of the last HOME_DAYS
    days (in all and per version called), their package builds and downloads. Providers and
    operators, who may subscribe too, get it once they have subscribed."""
    user = request.user
    subscriptions = selectors.subscriptions_of(user).order_by("-updated_at", "-pk")
    if not roles.holds_role(user, roles.Role.CONSUMER) and not subscriptions.exists():
        return None
    window = usage.usage_window("day", count=HOME_DAYS)
    counts = usage.usage_counts(window, caller=user)
    called = sorted({version_id for version_id, _ in counts})
    per_version = []
    for version in ModelVersion.objects.filter(pk__in=called).select_related("sam"):
        mine = [p for (v, _), p in counts.items() if v == version.pk]
        per_version.append(
            {
                "version": version,
                "calls": sum(p.calls for p in mine),
                "errors": sum(p.errors for p in mine),
            }
        )
    # The most called first; the usage page is linked where the consumer may open it.
    per_version = sorted(per_version, key=lambda row: (-row["calls"], row["version"].pk))
    per_version = per_version[:HOME_ROWS]
    for row in per_version:
        row["usage_page"] = views.usage_link_visible(user, row["version"])
    shown = list(subscriptions[:HOME_ROWS])
    builds = []
    for subscription in shown:
        if subscription.status != SubscriptionStatus.ACTIVE:
            continue
        if subscription.method not in PACKAGE_METHODS:
            continue
        version = selectors.subscription_version(subscription)
        if version is not None:
            builds.append(
                {
                    "subscription": subscription,
                    "version": version,
                    "package": selectors.version_package(version, subscription.method),
                }
            )
    return {
        "subscriptions": shown,
        "subscriptions_count": subscriptions.count(),
        "window": window,
        "days": _days(window, counts, called),
        "per_version": per_version,
        "builds": builds,
        "deliveries": list(selectors.deliveries_of(user)[:HOME_ROWS]),
    }
