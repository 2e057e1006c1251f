"""Issue 7, item 13: killing the Celery worker (or gunicorn) of `manage.py portal` must not take
the portal down. The portal is started for real, its children are killed with SIGKILL, and the
portal restarts them, keeps serving, and stops both (and their process groups) on SIGTERM."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
from pathlib import Path

import psutil
import pytest

from tests.processes import ROOT, free_port, http_get

START_SECONDS = 180
RESTART_SECONDS = 60
BUILD_SECONDS = 120


class _Portal:
    """`manage.py portal` running in its own data folder, its output in a log file."""

    def __init__(self, tmp_path: Path, port: int, *, options=(), env: dict | None = None):
        self.base = f"http://127.0.0.1:{port}"
        self.log = tmp_path / "portal.log"
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "portal", "--bind", f"127.0.0.1:{port}",
                 "--web-workers", "1", "--worker-concurrency", "1",
                 "--demo-password", "demo-pass-123", *options],
                cwd=ROOT, env=_portal_env(tmp_path / "data") | (env or {}),
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, what, timeout: float, message: str):
        deadline = time.monotonic() + timeout
        while not (found := what()):
            if time.monotonic() > deadline:
                pytest.fail(f"{message}; portal log:\n{self.text()[-4000:]}")
            time.sleep(0.2)
        return found

    def pid(self, name: str) -> int:
        """The pid of the portal's child running `name` ('celery': the worker, not Celery
        beat; or 'gunicorn'), or 0. Matched on the module run (`python -m <name>`), not on
        the whole command line, whose paths may hold any word."""
        try:
            for child in psutil.Process(self.process.pid).children():
                args = child.cmdline()
                module = args[2] if len(args) > 2 and args[1] == "-m" else ""
                if module != name or (name == "celery" and "worker" not in args):
                    continue
                if child.status() != psutil.STATUS_ZOMBIE:
                    return child.pid
        except psutil.NoSuchProcess:  # a child that just died; the caller asks again
            pass
        return 0

    def serves(self) -> bool:
        try:
            return http_get(f"{self.base}/login/")[0] == 200
        except OSError:
            return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead too
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _group_alive(pgid: int) -> bool:
    assert pgid > 0  # 0 would mean this test's own group
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return any(
        _alive(int(entry))
        for entry in os.listdir("/proc")
        if entry.isdigit() and _pgid(int(entry)) == pgid
    )


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def _portal_env(data: Path) -> dict:
    """The portal's environment: its own data folder (SQLite database, warehouse, broker)."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return env | {"SAMHUB_DATA_DIR": str(data)}


@pytest.fixture(scope="module")
def seeded_data(tmp_path_factory) -> Path:
    """A data folder as the portal's first start leaves it (migrated, the demo seeded), made
    once: each test's portal starts on a copy of it, as on a machine where it ran before.
    The first start itself is tried in tests/test_portal_command.py."""
    data = tmp_path_factory.mktemp("seeded-portal") / "data"
    for command in (["migrate"], ["seed_demo", "--password", "demo-pass-123"]):
        subprocess.run(
            [sys.executable, "manage.py", *command], cwd=ROOT, env=_portal_env(data),
            check=True, capture_output=True, timeout=START_SECONDS,
        )  # fmt: skip
    return data


@pytest.fixture
def portal(tmp_path, seeded_data):
    shutil.copytree(seeded_data, tmp_path / "data")
    started = _Portal(tmp_path, free_port())
    started.wait_for(
        lambda: started.serves() and started.text().count(" ready.") >= 1,
        START_SECONDS,
        "the portal did not come up",
    )
    yield started
    if started.process.poll() is None:
        started.process.send_signal(signal.SIGTERM)
        started.process.wait(timeout=60)


class _Watch:
    """Asks the web for a page every 0.2 s in a thread and counts what did not answer 200."""

    def __init__(self, portal: _Portal):
        self.portal, self.answered, self.failed = portal, 0, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self):
        while not self._stop.wait(0.2):
            try:
                status, _ = http_get(f"{self.portal.base}/login/")
                self.answered += 1
                if status != 200:
                    self.failed.append(status)
            except (OSError, urllib.error.URLError) as exc:
                self.failed.append(repr(exc))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_):
        self._stop.set()
        self._thread.join()


def _token(portal: _Portal, username: str) -> str:
    _, body = http_get(
        f"{portal.base}/api/v1/auth/token/",
        data={"username": username, "password": "demo-pass-123"},
    )
    return json.loads(body)["token"]


