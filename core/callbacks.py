"""One delivery attempt of a notification to a callback URI that someone outside gave SAM Hub
(ProvMnS notification recipients, training/notifications.py): a JSON POST with a timeout, no
redirects followed, connected only to an address that core.outbound allows (checked when the
connection is made, so a name that resolves elsewhere later reaches nothing new), and an
answer read no further than MAX_ANSWER_BYTES. The address check itself is
core.outbound.outbound_addresses."""

import http.client
import json
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from core.outbound import OutboundRefused, connect_checked, outbound_addresses

MAX_ANSWER_BYTES = 64 * 1024  # a recipient answers 204; more than this is not read


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


def callback_post(url: str, body: dict, *, timeout: float) -> Attempt:
    """POST `body` as JSON to `url` once. Never raises for what the recipient does: a refused
    address, a timeout, a closed connection or an error status are in the Attempt."""
    started = time.perf_counter()
    status, error = _post(url, json.dumps(body, separators=(",", ":")).encode(), timeout)
    return Attempt(status, error, round((time.perf_counter() - started) * 1000, 1))


def _post(url: str, payload: bytes, timeout: float) -> tuple[int | None, str]:
    parts = urlsplit(url)
    try:
        addresses = outbound_addresses(url)
    except OutboundRefused as exc:
        return None, f"refused: {exc}"
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    # Connect to the checked addresses only (TLS still verifies the host name).
    connection._create_connection = lambda *args, **kwargs: connect_checked(addresses, timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {
        "Content-Type": "application/json",
        "Content-Length": str(len(payload)),
        "Connection": "close",
    }
    try:
        connection.request("POST", target, payload, headers)
        answer = connection.getresponse()
        answer.read(MAX_ANSWER_BYTES)
        if 200 <= answer.status < 300:
            return answer.status, ""
        return answer.status, f"HTTP {answer.status} {answer.reason}".strip()
    except TimeoutError:
        return None, f"no answer within {timeout:g} s"
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    finally:
        connection.close()


def callback_retry_delay(attempts: int) -> int:
    """Seconds before the next attempt after `attempts` failed ones: doubling from
    SAMHUB_CALLBACK_BACKOFF_SECONDS (monitoring and ProvMnS notifications alike)."""
    return settings.SAMHUB_CALLBACK_BACKOFF_SECONDS * 2 ** max(0, attempts - 1)
