"""Reads of the ML model monitor: whose registrations and subscriptions are whose, what is due,
and the accuracy of a version measured from its metered inferences (docs/monitoring.md).

The measurement is one aggregate statement per version and interval, in SQL: each metered call
(sharing.InferenceRecord) holds its outputs and its ground truth as JSON objects of lists, one
entry per instance; the statement pairs the entries of the monitored output by position
(SQLite `json_each`, PostgreSQL `jsonb_array_elements WITH ORDINALITY`) and counts or sums
them, so no instance passes through Python. The same statement, grouped by the input data set
named with the ground truth (sharing.InferenceDataSet), finds the data sets that hold the
inputs of wrong predictions.
"""

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet

from monitoring import permissions
from monitoring.models import (
    DeliveryStatus,
    MonitorNotification,
    MonitorRegistration,
    MonitorSubscription,
    MonitorSubscriptionStatus,
    RegistrationStatus,
)
from registry.models import ModelVersion
from registry.selectors import PUBLISHED_STATES
from sharing.models import InferenceDataSet, InferenceOutcome, InferenceRecord
from sharing.selectors import subscriptions_of as sharing_subscriptions_of

CLASSIFIER, REGRESSOR = "classifier", "regressor"


# --- what is monitored -----------------------------------------------------------------------


def monitored_output(version: ModelVersion) -> tuple[str, str] | None:
    """The output whose ground truth measures the version, and how: a classifier's label
    (an output with classes, or of a non-float type) is right or wrong; a regressor's value
    (a float output) is off by its absolute error. None when the signature names no output."""
    outputs = (version.signature or {}).get("outputs") or []
    if not outputs:
        return None
    for output in outputs:
        if output.get("classes") is not None:
            return output["name"], CLASSIFIER
    first = outputs[0]
    if str(first.get("type", "")).startswith(("float", "double")):
        return first["name"], REGRESSOR
    return first["name"], CLASSIFIER


@dataclass(frozen=True)
class Measurement:
    """A version's accuracy over [start, end): `inferences` instances answered, `labelled` of
    them with ground truth; for a classifier `accuracy` is the share right and `deviation` the
    share wrong; for a regressor `deviation` is the mean absolute error and `accuracy`
    1 - sum|error| / sum|truth| (one minus the weighted absolute percentage error), floored at
    0. Both None without labelled instances."""

    version_id: int
    start: datetime
    end: datetime
    inferences: int
    labelled: int
    accuracy: float | None
    deviation: float | None
    # The input data sets named for its wrong predictions: (InferenceDataSet id, wrong
    # instances), the most wrong first (version_wrong_inputs).
    wrong_inputs: tuple[tuple[int, int], ...] = ()

    @property
    def accuracy_percent(self) -> int | None:
        return None if self.accuracy is None else round(100 * self.accuracy)


