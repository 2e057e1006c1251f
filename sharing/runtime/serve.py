"""Serve this mirror bundle's model over HTTP, answering like SAM Hub's inference API.

    python serve.py [--host 127.0.0.1] [--port 8080] [--max-batch N]

    POST /api/v1/versions/<id>/infer/   (the same path as on SAM Hub) or POST /infer
         body {"inputs": {"<input name>": [[...], ...]}, "outputs": ["<name>", ...] (optional)}
         200  {"inferenceId", "modelVersion", "outputs", "count", "latencyMs"}
         400  {"detail": "<what is wrong with the inputs>", "code": "invalid_input"}
    GET  /health                        200 {"status": "ok", "modelVersion", "sha256"}

Standard library plus the model runtime (samhub_runtime.py) only. Everything it needs to know
about the model comes from manifest.json next to it.
"""

import argparse
import json
import re
import sys
import time
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import samhub_runtime

HERE = Path(__file__).resolve().parent
MAX_BODY_BYTES = 64 * 1024 * 1024
INFER_PATH = re.compile(r"^/api/v1/versions/(?P<id>\d+)/infer/?$")


def load_model(manifest: dict) -> samhub_runtime.Runtime:
    return samhub_runtime.load(
        str(HERE / manifest["modelFile"]),
        format=manifest["format"],
        signature=manifest["signature"],
        sha256=manifest["sha256"],
        threads=manifest.get("threads", 1),
    )


class Handler(BaseHTTPRequestHandler):
    server_version = "samhub-mirror/1"
    # Set on the class by serve(): one loaded model shared by all request threads.
    manifest: dict = {}
    model: samhub_runtime.Runtime | None = None
    max_batch: int = samhub_runtime.UNLIMITED

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] != "/health":
            self._send(HTTPStatus.NOT_FOUND, {"detail": "Not found; try GET /health."})
            return
        self._send(
            HTTPStatus.OK,
            {
                "status": "ok",
                "modelVersion": self.manifest["modelVersion"],
                "sha256": self.manifest["sha256"],
            },
        )

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        match = INFER_PATH.match(path)
        own_id = str(self.manifest["modelVersion"]["id"])
        if path.rstrip("/") != "/infer" and not (match and match["id"] == own_id):
            self._send(
                HTTPStatus.NOT_FOUND,
                {"detail": f"Not found; POST /infer or /api/v1/versions/{own_id}/infer/."},
            )
            return
        started = time.perf_counter()
        try:
            body = self._json_body()
            if not isinstance(body, dict) or "inputs" not in body:
                raise samhub_runtime.InvalidInput(
                    'Send a JSON object {"inputs": {"<input name>": [[...]]}}.'
                )
            wanted = body.get("outputs")
            if wanted is not None and not (
                isinstance(wanted, list) and wanted and all(isinstance(n, str) for n in wanted)
            ):
                raise samhub_runtime.InvalidInput('"outputs" must be a non-empty list of names.')
            prepared = self.model.prepare(body["inputs"], max_batch=self.max_batch)
            outputs = self.model.run(prepared, outputs=wanted)
        except samhub_runtime.InvalidInput as exc:
            self._send(HTTPStatus.BAD_REQUEST, {"detail": str(exc), "code": "invalid_input"})
            return
        except samhub_runtime.ModelFailure as exc:  # say so, and keep serving
            self._send(
                HTTPStatus.INTERNAL_SERVER_ERROR, {"detail": str(exc), "code": "model_error"}
            )
            return
        self._send(
            HTTPStatus.OK,
            {
                "inferenceId": str(uuid.uuid4()),
                "modelVersion": self.manifest["modelVersion"],
                "outputs": outputs,
                "count": prepared.count,
                "latencyMs": round((time.perf_counter() - started) * 1000, 3),
            },
        )

    def _json_body(self):
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length <= 0:
            raise samhub_runtime.InvalidInput("Send a JSON body with a Content-Length header.")
        if length > MAX_BODY_BYTES:
            raise samhub_runtime.InvalidInput(
                f"The body is {length:,} bytes, above the limit of {MAX_BODY_BYTES:,}."
            )
        try:
            return json.loads(self.rfile.read(length))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise samhub_runtime.InvalidInput(f"The body is not valid JSON: {exc}") from None
        except RecursionError:  # thousands of nested lists: refuse, rather than drop the call
            raise samhub_runtime.InvalidInput("The body nests lists too deep.") from None

    def _send(self, status: HTTPStatus, body: dict) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def serve(host: str, port: int, max_batch: int | None) -> None:
    manifest = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))
    Handler.manifest = manifest
    Handler.model = load_model(manifest)
    Handler.max_batch = max_batch or manifest.get("maxBatch") or samhub_runtime.UNLIMITED
    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    bound_host, bound_port = server.server_address[:2]
    version = manifest["modelVersion"]
    # Tools (and SAM Hub's tests) read this first line to learn the port when given --port 0.
    print(
        f"Serving {version['model']} {version['version']} on http://{bound_host}:{bound_port}/",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
    parser.add_argument("--port", type=int, default=8080, help="Port; 0 picks a free one.")
    parser.add_argument(
        "--max-batch", type=int, default=None, help="Most instances per call (default: SAM Hub's)."
    )
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.max_batch)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
