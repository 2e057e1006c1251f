"""Benchmark: requests/s and p50/p99 latency of the reasoning call
(POST /api/v1/versions/{id}/infer/) against `mlflow models serve` of the same ONNX model, with
one load client (wrk), at equal concurrency, on the same machine in the same run, and against
a bare Django view on SAM Hub's own server (the ceiling of the stack).
Target: SAM Hub >= 1.5x MLflow's best requests/s in every cell, p99 <= 25 ms at 8 connections.

    apt-get install -y wrk   # the load client
    .venv/bin/python bench/inference_vs_mlflow.py [--runs 3] [--duration 15] [--workers 2]

The model is the ONNX file that `seed_demo` releases, registry.demo.cell_load_model() (a
random forest of 30 trees, six KPI features, converted with skl2onnx). SAM Hub serves it from
its warehouse, metering every call; MLflow serves that same file from SAM Hub's warehouse,
saved with mlflow.onnx.save_model in MLflow's own virtual environment (bench/out/mlflow-venv,
with SAM Hub's numpy, onnx and onnxruntime versions) and the same onnxruntime session options
(one thread, sequential). Both get the same body, {"inputs": {"X": rows}}.

MLflow runs in its two best configurations on a small machine: one worker (uvicorn without
its supervisor), and two workers with TCP_NODELAY restored: `mlflow models serve --workers N>1`
runs uvicorn's multiprocess supervisor, whose listening socket loses TCP_NODELAY (uvicorn issue
3149), so each keep-alive request after the first waits ~40 ms for a delayed ACK; an asyncio
patch loaded only in the bench's MLflow venv fixes that one bug. SAM Hub runs gunicorn with
`--workers` sync workers and the portal's config/gunicorn.py, with bench/ceiling_settings.py:
the product's settings with a URLconf that adds POST /bench/constant/, a bare Django view
answering a constant JSON, measured on the same server as the ceiling of the stack (gunicorn,
Django, middleware). `--mlflow none` measures SAM Hub and the ceiling only.
"""

import argparse
import contextlib
import http.client
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib.metadata import version as installed
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))

# 3.18.0 is listed on the local index, but its mlflow-skinny is not; 3.17.2 installs.
MLFLOW_VERSION = "3.17.2"
SAME_AS_SAMHUB = ("numpy", "onnx", "onnxruntime")
MODEL_NAME = "Cell load forecast"
INPUT_NAME = "X"
OUTPUT_NAME = "variable"
PG = ["-h", "127.0.0.1", "-U", "postgres"]
MLFLOW_ENV = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
# What the target asks: SAM Hub's req/s over MLflow's best, and its p99 at 8 connections.
TARGET_RATIO = 1.5
TARGET_P99_MS = 25.0
TARGET_P99_CONCURRENCY = 8
CEILING_PATH = "/bench/constant/"

# Loaded by a .pth file in the MLflow venv; active only when the server's environment asks.
NODELAY_PATCH = '''"""SAM Hub bench: give accepted TCP sockets TCP_NODELAY although uvicorn's pre-bound
listener reports proto 0 (uvicorn issue 3149); asyncio checks proto == IPPROTO_TCP."""
import os

if os.environ.get("SAMHUB_BENCH_NODELAY") == "1":
    import asyncio.base_events
    import socket

    def _set_nodelay(sock):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.type == socket.SOCK_STREAM:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    asyncio.base_events._set_nodelay = _set_nodelay
'''

# The ONNX flavor with SAM Hub's session options (sharing/runtime/samhub_runtime.py, OnnxModel)
# and the model kept in one file, as SAM Hub stores it.
SAVE_MLFLOW_MODEL = """
import sys
import numpy as np
import onnx
import mlflow.onnx
from mlflow.models.signature import ModelSignature
from mlflow.types.schema import Schema, TensorSpec

import onnxruntime as ort

source, target = sys.argv[1], sys.argv[2]
model = onnx.load(source)
session = ort.InferenceSession(source, providers=["CPUExecutionProvider"])
DTYPES = {"tensor(float)": "float32", "tensor(double)": "float64"}


def schema(args):
    return Schema([
        TensorSpec(np.dtype(DTYPES[a.type]), tuple(d if isinstance(d, int) else -1 for d in a.shape), a.name)
        for a in args
    ])


signature = ModelSignature(inputs=schema(session.get_inputs()), outputs=schema(session.get_outputs()))
mlflow.onnx.save_model(
    model, target, signature=signature, save_as_external_data=False,
    onnx_execution_providers=["CPUExecutionProvider"],
    onnx_session_options={
        "intra_op_num_threads": 1, "inter_op_num_threads": 1, "execution_mode": "sequential",
    },
)
"""