# One statement per backend, kind and value shape: one pass over the version's answered calls
# between two instants, aggregated per bucket of `width` seconds from `start` (or in one
# bucket). A call of one instance (the common case) is compared with two JSON extractions; a
# batch call pairs its entries by position in a subquery. Values of shape [None, 1] are lists
# of one element per instance, unwrapped.
_SQLITE = {
    "bucket": (
        "CAST((julianday(r.created_at) - julianday(%(start)s)) * 86400 / %(width)s AS INTEGER)"
    ),
    "single": ("json_extract(r.outputs, %(path0)s)", "json_extract(r.ground_truth, %(path0)s)"),
    "pairs": "FROM json_each(r.outputs, %(path)s) o "
    "JOIN json_each(r.ground_truth, %(path)s) g ON g.key = o.key",
    "elements": ("o.value", "g.value"),
    "nested": ("json_extract(o.value, '$[0]')", "json_extract(g.value, '$[0]')"),
    "known": "{t} IS NOT NULL",
    "numbers": "typeof({p}) IN ('integer', 'real') AND typeof({t}) IN ('integer', 'real')",
    "equal": "{p} = {t}",
    "number": "{x}",
    "null": "NULL",
    "count": "",
}
_POSTGRES = {
    "bucket": "FLOOR(EXTRACT(EPOCH FROM r.created_at - %(start)s) / %(width)s)::bigint",
    "single": ("(r.outputs -> %(name)s -> 0)", "(r.ground_truth -> %(name)s -> 0)"),
    "pairs": "FROM jsonb_array_elements(CASE WHEN jsonb_typeof(r.outputs -> %(name)s) = 'array' "
    "THEN r.outputs -> %(name)s END) WITH ORDINALITY o(v, i) "
    "JOIN jsonb_array_elements(CASE WHEN jsonb_typeof(r.ground_truth -> %(name)s) = 'array' "
    "THEN r.ground_truth -> %(name)s END) WITH ORDINALITY g(v, i) ON g.i = o.i",
    "elements": ("o.v", "g.v"),
    "nested": ("(o.v -> 0)", "(g.v -> 0)"),
    "known": "jsonb_typeof({t}) <> 'null'",
    "numbers": "jsonb_typeof({p}) = 'number' AND jsonb_typeof({t}) = 'number'",
    "equal": "{p} = {t}",
    "number": "({x})::float8",
    "null": "NULL::float8",
    # A batch's counts as integers: summing the bigints COUNT(*) gives would make the outer
    # SUM a numeric one, a second slower over a million calls.
    "count": "::int",
    # A subquery in the statement, even one never run, costs PostgreSQL a third more per call:
    # batch calls are measured by a second statement, only when there are some.
    "batches_apart": True,
    # A call of one instance compared as its one-element arrays (jsonb equality is by value,
    # so [1] = [1.0]): one extraction per side instead of two.
    "single_arrays": ("(r.outputs -> %(name)s)", "(r.ground_truth -> %(name)s)"),
}
_MEASURE = """
    SELECT {key} AS key, SUM(r.count), {labelled}, {right}, {error}, {truth}, {wrong},
           SUM(CASE WHEN r.count > 1 AND r.ground_truth_at IS NOT NULL THEN 1 ELSE 0 END)
    FROM {records} r
    WHERE r.version_id = %(version)s AND r.outcome = %(ok)s
      AND r.created_at >= %(start)s AND r.created_at < %(end)s{named}
    GROUP BY 1 ORDER BY 1
"""
# The measurement per named input data set: only the calls with ground truth whose input data
# set is named (the partial index inference_named_by_version holds just those).
_NAMED = " AND r.{column} IS NOT NULL AND r.ground_truth_at IS NOT NULL"
_SUM = """SUM(CASE WHEN r.ground_truth_at IS NULL THEN NULL
                    WHEN r.count = 1 THEN {single}
                    ELSE {batch} END)"""


@functools.cache
def _statement(
    vendor: str, kind: str, nested: bool, buckets: bool, batches: bool = True, named: bool = False
) -> str:
    """The measurement's statement; without `batches`, batch calls are left out (counted in
    its last column, to run the whole statement when there are some). `named`: grouped by the
    calls' named input data set instead of by time, with a regressor's wrong instances
    counted (a classifier's are the labelled ones less the right ones)."""
    sql = _POSTGRES if vendor == "postgresql" else _SQLITE
    single_p, single_t = sql["single"]
    if nested:
        single_p, single_t = (x.replace("-> 0)", "-> 0 -> 0)") for x in (single_p, single_t))
    pair_p, pair_t = sql["nested"] if nested else sql["elements"]

    def parts(p: str, t: str) -> dict:
        """What one pair (predicted p, truth t) contributes; None: not measured."""
        if kind == CLASSIFIER:
            # Equal labels: 1, different: 0, no truth: NULL (not counted).
            right = f"CASE WHEN {sql['equal'].format(p=p, t=t)} THEN 1 "
            right += f"WHEN {sql['known'].format(t=t)} THEN 0 END"
            return {"valid": sql["known"].format(t=t), "right": right, "error": None,
                    "truth": None, "wrong": None}  # fmt: skip
        valid = sql["numbers"].format(p=p, t=t)
        number_p, number_t = sql["number"].format(x=p), sql["number"].format(x=t)
        error = f"ABS({number_p} - {number_t})"
        return {
            "valid": valid,
            "right": None,
            "error": f"CASE WHEN {valid} THEN {error} END",
            "truth": f"CASE WHEN {valid} THEN ABS({number_t}) END",
            # Wrong: off by more than the tolerance, a share of the truth's magnitude.
            "wrong": f"CASE WHEN {valid} AND {error} > %(tolerance)s * ABS({number_t}) "
            "THEN 1 ELSE 0 END",
        }

    single, pair = parts(single_p, single_t), parts(pair_p, pair_t)
    if kind == CLASSIFIER and "single_arrays" in sql:
        whole_p, whole_t = sql["single_arrays"]
        missing = "'[[null]]'::jsonb" if nested else "'[null]'::jsonb"
        single = {
            **single,
            "valid": f"{whole_t} <> {missing}",
            "right": f"CASE WHEN {whole_p} = {whole_t} THEN 1 WHEN {whole_t} <> {missing} THEN 0 END",
        }

    def total(name: str, single_value: str, pair_sum: str) -> str:
        if single[name] is None:
            return sql["null"]  # not measured for this kind: nothing evaluated
        batch = f"(SELECT {pair_sum} {sql['pairs']} WHERE {pair['valid']})" if batches else "0"
        return _SUM.format(single=single_value, batch=batch)

    column = InferenceRecord._meta.get_field("input_data_set").column
    return _MEASURE.format(
        key=f"r.{column}" if named else sql["bucket"] if buckets else "0",
        named=_NAMED.format(column=column) if named else "",
        records=InferenceRecord._meta.db_table,
        labelled=total(
            "valid", f"CASE WHEN {single['valid']} THEN 1 ELSE 0 END", f"COUNT(*){sql['count']}"
        ),
        right=total("right", single["right"] or "", f"SUM({pair['right']}){sql['count']}"),
        error=total("error", single["error"] or "", f"SUM({pair['error']})"),
        truth=total("truth", single["truth"] or "", f"SUM({pair['truth']})"),
        wrong=total("wrong", single["wrong"] or "", f"SUM({pair['wrong']}){sql['count']}")
        if named
        else sql["null"],
    )