def _sdk_built_by_the_worker(portal: _Portal) -> dict:
    """An SDK build queued through the API and finished by the (new) worker."""
    token = _token(portal, "demo-provider")
    _, body = http_get(f"{portal.base}/api/v1/catalog/", token=token)
    version = next(item for item in json.loads(body)["results"] if "SDK" in item["sharing_methods"])
    url = f"{portal.base}/api/v1/versions/{version['id']}/sdk/"
    request = urllib.request.Request(
        url, method="POST", headers={"Authorization": f"Token {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status in (200, 202)
        state = json.loads(answer.read())
    deadline = time.monotonic() + BUILD_SECONDS
    while state["status"] != "READY":
        assert state["status"] in ("PENDING", "BUILDING"), state
        if time.monotonic() > deadline:
            pytest.fail(f"the new worker did not build the SDK: {state}\n{portal.text()[-4000:]}")
        time.sleep(0.2)
        with urllib.request.urlopen(request, timeout=10) as answer:
            state = json.loads(answer.read())
    return state


def _ping(portal: _Portal) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "config", "inspect", "ping", "--timeout", "10"],
        cwd=ROOT, env=_portal_env(portal.log.parent / "data"), capture_output=True, text=True,
        timeout=90, check=False,
    )  # fmt: skip
    return result.stdout + result.stderr


def test_a_killed_celery_worker_is_restarted_while_the_web_keeps_serving(portal):
    worker, web = portal.pid("celery"), portal.pid("gunicorn")
    assert worker and web and _alive(worker) and _alive(web)

    with _Watch(portal) as watch:
        os.kill(worker, signal.SIGKILL)
        portal.wait_for(
            lambda: portal.pid("celery") not in (0, worker),
            RESTART_SECONDS,
            "the killed worker was not restarted",
        )
        portal.wait_for(
            lambda: portal.text().count(" ready.") >= 2,
            RESTART_SECONDS,
            "the restarted worker did not become ready",
        )
        pong = _ping(portal)
        built = _sdk_built_by_the_worker(portal)

    new_worker = portal.pid("celery")
    assert f"Celery worker (pid {worker}) was killed by SIGKILL; restarting it" in portal.text()
    assert "pong" in pong, pong
    assert built["status"] == "READY" and len(built["sha256"]) == 64
    assert portal.process.poll() is None, "the portal exited"
    assert watch.answered >= 5 and watch.failed == [], watch.failed
    assert portal.pid("gunicorn") == web and _alive(web)
    assert not _group_alive(worker), "the killed worker's pool processes were left behind"

    portal.process.send_signal(signal.SIGTERM)
    assert portal.process.wait(timeout=60) == 0
    for pid in (new_worker, web):
        assert not _alive(pid) and not _group_alive(pid), pid
    assert not portal.serves()
    assert "SAM Hub stopped." in portal.text()


def test_a_killed_gunicorn_is_restarted_and_the_worker_left_alone(portal):
    worker, web = portal.pid("celery"), portal.pid("gunicorn")
    assert worker and web and _alive(worker) and _alive(web)

    os.kill(web, signal.SIGKILL)
    portal.wait_for(
        lambda: portal.pid("gunicorn") not in (0, web), RESTART_SECONDS, "gunicorn not restarted"
    )
    portal.wait_for(portal.serves, RESTART_SECONDS, "the restarted gunicorn does not serve")

    assert f"gunicorn (pid {web}) was killed by SIGKILL; restarting it" in portal.text()
    assert portal.process.poll() is None
    assert portal.pid("celery") == worker and _alive(worker)
    assert not _group_alive(web), "the killed gunicorn's web workers were left behind"

    new_web = portal.pid("gunicorn")
    portal.process.send_signal(signal.SIGTERM)
    assert portal.process.wait(timeout=60) == 0
    assert new_web
    for pid in (worker, new_web):
        assert not _alive(pid) and not _group_alive(pid), pid


def test_a_gunicorn_that_cannot_start_stops_the_portal_with_a_clear_message(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # Nothing to seed for a portal that cannot serve; two quick restarts, then it gives up
        # (each gunicorn start tries the port for 5 s on its own).
        portal = _Portal(
            tmp_path, port, options=["--no-seed"], env={"SAMHUB_PORTAL_RESTART_DELAYS": "0,0.5"}
        )
        workers = set()
        deadline = time.monotonic() + START_SECONDS
        while (returncode := portal.process.poll()) is None:
            workers.add(portal.pid("celery"))
            if time.monotonic() > deadline:
                portal.process.kill()
                pytest.fail(f"the portal ran on without a web server:\n{portal.text()[-4000:]}")
            time.sleep(0.2)

    text = portal.text()
    assert returncode == 1
    assert "gunicorn" in text and "times in a row within 30 s of starting, so SAM Hub stops" in text
    workers.discard(0)
    assert workers, "the worker never started"
    for pid in workers:
        assert not _alive(pid) and not _group_alive(pid)