WRK_SCRIPT = """wrk.method = "POST"
wrk.body = [=[{body}]=]
wrk.headers["Content-Type"] = "application/json"
{auth}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "errors": %d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown",
    )
    return {"nproc": os.cpu_count(), "cpu": cpu}


# --- the model ---------------------------------------------------------------------------------


def bench_rows() -> list[list[float]]:
    """32 rows of the demo's KPI features (float32 values, as the model takes them)."""
    from registry.demo import cell_kpi_dataset

    return cell_kpi_dataset()[0][:32].tolist()


def mlflow_environment(venv: Path) -> Path:
    """MLflow in its own venv, with SAM Hub's numpy and ONNX runtime pinned so the model runs
    the same; an existing venv only gets what its pins lack."""
    pins = [f"mlflow=={MLFLOW_VERSION}"] + [f"{name}=={installed(name)}" for name in SAME_AS_SAMHUB]
    marker = venv / "samhub-bench-pins.txt"
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} ...", flush=True)
        subprocess.run(["python3.11", "-m", "venv", str(venv)], check=True)
    if not (marker.exists() and marker.read_text() == "\n".join(pins)):
        print(f"installing {', '.join(pins)} into {venv} ...", flush=True)
        pip = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *pins], capture_output=True, text=True
        )
        if pip.returncode:
            raise SystemExit(f"pip could not install {pins}:\n{pip.stderr[-3000:]}")
        site = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        Path(site, "samhub_bench_nodelay.py").write_text(NODELAY_PATCH)
        Path(site, "samhub_bench_nodelay.pth").write_text("import samhub_bench_nodelay\n")
        marker.write_text("\n".join(pins))
    return python


def mlflow_model(python: Path, onnx_path: Path, target: Path) -> None:
    subprocess.run(
        [str(python), "-c", SAVE_MLFLOW_MODEL, str(onnx_path), str(target)],
        check=True, env={**os.environ, **MLFLOW_ENV}, stdout=subprocess.DEVNULL,
    )  # fmt: skip


def model_ceiling(onnx_path: Path, row: list[float], seconds: float) -> float:
    """Single-row predictions per second in this process, with SAM Hub's runtime and no
    HTTP, JSON or database."""
    import numpy as np

    from sharing.runtime.samhub_runtime import load_model

    model = load_model("onnx", onnx_path.read_bytes())
    arrays = {INPUT_NAME: np.asarray([row], dtype=np.float32)}
    for _ in range(200):
        model.predict(arrays, [OUTPUT_NAME])
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(100):
            model.predict(arrays, [OUTPUT_NAME])
        done += 100
    return done / elapsed


# --- the servers -------------------------------------------------------------------------------


