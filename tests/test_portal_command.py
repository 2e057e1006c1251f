"""README's start command, tried as a newcomer would: one process tree serving the seeded catalog."""

import json
import os
import subprocess
import sys
import time

import pytest

from tests.processes import ROOT, free_port, http_get


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    """One portal for the module: started once, as a newcomer would start it."""
    tmp_path = tmp_path_factory.mktemp("portal")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env["SAMHUB_DATA_DIR"] = str(tmp_path / "data")
    log = tmp_path / "portal.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "portal", "--bind", f"127.0.0.1:{port}",
             "--web-workers", "1", "--worker-concurrency", "1", "--demo-password", "demo-pass-123"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            text = log.read_text()
            try:
                http_get(f"{base}/api/schema/")
                if "ready." in text:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"the portal did not come up:\n{text[-3000:]}")
            time.sleep(0.1)
        yield base, log
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:  # a loaded machine: do not leave the tree behind
            process.kill()
            process.wait()


def test_the_portal_starts_with_its_worker_and_serves_the_seeded_catalog(portal):
    base, log = portal

    status, body = http_get(
        f"{base}/api/v1/auth/token/",
        data={"username": "demo-consumer", "password": "demo-pass-123"},
    )
    token = json.loads(body)["token"]
    status, body = http_get(f"{base}/api/v1/catalog/", token=token)
    catalog = json.loads(body)

    assert status == 200
    names = {item["model_name"] for item in catalog["results"]}
    assert {"Cell load forecast", "KPI anomaly detector"} <= names
    status, page = http_get(f"{base}/")
    assert status == 200 and b"Sign in" in page
    assert "celery@" in log.read_text() and "ready." in log.read_text()
    # Celery beat runs beside the worker: the monitoring's reporting cycle is scheduled.
    assert "beat: Starting..." in log.read_text()


def test_a_newcomer_retrains_the_demo_model_and_watches_it_finish(portal, tmp_path):
    """Issue 9 on the embedded defaults: SQLite, the folder broker and the worker `portal`
    started; a provider uploads a dataset, asks for a training request and the worker runs it."""
    import requests

    from tests.training.datasets import anomaly_kpis

    base, log = portal
    login = {"username": "demo-provider", "password": "demo-pass-123"}
    token = json.loads(http_get(f"{base}/api/v1/auth/token/", data=login)[1])["token"]
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    catalog = session.get(f"{base}/api/v1/catalog/", timeout=10).json()["results"]
    detector = next(item for item in catalog if item["model_name"] == "KPI anomaly detector")
    data = tmp_path / "kpis.csv"
    anomaly_kpis().to_csv(data, index=False)
    with data.open("rb") as stream:
        dataset = session.post(
            f"{base}/api/v1/datasets/",
            data={"name": "North cells", "target_column": "anomaly"},
            files={"file": ("kpis.csv", stream, "text/csv")},
            timeout=30,
        )
    assert dataset.status_code == 201, dataset.text

    created = session.post(
        f"{base}/api/v1/training-requests/",
        json={
            "mLEntityId": detector["id"],
            "candidateTraingDataSource": [dataset.json()["id"]],
            "performanceRequirements": [{"performanceMetric": "ACCURACY", "performanceScore": 0.8}],
        },
        timeout=10,
    )
    assert created.status_code == 201, created.text
    url = f"{base}/api/v1/training-requests/{created.json()['id']}/"
    deadline = time.monotonic() + 120
    while (status := session.get(url, timeout=10).json()["requestStatus"]) != "FINISHED":
        assert status in ("NOT_STARTED", "TRAINING_IN_PROGRESS"), status
        assert time.monotonic() < deadline, f"still {status}:\n{log.read_text()[-3000:]}"
        time.sleep(0.5)

    [process_id] = session.get(url, timeout=10).json()["processes"]
    process = session.get(f"{base}/api/v1/training-processes/{process_id}/", timeout=10).json()
    assert process["progressStatus"]["progressPercentage"] == 100
    assert process["trainingReportRef"] is not None
