"""README's start command, tried as a newcomer would: one process tree serving the seeded catalog."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str | None = None, data: dict | None = None):
    request = urllib.request.Request(url, data=json.dumps(data).encode() if data else None)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Token {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read()


@pytest.fixture
def portal(tmp_path):
    port = _free_port()
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
                _get(f"{base}/api/schema/")
                if "ready." in text:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"the portal did not come up:\n{text[-3000:]}")
            time.sleep(1)
        yield base, log
        process.terminate()
        process.wait(timeout=30)


def test_the_portal_starts_with_its_worker_and_serves_the_seeded_catalog(portal):
    base, log = portal

    status, body = _get(
        f"{base}/api/v1/auth/token/",
        data={"username": "demo-consumer", "password": "demo-pass-123"},
    )
    token = json.loads(body)["token"]
    status, body = _get(f"{base}/api/v1/catalog/", token=token)
    catalog = json.loads(body)

    assert status == 200
    names = {item["model_name"] for item in catalog["results"]}
    assert {"Cell load forecast", "KPI anomaly detector"} <= names
    status, page = _get(f"{base}/")
    assert status == 200 and b"Sign in" in page
    assert "celery@" in log.read_text() and "ready." in log.read_text()
