"""Reads of metering: how released versions are used, per hour or per day — calls, errors,
instances and latency percentiles — from the metered reasoning calls (InferenceRecord), for the
usage page of a version and the portal's home (docs/sharing.md, "Usage").

Everything is aggregated in SQL, in statements that run alike on SQLite and PostgreSQL:

- calls, errors and instances per period: one GROUP BY on the period (Django's Trunc, in the
  portal's time zone). A call is an error when it was not answered (any outcome but OK).
- latency percentiles per period: the nearest-rank percentile, computed with two window
  functions over the answered calls of each period: ROW_NUMBER() ordered by latency gives each
  call its rank r (1..n), COUNT(*) the period's n, and the p-th percentile is the latency of
  the call of rank ceil(p·n/100), the smallest rank with 100·r >= p·n. Only those ranks leave
  the database (at most one row per percentile and period), so no latency list is loaded
  into Python. Neither SQLite nor PostgreSQL's percentile_cont is used: SQLite has none.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db.models import Count, F, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber, Trunc
from django.utils import timezone

from sharing.models import InferenceOutcome, InferenceRecord, Subscription, SubscriptionStatus

PERCENTILES = (50, 95, 99)
# The periods a usage page is shown by: the length of one period, how many are shown (the
# last one holds now), and how a period is labelled (Django date format).
PERIODS = {
    "hour": (timedelta(hours=1), 48, "j M H:i"),
    "day": (timedelta(days=1), 30, "j M"),
}


@dataclass(frozen=True)
class UsageWindow:
    """The `count` periods of length `width` from `start` to `end`, the last one holding now:
    what a usage page or a home section shows."""

    by: str  # "hour" or "day"
    start: datetime
    end: datetime
    width: timedelta
    count: int
    label_format: str

    def starts(self) -> list[datetime]:
        return [self.start + self.width * i for i in range(self.count)]

    def index(self, period_start: datetime) -> int:
        """The index of the period that starts at `period_start` (a Trunc of the database):
        rounded, so that a day an hour shorter or longer (a change of daylight saving time in
        the portal's time zone; none in UTC, the default) still finds its place."""
        return round((period_start - self.start) / self.width)


def usage_window(by: str, *, count: int | None = None, now: datetime | None = None) -> UsageWindow:
    """The window of the last `count` hours or days (PERIODS' default count), whole periods
    in the portal's time zone, ending with the one that holds `now`."""
    width, default_count, label_format = PERIODS[by]
    count = count or default_count
    now = timezone.localtime(now or timezone.now())
    current = now.replace(minute=0, second=0, microsecond=0)
    if by == "day":
        current = current.replace(hour=0)
    end = current + width
    return UsageWindow(by, end - width * count, end, width, count, label_format)


@dataclass(frozen=True)
class UsagePeriod:
    """Usage in one period: `calls` metered, `errors` of them not answered, `instances` in
    them, and the latency in ms of the answered calls at each of PERCENTILES (None without
    answered calls)."""

    start: datetime
    calls: int = 0
    errors: int = 0
    instances: int = 0
    latency: dict[int, float] | None = None

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.calls if self.calls else None

    @property
    def error_percent(self) -> float | None:
        rate = self.error_rate
        return None if rate is None else round(100 * rate, 1)

    def percentile(self, p: int) -> float | None:
        return (self.latency or {}).get(p)

    @property
    def percentiles(self) -> list[tuple[int, float | None]]:
        """(p, latency) for each of PERCENTILES, in order (for templates)."""
        return [(p, self.percentile(p)) for p in PERCENTILES]


def _records(
    *,
    start: datetime,
    end: datetime,
    version_ids: list[int] | None = None,
    caller: User | None = None,
) -> QuerySet[InferenceRecord]:
    records = InferenceRecord.objects.filter(created_at__gte=start, created_at__lt=end)
    if version_ids is not None:
        records = records.filter(version_id__in=version_ids)
    if caller is not None:
        records = records.filter(caller=caller)
    return records.order_by()


def usage_counts(
    window: UsageWindow, *, version_ids: list[int] | None = None, caller: User | None = None
) -> dict[tuple[int, int], UsagePeriod]:
    """Calls, errors and instances per version and period of the window, in one statement:
    {(version id, period index): UsagePeriod}, only where there were calls. `version_ids`
    and `caller` narrow the calls counted (a consumer's own calls)."""
    rows = (
        _records(start=window.start, end=window.end, version_ids=version_ids, caller=caller)
        .annotate(period=Trunc("created_at", window.by))
        .values("version_id", "period")
        .annotate(
            calls=Count("pk"),
            errors=Count("pk", filter=~Q(outcome=InferenceOutcome.OK)),
            instances=Sum("count"),
        )
    )
    return {
        (row["version_id"], window.index(row["period"])): UsagePeriod(
            start=row["period"],
            calls=row["calls"],
            errors=row["errors"],
            instances=row["instances"] or 0,
        )
        for row in rows
    }


def latency_percentiles(
    *,
    version_id: int,
    start: datetime,
    end: datetime,
    by: str | None,
    caller: User | None = None,
) -> dict[datetime | None, dict[int, float]]:
    """The nearest-rank latency percentiles (PERCENTILES, in ms) of the version's answered
    calls between `start` and `end`, per hour or day (`by`; None: over the whole interval):
    {period start (None for the whole): {p: latency}}; one statement (module docstring)."""
    answered = _records(start=start, end=end, version_ids=[version_id], caller=caller).filter(
        outcome=InferenceOutcome.OK
    )
    if by:
        answered = answered.annotate(period=Trunc("created_at", by))
    partition = [F("period")] if by else None
    ranked = answered.annotate(
        rank=Window(RowNumber(), partition_by=partition, order_by=F("latency_ms").asc()),
        answered=Window(Count("pk"), partition_by=partition),
    ).annotate(rank_x100=F("rank") * 100)
    # ceil(p·n/100) is the rank r with 100·r >= p·n > 100·(r - 1): integers only, so no
    # division whose rounding differs between the databases.
    wanted = Q()
    for p in PERCENTILES:
        wanted |= Q(rank_x100__gte=F("answered") * p, rank_x100__lt=F("answered") * p + 100)
    rows = ranked.filter(wanted).values_list(
        "period" if by else "version_id", "rank", "answered", "latency_ms"
    )
    found: dict[datetime | None, dict[int, float]] = {}
    for period, rank, count, latency in rows:
        for p in PERCENTILES:
            if 100 * rank >= p * count > 100 * (rank - 1):
                found.setdefault(period if by else None, {})[p] = latency
    return found


def version_usage(
    version_id: int, window: UsageWindow, *, caller: User | None = None
) -> tuple[list[UsagePeriod], UsagePeriod]:
    """Every period of the window with the version's usage (zeros where there was none), and
    the whole window's totals and percentiles; the calls of `caller` only when given. Three
    statements."""
    counts = usage_counts(window, version_ids=[version_id], caller=caller)
    latencies = latency_percentiles(
        version_id=version_id, start=window.start, end=window.end, by=window.by, caller=caller
    )
    by_index = {window.index(period): latency for period, latency in latencies.items()}
    periods = []
    for i, start in enumerate(window.starts()):
        found = counts.get((version_id, i))
        periods.append(
            UsagePeriod(
                start=start,
                calls=found.calls if found else 0,
                errors=found.errors if found else 0,
                instances=found.instances if found else 0,
                latency=by_index.get(i),
            )
        )
    whole = latency_percentiles(
        version_id=version_id, start=window.start, end=window.end, by=None, caller=caller
    )
    total = UsagePeriod(
        start=window.start,
        calls=sum(p.calls for p in periods),
        errors=sum(p.errors for p in periods),
        instances=sum(p.instances for p in periods),
        latency=whole.get(None),
    )
    return periods, total


def subscribers_per_model(sam_ids: list[int]) -> dict[int, int]:
    """How many consumers hold an active subscription to each model (by any method)."""
    rows = (
        Subscription.objects.filter(sam_id__in=sam_ids, status=SubscriptionStatus.ACTIVE)
        .order_by()
        .values("sam_id")
        .annotate(consumers=Count("consumer", distinct=True))
    )
    return {row["sam_id"]: row["consumers"] for row in rows}
