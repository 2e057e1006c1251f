"""Issue 7, item 11: the portal's upload form and an anonymous POST /login/ wrote a 200 MB body
to disk before refusing it. Bodies are now refused by their Content-Length before any of them
is read (413, JSON under /api/), chunked bodies are refused unread (411), and the limit depends
on the route and on who asks: sign-in routes and callers without credentials get a small one,
only a signed-in user may send a model file of up to SAMHUB_ARTIFACT_MAX_BYTES."""

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from registry.models import ModelVersion
from tests import factories
from tests.processes import ROOT, database_url, free_port

MB = 1024 * 1024
ANONYMOUS_LIMIT = 64 * 1024


@pytest.fixture
def model_file():
    """A real ONNX model (the demo cell-load forecast, about 0.5 MB)."""
    model = factories.demo_model("onnx")
    return model.filename, model.content


# --- through the Django test client ------------------------------------------------------------


def test_an_anonymous_sign_in_with_a_large_body_is_refused_unread(db):
    client = Client(enforce_csrf_checks=True)
    client.get("/login/")  # a CSRF cookie, so that nothing else would refuse the body first

    answer = client.post(
        "/login/",
        {"username": "x", "password": "y", "file": SimpleUploadedFile("big.bin", b"x" * 100_000)},
    )

    assert answer.status_code == 413
    assert answer["Content-Type"] == "text/plain; charset=utf-8"
    assert answer.content.decode().endswith(
        f"over the limit of {ANONYMOUS_LIMIT:,} bytes without signing in; none of it was read."
    )


def test_the_token_endpoint_takes_only_small_bodies_in_the_error_shape(provider):
    answer = APIClient().post(
        "/api/v1/auth/token/",
        {"username": "provider", "password": "x" * 70_000},
        format="json",
    )

    assert answer.status_code == 413
    assert answer.json()["code"] == "too_large"
    assert set(answer.json()) == {"detail", "code"}


def test_a_signed_in_user_may_send_more_than_an_anonymous_caller(consumer, settings):
    body = {"purpose": "p" * 100_000, "method": "INFERENCE", "model": "no-such-model"}

    client = factories.token_client(consumer)
    anonymous = APIClient().post("/api/v1/subscriptions/", body, format="json")
    signed_in = client.post("/api/v1/subscriptions/", body, format="json")
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 90_000
    over_the_general_limit = client.post("/api/v1/subscriptions/", body, format="json")

    assert anonymous.status_code == 413
    assert signed_in.status_code == 400  # read, and answered by the endpoint: no such model
    assert "model" in signed_in.json()["errors"]
    assert over_the_general_limit.status_code == 413
    assert (
        "over the limit of 90,000 bytes for this address" in over_the_general_limit.json()["detail"]
    )


