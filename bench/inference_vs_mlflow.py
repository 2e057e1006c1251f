"""Benchmark: requests/s and p50/p99 latency of the reasoning call
(POST /api/v1/versions/{id}/infer/) against `mlflow models serve` of the same scikit-learn
model, with one load client (wrk), at equal concurrency, on the same machine in the same run.
Target: SAM Hub >= 1.5x MLflow's requests/s and a p99 no worse than MLflow's.

    apt-get install -y wrk   # the load client
    .venv/bin/python bench/inference_vs_mlflow.py [--runs 3] [--duration 15] [--workers 2]

The model is registry.demo.kpi_anomaly_model() (StandardScaler + LogisticRegression): SAM Hub
serves the skops file that `seed_demo` releases; MLflow serves that same file from SAM Hub's
warehouse, loaded in MLflow's own virtual environment (bench/out/mlflow-venv, same scikit-learn, skops, numpy and
scipy versions) and saved with mlflow.sklearn.save_model. Both servers run W worker processes.

`mlflow models serve --workers N>1` runs uvicorn's multiprocess supervisor, whose listening
socket loses TCP_NODELAY (uvicorn issue 3149), so each keep-alive request after the first waits
~40 ms for a delayed ACK. The run measures MLflow as shipped and with that one bug fixed (an
asyncio patch loaded only in the bench's MLflow venv); the target is judged against both.

The ceiling is the in-process onnxruntime predict rate of the same model converted with
skl2onnx (one row per call, one thread), with no HTTP, JSON or database.
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
SAME_AS_SAMHUB = ("scikit-learn", "skops", "numpy", "scipy")
MODEL_NAME = "KPI anomaly detector"
INPUT_NAME = "input"
PG = ["-h", "127.0.0.1", "-U", "postgres"]
MLFLOW_ENV = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}

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

SAVE_MLFLOW_MODEL = """
import sys
import numpy as np
import skops.io as sio
import mlflow.sklearn
from mlflow.models import infer_signature

source, target = sys.argv[1], sys.argv[2]
data = open(source, "rb").read()
model = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
example = np.zeros((1, 6), dtype=np.float64)
mlflow.sklearn.save_model(
    model, target, signature=infer_signature(example, model.predict(example))
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


def load_model(skops_path: Path) -> tuple[bytes, object, list[list[float]]]:
    """SAM Hub's released skops file: its ONNX conversion, the estimator and bench rows."""
    import numpy as np
    import skops.io as sio
    from skl2onnx import to_onnx

    from registry.demo import cell_kpi_dataset

    content = skops_path.read_bytes()
    estimator = sio.loads(content, trusted=sio.get_untrusted_types(data=content))
    x, _, _ = cell_kpi_dataset()
    rows = x[:32].astype(np.float64).tolist()
    onnx_model = to_onnx(
        estimator,
        np.asarray(rows[:1]),
        options={"zipmap": False},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    return onnx_model.SerializeToString(), estimator, rows


def mlflow_environment(venv: Path) -> Path:
    """MLflow in its own venv, with SAM Hub's scikit-learn stack pinned so the model is the same."""
    pins = [f"mlflow=={MLFLOW_VERSION}"] + [f"{name}=={installed(name)}" for name in SAME_AS_SAMHUB]
    marker = venv / "samhub-bench-pins.txt"
    python = venv / "bin" / "python"
    if not (marker.exists() and marker.read_text() == "\n".join(pins)):
        shutil.rmtree(venv, ignore_errors=True)
        print(f"installing {', '.join(pins)} into {venv} ...", flush=True)
        subprocess.run(["python3.11", "-m", "venv", str(venv)], check=True)
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


def mlflow_model(python: Path, skops_path: Path, target: Path) -> None:
    subprocess.run(
        [str(python), "-c", SAVE_MLFLOW_MODEL, str(skops_path), str(target)],
        check=True, env={**os.environ, **MLFLOW_ENV}, stdout=subprocess.DEVNULL,
    )  # fmt: skip


def ceiling(onnx_bytes: bytes, estimator, row: list[float], seconds: float) -> dict:
    """Single-row predictions per second in this process: onnxruntime, and scikit-learn's
    predict + predict_proba (what both servers run per request)."""
    import numpy as np
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: np.asarray([row], dtype=np.float64)}
    features = feed[next(iter(feed))]

    def rate(call) -> float:
        for _ in range(200):
            call()
        done, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            for _ in range(100):
                call()
            done += 100
        return done / elapsed

    return {
        "onnxruntime": rate(lambda: session.run(None, feed)),
        "sklearn": rate(lambda: (estimator.predict(features), estimator.predict_proba(features))),
    }


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
        self.log = log.open("wb")
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as one
        )  # fmt: skip

    def stop(self) -> None:
        if self.process is None:
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
        if self.name.startswith("samhub"):
            # The labels only, as MLflow's pyfunc answers (predict, no predict_proba).
            return json.dumps({"inputs": {INPUT_NAME: rows}, "outputs": ["label"]})
        return json.dumps({"inputs": rows})

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


