"""The model warehouse: stream an upload to disk, inspect it in a child process, store it by hash.

Storage goes through Django's storage API, so the same code writes to local files or to S3
(django-storages) depending on settings. Nothing here holds a whole artifact in memory.
"""

import hashlib
import os
import tempfile
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.http import FileResponse

from core import forked
from core.errors import DomainError
from registry import artifact_inspection

CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True)
class ReceivedArtifact:
    """An upload spooled to a local temporary file, with its digest and size."""

    path: str
    filename: str
    sha256: str
    size: int

    def discard(self) -> None:
        if os.path.exists(self.path):
            os.unlink(self.path)


@dataclass(frozen=True)
class CheckedArtifact(ReceivedArtifact):
    """A spooled upload that passed inspection, ready for the warehouse."""

    format: str = ""
    signature: dict | None = None
    # Measured by the checker: memory that loading the model added, and its own peak.
    loaded_bytes: int | None = None
    peak_memory: int | None = None


def artifact_check(*, stream: BinaryIO, filename: str) -> CheckedArtifact:
    """Spool and inspect an upload; a refused file is deleted before the error is raised."""
    received = artifact_receive(stream=stream, filename=filename)
    try:
        inspected = artifact_inspect(received)
    except BaseException:
        received.discard()
        raise
    return CheckedArtifact(**vars(received), **inspected)


def artifact_receive(
    *, stream: BinaryIO, filename: str, limit: int | None = None, kind: str = "artifact"
) -> ReceivedArtifact:
    """Copy a stream to a temporary file in chunks, hashing it and enforcing the size limit
    (SAMHUB_ARTIFACT_MAX_BYTES unless `limit` is given; other uploads, such as training
    datasets, pass theirs and their `kind` for the error codes)."""
    limit = settings.SAMHUB_ARTIFACT_MAX_BYTES if limit is None else limit
    digest = hashlib.sha256()
    size = 0
    fd, path = tempfile.mkstemp(prefix="samhub-upload-", dir=settings.FILE_UPLOAD_TEMP_DIR)
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK_SIZE):
                size += len(chunk)
                if size > limit:
                    raise DomainError(
                        f"The file is larger than the limit of {limit:,} bytes; nothing was stored.",
                        code=f"{kind}_too_large",
                        status=413,
                    )
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        os.unlink(path)
        raise
    if size == 0:
        os.unlink(path)
        raise DomainError("The file is empty; nothing was stored.", code=f"{kind}_invalid")
    return ReceivedArtifact(
        path=path, filename=os.path.basename(filename), sha256=digest.hexdigest(), size=size
    )


def artifact_inspect(received: ReceivedArtifact) -> dict:
    """Validate the file in a capped child process (registry.artifact_inspection, forked by
    core.forked); refuse anything that is not a safe ONNX/skops model."""
    try:
        result = forked.forked_run(
            artifact_inspection.check,
            received.path,
            received.filename,
            settings.SAMHUB_MODEL_MAX_LOADED_BYTES,
            memory_bytes=settings.SAMHUB_ARTIFACT_CHECK_MEMORY_BYTES,
            timeout=settings.SAMHUB_ARTIFACT_CHECK_TIMEOUT_SECONDS,
        )
    except forked.ChildTimedOut:
        raise DomainError(
            "Checking the model file took too long; nothing was stored.", code="artifact_invalid"
        ) from None
    except forked.ChildFailed as exc:
        raise DomainError(
            f"The model file could not be checked (the checker stopped: {exc}); nothing was "
            "stored.",
            code="artifact_invalid",
        ) from None
    if not result["ok"]:
        raise DomainError(f"{result['error']} Nothing was stored.", code="artifact_refused")
    return {
        "format": result["format"],
        "signature": result["signature"],
        "loaded_bytes": result["loaded_bytes"],
        "peak_memory": result["peak_memory"],
    }


def artifact_storage_name(*, sha256: str, format: str) -> str:
    return f"artifacts/{sha256[:2]}/{sha256}.{format}"


def artifact_store(checked: CheckedArtifact) -> str:
    """Put the file into the warehouse under its content hash; the same bytes are stored once."""
    name = artifact_storage_name(sha256=checked.sha256, format=checked.format)
    if not default_storage.exists(name):
        with open(checked.path, "rb") as f:
            stored = default_storage.save(name, File(f, name=name))
        if stored != name:
            # Another upload of the same bytes won the race; keep one copy.
            default_storage.delete(stored)
    return name


def artifact_file_response(version) -> FileResponse:
    """The version's model file streamed from the warehouse as an attachment (in chunks: the
    web process never holds it whole), its sha256 in X-Checksum-SHA256."""
    response = FileResponse(
        default_storage.open(version.artifact.name, "rb"),
        as_attachment=True,
        filename=version.artifact_filename or version.artifact.name.rsplit("/", 1)[-1],
    )
    response["X-Checksum-SHA256"] = version.artifact_sha256
    return response


def artifact_measure_stored(*, name: str, sha256: str) -> dict:
    """Run the checker again on a file already in the warehouse (one stored before the checker
    measured memory): its verdict, signature and measurement, as for a new upload."""
    try:
        with default_storage.open(name, "rb") as stream:
            received = artifact_receive(stream=stream, filename=os.path.basename(name))
    except OSError as exc:
        raise DomainError(
            f"The model file {name} cannot be read from the warehouse: {exc}",
            code="artifact_missing",
        ) from exc
    try:
        if received.sha256 != sha256:
            raise DomainError(
                f"The model file {name} does not match its registered sha256.",
                code="artifact_refused",
            )
        return artifact_inspect(received)
    finally:
        received.discard()
