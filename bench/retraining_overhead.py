"""Benchmark: a retraining job's platform overhead over the bare scikit-learn fit on the same
data (issue 9). Target: overhead < 10 % of the bare fit + 2 s, for 10k and 1M rows.

    .venv/bin/python bench/retraining_overhead.py [--rows 10000 1000000] [--runs 3]
        [--broker redis|folder]

A consumer with an ACTIVE RETRAINING subscription to the demo KPI anomaly detector (a
StandardScaler + LogisticRegression pipeline in a skops file, `registry.demo.
kpi_anomaly_model`) retrains it on a CSV dataset of N rows (the six KPI features and the
label, `registry.demo.cell_kpi_dataset`), uploaded beforehand through
`training.services.dataset_upload` (the upload is not timed).

- **SAM Hub**: wall time from `training.services.training_request_create` to the request
  being FINISHED, with a real prefork Celery worker (concurrency 1) in a child process: the
  start message, the process claimed, the three steps (collecting: the dataset checked against
  the estimator; preparing: read from the warehouse, rows with a missing value dropped,
  shuffled and split 80/20, stored as .npz; training: the skops file loaded and checked, the
  clone fitted and scored on both splits, saved), the new version registered (its skops file
  checked in the artifact checker child process like any upload), the report written and the
  version submitted to the audit. The database is polled every 20 ms.
- **Bare fit**: in this process, `sklearn.base.clone` of the same estimator fitted on the same
  training split (`training.learning.split` with the process's seed, on the same rows read the
  same way), timed around `fit` alone.

overhead = SAM Hub − bare fit; each cell is the median of `--runs` runs. The breakdown comes
from the process's event rows (MLTrainingProcessEvent). Everything runs in a fresh data folder
(SQLite, warehouse) under bench/out/; `--broker redis` starts a private redis-server on a free
port (production's broker), `--broker folder` uses the embedded folder broker.

Dataset limits: 1M rows is a ~60 MB CSV, within the defaults (SAMHUB_DATASET_MAX_BYTES
200 MiB, SAMHUB_DATASET_MAX_ROWS 5,000,000). `--rows` beyond them raises both, for this run
only, through the same environment variables (docs/training.md, Settings).
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))

TARGET_SHARE = 0.10
TARGET_SECONDS = 2.0
CSV_BYTES_PER_ROW = 70  # generous: six floats and a label in text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(data_dir: Path, broker_url: str, max_rows: int) -> dict:
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SAMHUB_DATA_DIR": str(data_dir),
        "CELERY_BROKER_URL": broker_url,
        "SAMHUB_LOG_LEVEL": "WARNING",
    }
    # Raise the dataset limits only when the largest dataset needs it.
    if max_rows > 5_000_000:
        env["SAMHUB_DATASET_MAX_ROWS"] = str(max_rows)
    if max_rows * CSV_BYTES_PER_ROW > 200 * 1024**2:
        env["SAMHUB_DATASET_MAX_BYTES"] = str(max_rows * CSV_BYTES_PER_ROW)
    return env


def start_worker(env: dict, log: Path) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork",
        "--concurrency=1", "--loglevel=INFO", "--without-gossip", "--without-mingle",
        "--without-heartbeat", "-n", "samhub-bench@%h",
    ]  # fmt: skip
    with log.open("ab") as out:
        worker = subprocess.Popen(
            command, cwd=ROOT, env=os.environ | env, stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 120
    while " ready." not in log.read_text(errors="replace"):
        if worker.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            sys.exit(f"The worker did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    return worker


def stop(process: subprocess.Popen) -> None:
    import psutil

    for child in psutil.Process(process.pid).children(recursive=True):
        child.kill()
    process.kill()
    process.wait()


def people_and_model():
    """A provider's released skops model without approval, and a consumer of another
    organisation with a RETRAINING subscription to it."""
    import io

    from django.contrib.auth.models import Group, User

    from registry import demo, services
    from sharing import services as sharing_services

    def user(name, role, organisation=None):
        made = User.objects.create_user(username=name, password="bench-password-123")
        made.groups.add(Group.objects.get(name=role))
        if organisation is not None:
            organisation.members.add(made)
        return made

    north = services.organisation_create(name="North Operator")
    east = services.organisation_create(name="East Consumer Ltd")
    provider = user("provider", "provider", north)
    auditor = user("auditor", "auditor")
    consumer = user("consumer", "consumer", east)
    model = demo.kpi_anomaly_model()
    version = services.sam_register(
        user=provider,
        organisation=north,
        sam_fields=model.fields,
        tags=model.tags,
        version="1.0.0",
        version_fields={"training_context": {"dataset": "synthetic"}},
        performance=model.performance,
        artifact=(io.BytesIO(model.content), model.filename),
    )
    services.version_submit(version_id=version.pk, user=provider)
    services.version_approve(version_id=version.pk, user=auditor)
    services.version_register(version_id=version.pk, user=provider, access_type="MODEL_FILE")
    version = services.version_release(version_id=version.pk, user=provider)
    sharing_services.subscription_request(user=consumer, sam=version.sam, method="RETRAINING")
    return version, consumer, east


def dataset_of(rows: int, consumer, organisation, folder: Path):
    import numpy as np
    import pandas as pd

    from registry.demo import KPI_FEATURES, cell_kpi_dataset
    from training import services

    features, _, anomaly = cell_kpi_dataset(n_samples=rows, seed=7)
    frame = pd.DataFrame(features.astype(np.float64), columns=KPI_FEATURES)
    frame["anomaly"] = anomaly
    path = folder / f"kpis-{rows}.csv"
    frame.to_csv(path, index=False)
    with path.open("rb") as stream:
        return services.dataset_upload(
            user=consumer,
            organisation=organisation,
            name=f"East KPIs {rows:,}",
            stream=stream,
            filename=path.name,
            target_column="anomaly",
        )


def platform_run(version, consumer, dataset) -> dict:
    """Wall time from the request's creation to FINISHED, and where it went."""
    from training import services
    from training.models import MLTrainingRequest, RequestStatus

    started = time.monotonic()
    request = services.training_request_create(
        user=consumer,
        ml_entity_id=version.pk,
        candidate_training_data_source=[dataset.pk],
        performance_requirements=[],
    )
    created_at = request.created_at
    while True:
        status = MLTrainingRequest.objects.filter(pk=request.pk).values_list("status", flat=True)[0]
        if status in (RequestStatus.FINISHED, RequestStatus.CANCELLED):
            break
        if time.monotonic() - started > 3600:
            sys.exit(f"Request {request.pk} did not finish within an hour")
        time.sleep(0.02)
    wall = time.monotonic() - started
    process = request.processes.get()
    if process.status != "FINISHED":
        sys.exit(f"Process {process.pk} ended {process.status}: {process.result_state_info}")
    return {"wall": wall, "process": process, "steps": steps_of(process, created_at)}


