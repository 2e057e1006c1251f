"""The models the web process runs for reasoning calls (ENI SAM clause 6.1), read from the
warehouse and kept in a bounded, thread-safe per-process cache keyed by (version id, artifact
sha256). Validation and prediction are the runtime's (sharing/runtime/samhub_runtime.py), the
same file SDK wheels and mirror bundles ship, so that all of them answer alike.
"""

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage

from sharing.runtime.samhub_runtime import (
    LoadedModel,
    ModelFailure,
    Runtime,
    load_model,
    output_names,
    prepare_inputs,
)

# --- the per-process cache (Django side) -----------------------------------------------------


class ModelCache:
    """A bounded least-recently-used cache of loaded models, safe across threads; a model is
    loaded once even when several requests ask for it at the same time."""

    def __init__(self) -> None:
        self._models: OrderedDict[Hashable, LoadedModel] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, load: Callable[[], LoadedModel], *, size: int) -> LoadedModel:
        with self._lock:
            model = self._models.get(key)
            if model is not None:
                self._models.move_to_end(key)
                return model
            key_lock = self._loading.setdefault(key, threading.Lock())
        with key_lock:
            try:
                with self._lock:
                    model = self._models.get(key)
                if model is None:
                    model = load()  # slow: outside the cache-wide lock
                with self._lock:
                    self._models[key] = model
                    self._models.move_to_end(key)
                    while len(self._models) > size:
                        self._models.popitem(last=False)
            finally:
                with self._lock:
                    self._loading.pop(key, None)
        return model

    def clear(self) -> None:
        with self._lock:
            self._models.clear()

    def __len__(self) -> int:
        return len(self._models)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._models


cache = ModelCache()


def version_model(version) -> LoadedModel:
    """The loaded model of a version with a file in the warehouse, from the cache."""
    return cache.get(
        (version.pk, version.artifact_sha256),
        lambda: _load_from_warehouse(version),
        size=settings.SAMHUB_INFERENCE_CACHE_SIZE,
    )


def _load_from_warehouse(version) -> LoadedModel:
    _check_measured(version, settings.SAMHUB_MODEL_MAX_LOADED_BYTES)
    try:
        with default_storage.open(version.artifact.name, "rb") as f:
            content = f.read()
    except OSError as exc:
        raise ModelFailure(f"The model file cannot be read from the warehouse: {exc}") from exc
    if hashlib.sha256(content).hexdigest() != version.artifact_sha256:
        # Only the bytes checked at upload are run (the tree check of skops files relies on it).
        raise ModelFailure("The model file in the warehouse does not match its registered sha256.")
    try:
        return load_model(
            version.artifact_format, content, threads=settings.SAMHUB_INFERENCE_THREADS
        )
    except ModelFailure:
        raise
    except Exception as exc:
        raise ModelFailure(f"The model cannot be loaded: {type(exc).__name__}: {exc}") from exc


def _check_measured(version, limit: int) -> None:
    """Load only what the checker measured, within the limit: a crafted file (a zip bomb, a
    tree reading out of bounds) must fail in the checker's child process, never in this one."""
    loaded = version.artifact_loaded_bytes
    if loaded is None:
        raise ModelFailure(
            "The model file has not been measured by SAM Hub's checker, so it is not loaded; "
            "an operator runs `manage.py artifacts_measure` to check it."
        )
    if loaded > limit:
        raise ModelFailure(
            f"Loading the model takes {loaded / 1024**2:,.0f} MiB, over the limit of "
            f"{limit / 1024**2:,.0f} MiB (SAMHUB_MODEL_MAX_LOADED_BYTES)."
        )


def run(version, inputs: Any, *, outputs: list[str] | None = None) -> tuple[dict[str, Any], int]:
    """Validate the inputs against the version's signature (before loading its model: a bad
    call costs no load) and predict the outputs asked for, all of the signature's by default:
    (outputs, count). Raises the runtime's InvalidInput or ModelFailure."""
    prepared = prepare_inputs(
        version.signature, inputs, max_batch=settings.SAMHUB_INFERENCE_MAX_BATCH
    )
    names = output_names(version.signature, outputs)
    runtime = Runtime(version_model(version), version.signature)
    return runtime.run(prepared, outputs=names), prepared.count
