"""Helpers for the ProvMnS tests: the facade's URIs, validators of its bodies against the 3GPP
YAML (tests.contract: `$ref`s resolved across the files in tests/specs/3gpp), and a loopback
notification recipient."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from referencing import Resource
from referencing.jsonschema import DRAFT202012

from tests.contract import OpenApiContract, _uri

FUNCTION = "/ProvMnS/v1/SubNetwork=1/MLTrainingFunction=1"
MERGE_PATCH = "application/merge-patch+json"

# ComDefs' NotificationType is oneOf the notification types of five MnS; two of their files
# (TS 28.532 PerfMnS and FileDataReportingMnS) are not among the specs we have. They name
# performance and file-reporting notifications, none of which a CM notification may be, so
# they stand in here as schemas that match nothing: oneOf then holds only when the type is one
# of CmNotificationTypes (or a heartbeat), as the full set of files would decide.
ABSENT = {
    "TS28532_PerfMnS.yaml": "PerfNotificationTypes",
    "TS28532_FileDataReportingMnS.yaml": "FileNotificationTypes",
}


def provmns_contract() -> OpenApiContract:
    contract = OpenApiContract("TS28532_ProvMnS.yaml")
    contract.registry = contract.registry.with_resources(
        (
            _uri(name),
            Resource.from_contents(
                {"components": {"schemas": {schema: False}}}, default_specification=DRAFT202012
            ),
        )
        for name, schema in ABSENT.items()
    )
    return contract


NOTIFICATION_SCHEMAS = {
    "notifyMOICreation": "NotifyMoiCreation",
    "notifyMOIDeletion": "NotifyMoiDeletion",
    "notifyMOIAttributeValueChanges": "NotifyMoiAttributeValueChanges",
    "notifyEvent": "NotifyEvent",
}


def notification_validate(body: dict) -> None:
    """Validate a notification against the TS 28.532 schema of its notificationType."""
    provmns_contract().schema(NOTIFICATION_SCHEMAS[body["notificationType"]]).validate(body)


def error_validate(body: dict, schema: str = "ErrorResponseDefault") -> None:
    OpenApiContract("TS28623_ComDefs.yaml").schema(schema).validate(body)


class Recipient:
    """A notification recipient on loopback: records every POSTed JSON body and answers 204."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self._lock = threading.Lock()
        recipient = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                with recipient._lock:
                    recipient.bodies.append(body)
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notifications"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Recipient":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def received(self) -> list[dict]:
        with self._lock:
            return list(self.bodies)

    def wait_until(self, condition, *, timeout: float, what: str) -> list[dict]:
        deadline = time.monotonic() + timeout
        while not condition(bodies := self.received()):
            if time.monotonic() > deadline:
                raise AssertionError(f"Timed out waiting for {what}; received {bodies}")
            time.sleep(0.05)
        return bodies
