"""The candidates' runs in this process (training.aimle.selection_execution, as a worker calls
it): the ranking against a direct computation, the notifications made at the job
percentages and their schema, a failing candidate reported while the others go on, the early
stop (SKIPPED and STOPPED), a run taken over after its worker was lost, a task run twice,
periodic reports, delivery, and the winner taken into the audit flow."""

from datetime import timedelta

import pytest
from django.utils import timezone

from registry.models import VersionStatus
from tests.aimle.conftest import kpi_frame, three_estimators
from tests.aimle.selection import direct_scores, notification_errors
from tests.callbacks import CallbackReceiver
from training.aimle import selection as services
from training.aimle import selection_execution, selection_notifications
from training.models import (
    CandidateStatus,
    DeliveryStatus,
    ModelSelectionCandidate,
    ModelSelectionNotification,
    SelectionNotificationKind,
    SelectionStatus,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("use_world_warehouse")]


def select(world, *, versions=None, params=None, target=None, rounds=4, **extra):
    requirement = services.TrainingRequirement(
        performance=(services.PerformanceRequirement("ACCURACY", target),),
        rounds=rounds,
        samples=10,
    )
    params = params or {}
    return services.model_selection_create(
        user=world.provider,
        candidates=[
            services.Candidate(v.pk, params.get(v.pk, {})) for v in (versions or world.candidates)
        ],
        dataset_ids=[world.dataset.pk],
        training_requirements=[requirement],
        client_set_ids=["set-north"],
        **extra,
    )


def candidates_of(selection) -> list[ModelSelectionCandidate]:
    return list(selection.candidates.order_by("pk"))


def run_all(selection) -> None:
    for candidate in candidates_of(selection):
        selection_execution.candidate_run(candidate_id=candidate.pk)
    selection.refresh_from_db()


def notifications(selection, kind=None) -> list[ModelSelectionNotification]:
    found = selection.notifications.order_by("pk")
    return list(found.filter(kind=kind) if kind else found)


def test_the_ranking_equals_a_direct_computation(world):
    selection = select(world, rounds=4)
    run_all(selection)

    expected = direct_scores(three_estimators(), kpi_frame(), rounds=4, metric="ACCURACY")
    order = sorted(range(3), key=lambda i: (-expected[i], i))
    ranked = sorted(candidates_of(selection), key=lambda c: c.rank)
    assert selection.status == SelectionStatus.FINISHED and selection.percentage == 100
    assert [c.version_id for c in ranked] == [world.candidates[i].pk for i in order]
    assert [c.score for c in ranked] == pytest.approx([expected[i] for i in order], abs=1e-12)
    assert all(len(c.round_scores) == 4 and c.sample_count == 300 for c in ranked)
    assert ranked[0].trained_file and not any(c.trained_file for c in ranked[1:])
    assert selection.target_reached_at is None


def test_notifications_are_made_at_the_job_percentages(world, loopback_callbacks):
    selection = select(
        world,
        rounds=4,
        notification_uri="http://127.0.0.1:9/notify",
        reporting=services.Reporting(method="ON_PCT_COMPLETION", job_percentage=25),
    )
    run_all(selection)

    made = notifications(selection)
    assert [(n.kind, n.sequence) for n in made] == [
        ("PERCENTAGE", 25), ("PERCENTAGE", 50), ("PERCENTAGE", 75), ("COMPLETION", 1),
    ]  # fmt: skip
    assert [n.body["opStatus"]["percentage"] for n in made] == [25, 50, 75, 100]
    for n in made:
        assert notification_errors(n.body) == [], n.body
    final = made[-1].body
    assert final["opStatus"] == {"status": "FINISHED", "percentage": 100, "targetReached": False}
    assert sorted(m["rank"] for m in final["trainMLModel"]) == [1, 2, 3]
    assert {p["perfMetric"] for m in final["trainMLModel"] for p in m["mlMdlPerf"]} == {"ACCURACY"}