def samhub_setup(env: dict) -> tuple[str, int, Path]:
    """Migrate, seed the demo, give demo-consumer a token and an INFERENCE subscription.
    Returns the token, the released version's id and its skops file in the warehouse (which
    MLflow then serves too: the very same bytes)."""
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [sys.executable, "manage.py", "seed_demo", "--password", "x"],
        cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
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
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return data["token"], data["version"], Path(data["artifact"])


def samhub_server(name: str, env: dict, workers: int, worker_class: str, threads: int,
                  token: str, version: int) -> Server:  # fmt: skip
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers), "--worker-class", worker_class]  # fmt: skip
    if worker_class == "gthread":
        command += ["--threads", str(threads)]
    return Server(
        name, command, env, port, f"/api/v1/versions/{version}/infer/",
        {"Authorization": f"Token {token}"},
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
    return f"client check: wrk -t1 -c32 on {server.name} GET /ping: {rate} req/s, wrk CPU {cpu / seconds:.2f} cores"


# --- the run -----------------------------------------------------------------------------------


def check_same_predictions(servers: list[Server], estimator, rows: list[list[float]]) -> None:
    import numpy as np

    expected = estimator.predict(np.asarray(rows)).tolist()
    for server in servers:
        status, answer = server.post(server.body(rows))
        got = answer.get("outputs", {}).get("label") or answer.get("predictions")
        if status != 200 or got != expected:
            raise SystemExit(f"{server.name} predicts {got} ({status}), the model {expected}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=15, help="seconds measured per run")
    parser.add_argument("--warmup", type=float, default=3, help="seconds before each run")
    parser.add_argument("--workers", type=int, default=2, help="processes, same for both")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 32], help="rows per request")
    parser.add_argument(
        "--samhub", nargs="*", default=["sync", "gthread:2"], metavar="CLASS[:THREADS]",
        help="gunicorn worker classes to measure, e.g. sync gthread:4",
    )  # fmt: skip
    parser.add_argument(
        "--mlflow", nargs="+", default=["shipped", "nodelay"], choices=["shipped", "nodelay"]
    )
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
        python = mlflow_environment(OUT / "mlflow-venv")
        token, version, skops_path = samhub_setup(env)
        onnx_bytes, estimator, rows = load_model(skops_path)
        print("measuring the in-process ceiling ...", flush=True)
        ceilings = ceiling(onnx_bytes, estimator, rows[0], args.ceiling_seconds)
        mlflow_model(python, skops_path, scratch / "mlflow-model")
        for variant in args.samhub:
            worker_class, _, threads = variant.partition(":")
            name = f"samhub-{worker_class}" + (f"-{threads}t" if threads else "")
            servers.append(samhub_server(name, env, args.workers, worker_class,
                                         int(threads or 1), token, version))  # fmt: skip
        for variant in args.mlflow:
            servers.append(mlflow_server(f"mlflow-{variant}", python, scratch / "mlflow-model",
                                         args.workers, variant == "nodelay"))  # fmt: skip
        for server in servers:
            server.start(OUT / f"{server.name}.log")
        for server in servers:
            server.wait_ready(rows)
        check_same_predictions(servers, estimator, rows)
        mlflow = [server for server in servers if server.name.startswith("mlflow")]
        checked = client_check(mlflow[-1]) if mlflow else ""
        print(checked, flush=True)
        print(f"servers up: {', '.join(s.name for s in servers)}; {args.workers} workers each",
              flush=True)  # fmt: skip
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
    report(args, results, ceilings, checked)