def steps_of(process, created_at) -> dict:
    """Seconds from the request's creation to the claim, and in each step, from the events."""
    events = list(process.events.order_by("created_at", "pk"))
    claimed = next(e.created_at for e in events if e.name == "claim")
    first = {}
    for e in events:
        key = e.progress_state_info
        if e.progress_state_info == "TRAINING" and e.progress_percentage >= 90:
            key = "REGISTERING"
        if key and key not in first:
            first[key] = e.created_at
    finished = next(e.created_at for e in events if e.name == "finish")
    marks = [
        ("queue", created_at, claimed),
        ("collect", first["COLLECTING_DATA"], first["PREPARING_TRAINING_DATA"]),
        ("prepare", first["PREPARING_TRAINING_DATA"], first["TRAINING"]),
        ("train", first["TRAINING"], first["REGISTERING"]),
        ("register", first["REGISTERING"], finished),
    ]
    return {name: (end - begin).total_seconds() for name, begin, end in marks}


def bare_fit(version, dataset, process) -> float:
    """The same estimator fitted on the same training split in this process (the columns the
    process chose, the rows read the same way, the split with its seed): `fit` alone."""
    from sklearn.base import clone

    from training import learning

    x, y = learning.dataset_read(dataset, process.data_selection["chosen"][0]["columns"])
    arrays = learning.split(x, y, seed=process.pk)
    estimator = clone(learning.estimator_load(version))
    started = time.perf_counter()
    estimator.fit(arrays["x_train"], arrays["y_train"])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--broker", choices=("redis", "folder"), default="redis")
    args = parser.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="retraining-overhead-", dir=OUT))
    redis = None
    if args.broker == "redis":
        port = free_port()
        redis = subprocess.Popen(
            ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        broker_url = f"redis://127.0.0.1:{port}/0"
        time.sleep(0.5)
    else:
        broker_url = "filesystem://"
    env = environment(data_dir, broker_url, max(args.rows))
    os.environ.update(env)

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    worker = None
    try:
        version, consumer, organisation = people_and_model()
        worker = start_worker(env, data_dir / "worker.log")
        results = []
        for rows in args.rows:
            dataset = dataset_of(rows, consumer, organisation, data_dir)
            runs = []
            for run in range(args.runs):
                platform = platform_run(version, consumer, dataset)
                bare = bare_fit(version, dataset, platform["process"])
                runs.append({"wall": platform["wall"], "bare": bare, **platform["steps"]})
                print(
                    f"{rows:>9,} rows run {run + 1}: SAM Hub {platform['wall']:.2f} s, bare fit "
                    f"{bare:.2f} s, "
                    + ", ".join(f"{k} {v:.2f}" for k, v in platform["steps"].items()),
                    flush=True,
                )
            results.append((rows, runs))
        report(results, args)
    finally:
        if worker is not None:
            stop(worker)
        if redis is not None:
            redis.kill()
            redis.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


def report(results, args) -> None:
    def median(runs, key):
        return statistics.median(r[key] for r in runs)

    print(f"\nMedians of {args.runs} runs, broker {args.broker}:\n")
    print(
        "| rows | bare fit | SAM Hub, request to FINISHED | overhead | target (10 % + 2 s) | met "
        "| queue | collect | prepare | train (fit, scores, save) | register, report, submit |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for rows, runs in results:
        bare, wall = median(runs, "bare"), median(runs, "wall")
        overhead = statistics.median(r["wall"] - r["bare"] for r in runs)
        target = TARGET_SHARE * bare + TARGET_SECONDS
        steps = " | ".join(
            f"{median(runs, k):.2f} s" for k in ("queue", "collect", "prepare", "train", "register")
        )
        print(
            f"| {rows:,} | {bare:.2f} s | {wall:.2f} s | {overhead:.2f} s | {target:.2f} s | "
            f"{'yes' if overhead < target else 'no'} | {steps} |"
        )


if __name__ == "__main__":
    main()