def test_the_portal_upload_form_takes_a_model_file_only_from_a_signed_in_user(
    client, provider, draft, model_file, settings
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000  # below the model file's size
    name, content = model_file
    url = f"/versions/{draft.pk}/upload/"

    forged = Client(cookies={"sessionid": "forged-session-key"})
    refused = forged.post(url, {"artifact": SimpleUploadedFile(name, content)})
    client.force_login(provider)
    stored = client.post(url, {"artifact": SimpleUploadedFile(name, content)})

    assert refused.status_code == 413
    assert "without signing in" in refused.content.decode()
    assert stored.status_code == 302, stored.content[:500]
    assert ModelVersion.objects.get(pk=draft.pk).artifact_size == len(content)


def test_a_model_file_over_the_artifact_limit_is_refused_unread(
    client, provider, draft, model_file, settings
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    settings.SAMHUB_ARTIFACT_MAX_BYTES = 200_000
    name, content = model_file
    client.force_login(provider)

    answer = client.post(
        f"/versions/{draft.pk}/upload/", {"artifact": SimpleUploadedFile(name, content)}
    )

    assert answer.status_code == 413
    assert "for a model file" in answer.content.decode()
    assert not ModelVersion.objects.get(pk=draft.pk).artifact_sha256


def test_the_api_upload_takes_a_model_file_only_with_a_valid_token(
    provider, draft, model_file, settings
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    name, content = model_file
    url = f"/api/v1/versions/{draft.pk}/artifact/?filename={name}"
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION="Token forged")

    refused = forged.put(url, content, content_type="application/octet-stream")
    stored = factories.token_client(provider).put(
        url, content, content_type="application/octet-stream"
    )

    assert refused.status_code == 413
    assert refused.json()["code"] == "too_large"
    assert stored.status_code == 200, stored.content[:500]
    assert stored.json()["artifact_size"] == len(content)


@pytest.mark.parametrize(
    ("declared", "status", "code"),
    [(str(300 * MB), 413, "too_large"), ("a lot", 400, "invalid"), ("-1", 400, "invalid")],
)
def test_the_declared_length_decides_before_the_body_is_read(consumer, declared, status, code):
    answer = factories.token_client(consumer).generic(
        "POST", "/api/v1/subscriptions/", b"{}", "application/json", CONTENT_LENGTH=declared
    )

    assert (answer.status_code, answer.json()["code"]) == (status, code)


# --- through a real server ---------------------------------------------------------------------


@dataclass
class Exchange:
    status: int
    sent: int
    seen_in_upload_folder: int  # the most bytes found there while the body was being sent
    response: bytes = field(repr=False)


@pytest.fixture
def server(django_db_setup, tmp_path):
    """gunicorn serving SAM Hub from the test database, with its own upload temp folder (the
    tests that use it commit their data: they are marked as transactional)."""
    port, uploads = free_port(), tmp_path / "uploads"
    uploads.mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "SAMHUB_DATA_DIR": str(tmp_path / "data"),
        "SAMHUB_WAREHOUSE_DIR": str(tmp_path / "warehouse"),
        "SAMHUB_UPLOAD_TEMP_DIR": str(uploads),
        "SAMHUB_ARTIFACT_MAX_BYTES": str(8 * MB),
    }
    log = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--timeout", "120"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=5):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail((tmp_path / "gunicorn.log").read_text()[-3000:])
            time.sleep(0.2)
    yield port, uploads
    process.terminate()
    process.wait(timeout=30)
    log.close()


def _folder_bytes(folder: Path) -> int:
    total = 0
    for entry in os.scandir(folder):
        with suppress(FileNotFoundError):  # deleted between listing and stat
            total += entry.stat().st_size
    return total


def _send(port: int, head: bytes, body: Iterable[bytes], *, watch: Path) -> Exchange:
    """Send a request whose body is streamed from `body`, reading the answer meanwhile: the
    sending stops as soon as an answer arrives, as a browser's would."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=120)
    received = bytearray()
    answered = threading.Event()

    def read() -> None:
        try:
            while chunk := sock.recv(65536):
                received.extend(chunk)
        except OSError:
            pass
        answered.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    sent, seen = 0, 0
    try:
        sock.sendall(head)
        for chunk in body:
            if received or answered.is_set():
                break
            sock.sendall(chunk)
            sent += len(chunk)
            seen = max(seen, _folder_bytes(watch))
    except OSError:  # the server closed the connection without reading the rest
        pass
    answered.wait(120)
    seen = max(seen, _folder_bytes(watch))
    sock.close()
    status = int(bytes(received).split(b" ", 2)[1]) if received else 0
    return Exchange(status, sent, seen, bytes(received))


def _multipart(size: int, fields: dict[str, str]) -> tuple[str, int, Iterator[bytes]]:
    """A multipart body with a `size`-byte file, generated as it is sent (never in memory)."""
    boundary = "samhub-test-boundary"
    head = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="artifact"; '
        'filename="model.onnx"\r\nContent-Type: application/octet-stream\r\n\r\n'
    )
    tail = f"\r\n--{boundary}--\r\n".encode()

    def chunks() -> Iterator[bytes]:
        yield head.encode()
        block = b"\0" * MB
        for _ in range(size // MB):
            yield block
        yield tail

    return f"multipart/form-data; boundary={boundary}", len(head) + size + len(tail), chunks()


def _head(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


CSRF = "abcdefghijklmnopqrstuvwxyzABCDEF"  # a well-formed CSRF secret, as cookie and field
# The server reads committed rows.
on_a_real_server = pytest.mark.django_db(transaction=True)


@on_a_real_server
def test_a_200_mb_anonymous_sign_in_is_refused_before_any_byte_is_written(server):
    port, uploads = server
    content_type, length, body = _multipart(
        200 * MB, {"csrfmiddlewaretoken": CSRF, "username": "x", "password": "y"}
    )
    head = _head(
        "/login/",
        {
            "Content-Type": content_type,
            "Content-Length": str(length),
            "Cookie": f"csrftoken={CSRF}",
        },
    )

    exchange = _send(port, head, body, watch=uploads)

    assert exchange.status == 413, exchange
    assert b"without signing in; none of it was read." in exchange.response
    assert exchange.seen_in_upload_folder == 0
    assert exchange.sent < 100 * MB  # the server stopped reading; only socket buffers took more


def _signed_in_cookie(provider) -> str:
    client = Client()
    client.force_login(provider)
    return f"csrftoken={CSRF}; sessionid={client.cookies['sessionid'].value}"


@on_a_real_server
def test_a_200_mb_upload_to_the_portal_form_is_refused_before_any_byte_is_written(
    server, provider, draft
):
    port, uploads = server
    content_type, length, body = _multipart(200 * MB, {"csrfmiddlewaretoken": CSRF})
    head = _head(
        f"/versions/{draft.pk}/upload/",
        {
            "Content-Type": content_type,
            "Content-Length": str(length),
            "Cookie": _signed_in_cookie(provider),
        },
    )

    exchange = _send(port, head, body, watch=uploads)

    assert exchange.status == 413, exchange
    assert f"over the limit of {8 * MB + 64 * 1024:,} bytes for a model file".encode() in (
        exchange.response
    )
    assert exchange.seen_in_upload_folder == 0
    assert exchange.sent < 100 * MB
    assert not ModelVersion.objects.get(pk=draft.pk).artifact_sha256


@on_a_real_server
def test_a_chunked_200_mb_upload_is_refused_unread(server, provider, draft):
    port, uploads = server
    content_type, _, body = _multipart(200 * MB, {"csrfmiddlewaretoken": CSRF})
    head = _head(
        f"/versions/{draft.pk}/upload/",
        {
            "Content-Type": content_type,
            "Transfer-Encoding": "chunked",
            "Cookie": _signed_in_cookie(provider),
        },
    )
    chunked = chain((b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in body), [b"0\r\n\r\n"])

    exchange = _send(port, head, chunked, watch=uploads)

    assert exchange.status == 411, exchange
    assert b"Send the body with a Content-Length header" in exchange.response
    assert exchange.seen_in_upload_folder == 0
    assert exchange.sent < 100 * MB
