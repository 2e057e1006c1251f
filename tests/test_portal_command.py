"""README's start command, tried as a newcomer would: one process tree serving the seeded catalog."""

import json
import os
import subprocess
import sys
import time

import pytest

from tests.processes import ROOT, free_port, http_get


@pytest.fixture
def portal(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
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
        process.wait(timeout=30)


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
