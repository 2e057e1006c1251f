"""Versions registered as an external endpoint: calls are forwarded through the API broker with
timeouts, answered in SAM Hub's shape, and metered the same way."""

import contextlib
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from registry import services
from sharing import services as sharing_services
from sharing.models import InferenceOutcome, InferenceRecord
from tests import factories

ROWS = [[9.0, 2.0, 80.5, 61.2, 250.0, 0.3], [14.0, 5.0, 120.0, 88.1, 170.5, 0.1]]


class Endpoint:
    """A loopback inference endpoint answering like SAM Hub, with a few ways to misbehave."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.release = threading.Event()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                endpoint.requests.append(
                    {"path": self.path, "body": body, "headers": dict(self.headers)}
                )
                # The broker may have given up waiting on a slow answer.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    endpoint.answer(self, body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def answer(self, handler, body) -> None:
        path = handler.path
        if path == "/slow":
            self.release.wait(5)
        if path == "/fail":
            return self._send(handler, 500, b'{"detail": "model server crashed"}')
        if path == "/not-json":
            return self._send(handler, 200, b"<html>hello</html>", "text/html")
        if path == "/no-outputs":
            return self._send(handler, 200, b'{"predictions": [1, 2]}')
        if path == "/reject":
            detail = {"detail": "X must have 6 columns", "code": "invalid_input"}
            return self._send(handler, 400, json.dumps(detail).encode())
        if path == "/forbidden":
            return self._send(handler, 403, b'{"detail": "bad credentials"}')
        if path == "/redirect":
            handler.send_response(302)
            handler.send_header("Location", self.url("/predict"))
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return None
        rows = body["inputs"]["X"]
        outputs = {"variable": [[sum(row)] for row in rows]}
        answer = {"inferenceId": "upstream-own-id", "outputs": outputs, "count": len(rows)}
        return self._send(handler, 200, json.dumps(answer).encode())

    @staticmethod
    def _send(handler, status: int, content: bytes, kind: str = "application/json") -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(content)))
        handler.end_headers()
        handler.wfile.write(content)


@pytest.fixture
def endpoint():
    server = Endpoint()
    server.thread.start()
    yield server
    server.release.set()
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def external(provider, auditor):
    """external(url) releases a new version whose access type is that external endpoint."""

    def make(url: str, *, with_signature: bool = False):
        # The file (and its signature) is audited with the version, so it comes before approval.
        version = factories.make_version_in(
            "APPROVED", provider=provider, auditor=auditor, with_file=with_signature
        )
        services.version_register(
            version_id=version.pk,
            user=provider,
            access_type="EXTERNAL_ENDPOINT",
            endpoint_url=url,
        )
        return services.version_release(version_id=version.pk, user=provider)

    return make


def infer(client, version, inputs):
    return client.post(f"/api/v1/versions/{version.pk}/infer/", {"inputs": inputs}, format="json")


def test_it_forwards_the_call_and_answers_in_sam_hubs_shape(api, endpoint, external, consumer):
    version = external(endpoint.url("/predict"))
    subscription = sharing_services.subscription_request(
        user=consumer, sam=version.sam, method="INFERENCE"
    )

    answer = infer(api(consumer), version, {"X": ROWS})

    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert body["outputs"] == {"variable": [[sum(ROWS[0])], [sum(ROWS[1])]]}
    assert body["count"] == 2
    assert body["modelVersion"]["id"] == version.pk
    assert body["inferenceId"] != "upstream-own-id"
    (forwarded,) = endpoint.requests
    assert forwarded["body"] == {"inputs": {"X": ROWS}}
    assert forwarded["headers"]["X-Samhub-Inference-Id"] == body["inferenceId"]
    record = InferenceRecord.objects.get(pk=body["inferenceId"])
    assert (record.outcome, record.count, record.subscription) == (
        InferenceOutcome.OK,
        2,
        subscription,
    )
    assert record.outputs == body["outputs"]


def test_the_outputs_asked_for_are_forwarded_and_kept(api, endpoint, external, provider):
    version = external(endpoint.url("/predict"))

    answer = api(provider).post(
        f"/api/v1/versions/{version.pk}/infer/",
        {"inputs": {"X": ROWS}, "outputs": ["variable", "other"]},
        format="json",
    )

    assert answer.status_code == 200
    assert set(answer.json()["outputs"]) == {"variable"}
    assert endpoint.requests[0]["body"]["outputs"] == ["variable", "other"]


def test_the_brokered_answer_takes_ground_truth(api, endpoint, external, provider):
    version = external(endpoint.url("/predict"))
    client = api(provider)
    inference_id = infer(client, version, {"X": ROWS}).json()["inferenceId"]

    answer = client.post(
        f"/api/v1/inferences/{inference_id}/ground-truth/",
        {"groundTruth": {"variable": [[400.0], [390.0]]}},
        format="json",
    )

    assert answer.status_code == 200
    assert answer.json()["groundTruth"] == {"variable": [[400.0], [390.0]]}


def test_a_consumer_without_a_subscription_is_not_forwarded(api, endpoint, external, consumer):
    version = external(endpoint.url("/predict"))

    answer = infer(api(consumer), version, {"X": ROWS})

    assert answer.status_code == 403
    assert endpoint.requests == []
    assert not InferenceRecord.objects.exists()


def test_a_slow_endpoint_gives_504(api, endpoint, external, provider, settings):
    settings.SAMHUB_BROKER_TIMEOUT_SECONDS = 1
    version = external(endpoint.url("/slow"))

    answer = infer(api(provider), version, {"X": ROWS})

    assert answer.status_code == 504
    assert answer.json() == {
        "detail": "The external endpoint did not answer within 1 s.",
        "code": "upstream_timeout",
    }
    record = InferenceRecord.objects.get()
    assert record.outcome == InferenceOutcome.UPSTREAM_TIMEOUT
    assert 1000 <= record.latency_ms < 3000
    assert str(record.pk) == answer["X-Inference-Id"]


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("/fail", "The external endpoint failed with HTTP 500: model server crashed"),
        ("/not-json", "The external endpoint answered something that is not JSON: '<html>hello"),
        ("/no-outputs", 'The external endpoint answered JSON without an "outputs" object'),
        ("/forbidden", "The external endpoint failed with HTTP 403: bad credentials"),
        ("/redirect", "The external endpoint redirected the call (HTTP 302)"),
    ],
)
def test_a_failing_endpoint_gives_502(api, endpoint, external, provider, path, detail):
    version = external(endpoint.url(path))

    answer = infer(api(provider), version, {"X": ROWS})

    assert answer.status_code == 502
    assert answer.json()["code"] == "upstream_error"
    assert answer.json()["detail"].startswith(detail)
    record = InferenceRecord.objects.get()
    assert (record.outcome, record.error) == (
        InferenceOutcome.UPSTREAM_ERROR,
        answer.json()["detail"],
    )
    assert [r["path"] for r in endpoint.requests] == [path]  # no redirect followed


def test_a_closed_port_gives_502(api, external, provider):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    version = external(f"http://127.0.0.1:{port}/predict")

    answer = infer(api(provider), version, {"X": ROWS})

    assert answer.status_code == 502
    assert answer.json()["detail"] == (
        "The external endpoint cannot be reached: connection refused."
    )
    assert InferenceRecord.objects.get().outcome == InferenceOutcome.UPSTREAM_ERROR


def test_the_endpoints_refusal_of_the_inputs_comes_back_as_400(api, endpoint, external, provider):
    version = external(endpoint.url("/reject"))

    answer = infer(api(provider), version, {"X": ROWS})

    assert answer.status_code == 400
    assert answer.json()["detail"] == (
        "The external endpoint refused the inputs (HTTP 400): X must have 6 columns"
    )
    assert answer.json()["errors"]["upstream"]["code"] == "invalid_input"
    assert InferenceRecord.objects.get().outcome == InferenceOutcome.INVALID_INPUT


def test_with_a_signature_the_hub_refuses_bad_inputs_itself(api, endpoint, external, provider):
    version = external(endpoint.url("/predict"), with_signature=True)
    client = api(provider)

    refused = infer(client, version, {"X": [row[:5] for row in ROWS]})
    answered = infer(client, version, {"X": ROWS})

    assert refused.status_code == 400
    assert refused.json()["detail"] == "Input 'X': expected shape [batch, 6], got [2, 5]."
    assert answered.status_code == 200
    assert len(endpoint.requests) == 1
    assert list(
        InferenceRecord.objects.order_by("created_at").values_list("outcome", flat=True)
    ) == [
        InferenceOutcome.INVALID_INPUT,
        InferenceOutcome.OK,
    ]