def _json_path(name: str) -> str:
    return '$."' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _nested(version: ModelVersion, name: str) -> bool:
    """Whether the output has one list of one value per instance (shape [None, 1])."""
    for output in (version.signature or {}).get("outputs") or []:
        if output.get("name") == name:
            shape = output.get("shape") or []
            return len(shape) == 2 and shape[1] == 1
    return False


def _measure_rows(
    version: ModelVersion,
    *,
    start: datetime,
    end: datetime,
    width: float,
    buckets: bool = True,
    named: bool = False,
) -> tuple[str, list[tuple]]:
    """The kind of the version's monitored output and the rows of its measurement statement:
    (key, inferences, labelled, right, sum |error|, sum |truth|, wrong, batch calls), the key
    a time bucket, or a named input data set's id."""
    monitored = monitored_output(version)
    name, kind = monitored if monitored else ("", CLASSIFIER)
    nested = _nested(version, name)
    params = {
        "version": version.pk,
        "ok": InferenceOutcome.OK,
        "start": connection.ops.adapt_datetimefield_value(start),
        "end": connection.ops.adapt_datetimefield_value(end),
        "width": float(width),
        # Without a monitored output nothing pairs: the calls are still counted.
        "name": name,
        "path": _json_path(name) if monitored else "$.__none__",
        "path0": (_json_path(name) if monitored else "$.__none__")
        + ("[0][0]" if nested else "[0]"),
        "tolerance": settings.SAMHUB_MONITOR_REGRESSION_TOLERANCE_PERCENT / 100,
    }
    if connection.vendor == "postgresql":
        params["start"] = start  # an interval is subtracted from it: keep the timestamp type
    apart = (_POSTGRES if connection.vendor == "postgresql" else _SQLITE).get("batches_apart")
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The batch subqueries make the planner's estimate huge, and PostgreSQL would spend
            # a second compiling the statement (JIT) to save less than that.
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(
            _statement(connection.vendor, kind, nested, buckets, not apart, named), params
        )
        rows = cursor.fetchall()
        if apart and any(row[-1] for row in rows):
            cursor.execute(
                _statement(connection.vendor, kind, nested, buckets, True, named), params
            )
            rows = cursor.fetchall()
    return kind, rows


