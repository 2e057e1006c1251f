"""Benchmark: upload and download a 1 GiB ONNX artifact through the REST API and record the
peak RSS of the web process (a gunicorn sync worker), plus timings. Target: peak RSS < 200 MB.

    .venv/bin/python bench/artifact_rss.py [--size-mib 1024] [--runs 3]

The artifact is a real ONNX model (Y = X + W) whose weight W fills the file; it passes
onnx.checker. Validation runs in a child process of the web worker; its peak is reported too.
"""

import argparse
import contextlib
import hashlib
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build_onnx(path: Path, size_mib: int) -> str:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper

    n = size_mib * 1024 * 1024 // 4
    weight = np.random.default_rng(0).random(n, dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("Add", ["X", "W"], ["Y"])],
        "big",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [n])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [n])],
        [helper.make_tensor("W", TensorProto.FLOAT, [n], weight.tobytes(), raw=True)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save_model(model, str(path))
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PeakSampler(threading.Thread):
    """Samples RSS of the web worker and, separately, of its children (the artifact checker)."""

    def __init__(self, worker: psutil.Process):
        super().__init__(daemon=True)
        self.worker, self.web_peak, self.child_peak, self.running = worker, 0, 0, True

    def run(self):
        while self.running:
            try:
                self.web_peak = max(self.web_peak, self.worker.memory_info().rss)
                for child in self.worker.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        self.child_peak = max(self.child_peak, child.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.02)

    def stop(self):
        self.running = False
        self.join()


def vm_hwm(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def setup_database(env: dict) -> tuple[str, int]:
    """Migrate a scratch database and create a provider with a token and one model."""
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    script = """
import json
from django.contrib.auth.models import Group, User
from core.services import api_token_create
from registry import services
org = services.organisation_create(name="Bench")
user = User.objects.create_user("bench-provider", password="x")
user.groups.add(Group.objects.get(name="provider")); org.members.add(user)
sam = services.sam_create(user=user, organisation=org, name="Big model", inference_type="VENDOR_SPECIFIC")
print(json.dumps({"token": api_token_create(user=user, name="bench")[1], "sam": sam.pk}))
"""
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return data["token"], data["sam"]


def request(port: int, method: str, path: str, token: str, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
    conn.request(
        method, path, body=body, headers={"Authorization": f"Token {token}", **(headers or {})}
    )
    return conn, conn.getresponse()


def one_run(
    port: int, token: str, sam: int, artifact: Path, sha256: str, run: int, warehouse: Path
) -> dict:
    for stored in warehouse.rglob("*.onnx"):
        stored.unlink()  # every run really writes the file into the warehouse
    conn, response = request(
        port, "POST", "/api/v1/versions/", token,
        json.dumps({"model": sam, "version": f"1.0.{run}"}), {"Content-Type": "application/json"},
    )  # fmt: skip
    created = json.loads(response.read())
    conn.close()
    version = created["id"]
    size = artifact.stat().st_size
    start = time.perf_counter()
    with artifact.open("rb") as body:
        conn, response = request(
            port, "PUT", f"/api/v1/versions/{version}/artifact/?filename=big.onnx", token, body,
            {"Content-Type": "application/octet-stream", "Content-Length": str(size)},
        )  # fmt: skip
        answer = json.loads(response.read())
        conn.close()
    upload_s = time.perf_counter() - start
    if response.status != 200 or answer.get("artifact_sha256") != sha256:
        raise SystemExit(f"upload failed: {response.status} {str(answer)[:500]}")
    start = time.perf_counter()
    conn, response = request(port, "GET", f"/api/v1/versions/{version}/artifact/", token)
    digest, received = hashlib.sha256(), 0
    while chunk := response.read(1 << 20):
        digest.update(chunk)
        received += len(chunk)
    conn.close()
    download_s = time.perf_counter() - start
    if digest.hexdigest() != sha256 or received != size:
        raise SystemExit("download differs from upload")
    return {"upload_s": upload_s, "download_s": download_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="samhub-bench-"))
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "AWS_STORAGE_BUCKET_NAME")
    }
    # A 1 GiB model loads into more than the default 512 MiB SAMHUB_MODEL_MAX_LOADED_BYTES.
    env.update(SAMHUB_DATA_DIR=str(scratch / "data"), SAMHUB_UPLOAD_TEMP_DIR=str(scratch),
               SAMHUB_ARTIFACT_MAX_BYTES=str(2 * 1024**3),
               SAMHUB_MODEL_MAX_LOADED_BYTES=str(4 * 1024**3))  # fmt: skip
    artifact = scratch / "big.onnx"
    print(f"building a {args.size_mib} MiB ONNX model in {scratch} ...", flush=True)
    sha256 = build_onnx(artifact, args.size_mib)
    token, sam = setup_database(env)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--timeout", "900"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        master = psutil.Process(server.pid)
        for _ in range(100):
            if master.children():
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    pass
            time.sleep(0.2)
        worker = master.children()[0]
        idle_rss = worker.memory_info().rss
        results = []
        for run in range(args.runs):
            sampler = PeakSampler(worker)
            sampler.start()
            timing = one_run(
                port, token, sam, artifact, sha256, run, scratch / "data" / "warehouse"
            )
            sampler.stop()
            timing.update(
                web_peak_mb=sampler.web_peak / 1e6, checker_peak_mb=sampler.child_peak / 1e6
            )
            results.append(timing)
            print(
                f"run {run + 1}: upload {timing['upload_s']:.1f} s, download {timing['download_s']:.1f} s, "
                f"web peak RSS {timing['web_peak_mb']:.0f} MB, checker child peak {timing['checker_peak_mb']:.0f} MB",
                flush=True,
            )
        hwm = vm_hwm(worker.pid) / 1e6
    finally:
        server.terminate()
        server.wait(timeout=30)
        size_mb = artifact.stat().st_size / 1e6
        shutil.rmtree(scratch, ignore_errors=True)
    median = {k: statistics.median(r[k] for r in results) for k in results[0]}
    print(f"\nartifact: {size_mb:.0f} MB ONNX, sha256 {sha256[:16]}..., {args.runs} runs, medians:")
    print(f"  upload   {median['upload_s']:.1f} s ({size_mb / median['upload_s']:.0f} MB/s)")
    print(f"  download {median['download_s']:.1f} s ({size_mb / median['download_s']:.0f} MB/s)")
    print(
        f"  web worker RSS: idle {idle_rss / 1e6:.0f} MB, peak {median['web_peak_mb']:.0f} MB (sampled), "
        f"VmHWM over all runs {hwm:.0f} MB; target < 200 MB: {'MET' if hwm < 200 else 'MISSED'}"
    )
    print(f"  artifact checker (child process) peak {median['checker_peak_mb']:.0f} MB")


if __name__ == "__main__":
    main()
