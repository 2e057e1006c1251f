"""Helpers for tests that run SAM Hub in child processes (portal, gunicorn, Celery, moto)."""

import json
import socket
import urllib.request
from pathlib import Path
from urllib.parse import quote

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent  # the repository: where manage.py runs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, token: str | None = None, data: dict | None = None):
    """(status, body) of a GET, or of a JSON POST when data is given."""
    request = urllib.request.Request(url, data=json.dumps(data).encode() if data else None)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Token {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read()


def database_url() -> str:
    """The test database as a DATABASE_URL, so that a child process sees what the test commits
    (for SQLite a file: config/settings.py names the test database)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{credentials}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


def celery_worker_start(
    log_path: Path, *, concurrency: int = 2, env: dict | None = None, beat: bool = False
):
    """A prefork `celery worker` (pool processes that can be killed under a living main
    process; Celery beat inside it when `beat`) on the test database, the test broker and the
    test's warehouse folder; returned once it logs that it is ready. `env` adds settings (e.g.
    a shorter monitoring tick)."""
    import os
    import subprocess
    import sys
    import time
    import uuid

    import pytest
    from django.conf import settings

    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "SAMHUB_DATA_DIR": str(settings.DATA_DIR),
        "SAMHUB_WAREHOUSE_DIR": str(settings.MEDIA_ROOT),
        **(env or {}),
    }
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork",
        f"--concurrency={concurrency}", "--loglevel=INFO", "--without-gossip",
        "--without-mingle", "--without-heartbeat", "-n", f"samhub-test-{uuid.uuid4().hex[:8]}@%h",
    ]  # fmt: skip
    if beat:
        command += ["--beat", "--schedule", str(log_path.with_suffix(".beat"))]
    with log_path.open("ab") as log:
        worker = subprocess.Popen(
            command, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    ready_before = log_path.read_text(errors="replace").count(" ready.")
    deadline = time.monotonic() + 90
    while log_path.read_text(errors="replace").count(" ready.") <= ready_before:
        if worker.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            pytest.fail(f"The Celery worker did not start:\n{log_path.read_text()[-4000:]}")
        time.sleep(0.2)
    return worker


def celery_worker_stop(worker) -> None:
    """Kill the worker and its pool processes."""
    import psutil

    for child in psutil.Process(worker.pid).children(recursive=True):
        child.kill()
    worker.kill()
    worker.wait()
