"""NWDAF ML model monitor at scale (issue 10), on a scratch data folder:

1. Notification fan-out: 10,000 subscriptions (repPeriod 60 s) on one released model, one
   reporting cycle (`monitoring.services.monitor_cycle_run`, as Celery beat starts it), the
   notifications delivered by a real Celery worker (prefork, as `manage.py portal` starts it)
   to a callback receiver on loopback. Checks that every subscription got exactly one report
   and that every notification is recorded DELIVERED; measures notifications/s from the start
   of the cycle to the last one received.
2. Accuracy over 1,000,000 metered inferences with ground truth (one instance each, 80 %
   right), measured by `monitoring.selectors.version_measure` (one SQL statement).

Each is run --runs times (default 3) and the median is printed; every run of 1. is a new
cycle, a period later.

    .venv/bin/python bench/monitoring_notify.py [--runs 3] [--subscriptions 10000]
        [--inferences 1000000] [--worker-concurrency 2]

Settings come from the environment as usual: DATABASE_URL and CELERY_BROKER_URL for
PostgreSQL and Redis (the default is SQLite and the folder broker, in a temporary folder).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class Receiver:
    """Counts the notifications per notifCorrId; answers 204 on a kept-alive connection."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()
        self.lock = threading.Lock()
        self.first_at = self.last_at = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with receiver.lock:
                    receiver.counts[body["notifCorrId"]] += 1
                    receiver.last_at = time.perf_counter()
                    receiver.first_at = receiver.first_at or receiver.last_at
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notify"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def total(self) -> int:
        with self.lock:
            return sum(self.counts.values())


def setup_django(scratch: Path) -> None:
    os.environ.setdefault("SAMHUB_DATA_DIR", str(scratch))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["SAMHUB_CALLBACK_ALLOWED_NETWORKS"] = "127.0.0.0/8"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def released_classifier():
    """A released version whose signature has a label output (a classifier), made through
    the registry's services; the version answers from an external endpoint, which the bench
    never calls (the metered calls are written directly)."""
    from django.contrib.auth.models import Group, User

    from registry import services
    from registry.models import ModelVersion

    provider = User.objects.create_user("bench-provider", password="x")
    provider.groups.add(Group.objects.get(name="provider"))
    auditor = User.objects.create_user("bench-auditor", password="x")
    auditor.groups.add(Group.objects.get(name="auditor"))
    consumer = User.objects.create_user("bench-consumer", password="x")
    consumer.groups.add(Group.objects.get(name="consumer"))
    organisation = services.organisation_create(name="Bench operator")
    organisation.members.add(provider)
    sam = services.sam_create(
        user=provider, organisation=organisation, tags=[], name="Bench classifier",
        description="Flags abnormal cells.", inference_type="NWDAF_ANALYTICS",
        inference_name="ABNORMAL_BEHAVIOUR", domain="RAN", licence="Apache-2.0",
        intended_use="Benchmarks.", limitations="Synthetic.",
    )  # fmt: skip
    performance = [{"inference_output_name": "label", "performance_metric": "ACCURACY",
                    "performance_score": 0.8}]  # fmt: skip
    version = services.version_create(
        sam=sam, user=provider, version="1.0.0", performance=performance
    )
    services.version_submit(version_id=version.pk, user=provider)
    services.version_approve(version_id=version.pk, user=auditor)
    services.version_register(
        version_id=version.pk, user=provider, access_type="EXTERNAL_ENDPOINT",
        endpoint_url="https://inference.example.net/v1/predict",
    )  # fmt: skip
    version = services.version_release(version_id=version.pk, user=provider)
    signature = {"inputs": [{"name": "input", "type": "float64", "shape": [None, 6]}],
                 "outputs": [{"name": "label", "type": "int64", "shape": [None],
                              "classes": [0, 1]}]}  # fmt: skip
    ModelVersion.objects.filter(pk=version.pk).update(signature=signature)
    version.refresh_from_db()
    return version, consumer


def metered_inferences(version, consumer, count: int) -> None:
    """`count` metered calls of one instance each over the last hour, oldest first (as calls
    are written), with ground truth: the label is i % 2, right for 8 calls in 10. Generated
    by the database itself."""
    from django.db import connection

    if connection.vendor == "postgresql":
        statement = """
            INSERT INTO sharing_inferencerecord (id, version_id, caller_id, count, latency_ms,
                outcome, error, outputs, ground_truth, ground_truth_at, created_at)
            SELECT gen_random_uuid(), %s, %s, 1, 1.0, 'OK', '',
                   jsonb_build_object('label', jsonb_build_array(i %% 2)),
                   jsonb_build_object('label', jsonb_build_array(
                       CASE WHEN i %% 10 < 8 THEN i %% 2 ELSE 1 - i %% 2 END)),
                   now(), now() - make_interval(secs => 3500.0 * (%s - i) / %s)
            FROM generate_series(0, %s - 1) AS i
        """
    else:
        statement = """
            WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < %s - 1)
            INSERT INTO sharing_inferencerecord (id, version_id, caller_id, count, latency_ms,
                outcome, error, outputs, ground_truth, ground_truth_at, created_at)
            SELECT lower(hex(randomblob(16))), %s, %s, 1, 1.0, 'OK', '',
                   json_object('label', json_array(i % 2)),
                   json_object('label', json_array(CASE WHEN i % 10 < 8 THEN i % 2
                                                        ELSE 1 - i % 2 END)),
                   strftime('%Y-%m-%d %H:%M:%f', 'now'),
                   strftime('%Y-%m-%d %H:%M:%f', 'now',
                            '-' || (3500.0 * (%s - i) / %s) || ' seconds')
            FROM n
        """
    params = [version.pk, consumer.pk, count, count, count]
    if connection.vendor != "postgresql":
        params = [count, version.pk, consumer.pk, count, count]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE sharing_inferencerecord")


