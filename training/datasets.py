"""Dataset files: spool an upload with its size limit, check and score it in a child process,
store it in the warehouse under datasets/ by content hash.

Spooling is registry.artifacts' (the same streaming, hashing and limit, with the dataset's
limit); the parsing runs in training.dataset_inspection under an address-space and time cap,
so a hostile file (a Parquet footer claiming huge sizes, a compression bomb, a giant line)
costs a refused upload, never the web process.
"""

import os
from typing import BinaryIO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

from core import forked
from core.errors import DomainError
from registry.artifacts import ReceivedArtifact, artifact_receive
from training import dataset_inspection
from training.models import DatasetFormat

EXTENSIONS = {
    ".csv": DatasetFormat.CSV,
    ".parquet": DatasetFormat.PARQUET,
    ".pq": DatasetFormat.PARQUET,
}


def dataset_format_of(filename: str) -> DatasetFormat:
    """The format named by the file's extension; anything else is refused."""
    extension = os.path.splitext(filename)[1].lower()
    if extension not in EXTENSIONS:
        raise DomainError(
            f"Upload a .csv or .parquet file, not {extension or 'a file without an extension'}; "
            "nothing was stored.",
            code="dataset_invalid",
            details={"file": ["CSV or Parquet only."]},
        )
    return EXTENSIONS[extension]


def dataset_receive(*, stream: BinaryIO, filename: str) -> ReceivedArtifact:
    return artifact_receive(
        stream=stream,
        filename=filename,
        limit=settings.SAMHUB_DATASET_MAX_BYTES,
        kind="dataset",
    )


def dataset_inspect(received: ReceivedArtifact, *, format: str, target_column: str) -> dict:
    """Parse, check and score the spooled file in a capped child process
    (training.dataset_inspection, forked by core.forked); refused with DomainError (400)
    saying which check failed."""
    limits = {
        "max_rows": settings.SAMHUB_DATASET_MAX_ROWS,
        "max_columns": settings.SAMHUB_DATASET_MAX_COLUMNS,
        "max_line_bytes": settings.SAMHUB_DATASET_MAX_LINE_BYTES,
        "max_loaded_bytes": settings.SAMHUB_DATASET_MAX_LOADED_BYTES,
    }
    try:
        result = forked.forked_run(
            dataset_inspection.check,
            received.path,
            format,
            target_column,
            limits,
            memory_bytes=settings.SAMHUB_DATASET_CHECK_MEMORY_BYTES,
            timeout=settings.SAMHUB_DATASET_CHECK_TIMEOUT_SECONDS,
        )
    except forked.ChildTimedOut:
        raise DomainError(
            "Checking the dataset took too long (SAMHUB_DATASET_CHECK_TIMEOUT_SECONDS); nothing "
            "was stored.",
            code="dataset_invalid",
        ) from None
    except forked.ChildFailed:
        # The checker died (out of its memory cap, a crash in a parser): the file is refused.
        raise DomainError(
            "The dataset could not be read: checking it exceeded the resources a dataset may "
            "take or stopped the checker. Nothing was stored.",
            code="dataset_invalid",
        ) from None
    if not result.pop("ok"):
        raise DomainError(
            f"{result['error']} Nothing was stored.",
            code="dataset_invalid",
            details={"file": [result["error"]]},
        )
    return result


def dataset_storage_name(*, sha256: str, format: str) -> str:
    return f"datasets/{sha256[:2]}/{sha256}.{format.lower()}"


def dataset_store(received: ReceivedArtifact, *, format: str) -> str:
    """Put the checked file into the warehouse under its content hash (stored once)."""
    name = dataset_storage_name(sha256=received.sha256, format=format)
    if not default_storage.exists(name):
        with open(received.path, "rb") as f:
            stored = default_storage.save(name, File(f, name=name))
        if stored != name:
            default_storage.delete(stored)  # the same bytes were stored meanwhile
    return name
