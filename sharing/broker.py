"""The API broker: forward a reasoning call to a version's external inference endpoint (ENI SAM
clause 6, sharing with systems outside ENI through an API broker).

The endpoint receives the same JSON body as SAM Hub's infer endpoint and answers like it
(`{"outputs": {...}, ...}`). Standard library only; no redirects are followed, so a call never
lands anywhere but the registered URL.
"""

import http.client
import json
import socket
import urllib.error
import urllib.request
from typing import Any

# Refusals the caller can fix by changing the inputs; any other 4xx means the endpoint or its
# registration is wrong, which is the hub's problem (502), not the caller's.
CALLER_ERRORS = (400, 413, 422)


class UpstreamTimeout(Exception):
    """The endpoint did not answer in time."""


class UpstreamError(Exception):
    """The endpoint failed, is unreachable, or answered something that is not an answer."""


class UpstreamRejected(Exception):
    """The endpoint refused the inputs (HTTP 400/413/422); `detail` is its reason."""

    def __init__(self, detail: str, *, status: int, body: Any = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.body = body


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError with the 3xx status


_opener = urllib.request.build_opener(_NoRedirect)


def forward(
    *,
    url: str,
    inputs: Any,
    outputs: list[str] | None = None,
    inference_id: str,
    timeout: float,
    max_bytes: int,
) -> dict[str, Any]:
    """POST `{"inputs": ..., "outputs": [...]}` to the endpoint (outputs only when asked for)
    and return its JSON answer (an object with an `outputs` object), or raise UpstreamTimeout,
    UpstreamRejected or UpstreamError."""
    body = {"inputs": inputs} if outputs is None else {"inputs": inputs, "outputs": outputs}
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "SAM-Hub-broker/1",
            "X-SAMHub-Inference-Id": inference_id,
        },
    )
    try:
        with _opener.open(request, timeout=timeout) as response:
            body = _read(response, max_bytes)
    except urllib.error.HTTPError as exc:
        raise _http_failure(exc, max_bytes) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError | socket.timeout):
            raise UpstreamTimeout(_timeout_message(timeout)) from None
        raise UpstreamError(f"The external endpoint cannot be reached: {_reason(exc)}.") from None
    except TimeoutError:
        raise UpstreamTimeout(_timeout_message(timeout)) from None
    except (OSError, ValueError, http.client.HTTPException) as exc:  # reset, bad status line
        raise UpstreamError(f"The external endpoint cannot be reached: {exc}.") from None
    answer = _json(body)
    if not isinstance(answer, dict) or not isinstance(answer.get("outputs"), dict):
        raise UpstreamError(
            'The external endpoint answered JSON without an "outputs" object, so it does not '
            "speak SAM Hub's inference protocol."
        )
    return answer


def _read(response, max_bytes: int) -> bytes:
    body = response.read(max_bytes + 1)
    if len(body) > max_bytes:
        raise UpstreamError(f"The external endpoint answered more than {max_bytes:,} bytes.")
    return body


def _json(body: bytes) -> Any:
    try:
        return json.loads(body, parse_constant=_no_constant)
    except ValueError:
        raise UpstreamError(
            f"The external endpoint answered something that is not JSON: {_preview(body)}"
        ) from None


def _no_constant(name: str):
    raise ValueError(f"{name} is not standard JSON")


def _http_failure(exc: urllib.error.HTTPError, max_bytes: int) -> Exception:
    try:
        body = exc.read(max_bytes)
    except (OSError, TimeoutError):
        body = b""
    try:
        answer = json.loads(body) if body else None
    except ValueError:
        answer = None
    detail = _detail(answer) or (_preview(body) if body else str(exc.reason))
    if exc.code in CALLER_ERRORS and answer is not None:
        return UpstreamRejected(str(detail), status=exc.code, body=answer)
    if 300 <= exc.code < 400:
        return UpstreamError(
            f"The external endpoint redirected the call (HTTP {exc.code}); SAM Hub does not "
            "follow redirects, so register the final URL."
        )
    return UpstreamError(f"The external endpoint failed with HTTP {exc.code}: {detail}")


def _detail(answer: Any) -> str:
    if isinstance(answer, dict):
        for key in ("detail", "title", "message", "error"):
            if isinstance(answer.get(key), str) and answer[key]:
                return answer[key]
    return ""


def _preview(body: bytes) -> str:
    text = body[:200].decode("utf-8", "replace").strip()
    return repr(text) if text else "an empty body"


def _reason(exc: urllib.error.URLError) -> str:
    reason = exc.reason
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    return str(getattr(reason, "strerror", None) or reason)


def _timeout_message(timeout: float) -> str:
    return f"The external endpoint did not answer within {timeout:g} s."
