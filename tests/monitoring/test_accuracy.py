"""Accuracy measured in SQL from metered inferences with ground truth: a classifier's share of
right labels, a regressor's mean absolute error; only answered instances in the interval
count, and only those with ground truth are compared."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from monitoring import selectors
from sharing import metering
from sharing.models import InferenceDataSet, InferenceRecord
from tests.monitoring.conftest import ROWS, infer_with_truth


@pytest.mark.django_db
def test_a_classifiers_accuracy_is_the_share_of_right_labels(version, consumer, subscription):
    start = timezone.now()
    infer_with_truth(version, consumer, right=7, wrong=3, batch=4)
    # A call without ground truth counts as an inference but is not compared.
    metering.inference_call(
        caller=consumer, version_id=version.pk, body={"inputs": {"input": ROWS[:2].tolist()}}
    )
    with CaptureQueriesContext(connection) as queries:
        measured = selectors.version_measure(version, start=start, end=timezone.now())
    # Aggregates in SQL, no call brought to Python: one statement (on PostgreSQL a second for
    # the batch calls, which this test has).
    # (And one for the input data sets named for wrong predictions.)
    reads = [q["sql"] for q in queries if "sharing_inferencerecord" in q["sql"]]
    assert 1 <= len(reads) <= 3 and all(sql.lstrip().startswith("SELECT") for sql in reads)
    assert all("SUM(" in sql and "GROUP BY" in sql for sql in reads)
    assert (measured.inferences, measured.labelled) == (12, 10)
    assert measured.accuracy == pytest.approx(0.7)
    assert measured.accuracy_percent == 70
    assert measured.deviation == pytest.approx(0.3)


@pytest.mark.django_db
def test_null_ground_truth_entries_are_not_compared(version, consumer, subscription):
    start = timezone.now()
    record = metering.inference_call(
        caller=consumer, version_id=version.pk, body={"inputs": {"input": ROWS[:3].tolist()}}
    )
    labels = record.outputs["label"]
    metering.inference_ground_truth_attach(
        user=consumer,
        inference_id=record.pk,
        ground_truth={"label": [labels[0], None, 1 - labels[2]]},
    )
    measured = selectors.version_measure(version, start=start, end=timezone.now())
    assert (measured.inferences, measured.labelled, measured.accuracy) == (3, 2, 0.5)


@pytest.mark.django_db
def test_a_regressors_deviation_is_the_mean_absolute_error(regressor, consumer):
    from sharing.services import subscription_request

    subscription_request(user=consumer, sam=regressor.sam, method="INFERENCE")
    start = timezone.now()
    records = infer_with_truth(regressor, consumer, right=6, wrong=4, batch=5)
    measured = selectors.version_measure(regressor, start=start, end=timezone.now())
    assert (measured.inferences, measured.labelled) == (10, 10)
    assert measured.deviation == pytest.approx(4.0, rel=1e-6)  # 4 of 10 are off by 10
    truths = [abs(v[0]) for r in records for v in r.ground_truth["variable"]]
    assert measured.accuracy == pytest.approx(1 - 40 / sum(truths), rel=1e-6)
    # Calls of one instance ([[value]]) are measured alike.
    infer_with_truth(regressor, consumer, right=2, wrong=2, batch=1)
    measured = selectors.version_measure(regressor, start=start, end=timezone.now())
    assert (measured.inferences, measured.labelled) == (14, 14)
    assert measured.deviation == pytest.approx(60 / 14, rel=1e-6)


@pytest.mark.django_db
def test_only_the_interval_counts_and_buckets_split_it(version, consumer, subscription):
    infer_with_truth(version, consumer, right=2, wrong=2)
    old = timezone.now() - timedelta(hours=3)
    InferenceRecord.objects.update(created_at=old)  # made three hours ago
    start = timezone.now()
    infer_with_truth(version, consumer, right=3, wrong=0)
    now = timezone.now()
    assert selectors.version_measure(version, start=start, end=now).accuracy == 1.0
    assert selectors.version_measure(version, start=start, end=now).inferences == 3
    series = selectors.version_measure_series(
        version, start=now - timedelta(hours=4), end=now, width=3600
    )
    assert [(m.inferences, m.accuracy) for m in series] == [(4, 0.5), (3, 1.0)]
    assert series[0].start <= old < series[0].end


@pytest.mark.django_db
def test_the_input_data_sets_of_wrong_predictions_are_found_in_sql(version, consumer, subscription):
    start = timezone.now()
    adrf = "4e2b9b1c-7d3a-4f55-8a0e-5b1f2c3d4e5f"
    infer_with_truth(version, consumer, right=2, wrong=1,
                     input_data_set={"data_set_id": "east", "adrf_id": adrf})  # fmt: skip
    # A batch call of four instances, three of them wrong.
    infer_with_truth(version, consumer, right=1, wrong=3, batch=4,
                     input_data_set={"data_set_id": "west"})  # fmt: skip
    infer_with_truth(version, consumer, right=3, wrong=0, input_data_set={"data_set_id": "north"})
    infer_with_truth(version, consumer, right=0, wrong=2)  # wrong, but nothing named
    now = timezone.now()
    named = dict(InferenceDataSet.objects.values_list("data_set_id", "pk"))

    with CaptureQueriesContext(connection) as queries:
        found = selectors.version_wrong_inputs(version, start=start, end=now)
    assert found == [(named["west"], 3), (named["east"], 1)]  # the most wrong first
    reads = [q["sql"] for q in queries if "sharing_inferencerecord" in q["sql"]]
    assert 1 <= len(reads) <= 2 and all("GROUP BY" in sql for sql in reads)
    measured = selectors.version_measure(version, start=start, end=now)
    assert measured.wrong_inputs == tuple(found)
    assert (measured.inferences, measured.labelled, measured.accuracy) == (12, 12, 0.5)
    # Outside the interval nothing is found.
    assert selectors.version_wrong_inputs(version, start=now, end=timezone.now()) == []


@pytest.mark.django_db
def test_a_regressors_prediction_is_wrong_beyond_the_tolerance(regressor, consumer, settings):
    from sharing.services import subscription_request

    subscription_request(user=consumer, sam=regressor.sam, method="INFERENCE")
    start = timezone.now()
    infer_with_truth(regressor, consumer, right=3, wrong=2, batch=5,
                     input_data_set={"data_set_id": "cells"})  # fmt: skip
    infer_with_truth(regressor, consumer, right=0, wrong=1, input_data_set={"data_set_id": "one"})
    now = timezone.now()
    named = dict(InferenceDataSet.objects.values_list("data_set_id", "pk"))
    settings.SAMHUB_MONITOR_REGRESSION_TOLERANCE_PERCENT = 1  # 10 off a load of at most 110 %
    found = selectors.version_wrong_inputs(regressor, start=start, end=now)
    assert found == [(named["cells"], 2), (named["one"], 1)]
    settings.SAMHUB_MONITOR_REGRESSION_TOLERANCE_PERCENT = 100_000  # nothing is that far off
    assert selectors.version_wrong_inputs(regressor, start=start, end=now) == []