def version_measure_series(
    version: ModelVersion, *, start: datetime, end: datetime, width: float, buckets: bool = True
) -> list[Measurement]:
    """The version's measurement in each bucket of `width` seconds from `start` to `end` that
    has answered calls, oldest first."""
    kind, rows = _measure_rows(version, start=start, end=end, width=width, buckets=buckets)
    series = []
    for bucket, inferences, labelled, right, abs_error, abs_truth, _, _ in rows:
        bucket_start = start + timedelta(seconds=bucket * width)
        accuracy = deviation = None
        labelled = int(labelled or 0)  # PostgreSQL sums integers as numeric
        if labelled:
            if kind == CLASSIFIER:
                accuracy = float(right or 0) / labelled
                deviation = 1 - accuracy
            else:
                abs_error, abs_truth = float(abs_error or 0), float(abs_truth or 0)
                deviation = abs_error / labelled
                accuracy = max(0.0, 1 - abs_error / abs_truth) if abs_truth else 0.0
        series.append(
            Measurement(
                version_id=version.pk,
                start=max(start, bucket_start),
                end=min(end, bucket_start + timedelta(seconds=width)),
                inferences=int(inferences or 0),
                labelled=labelled,
                accuracy=accuracy,
                deviation=deviation,
            )
        )
    return series


def version_wrong_inputs(
    version: ModelVersion, *, start: datetime, end: datetime
) -> list[tuple[int, int]]:
    """The input data sets named for the version's wrong predictions over [start, end), as
    (InferenceDataSet id, wrong instances), the most wrong first: in one statement over the
    calls whose input data set is named. A classifier's prediction is wrong when its label
    differs from the ground truth; a regressor's when it is off by more than
    SAMHUB_MONITOR_REGRESSION_TOLERANCE_PERCENT of the truth's magnitude."""
    width = max((end - start).total_seconds(), 1e-6)
    kind, rows = _measure_rows(
        version, start=start, end=end, width=width, buckets=False, named=True
    )
    found = []
    for data_set_id, _, labelled, right, _, _, wrong, _ in rows:
        count = int(labelled or 0) - int(right or 0) if kind == CLASSIFIER else int(wrong or 0)
        if count > 0:
            found.append((data_set_id, count))
    return sorted(found, key=lambda pair: (-pair[1], pair[0]))


def version_measure(version: ModelVersion, *, start: datetime, end: datetime) -> Measurement:
    """The version's measurement over [start, end), in one statement, and the input data sets
    named for its wrong predictions, in a second."""
    width = max((end - start).total_seconds(), 1e-6)
    series = version_measure_series(version, start=start, end=end, width=width, buckets=False)
    if not series:
        return Measurement(version.pk, start, end, 0, 0, None, None)
    only = series[0]
    return Measurement(
        version.pk, start, end, only.inferences, only.labelled, only.accuracy, only.deviation,
        wrong_inputs=tuple(version_wrong_inputs(version, start=start, end=end)) if only.labelled
        else (),
    )  # fmt: skip


def input_data_sets(ids) -> dict[int, InferenceDataSet]:
    return InferenceDataSet.objects.in_bulk(set(ids))


class DataSetsTold:
    """Which named input data set of each measured model a subscriber is told of: of those
    monitoring.permissions lets them be told of, the one holding the inputs of most wrong
    predictions. Reads the data sets, subscribers and versions only when some are named, and
    each once."""

    def __init__(self) -> None:
        self._data_sets: dict[int, InferenceDataSet] = {}
        self._users: dict[int, User | None] = {}
        self._versions: dict[int, ModelVersion] = {}
        self._told: dict[tuple[int, int], bool] = {}

    def told(self, owner_id: int, measurements: list[Measurement]) -> dict[int, InferenceDataSet]:
        """Per model (version id), the data set the subscription's owner is told of."""
        named = [m for m in measurements if m.wrong_inputs]
        if not named:
            return {}
        wanted = {pk for m in named for pk, _ in m.wrong_inputs} - self._data_sets.keys()
        if wanted:
            self._data_sets |= input_data_sets(wanted)
        if owner_id not in self._users:
            self._users[owner_id] = User.objects.filter(pk=owner_id).first()
        chosen = {}
        for measurement in named:
            for data_set_pk, _ in measurement.wrong_inputs:
                if self._may_tell(self._data_sets[data_set_pk], measurement.version_id, owner_id):
                    chosen[measurement.version_id] = self._data_sets[data_set_pk]
                    break
        return chosen

    def _may_tell(self, data_set: InferenceDataSet, version_id: int, owner_id: int) -> bool:
        if data_set.owner_id == owner_id:
            return True
        key = (version_id, owner_id)  # the rest of the rule is the subscriber's standing
        if key not in self._told:
            if version_id not in self._versions:
                self._versions[version_id] = ModelVersion.objects.select_related("sam").get(
                    pk=version_id
                )
            user = self._users[owner_id]
            self._told[key] = user is not None and permissions.told_of_data_set(
                data_set, self._versions[version_id], user
            )
        return self._told[key]