def report(args, results: dict[tuple, list[dict]], ceilings: dict, checked: str) -> None:
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
        f"\n{info['nproc']} cores ({info['cpu']}); {args.workers} workers per server; "
        f"wrk -t1, {args.duration:g} s per run after {args.warmup:g} s warm-up; "
        f"median of {args.runs} runs; SAM Hub on {args.database}"
        + (f", DATABASE_CONN_MAX_AGE={args.conn_max_age}" if args.conn_max_age is not None else "")
        + "\n"
    )
    # Each SAM Hub row against each MLflow variant: ratio of req/s and the target's verdict.
    print(
        "| server | workers | rows/request | concurrency | req/s | p50 ms | p99 ms | errors "
        "| server CPU | wrk CPU | other CPU | "
        + " | ".join(f"SAM Hub / {n}" for n in mlflow_names)
        + " |"
    )
    print("|---" * (11 + len(mlflow_names)) + "|")
    verdicts: dict[str, list[bool]] = {n: [] for n in mlflow_names}
    for batch in args.batch:
        for concurrency in args.concurrency:
            for name in names:
                m = median[(name, batch, concurrency)]
                cells = []
                for other in mlflow_names:
                    base = median[(other, batch, concurrency)]
                    if not name.startswith("samhub"):
                        cells.append("")
                        continue
                    met = m["rps"] >= 1.5 * base["rps"] and m["p99_ms"] <= base["p99_ms"]
                    verdicts[other].append(met)
                    cells.append(f"{m['rps'] / base['rps']:.2f}x {'MET' if met else 'MISSED'}")
                print(
                    f"| {name} | {args.workers} | {batch} | {concurrency} | {m['rps']:.1f} "
                    f"| {m['p50_ms']:.1f} | {m['p99_ms']:.1f} | {m['errors']} "
                    f"| {m['server_cpu']:.2f} | {m['client_cpu']:.2f} | {m['other_cpu']:.2f} | "
                    + " | ".join(cells)
                    + " |"
                )
    onnx, native = ceilings["onnxruntime"], ceilings["sklearn"]
    print(
        f"\nceiling, in-process, one thread, one row per call: onnxruntime {onnx:,.0f} "
        f"predictions/s; scikit-learn predict + predict_proba {native:,.0f}/s"
    )
    for name in names:
        if name.startswith("samhub"):
            best = (
                max(median[(name, 1, c)]["rps"] for c in args.concurrency) if 1 in args.batch else 0
            )
            if best:
                print(f"{name}: best single-row {best:.0f} req/s = {best / onnx:.2%} of the "
                      f"onnxruntime ceiling ({best / onnx / args.workers:.2%} per worker)")  # fmt: skip
    print(checked)
    errors = sum(m["errors"] for m in median.values())
    if errors:
        raise SystemExit(f"FAILED: {errors} requests were not answered with 200")
    print("\nCPU columns in cores (other: anything else busy on the machine)")
    for other, met in verdicts.items():
        print(
            f"target (>= 1.5x {other} req/s and p99 <= its p99): "
            + (
                f"MET in all {len(met)} cases"
                if all(met)
                else f"MISSED, met in {sum(met)} of {len(met)} cases"
            )  # fmt: skip
        )


if __name__ == "__main__":
    main()