@dataclass
class Server:
    """One HTTP server under test: its command, where to POST, what to send, how to read it."""

    name: str
    command: list[str]
    env: dict
    port: int
    path: str
    headers: dict = field(default_factory=dict)
    process: subprocess.Popen | None = None

    def start(self, log: Path) -> None:
        if not self.command:
            return  # an endpoint of a server started already
        self.log = log.open("wb")
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as one
        )  # fmt: skip

    def stop(self) -> None:
        if self.process is None or not self.command:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()

    def cpu_seconds(self) -> float:
        """CPU time of the whole server process tree so far."""
        total = 0.0
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(self.process.pid)
            for process in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    times = process.cpu_times()
                    total += times.user + times.system
        return total

    def body(self, rows: list[list[float]]) -> str:
        # The same for all: MLflow's scoring server takes named tensors as SAM Hub does.
        return json.dumps({"inputs": {INPUT_NAME: rows}})

    def on_same_process(self, name: str, path: str) -> "Server":
        """Another endpoint of this server (the ceiling's bare view on SAM Hub's)."""
        return Server(name, [], self.env, self.port, path, dict(self.headers), self.process)

    def post(self, body: str, timeout: float = 30) -> tuple[int, dict]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(
                "POST", self.path, body, {"Content-Type": "application/json", **self.headers}
            )
            response = conn.getresponse()
            return response.status, json.loads(response.read() or b"{}")
        finally:
            conn.close()

    def wait_idle(self, timeout: float = 120) -> None:
        """Until the server's processes stop working by themselves: what they start once up
        (SAM Hub's workers warm the upload checker's fork server, config/gunicorn.py) is not
        part of any measurement."""
        deadline = time.monotonic() + timeout
        before = self.cpu_seconds()
        while time.monotonic() < deadline:
            time.sleep(1)
            now = self.cpu_seconds()
            if now - before < 0.05:
                return
            before = now

    def wait_ready(self, rows: list[list[float]], timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(
                    f"{self.name} exited with {self.process.returncode}; see {self.log.name}"
                )
            try:
                status, answer = self.post(self.body(rows[:1]), timeout=10)
            except (OSError, http.client.HTTPException, ValueError):
                time.sleep(0.5)
                continue
            if status != 200:
                raise SystemExit(f"{self.name}: {self.path} answered {status}: {str(answer)[:500]}")
            return answer
        raise SystemExit(f"{self.name} did not answer within {timeout:.0f} s; see {self.log.name}")


def samhub_setup(env: dict, root: Path = ROOT) -> tuple[str, int, Path]:
    """Migrate, seed the demo, give demo-consumer a token and an INFERENCE subscription.
    Returns the token, the released version's id and its ONNX file in the warehouse (which
    MLflow then serves too: the very same bytes)."""
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=root, env=env, check=True)
    subprocess.run(
        [sys.executable, "manage.py", "seed_demo", "--password", "x"],
        cwd=root, env=env, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    script = f"""
import json
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from core.services import api_token_create
from registry.models import SmallAIModel
from sharing import selectors, services
consumer = User.objects.get(username="demo-consumer")
sam = SmallAIModel.objects.get(name={MODEL_NAME!r})
services.subscription_request(user=consumer, sam=sam, method="INFERENCE")
version = selectors.latest_release(sam)
print(json.dumps({{
    "token": api_token_create(user=consumer, name="bench")[1],
    "version": version.pk,
    "artifact": default_storage.path(version.artifact.name),
}}))
"""
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=root, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return data["token"], data["version"], Path(data["artifact"])


def samhub_server(name: str, env: dict, workers: int, token: str, version: int) -> Server:
    port = free_port()
    # The settings `manage.py portal` runs gunicorn with (config/gunicorn.py).
    command = [sys.executable, "-m", "gunicorn", "config.wsgi", "--config",
               "python:config.gunicorn", "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers)]  # fmt: skip
    return Server(
        name, command, {**env, "DJANGO_SETTINGS_MODULE": "bench.ceiling_settings"}, port,
        f"/api/v1/versions/{version}/infer/", {"Authorization": f"Token {token}"},
    )  # fmt: skip


def mlflow_server(name: str, python: Path, model: Path, workers: int, nodelay: bool) -> Server:
    port = free_port()
    env = {**os.environ, **MLFLOW_ENV, "SAMHUB_BENCH_NODELAY": "1" if nodelay else "0"}
    env["PATH"] = f"{python.parent}{os.pathsep}{env['PATH']}"  # its uvicorn, not another
    command = [str(python.parent / "mlflow"), "models", "serve", "-m", str(model),
               "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port),
               "--workers", str(workers)]  # fmt: skip
    return Server(name, command, env, port, "/invocations")


# --- the load client ---------------------------------------------------------------------------


def wrk(server: Server, body: str, concurrency: int, seconds: float, scratch: Path) -> dict:
    """One wrk run (one thread, `concurrency` keep-alive connections); its CPU and the
    server's CPU over the run, in cores."""
    script = scratch / f"{server.name}.lua"
    auth = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in server.headers.items())
    script.write_text(WRK_SCRIPT.format(body=body, auth=auth))
    command = ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds:g}s", "--timeout", "10s",
               "-s", str(script), f"http://127.0.0.1:{server.port}{server.path}"]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before, busy_before = server.cpu_seconds(), busy_seconds()
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    server_cpu, busy = server.cpu_seconds() - server_before, busy_seconds() - busy_before
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(out.strip().splitlines()[-1])
    duration = result["duration_us"] / 1e6
    client_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "rps": result["requests"] / duration,
        "p50_ms": result["p50_us"] / 1000,
        "p99_ms": result["p99_us"] / 1000,
        "errors": result["errors"],
        "client_cpu": client_cpu / duration,
        "server_cpu": server_cpu / duration,
        # Anything else busy on the machine (another test run) skews the figures: shown.
        "other_cpu": max(0.0, busy - server_cpu - client_cpu) / duration,
    }