def test_a_failing_candidate_is_reported_and_the_others_go_on(world, loopback_callbacks):
    bad = world.candidates[0]
    selection = select(
        world,
        params={bad.pk: {"C": -1.0}},  # LogisticRegression refuses C <= 0 when it is fitted
        notification_uri="http://127.0.0.1:9/notify",
        reporting=services.Reporting(method="ON_EVENT_DETECTION"),
    )
    run_all(selection)

    failed, *others = candidates_of(selection)
    assert failed.status == CandidateStatus.FAILED and "C" in failed.error
    assert failed.rank is None and failed.rounds_done == 0
    assert [c.status for c in others] == [CandidateStatus.FINISHED] * 2
    assert sorted(c.rank for c in others) == [1, 2]
    assert selection.status == SelectionStatus.FINISHED
    event, completion = notifications(selection)
    assert (event.kind, event.sequence) == (SelectionNotificationKind.EVENT, failed.pk)
    entry = next(m for m in event.body["trainMLModel"] if m["status"] == "FAILED")
    assert entry["error"] == failed.error and entry["mlMdlPerf"] == []
    assert notification_errors(event.body) == [] and notification_errors(completion.body) == []


def test_a_job_whose_candidates_all_fail_fails(world):
    selection = select(
        world, versions=world.candidates[:1], params={world.candidates[0].pk: {"C": -1.0}}
    )
    run_all(selection)

    assert selection.status == SelectionStatus.FAILED
    assert "No candidate finished" in selection.result_state_info


def test_a_reached_target_skips_the_candidates_not_started(world):
    selection = select(world, target=0.5)
    run_all(selection)

    first, *rest = candidates_of(selection)
    assert first.status == CandidateStatus.FINISHED and first.rank == 1
    assert [c.status for c in rest] == [CandidateStatus.SKIPPED] * 2
    assert selection.status == SelectionStatus.FINISHED and selection.target_reached_at
    assert "meets the performance target" in selection.result_state_info


def test_a_reached_target_stops_a_running_candidate_before_its_next_round(world):
    selection = select(world, target=0.5)
    first, second, third = candidates_of(selection)
    claimed, _ = services.candidate_claim(candidate_id=second.pk, run_id="run-2")
    services.candidate_round_record(
        candidate_id=second.pk, run_id="run-2", scores={"ACCURACY": 0.1}
    )

    selection_execution.candidate_run(candidate_id=first.pk)

    assert services.candidate_round_next(candidate_id=second.pk, run_id="run-2") is False
    second.refresh_from_db()
    third.refresh_from_db()
    selection.refresh_from_db()
    assert claimed is not None
    assert (second.status, second.rounds_done, second.rank) == (CandidateStatus.STOPPED, 1, None)
    assert third.status == CandidateStatus.SKIPPED
    assert selection.status == SelectionStatus.FINISHED


def test_a_run_lost_with_its_worker_is_taken_over_after_its_last_round(world, settings):
    selection = select(world, versions=world.candidates[:1], rounds=3)
    (candidate,) = candidates_of(selection)
    services.candidate_claim(candidate_id=candidate.pk, run_id="lost")
    services.candidate_round_record(
        candidate_id=candidate.pk, run_id="lost", scores={"ACCURACY": 0.25}
    )
    stale = timezone.now() - timedelta(seconds=60 * settings.SAMHUB_TRAINING_HEARTBEAT_SECONDS)
    ModelSelectionCandidate.objects.filter(pk=candidate.pk).update(heartbeat_at=stale)

    assert selection_execution.candidate_run(candidate_id=candidate.pk) == CandidateStatus.FINISHED
    candidate.refresh_from_db()
    assert candidate.round_scores[0] == {"ACCURACY": 0.25} and candidate.rounds_done == 3