def subscriptions(version, consumer, count: int, url: str) -> None:
    """`count` subscriptions on the version, PERIODIC every 60 s, due in a minute."""
    from django.utils import timezone

    from monitoring.models import MonitorSubscription

    now = timezone.now()
    made = MonitorSubscription.objects.bulk_create(
        [
            MonitorSubscription(
                owner=consumer,
                notification_uri=url,
                notif_corr_id=f"bench-{i}",
                notify_method="PERIODIC",
                period_seconds=60,
                interval_start=now,
                next_report_at=now + timedelta(seconds=60),
                created_at=now,
            )  # fmt: skip
            for i in range(count)
        ],
        batch_size=1000,
    )
    through = MonitorSubscription.versions.through
    through.objects.bulk_create(
        [through(monitorsubscription_id=s.pk, modelversion_id=version.pk) for s in made],
        batch_size=1000,
    )


def start_worker(scratch: Path, concurrency: int) -> subprocess.Popen:
    from django.conf import settings

    log = (scratch / "worker.log").open("ab")
    env = os.environ | {"CELERY_BROKER_URL": settings.CELERY_BROKER_URL}
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{settings.DATABASES['default']['NAME']}"
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork",
         f"--concurrency={concurrency}", "--loglevel=WARNING", "-n", "bench@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    from config.celery import workers_answering

    deadline = time.monotonic() + 90
    while not workers_answering(1.0):
        if worker.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"The worker did not start: {(scratch / 'worker.log').read_text()}")
    return worker


def fan_out_run(receiver: Receiver, count: int, period: int) -> float:
    """One cycle a period later than the last; returns notifications/s."""
    from django.utils import timezone

    from monitoring import services
    from monitoring.models import DeliveryStatus, MonitorNotification

    before = receiver.total()
    receiver.counts.clear()
    receiver.first_at = 0.0
    started = time.perf_counter()
    result = services.monitor_cycle_run(now=timezone.now() + timedelta(seconds=60 * period))
    cycle = time.perf_counter() - started
    assert result.periodic == count, result
    deadline = time.monotonic() + 600
    while receiver.total() < count and time.monotonic() < deadline:
        time.sleep(0.05)
    elapsed = receiver.last_at - started
    print(
        f"  cycle {cycle:.2f} s, first notification after {receiver.first_at - started:.2f} s, "
        f"last after {elapsed:.2f} s"
    )
    time.sleep(1)  # anything sent twice would arrive now
    counts = receiver.counts
    assert len(counts) == count, f"{len(counts)} of {count} subscriptions got a report"
    assert max(counts.values()) == 1, "a subscription got its report twice"
    assert receiver.total() == count, (before, receiver.total())
    delivered = MonitorNotification.objects.filter(
        kind="PERIODIC", sequence=period, status=DeliveryStatus.DELIVERED
    ).count()
    assert delivered == count, f"{delivered} of {count} recorded as delivered"
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--inferences", type=int, default=1_000_000)
    parser.add_argument("--worker-concurrency", type=int, default=2)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="samhub-bench-monitor-"))
    setup_django(scratch)
    from django.db import connection
    from django.utils import timezone

    from monitoring import selectors

    version, consumer = released_classifier()
    receiver = Receiver()
    started = time.perf_counter()
    metered_inferences(version, consumer, args.inferences)
    print(
        f"{args.inferences:,} metered inferences written in {time.perf_counter() - started:.1f} s"
    )
    subscriptions(version, consumer, args.subscriptions, receiver.url)
    print(f"database: {connection.vendor}; broker: {os.environ.get('CELERY_BROKER_URL', 'folder')}")

    timings = []
    for _ in range(args.runs):
        now = timezone.now()
        started = time.perf_counter()
        measured = selectors.version_measure(version, start=now - timedelta(hours=2), end=now)
        timings.append(time.perf_counter() - started)
        assert measured.inferences == args.inferences, measured
        assert measured.accuracy_percent == 80, measured
    print(f"accuracy over {args.inferences:,} inferences: {measured.accuracy_percent} %, "
          f"runs {', '.join(f'{t:.2f}' for t in timings)} s, "
          f"median {statistics.median(timings):.2f} s (target < 2 s)")  # fmt: skip

    worker = start_worker(scratch, args.worker_concurrency)
    try:
        rates = [
            fan_out_run(receiver, args.subscriptions, period) for period in range(1, args.runs + 1)
        ]
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    print(f"{args.subscriptions:,} notifications per cycle, all delivered once: "
          f"{', '.join(f'{r:.0f}' for r in rates)}/s, median {statistics.median(rates):.0f}/s "
          "(target >= 500/s)")  # fmt: skip


if __name__ == "__main__":
    main()
