"""POSTs of notifications to callback URIs that someone outside gave SAM Hub (monitoring's
notificationUri, ProvMnS notification recipients): JSON, a timeout on every request, no
redirects followed, connections only to addresses that core.outbound allows (checked when the
connection is made, so a name that resolves elsewhere later reaches nothing new), and an answer
read no further than MAX_ANSWER_BYTES.

One client: CallbackClient keeps one connection per origin alive between POSTs (a delivery
task sending a batch to one consumer); callback_post is one POST on a client of its own,
closed after it. A client belongs to one thread."""

import http.client
import json
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from core.outbound import OutboundRefused, connect_checked, outbound_addresses

MAX_ANSWER_BYTES = 64 * 1024  # a recipient answers 204; more than this is not read
_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


@dataclass(frozen=True)
class Attempt:
    """What one POST gave: the HTTP status (None when none came back), why it failed (empty
    when it was delivered) and how long it took."""

    status: int | None
    error: str
    duration_ms: float

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class CallbackClient:
    """POSTs over kept-alive connections, one per origin (scheme, host, port)."""

    def __init__(self, *, timeout: float) -> None:
        self.timeout = timeout
        self._connections: dict[tuple, http.client.HTTPConnection] = {}

    def post(self, url: str, body: dict) -> Attempt:
        """POST `body` as JSON to `url` once. Never raises for what the recipient does: a
        refused address, a timeout, a closed connection or an error status are in the
        Attempt."""
        started = time.perf_counter()
        status, error = self._post(url, json.dumps(body, separators=(",", ":")).encode())
        return Attempt(status, error, round((time.perf_counter() - started) * 1000, 1))

    def _post(self, url: str, payload: bytes) -> tuple[int | None, str]:
        parts = urlsplit(url)
        origin = (parts.scheme, parts.hostname, parts.port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {"Content-Type": "application/json", "Content-Length": str(len(payload))}
        for _ in range(2):
            connection = self._connections.get(origin)
            reused = connection is not None
            try:
                if connection is None:
                    connection = self._connect(url, parts)
                    self._connections[origin] = connection
                connection.request("POST", target, payload, headers)
                answer = connection.getresponse()
                answer.read(MAX_ANSWER_BYTES)
                if answer.will_close or not answer.isclosed():
                    self._drop(origin)
                if 200 <= answer.status < 300:
                    return answer.status, ""
                return answer.status, f"HTTP {answer.status} {answer.reason}".strip()
            except OutboundRefused as exc:
                return None, f"refused: {exc}"
            except _STALE as exc:
                self._drop(origin)
                if not reused:  # a fresh connection failed: the server's doing, not staleness
                    return None, f"connection closed: {exc}"
            except TimeoutError:
                self._drop(origin)
                return None, f"no answer within {self.timeout:g} s"
            except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
                self._drop(origin)
                return None, f"{type(exc).__name__}: {exc}"
        return None, "connection closed twice"

    def _connect(self, url: str, parts) -> http.client.HTTPConnection:
        addresses = outbound_addresses(url)
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                parts.hostname,
                parts.port,
                timeout=self.timeout,
                context=ssl.create_default_context(),
            )
        else:
            connection = http.client.HTTPConnection(
                parts.hostname, parts.port, timeout=self.timeout
            )
        # Connect to the checked addresses only (TLS still verifies the host name).
        connection._create_connection = lambda *args, **kwargs: connect_checked(
            addresses, self.timeout
        )
        return connection

    def _drop(self, origin: tuple) -> None:
        connection = self._connections.pop(origin, None)
        if connection is not None:
            connection.close()

    def close(self) -> None:
        for origin in list(self._connections):
            self._drop(origin)


def callback_post(url: str, body: dict, *, timeout: float) -> Attempt:
    """One POST on a connection of its own, closed after it (a single notification)."""
    client = CallbackClient(timeout=timeout)
    try:
        return client.post(url, body)
    finally:
        client.close()


def callback_retry_delay(attempts: int) -> int:
    """Seconds before the next attempt after `attempts` failed ones: doubling from
    SAMHUB_CALLBACK_BACKOFF_SECONDS (monitoring and ProvMnS notifications alike)."""
    return settings.SAMHUB_CALLBACK_BACKOFF_SECONDS * 2 ** max(0, attempts - 1)