def test_a_candidate_task_run_twice_changes_nothing_the_second_time(world):
    selection = select(world, versions=world.candidates[:1])
    (candidate,) = candidates_of(selection)
    selection_execution.candidate_run(candidate_id=candidate.pk)
    before = ModelSelectionCandidate.objects.get(pk=candidate.pk)

    assert selection_execution.candidate_run(candidate_id=candidate.pk) is None
    after = ModelSelectionCandidate.objects.get(pk=candidate.pk)
    assert (after.round_scores, after.ended_at, after.rank) == (
        before.round_scores, before.ended_at, before.rank,
    )  # fmt: skip


def test_periodic_reports_are_made_once_each_while_the_job_runs(world, loopback_callbacks):
    selection = select(
        world,
        notification_uri="http://127.0.0.1:9/notify",
        reporting=services.Reporting(method="PERIODIC", period_seconds=30),
    )
    assert services.selection_periodic_report(selection_id=selection.pk, sequence=1) is False
    services.candidate_claim(candidate_id=candidates_of(selection)[0].pk, run_id="r")

    assert services.selection_periodic_report(selection_id=selection.pk, sequence=1) is True
    assert services.selection_periodic_report(selection_id=selection.pk, sequence=1) is False
    (report,) = notifications(selection, SelectionNotificationKind.PERIODIC)
    assert report.body["opStatus"]["status"] == "RUNNING"
    assert notification_errors(report.body) == []


def test_a_time_window_holds_back_notifications_outside_it(world, loopback_callbacks):
    later = timezone.now() + timedelta(days=1)
    selection = select(
        world,
        versions=world.candidates[:1],
        notification_uri="http://127.0.0.1:9/notify",
        reporting=services.Reporting(window_start=later, window_end=later + timedelta(hours=1)),
    )
    run_all(selection)

    assert selection.status == SelectionStatus.FINISHED and notifications(selection) == []


def test_a_notification_is_delivered_or_failed_after_its_attempts(
    world, loopback_callbacks, settings
):
    settings.SAMHUB_CALLBACK_ATTEMPTS = 2
    with CallbackReceiver() as receiver:
        selection = select(
            world, versions=world.candidates[:1], notification_uri=receiver.url + "/n"
        )
        run_all(selection)
        (completion,) = notifications(selection)
        delivered = selection_notifications.selection_notification_deliver(
            notification_id=completion.pk
        )
        assert delivered.status == DeliveryStatus.DELIVERED
        assert receiver.bodies("/n") == [completion.body]
    # Sent again once the receiver is gone: nothing answers, twice, and it has failed.
    ModelSelectionNotification.objects.filter(pk=completion.pk).update(
        status=DeliveryStatus.PENDING, attempts=0
    )
    first = selection_notifications.selection_notification_deliver(notification_id=completion.pk)
    assert (first.status, first.attempts) == (DeliveryStatus.PENDING, 1) and first.last_error
    second = selection_notifications.selection_notification_deliver(notification_id=completion.pk)
    assert (second.status, second.attempts) == (DeliveryStatus.FAILED, 2)


def test_the_winner_goes_into_the_audit_flow_once(world, api):
    selection = select(world, versions=world.candidates[1:])
    run_all(selection)
    winner = next(c for c in candidates_of(selection) if c.rank == 1)

    version = services.model_selection_winner_submit(user=world.provider, selection_id=selection.pk)

    assert version.status == VersionStatus.SUBMITTED and version.parent_id == winner.version_id
    assert version.sam_id == winner.version.sam_id and version.version == "1.0.1"
    assert version.training_context["model_selection"] == str(selection.pk)
    assert {p.performance_metric for p in version.performance.all()} == {"ACCURACY"}
    again = api(world.provider).post(f"/api/v1/model-selections/{selection.pk}/submit-winner/")
    assert again.status_code == 409
    assert (
        api(world.auditor)
        .post(f"/api/v1/model-selections/{selection.pk}/submit-winner/")
        .status_code
        == 403
    )
    assert (
        api(world.colleague)
        .post(f"/api/v1/model-selections/{selection.pk}/submit-winner/")
        .status_code
        == 404
    )
