"""Model selection end to end with a real Celery worker (prefork, two processes, on the test's
broker and database): a subscription made over /aimles-amlmsel/v1/, three candidates trained
for real and ranked as scikit-learn ranks them directly, progress notifications at the job
percentages POSTed to a loopback receiver and conforming to the schema of AssistMLMdlSelNotif,
and a reachable performance target that stops the job early."""

import pytest
from sklearn.linear_model import SGDClassifier
from sklearn.naive_bayes import GaussianNB

from tests.aimle.conftest import aimle_clients, kpi_frame, three_estimators
from tests.aimle.selection import (
    direct_scores,
    notification_errors,
    released_estimator,
    subscription_body,
)
from tests.processes import celery_worker_start, celery_worker_stop
from tests.training.training import upload_dataset, wait_for
from training.models import CandidateStatus, ModelSelection, SelectionStatus

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/aimles-amlmsel/v1/subscriptions"
# Rounds of about a second each on the 240 training rows: long enough to be caught running.
SLOW_ITERATIONS = 40_000


@pytest.fixture(scope="module")
def worker_log(tmp_path_factory):
    return tmp_path_factory.mktemp("selection-worker") / "worker.log"


@pytest.fixture(scope="module")
def worker(django_db_setup, shared_warehouse, worker_log):
    process = celery_worker_start(
        worker_log,
        concurrency=2,
        env={
            "SAMHUB_WAREHOUSE_DIR": str(shared_warehouse),
            "SAMHUB_CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8",
            "SAMHUB_CALLBACK_TIMEOUT_SECONDS": "2",
            "SAMHUB_CALLBACK_BACKOFF_SECONDS": "1",
            "SAMHUB_TRAINING_HEARTBEAT_SECONDS": "1",
        },
    )
    yield process
    celery_worker_stop(process)


@pytest.fixture(autouse=True)
def clients(operator, organisation):
    return aimle_clients(operator, organisation)


def finished(selection_id, log):
    return wait_for(
        lambda: ModelSelection.objects.filter(
            pk=selection_id, status__in=(SelectionStatus.FINISHED, SelectionStatus.FAILED)
        ).first(),
        timeout=180,
        what="the model selection to end",
        log=log,
    )


def test_three_candidates_are_ranked_and_progress_is_notified(
    worker, worker_log, in_shared_warehouse, loopback_callbacks, api, provider, auditor,
    organisation, tmp_path, receiver,
):  # fmt: skip
    candidates = [
        released_estimator(provider, auditor, e, name=f"Anomaly {type(e).__name__}")
        for e in three_estimators()
    ]
    dataset = upload_dataset(provider, organisation, tmp_path, kpi_frame(), name="KPIs 300")
    body = subscription_body(
        candidates, [dataset], rounds=4, notifUri=f"{receiver.url}/aimle",
        repInfo={"notifMethod": "ON_PCT_COMPLETION", "jobPercentage": 25},
    )  # fmt: skip

    answer = api(provider).post(URL, body, format="json")
    assert answer.status_code == 201, answer.content
    selection = finished(answer.json()["subscriptionId"], worker_log)
    bodies = receiver.wait_for(4, path="/aimle")

    expected = direct_scores(three_estimators(), kpi_frame(), rounds=4, metric="ACCURACY")
    order = sorted(range(3), key=lambda i: (-expected[i], i))
    ranked = sorted(selection.candidates.all(), key=lambda c: c.rank)
    assert selection.status == SelectionStatus.FINISHED
    assert [c.version_id for c in ranked] == [candidates[i].pk for i in order]
    assert [c.score for c in ranked] == pytest.approx([expected[i] for i in order], abs=1e-12)
    assert sorted(b["opStatus"]["percentage"] for b in bodies) == [25, 50, 75, 100]
    for notification in bodies:
        assert notification_errors(notification) == [], notification
    final = next(b for b in bodies if b["opStatus"]["percentage"] == 100)
    assert final["opStatus"]["status"] == "FINISHED"
    assert [m["mlMdlInfo"]["mlMdlId"] for m in sorted(final["trainMLModel"], key=lambda m: m["rank"])] == [
        str(candidates[i].pk) for i in order
    ]  # fmt: skip
    got = api(provider).get(answer["Location"]).json()
    assert got["opStatus"] == {"status": "FINISHED", "percentage": 100, "targetReached": False}


def test_a_reachable_target_stops_the_job_early(
    worker, worker_log, in_shared_warehouse, api, provider, auditor, organisation, tmp_path
):
    fast = released_estimator(provider, auditor, GaussianNB(), name="Anomaly naive Bayes")
    slow = [
        released_estimator(
            provider,
            auditor,
            SGDClassifier(max_iter=SLOW_ITERATIONS, tol=None, random_state=i),
            name=f"Anomaly SGD {i}",
        )  # fmt: skip
        for i in (1, 2)
    ]
    dataset = upload_dataset(provider, organisation, tmp_path, kpi_frame(), name="KPIs 300")
    body = subscription_body([fast, *slow], [dataset], rounds=3, target=0.5)

    answer = api(provider).post(URL, body, format="json")
    assert answer.status_code == 201, answer.content
    selection = finished(answer.json()["subscriptionId"], worker_log)

    candidates = list(selection.candidates.order_by("pk"))
    statuses = [c.status for c in candidates]
    assert selection.status == SelectionStatus.FINISHED and selection.target_reached_at
    assert statuses.count(CandidateStatus.FINISHED) < 3, statuses
    assert set(statuses) - {CandidateStatus.FINISHED} <= {
        CandidateStatus.STOPPED,
        CandidateStatus.SKIPPED,
    }
    assert candidates[0].status == CandidateStatus.FINISHED and candidates[0].rank == 1
    # Two worker processes: two candidates trained at the same time.
    ran = [c for c in candidates if c.started_at]
    assert any(
        a.started_at < b.ended_at and b.started_at < a.ended_at
        for i, a in enumerate(ran)
        for b in ran[i + 1 :]
    ), [(c.started_at, c.ended_at) for c in ran]
    assert answer.json()["opStatus"]["status"] == "QUEUED"


def test_a_candidate_that_trains_too_long_fails_and_the_job_says_why(
    worker, worker_log, in_shared_warehouse, settings, api, provider, auditor, organisation,
    tmp_path,
):  # fmt: skip
    settings.SAMHUB_MODEL_SELECTION_CANDIDATE_SECONDS = 1  # the task's soft limit, when sent
    slow = released_estimator(
        provider, auditor, SGDClassifier(max_iter=SLOW_ITERATIONS, tol=None, random_state=3),
        name="Anomaly SGD slow",
    )  # fmt: skip
    dataset = upload_dataset(provider, organisation, tmp_path, kpi_frame(), name="KPIs 300")

    answer = api(provider).post(URL, subscription_body([slow], [dataset], rounds=10), format="json")
    selection = finished(answer.json()["subscriptionId"], worker_log)

    (candidate,) = selection.candidates.all()
    assert candidate.status == CandidateStatus.FAILED and candidate.rounds_done < 10
    assert "longer than 1 s" in candidate.error
    assert (
        selection.status == SelectionStatus.FAILED
        and candidate.error in selection.result_state_info
    )