# --- registrations and subscriptions ---------------------------------------------------------


def monitorable_versions() -> QuerySet[ModelVersion]:
    """The versions that modelId may name: released ones, and deprecated ones still serving."""
    return ModelVersion.objects.filter(status__in=PUBLISHED_STATES).select_related("sam")


def registrations_of(user: User | AnonymousUser) -> QuerySet[MonitorRegistration]:
    if not user.is_authenticated:
        return MonitorRegistration.objects.none()
    return MonitorRegistration.objects.filter(owner=user, status=RegistrationStatus.ACTIVE)


def subscriptions_of(user: User | AnonymousUser) -> QuerySet[MonitorSubscription]:
    if not user.is_authenticated:
        return MonitorSubscription.objects.none()
    return MonitorSubscription.objects.filter(
        owner=user, status=MonitorSubscriptionStatus.ACTIVE
    ).prefetch_related("versions")


def registrations_matching(user: User, version_ids: list[int]) -> list[MonitorRegistration]:
    """The user's live registrations of these versions, oldest first: what a subscription on
    them reflects (analytics id, target, filter) when it does not say itself."""
    return list(
        registrations_of(user).filter(version_id__in=version_ids).order_by("created_at", "pk")
    )


def subscriptions_live(now: datetime) -> QuerySet[MonitorSubscription]:
    """Active subscriptions that have not expired nor sent their last report."""
    return (
        MonitorSubscription.objects.filter(status=MonitorSubscriptionStatus.ACTIVE)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .exclude(max_reports__isnull=False, reports_sent__gte=F("max_reports"))
    )


def subscriptions_due(now: datetime) -> QuerySet[MonitorSubscription]:
    return subscriptions_live(now).filter(next_report_at__lte=now)


def subscriptions_watching_threshold(now: datetime) -> QuerySet[MonitorSubscription]:
    return subscriptions_live(now).filter(accuracy_threshold__isnull=False)


def subscriptions_on(version_ids: list[int], now: datetime) -> QuerySet[MonitorSubscription]:
    return subscriptions_live(now).filter(versions__in=version_ids).distinct()


def threshold_window_start(subscription: MonitorSubscription, now: datetime) -> datetime:
    window = timedelta(seconds=settings.SAMHUB_MONITOR_WINDOW_SECONDS)
    return max(subscription.created_at, now - window)


def notifications_pending(ids: list[int]) -> QuerySet[MonitorNotification]:
    return MonitorNotification.objects.filter(pk__in=ids, status=DeliveryStatus.PENDING)


# --- the portal's monitoring page -----------------------------------------------------------


def subscribed_to_version(user: User | AnonymousUser, version: ModelVersion) -> bool:
    """A live sharing subscription to the model, or a monitor registration or subscription of
    the user's on the version."""
    if not user.is_authenticated:
        return False
    return (
        sharing_subscriptions_of(user).filter(sam=version.sam_id, status="ACTIVE").exists()
        or registrations_of(user).filter(version=version).exists()
        or subscriptions_of(user).filter(versions=version).exists()
    )


def version_monitoring_visible(user: User | AnonymousUser, version: ModelVersion) -> bool:
    return permissions.sees_version_monitoring(
        version, user, subscribed=subscribed_to_version(user, version)
    )


def version_registrations(version: ModelVersion) -> QuerySet[MonitorRegistration]:
    return version.monitor_registrations.select_related("owner").order_by("-created_at")


def version_subscriptions(version: ModelVersion) -> QuerySet[MonitorSubscription]:
    return version.monitor_subscriptions.select_related("owner").order_by("-created_at")


def version_notifications(version: ModelVersion, limit: int = 50) -> list[MonitorNotification]:
    return list(
        MonitorNotification.objects.filter(subscription__versions=version)
        .select_related("subscription", "subscription__owner")
        .prefetch_related("delivery_attempts")
        .order_by("-created_at", "-pk")[:limit]
    )
