"""The mirror bundle (ENI SAM clause 6.1, mirror download): built by a real Celery worker,
downloaded, unpacked, its manifest verified, its serve script started on loopback and
answering what the model itself answers; the build is idempotent and a failed one retried."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from registry.demo import cell_kpi_dataset
from sharing import extraction, inference
from sharing.models import DeliveryKind, PackageKind, PackageStatus, SharingMethod, VersionPackage
from sharing.services import subscription_request
from sharing.tasks import package_build_task
from tests import factories
from tests.processes import database_url

ROWS = cell_kpi_dataset(n_samples=5, seed=5)[0]
WORKER_START_SECONDS = 90
BUILD_SECONDS = 120


# --- a real worker on the test database, the test broker and a shared warehouse ------------


@pytest.fixture(scope="module")
def celery_worker(django_db_setup, shared_warehouse, tmp_path_factory):
    """`celery worker` in a child process, seeing what the test commits.

    The test database is the one pytest-django created (a file for SQLite, see
    config/settings.py); the broker is the test's own (CELERY_BROKER_URL, or the folder broker
    under SAMHUB_DATA_DIR); the warehouse is a folder both sides use.
    """
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "SAMHUB_DATA_DIR": str(settings.DATA_DIR),
        "SAMHUB_WAREHOUSE_DIR": str(shared_warehouse),
    }
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo",
        "--concurrency=1", "--loglevel=INFO", "--without-gossip", "--without-mingle",
        "--without-heartbeat", "-n", f"samhub-test-{uuid.uuid4().hex[:8]}@%h",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            command, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + WORKER_START_SECONDS
    while " ready." not in log_path.read_text(errors="replace"):
        if worker.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            pytest.fail(f"The Celery worker did not start:\n{log_path.read_text()[-4000:]}")
        time.sleep(0.2)
    yield log_path
    worker.send_signal(signal.SIGTERM)  # warm shutdown: finish the task at hand, then exit
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


# --- the serve script ----------------------------------------------------------------------


@pytest.fixture
def serve(tmp_path):
    """serve(bundle folder) starts its serve.py on a free loopback port and returns the URL."""
    started = []

    def start(root: Path) -> str:
        process = subprocess.Popen(
            [sys.executable, "serve.py", "--host", "127.0.0.1", "--port", "0"],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=(tmp_path / "serve.log").open("wb"),
            text=True,
        )
        started.append(process)
        line = process.stdout.readline()  # "Serving <model> <version> on http://host:port/"
        assert line.startswith("Serving "), (tmp_path / "serve.log").read_text()
        return line.rsplit(" ", 1)[-1].strip().rstrip("/")

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)


def _http(url: str, body: dict | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


# --- helpers -------------------------------------------------------------------------------


def _expected(kind: str, rows: np.ndarray) -> dict:
    """What running the model directly gives, named as the signature names its outputs."""
    model = factories.demo_model(kind)
    if kind == "onnx":
        session = onnxruntime.InferenceSession(model.content)
        return {"variable": session.run(["variable"], {"X": rows.astype(np.float32)})[0].tolist()}
    x = rows.astype(np.float64)
    return {
        "label": model.estimator.predict(x).tolist(),
        "probabilities": model.estimator.predict_proba(x).tolist(),
    }


def _assert_equal_outputs(got: dict, expected: dict) -> None:
    assert set(got) == set(expected)
    for name, values in expected.items():
        if name == "label":
            assert got[name] == values
        else:
            assert np.allclose(got[name], values, rtol=1e-6, atol=1e-9), name


def _wait_for_download(client, url: str, worker_log: Path, package_filter: dict):
    deadline = time.monotonic() + BUILD_SECONDS
    while True:
        answer = client.get(url)
        if answer.status_code == 200:
            return answer
        assert answer.status_code == 202, answer.json()
        assert answer["Retry-After"] == str(answer.json()["retryAfter"])
        if time.monotonic() > deadline:
            package = VersionPackage.objects.filter(**package_filter).first()
            pytest.fail(
                f"The bundle was not built in {BUILD_SECONDS} s (package: {package}, "
                f"error: {package.error if package else '-'}); worker log:\n"
                + worker_log.read_text(errors="replace")[-4000:]
            )
        time.sleep(0.5)


def _unpack(content: bytes, into: Path) -> Path:
    archive = into / "bundle.tar.gz"
    archive.write_bytes(content)
    with tarfile.open(archive) as tar:
        tar.extractall(into / "unpacked", filter="data")
    (root,) = (into / "unpacked").iterdir()
    return root


def _verified_manifest(root: Path) -> dict:
    manifest = json.loads((root / "manifest.json").read_text())
    listed = {entry["path"]: entry for entry in manifest["files"]}
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} - {
        "manifest.json"
    }
    assert set(listed) == on_disk
    for path, entry in listed.items():
        content = (root / path).read_bytes()
        assert hashlib.sha256(content).hexdigest() == entry["sha256"], path
        assert len(content) == entry["size"], path
    return manifest


# --- tests ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["onnx", "skops"])
def test_a_worker_builds_the_bundle_whose_server_answers_like_the_model(
    kind, celery_worker, in_shared_warehouse, api, provider, auditor, consumer, tmp_path, serve
):
    version = factories.make_version_in("RELEASED", provider=provider, auditor=auditor, kind=kind)
    subscription = subscription_request(user=consumer, sam=version.sam, method=SharingMethod.BUNDLE)
    url = f"/api/v1/versions/{version.pk}/bundle/"

    download = _wait_for_download(
        api(consumer), url, celery_worker, {"version": version, "kind": PackageKind.BUNDLE}
    )

    content = b"".join(download.streaming_content)
    assert download["X-Checksum-SHA256"] == hashlib.sha256(content).hexdigest()
    assert download["Content-Type"] == "application/gzip"
    package = VersionPackage.objects.get(version=version, kind=PackageKind.BUNDLE)
    assert (package.status, package.sha256) == (PackageStatus.READY, download["X-Checksum-SHA256"])
    assert "package_build_task" in celery_worker.read_text()
    delivery = version.deliveries.get()
    assert (delivery.user, delivery.kind, delivery.subscription) == (
        consumer,
        DeliveryKind.BUNDLE,
        subscription,
    )

    root = _unpack(content, tmp_path)
    manifest = _verified_manifest(root)
    assert manifest["sha256"] == version.artifact_sha256
    assert manifest["modelVersion"] == {
        "id": version.pk,
        "model": version.sam.slug,
        "version": "1.0.0",
    }
    assert {"Dockerfile", "requirements.txt", "serve.py", "samhub_runtime.py"} <= {
        entry["path"] for entry in manifest["files"]
    }
    requirements = (root / "requirements.txt").read_text().split()
    assert all(pin in requirements for pin in manifest["requirements"])
    assert "CMD" in (root / "Dockerfile").read_text()

    base = serve(root)
    status, health = _http(f"{base}/health")
    assert (status, health["status"]) == (200, "ok")
    input_name = version.signature["inputs"][0]["name"]
    status, answer = _http(
        f"{base}/api/v1/versions/{version.pk}/infer/", {"inputs": {input_name: ROWS.tolist()}}
    )
    assert status == 200, answer
    assert answer["count"] == len(ROWS)
    assert answer["modelVersion"] == manifest["modelVersion"]
    assert uuid.UUID(answer["inferenceId"]) and answer["latencyMs"] >= 0
    _assert_equal_outputs(answer["outputs"], _expected(kind, ROWS))
    # The same answer as SAM Hub's own engine, on the short path too.
    outputs, count = inference.run(version, {input_name: ROWS.tolist()})
    status, short = _http(f"{base}/infer", {"inputs": {input_name: ROWS.tolist()}})
    assert (status, short["outputs"], short["count"]) == (200, outputs, count)

    status, refused = _http(f"{base}/infer", {"inputs": {input_name: [[1.0, 2.0]]}})
    assert status == 400
    assert refused["detail"] == f"Input '{input_name}': expected shape [batch, 6], got [1, 2]."


def _released_bundle(provider, auditor) -> VersionPackage:
    version = factories.make_version_in("RELEASED", provider=provider, auditor=auditor)
    return extraction.package_request(user=provider, version_id=version.pk, kind=PackageKind.BUNDLE)


def _stored_packages() -> list[str]:
    return sorted(
        name for folder in default_storage.listdir("packages")[0]
        for name in default_storage.listdir(f"packages/{folder}")[1]
    )  # fmt: skip


def test_building_a_bundle_twice_builds_it_once(provider, auditor):
    package = _released_bundle(provider, auditor)

    first = extraction.package_build(package_id=package.pk)
    second = extraction.package_build(package_id=package.pk)
    again = [package_build_task.apply(args=[package.pk]).get() for _ in range(2)]

    assert first.status == second.status == PackageStatus.READY
    assert again == [PackageStatus.READY, PackageStatus.READY]
    fresh = VersionPackage.objects.get(pk=package.pk)
    assert (fresh.built_at, fresh.sha256, fresh.file.name) == (
        first.built_at,
        first.sha256,
        first.file.name,
    )
    assert _stored_packages() == [first.filename]


def test_a_build_whose_heartbeat_stopped_is_built_again_at_once(provider, auditor, settings):
    # A build lost its process when its heartbeat is older than three beats; the task that
    # finds it so (its message handed back, or queued again) builds it from the start. A build
    # that keeps beating is left to its run: tests/security/test_killed_build_is_resumed.py.
    settings.SAMHUB_PACKAGE_HEARTBEAT_SECONDS = 5
    package = _released_bundle(provider, auditor)
    dead = timezone.now() - timedelta(seconds=16)
    VersionPackage.objects.filter(pk=package.pk).update(
        status=PackageStatus.BUILDING, build_started_at=dead, heartbeat_at=dead
    )

    started = time.monotonic()
    resumed = package_build_task.run(package.pk)

    assert resumed == PackageStatus.READY
    assert time.monotonic() - started < 5  # no waiting for a heartbeat that stopped long ago
    assert VersionPackage.objects.get(pk=package.pk).build_started_at > dead


def test_a_build_whose_worker_was_lost_is_started_again_by_a_post_once_its_heartbeat_stopped(
    api, provider, auditor, settings, monkeypatch, django_capture_on_commit_callbacks
):
    # The folder broker does not hand a lost worker's message back: without the heartbeat the
    # package would stay BUILDING for ever.
    settings.SAMHUB_PACKAGE_HEARTBEAT_SECONDS = 5
    package = _released_bundle(provider, auditor)
    started = timezone.now() - timedelta(seconds=300)
    VersionPackage.objects.filter(pk=package.pk).update(
        status=PackageStatus.BUILDING,
        build_started_at=started,
        heartbeat_at=timezone.now() - timedelta(seconds=10),  # two beats missed: slow
    )
    url = f"/api/v1/versions/{package.version.pk}/bundle/"
    queued = []
    monkeypatch.setattr(package_build_task, "delay", queued.append)

    with django_capture_on_commit_callbacks(execute=True):
        early = api(provider).post(url)
    VersionPackage.objects.filter(pk=package.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=16)  # more than three: lost
    )
    with django_capture_on_commit_callbacks(execute=True):
        late = api(provider).post(url)

    assert early.json()["status"] == PackageStatus.BUILDING
    assert late.status_code == 202
    assert late.json()["status"] == PackageStatus.PENDING
    assert queued == [package.pk]
    built = extraction.package_build(package_id=package.pk)
    assert built.status == PackageStatus.READY
    assert built.build_started_at > started


def test_a_failed_build_is_reported_and_a_post_queues_it_again(
    api, provider, auditor, monkeypatch, django_capture_on_commit_callbacks
):
    package = _released_bundle(provider, auditor)
    version = package.version
    model = factories.demo_model("onnx").content
    default_storage.delete(version.artifact.name)

    failed = extraction.package_build(package_id=package.pk)

    assert failed.status == PackageStatus.FAILED
    assert "missing from the warehouse" in failed.error
    url = f"/api/v1/versions/{version.pk}/bundle/"
    answer = api(provider).get(url)
    assert answer.status_code == 409
    assert answer.json()["code"] == "invalid_state"
    assert "missing from the warehouse" in answer.json()["detail"]
    assert f"POST {url} to build it again" in answer.json()["detail"]
    assert not version.deliveries.exists()

    queued = []
    monkeypatch.setattr(package_build_task, "delay", queued.append)
    default_storage.save(version.artifact.name, ContentFile(model))
    with django_capture_on_commit_callbacks(execute=True):
        retried = api(provider).post(url)

    assert retried.status_code == 202
    assert retried["Retry-After"] == "5"
    assert retried.json()["status"] == PackageStatus.PENDING
    assert queued == [package.pk]
    assert VersionPackage.objects.get(pk=package.pk).error == ""
    assert extraction.package_build(package_id=package.pk).status == PackageStatus.READY
    assert api(provider).get(url).status_code == 200


def test_the_bundle_refuses_a_model_file_that_changed_in_the_warehouse(provider, auditor):
    package = _released_bundle(provider, auditor)
    name = package.version.artifact.name
    default_storage.delete(name)
    default_storage.save(name, ContentFile(b"not the validated model"))

    failed = extraction.package_build(package_id=package.pk)

    assert failed.status == PackageStatus.FAILED
    assert f"not the validated {package.version.artifact_sha256}" in failed.error
