"""Where a reasoning call spends its time. On the same scratch data as
bench/inference_vs_mlflow.py (SQLite, seeded demo, demo-consumer with an INFERENCE
subscription to the demo's ONNX model), in this process:

1. N calls of POST /api/v1/versions/{id}/infer/ with the consumer's API token through
   Django's WSGI handler (all middleware, the view, the database, request_finished as under
   gunicorn): wall time per call (best of 5 rounds) and CPU.
2. Each stage of that path alone, timed in loops (no profiler, so no distortion): the token's
   statement (which reads the call's grant too), the service (the engine, predict, the INSERT)
   and JSON. What the stages leave of the whole call is Django's handler, middleware and the
   view.
3. The SQL of one call, then cProfile over N calls: functions by own time.

    .venv/bin/python bench/profile_inference.py [--calls 2000] [--batch 1] [--outputs NAME ...]
    .venv/bin/python bench/profile_inference.py --plain --root <another checkout>

`--root` profiles the whole call (1. only, with --plain) of another checkout of SAM Hub with
this venv, e.g. an export of main (`git archive main | tar -x -C /tmp/samhub-main`), to compare
two versions of the call; alternate the runs, the machine's load changes. Settings come from
the environment as usual (e.g. DATABASE_CONN_MAX_AGE=0 to see a connection opened per call).
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from inference_vs_mlflow import INPUT_NAME, ROOT, samhub_setup  # noqa: E402


def per_call_ms(function, calls: int, rounds: int = 5) -> float:
    """Milliseconds per call, the best of `rounds` rounds (as timeit: the others were slowed
    by something else on the machine)."""
    for _ in range(20):
        function()
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(max(1, calls // rounds)):
            function()
        best = min(best, (time.perf_counter() - start) / max(1, calls // rounds))
    return best * 1000


def stages(token: str, version_id: int, body: bytes, calls: int) -> list[tuple[str, float]]:
    """The reasoning call split at its seams (ms per call): the token's one statement, which
    reads the call's grant along, and the service (metering.inference_call) with inside it the
    engine, the prediction and the metering INSERT."""
    from sharing import inference, metering
    from sharing.api.inference import InferenceTokenAuthentication
    from sharing.models import InferenceOutcome, InferenceRecord
    from sharing.runtime import samhub_runtime

    request = json.loads(body)
    inputs, outputs = request["inputs"], request.get("outputs")
    authentication = InferenceTokenAuthentication(version_id)
    caller, _ = authentication.authenticate_credentials(token)

    def service():
        return metering.inference_call(caller=caller, version_id=version_id, body=request)

    record = service()
    version = record.version
    model = inference.version_model(version)
    prepared = samhub_runtime.prepare_inputs(version.signature, inputs, max_batch=1000)
    names = samhub_runtime.output_names(version.signature, outputs)

    def insert():
        InferenceRecord.objects.create(
            version=version, caller=caller, subscription_id=record.subscription_id,
            count=record.count, latency_ms=1.0, outcome=InferenceOutcome.OK, error="",
            outputs=record.outputs,
        )  # fmt: skip

    grant = per_call_ms(lambda: authentication.authenticate_credentials(token), calls)
    whole = per_call_ms(service, calls)
    engine = per_call_ms(lambda: inference.run(version, inputs, outputs=outputs), calls)
    predict = per_call_ms(lambda: model.predict(prepared.arrays, names), calls)
    write = per_call_ms(insert, calls)
    return [
        ("token, user and grant: one SELECT (InferenceTokenAuthentication)", grant),
        ("metering.inference_call, the service (grant read already), in all:", whole),
        ("  inference.run: inputs checked against the signature", engine - predict),
        (f"  predict: {' + '.join(names)}, to JSON", predict),
        ("  metering INSERT + commit (InferenceRecord)", write),
        ("  the rest of the service (its own code; the stages together)",
         whole - engine - write),
        ("JSON parse + render", per_call_ms(lambda: json.dumps(json.loads(body)), calls)),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument(
        "--outputs", nargs="*", default=[],
        help="outputs to ask for (default: all of the signature's, as the benchmark)",
    )  # fmt: skip
    parser.add_argument("--top", type=int, default=25, help="functions listed by own time")
    parser.add_argument(
        "--plain", action="store_true", help="only the timed loop (to run under py-spy)"
    )
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="the SAM Hub checkout to profile (default: this)"
    )
    args = parser.parse_args()
    sys.path.insert(0, str(args.root))
    scratch = Path(tempfile.mkdtemp(prefix="samhub-infer-profile-"))
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("AWS_STORAGE_BUCKET_NAME", None)
    os.environ["SAMHUB_DATA_DIR"] = str(scratch / "data")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    try:
        token, version, _ = samhub_setup(dict(os.environ), args.root)
        import django

        django.setup()
        from django.core.handlers.wsgi import WSGIHandler
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from registry.demo import cell_kpi_dataset

        rows = cell_kpi_dataset()[0][: args.batch].astype("float64").tolist()
        request = {"inputs": {INPUT_NAME: rows}}
        if args.outputs:
            request["outputs"] = args.outputs
        body = json.dumps(request).encode()
        application = WSGIHandler()
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": f"/api/v1/versions/{version}/infer/",
            "SCRIPT_NAME": "", "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1", "HTTP_AUTHORIZATION": f"Token {token}",
            "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
            "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
            "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False,
        }  # fmt: skip

        def call():
            # As gunicorn does: the handler, then close() (request_finished: the DB connection
            # is closed unless DATABASE_CONN_MAX_AGE keeps it).
            status = []
            result = application(
                {**environ, "wsgi.input": io.BytesIO(body)}, lambda s, h: status.append(s)
            )
            content = b"".join(result)
            result.close()
            if not status[0].startswith("200"):
                raise SystemExit(f"{status[0]}: {content[:500]!r}")

        for _ in range(50):  # load the model, warm the caches
            call()
        before = os.times()
        whole = per_call_ms(call, args.calls)
        after = os.times()
        user, system = after.user - before.user, after.system - before.system
        print(
            f"whole call, {args.calls} calls of {args.batch} row(s): {whole:.3f} ms wall (best "
            f"of 5 rounds), {user / args.calls * 1000:.3f} ms user + "
            f"{system / args.calls * 1000:.3f} ms system CPU per call on average "
            f"({1000 / whole:.0f} calls/s on one core)"
        )
        if args.plain:
            return
        print(
            "\neach stage alone, no profiler (ms per call; indented lines are parts of the one above):"
        )
        timed = stages(token, version, body, min(args.calls, 1000))
        for stage, ms in timed:
            print(f"  {stage:<62} {ms:7.3f} ms  {ms / whole:6.1%}")
        counted = sum(ms for stage, ms in timed if not stage.startswith("  "))
        print(
            f"  {'the rest: Django handler, middleware, the view':<62} "
            f"{whole - counted:7.3f} ms  {(whole - counted) / whole:6.1%}"
        )
        with CaptureQueriesContext(connection) as queries:
            call()
        print(f"\nSQL of one call ({len(queries)} statements):")
        for query in queries:
            print(f"  {query['sql'][:150]}")
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.calls):
            call()
        profiler.disable()
        print(f"\ncProfile over {args.calls} calls, top {args.top} by own time:")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.top)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