def busy_seconds() -> float:
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def client_check(server: Server, seconds: float = 5) -> str:
    """wrk against a trivial endpoint (MLflow's GET /ping) at the highest concurrency: the
    client's rate and CPU there show it has headroom over the rates measured."""
    command = ["wrk", "-t1", "-c32", f"-d{seconds:g}s", f"http://127.0.0.1:{server.port}/ping"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    rate = next(line.split()[1] for line in out.splitlines() if line.startswith("Requests/sec"))
    return (
        f"client check: wrk -t1 -c32 on {server.name} GET /ping: {rate} req/s, "
        f"wrk CPU {cpu / seconds:.2f} cores"
    )


# --- the run -----------------------------------------------------------------------------------


def check_same_predictions(servers: list[Server], onnx_path: Path, rows: list[list[float]]) -> None:
    """Every model server answers the rows as SAM Hub's runtime does in this process."""
    import numpy as np

    from sharing.runtime.samhub_runtime import load_model

    model = load_model("onnx", onnx_path.read_bytes())
    expected = model.predict({INPUT_NAME: np.asarray(rows, dtype=np.float32)}, [OUTPUT_NAME])
    for server in servers:
        status, answer = server.post(server.body(rows))
        got = answer.get("outputs") or answer.get("predictions")
        if isinstance(got, dict):
            got = got.get(OUTPUT_NAME)
        if status != 200 or not np.allclose(got, expected[OUTPUT_NAME], rtol=1e-6):
            raise SystemExit(
                f"{server.name} predicts {str(got)[:300]} ({status}), the model {expected}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=15, help="seconds measured per run")
    parser.add_argument("--warmup", type=float, default=3, help="seconds before each run")
    parser.add_argument("--workers", type=int, default=2, help="SAM Hub's gunicorn workers")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 32], help="rows per request")
    parser.add_argument(
        "--mlflow", nargs="+", default=["1w", "2w-nodelay"],
        choices=["1w", "2w-nodelay", "2w", "none"],
        help="MLflow's configurations: workers, and whether TCP_NODELAY is restored; none: "
        "SAM Hub and the ceiling only (no MLflow venv needed), to compare two SAM Hub versions",
    )  # fmt: skip
    parser.add_argument(
        "--database", choices=["sqlite", "postgres"], default="sqlite",
        help="SAM Hub's database: a scratch SQLite file, or a scratch database on the local "
        "PostgreSQL (postgres@127.0.0.1:5432, created and dropped)",
    )  # fmt: skip
    parser.add_argument(
        "--conn-max-age", type=int, default=None,
        help="DATABASE_CONN_MAX_AGE for SAM Hub (default: the setting's own)",
    )  # fmt: skip
    parser.add_argument("--ceiling-seconds", type=float, default=5)
    args = parser.parse_args()
    if "none" in args.mlflow:
        args.mlflow = []
    if not shutil.which("wrk"):
        raise SystemExit("the load client is wrk: apt-get install -y wrk")

    OUT.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="samhub-infer-bench-"))
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "AWS_STORAGE_BUCKET_NAME")
    }
    env.update(SAMHUB_DATA_DIR=str(scratch / "data"))
    if args.conn_max_age is not None:
        env["DATABASE_CONN_MAX_AGE"] = str(args.conn_max_age)
    database = f"samhub_bench_{os.getpid()}" if args.database == "postgres" else None
    if database:
        subprocess.run(["createdb", *PG, database], check=True)
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{database}"
    servers: list[Server] = []
    results: dict[tuple, list[dict]] = {}
    try:
        python = mlflow_environment(OUT / "mlflow-venv") if args.mlflow else None
        token, version, onnx_path = samhub_setup(env)
        rows = bench_rows()
        print("measuring the model alone, in-process ...", flush=True)
        model_rate = model_ceiling(onnx_path, rows[0], args.ceiling_seconds)
        if python:
            mlflow_model(python, onnx_path, scratch / "mlflow-model")
        samhub = samhub_server("samhub", env, args.workers, token, version)
        servers.append(samhub)
        for variant in args.mlflow:
            workers = int(variant[0])
            servers.append(mlflow_server(f"mlflow-{variant}", python, scratch / "mlflow-model",
                                         workers, variant.endswith("nodelay")))  # fmt: skip
        for server in servers:
            server.start(OUT / f"{server.name}.log")
        servers.insert(1, samhub.on_same_process("django-constant", CEILING_PATH))
        for server in servers:
            server.wait_ready(rows)
        for server in servers:
            if server.command:
                server.wait_idle()
        check_same_predictions([s for s in servers if s.path != CEILING_PATH], onnx_path, rows)
        mlflow = [server for server in servers if server.name.startswith("mlflow")]
        checked = client_check(mlflow[-1]) if mlflow else ""
        print(checked, flush=True)
        print(f"servers up: {', '.join(s.name for s in servers)}", flush=True)
        for run in range(args.runs):
            order = servers[run % len(servers) :] + servers[: run % len(servers)]
            for batch in args.batch:
                for concurrency in args.concurrency:
                    for server in order:
                        body = server.body(rows[:batch])
                        wrk(server, body, concurrency, args.warmup, scratch)
                        result = wrk(server, body, concurrency, args.duration, scratch)
                        results.setdefault((server.name, batch, concurrency), []).append(result)
                        print(
                            f"run {run + 1} batch {batch:>2} c {concurrency:>2} {server.name:<16} "
                            f"{result['rps']:7.1f} req/s  p50 {result['p50_ms']:6.1f} ms  "
                            f"p99 {result['p99_ms']:6.1f} ms  errors {result['errors']}  "
                            f"CPU: server {result['server_cpu']:.2f} wrk {result['client_cpu']:.2f} "
                            f"other {result['other_cpu']:.2f} cores",
                            flush=True,
                        )
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
        if database:
            subprocess.run(["dropdb", *PG, "--if-exists", database], check=False)
    report(args, results, model_rate, checked)


