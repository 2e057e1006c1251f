"""A callback server on loopback, standing for whoever SAM Hub notifies (an NWDAF consumer's
notificationUri, a ProvMnS notification recipient): it records every JSON body POSTed to it
(when, at which path) and answers 204, or sleeps first when told to be slow. The tests get one
from the `receiver` fixture (tests/conftest.py), or make a second one themselves."""

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    at: float  # time.monotonic()
    path: str
    body: dict


class CallbackReceiver:
    def __init__(self, *, delay: float = 0.0) -> None:
        self.delay = delay
        self._received: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as SAM Hub's client uses it

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver._lock:
                    receiver._received.append(Received(time.monotonic(), self.path, body))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # The server's root: a test adds the path it gives SAM Hub (/notify, /notifications).
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "CallbackReceiver":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def bodies(self, path: str | None = None) -> list[dict]:
        """The bodies received (at `path`), in the order they arrived."""
        with self._lock:
            return [r.body for r in self._received if path is None or r.path == path]

    def arrivals(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self._received if r.path == path]

    def wait_for(self, count: int, *, path: str | None = None, timeout: float = 30) -> list[dict]:
        """The bodies once at least `count` arrived (at `path`), or what came by `timeout`."""
        deadline = time.monotonic() + timeout
        while len(self.bodies(path)) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.bodies(path)
