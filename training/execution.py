"""Running training processes on Celery workers (TS 28.105 §7.3.4): the queue, the steps and
the heartbeat.

**Queue.** Every queued process has one `training_process_run_task` message, but a message
does not name the process it runs: the task takes up the *next* waiting process by
(`priority`, age) with a locked claim in the database (services.training_process_claim_next).
Celery's own message priorities are coarse on Redis and absent on the folder broker; ordering
in the database makes "priority 0 before 100" exact on both, whatever order messages arrive in.

**Steps.** A run takes the process through COLLECTING_DATA, PREPARING_TRAINING_DATA and
TRAINING; each step keeps its output on the process (the data chosen, the prepared arrays,
the fitted model), and between steps the run checks, under the process's lock, whether it
was suspended (it pauses: no run holds it until it is resumed) or cancelled (it stops and
cleans up) or taken over by another run (it stops).

**Heartbeat.** As package builds do (sharing.extraction): the run refreshes `heartbeat_at`
every SAMHUB_TRAINING_HEARTBEAT_SECONDS from a thread; the task is acknowledged late and
handed back when its pool process dies (acks_late, reject_on_worker_lost). A process whose
heartbeat stopped for three beats lost its worker: the next run (the message handed back, any
other run, a worker that starts) releases it to continue from its last finished step, or
FAILS it with the reason once SAMHUB_TRAINING_MAX_LOST_RUNS runs were lost.
"""

import logging
import time
import uuid

from django.conf import settings

from core.errors import DomainError
from core.heartbeat import LOST_AFTER_BEATS, heartbeat_kept
from training import learning, services
from training.models import MLTrainingProcess, ProcessStatus, ProgressStateInfo

logger = logging.getLogger(__name__)

STEPS = {
    ProgressStateInfo.COLLECTING_DATA: services.training_process_collect,
    ProgressStateInfo.PREPARING_TRAINING_DATA: services.training_process_prepare,
    ProgressStateInfo.TRAINING: services.training_process_train,
    "REGISTERING": services.training_process_register,
}


def training_queue_run() -> int | None:
    """Recover processes whose worker was lost, then take up the next waiting process and run
    it; the id of the process run, or None when none was waiting. When a process is held by a
    run that may have died (its message came back before its heartbeat went stale), wait a
    few beats for it to count as lost."""
    beat = settings.SAMHUB_TRAINING_HEARTBEAT_SECONDS
    deadline = time.monotonic() + (LOST_AFTER_BEATS + 1) * beat
    run_id = uuid.uuid4().hex
    while True:
        services.training_processes_lost_recover()
        process = services.training_process_claim_next(run_id=run_id)
        if process is not None:
            training_process_run(process_id=process.pk, run_id=run_id)
            return process.pk
        held = MLTrainingProcess.objects.filter(
            status__in=(ProcessStatus.RUNNING, ProcessStatus.CANCELLING), run_id__gt=""
        ).exists()
        if not held or time.monotonic() > deadline:
            return None
        time.sleep(min(beat, 1))


def training_process_run(*, process_id: int, run_id: str) -> None:
    """Run the claimed process step by step until it ends, pauses or is taken from this run."""
    with heartbeat_kept(
        MLTrainingProcess.objects.filter(pk=process_id, run_id=run_id),
        seconds=settings.SAMHUB_TRAINING_HEARTBEAT_SECONDS,
        name=f"training-{process_id}",
    ):
        try:
            while step := services.training_process_step_next(process_id=process_id, run_id=run_id):
                logger.info("Training process %s: %s", process_id, step)
                try:
                    STEPS[step](process_id=process_id, run_id=run_id)
                except (learning.TrainingFailure, DomainError) as exc:
                    reason = exc.message if isinstance(exc, DomainError) else str(exc)
                    services.training_process_fail(
                        process_id=process_id, run_id=run_id, reason=f"{step}: {reason}"
                    )
                    return
                except Exception as exc:
                    logger.exception("Training process %s failed in %s", process_id, step)
                    services.training_process_fail(
                        process_id=process_id,
                        run_id=run_id,
                        reason=f"{step}: {type(exc).__name__}: {exc}",
                    )
                    return
        finally:
            # Whatever ended the run, the arrays its prepare step kept in memory go.
            learning.arrays_forget()


def training_processes_resume() -> tuple[list[int], list[int]]:
    """Queue again the requests waiting to start and the processes waiting for a worker (or
    held by a run that may be gone): run when a worker starts, since the folder broker loses
    the messages a killed worker had taken."""
    from training.tasks import training_process_run_task, training_request_start_task

    requests, processes = services.training_processes_waiting()
    for request_id in requests:
        training_request_start_task.delay(request_id)
    for process_id in processes:
        training_process_run_task.delay(process_id)
    return requests, processes
