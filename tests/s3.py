"""The S3 endpoint of the tests: moto in server mode on loopback (tests/conftest.py starts
it once per run for the tests marked `s3`)."""

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
import pytest

from tests.processes import free_port

BUCKET = "samhub-warehouse-test"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@contextmanager
def moto_server() -> Iterator[tuple[str, object]]:
    """(endpoint URL, boto3 client) of a moto server with the test bucket."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("moto server did not start on loopback")
            time.sleep(0.2)
    client = boto3.client("s3", endpoint_url=url, region_name="us-east-1", **CREDENTIALS)
    client.create_bucket(Bucket=BUCKET)
    try:
        yield url, client
    finally:
        server.terminate()
        server.wait(timeout=10)


def warehouse_settings(url: str) -> dict:
    """STORAGES["default"] for the test bucket."""
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": BUCKET,
            "endpoint_url": url,
            "region_name": "us-east-1",
            "access_key": CREDENTIALS["aws_access_key_id"],
            "secret_key": CREDENTIALS["aws_secret_access_key"],
            "file_overwrite": False,
        },
    }