def report(args, results: dict[tuple, list[dict]], model_rate: float, checked: str) -> None:
    median = {
        key: {k: statistics.median(r[k] for r in runs) for k in runs[0]} | {
            "errors": sum(r["errors"] for r in runs)
        }
        for key, runs in results.items()
    }  # fmt: skip
    names = list(dict.fromkeys(name for name, _, _ in results))
    mlflow_names = [n for n in names if n.startswith("mlflow")]
    info = machine()
    print(
        f"\n{info['nproc']} cores ({info['cpu']}); SAM Hub: gunicorn, {args.workers} workers "
        f"(config/gunicorn.py), metering every call, on {args.database}"
        + (f" (DATABASE_CONN_MAX_AGE={args.conn_max_age})" if args.conn_max_age is not None else "")
        + f"; wrk -t1, {args.duration:g} s per run after {args.warmup:g} s warm-up; "
        f"median of {args.runs} runs\n"
    )
    print(
        "| server | rows/request | concurrency | req/s | p50 ms | p99 ms | errors "
        "| server CPU | server CPU ms/call | wrk CPU | other CPU | SAM Hub / best MLflow "
        "| SAM Hub / ceiling |"
    )
    print("|---" * 13 + "|")
    verdicts = []
    for batch in args.batch:
        for concurrency in args.concurrency:
            cell = {name: median[(name, batch, concurrency)] for name in names}
            samhub = cell["samhub"]
            best = max((cell[n] for n in mlflow_names), key=lambda m: m["rps"], default=None)
            share = samhub["rps"] / cell["django-constant"]["rps"]
            if best:
                ratio = samhub["rps"] / best["rps"]
                met = ratio >= TARGET_RATIO and (
                    concurrency != TARGET_P99_CONCURRENCY or samhub["p99_ms"] <= TARGET_P99_MS
                )
                verdicts.append(met)
                verdict = f"{ratio:.2f}x {'MET' if met else 'MISSED'}"
            else:
                verdict = "no MLflow measured"
            for name in names:
                m = cell[name]
                extra = f"{verdict} | {share:.0%}" if name == "samhub" else " | "
                print(
                    f"| {name} | {batch} | {concurrency} | {m['rps']:.1f} "
                    f"| {m['p50_ms']:.1f} | {m['p99_ms']:.1f} | {m['errors']} "
                    f"| {m['server_cpu']:.2f} | {m['server_cpu'] / m['rps'] * 1000:.2f} "
                    f"| {m['client_cpu']:.2f} | {m['other_cpu']:.2f} | {extra} |"
                )
    print(
        f"\nthe model alone, in-process, one thread, one row per call: {model_rate:,.0f} "
        "predictions/s (SAM Hub's runtime, no HTTP, JSON or database)"
    )
    print(checked)
    errors = sum(m["errors"] for m in median.values())
    if errors:
        raise SystemExit(f"FAILED: {errors} requests were not answered with 200")
    print(
        "\nCPU columns in cores (other: anything else busy on the machine); server CPU ms/call: "
        "the server's CPU per answered request, the measure least moved by a busy machine"
    )
    if not verdicts:
        return
    print(
        f"target (>= {TARGET_RATIO}x the best MLflow's req/s in every cell, p99 <= "
        f"{TARGET_P99_MS:g} ms at {TARGET_P99_CONCURRENCY} connections): "
        + (
            f"MET in all {len(verdicts)} cells"
            if all(verdicts)
            else f"MISSED, met in {sum(verdicts)} of {len(verdicts)} cells"
        )
    )


if __name__ == "__main__":
    main()
