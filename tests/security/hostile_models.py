"""Hostile model files for the security tests, built for real: estimators are trained and
dumped with skops, then tampered inside the zip the way an attacker would (schema.json and the
.npy arrays); zip bombs are written with the sizes their headers declare."""

import io
import itertools
import json
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from functools import cache

import numpy as np
import skops.io as sio

# The feature count the issue names: far beyond any real input width.
HUGE = 2**40
_fresh_ids = itertools.count(10**15)


# --- tampering with a skops file --------------------------------------------------------------


def schema_of(content: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return json.loads(archive.read("schema.json"))


def skops_tamper(
    content: bytes,
    *,
    schema: Callable[[dict], None] | None = None,
    arrays: dict[str, Callable[[np.ndarray], np.ndarray]] | None = None,
) -> bytes:
    """Rewrite a skops file: `schema` edits the parsed schema.json in place, `arrays` maps
    .npy member names to a function returning the replacement array."""
    arrays = arrays or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "schema.json" and schema is not None:
                tree = json.loads(data)
                schema(tree)
                data = json.dumps(tree).encode()
            elif item.filename in arrays:
                array = np.load(io.BytesIO(data), allow_pickle=False)
                buffer = io.BytesIO()
                np.save(buffer, arrays[item.filename](array), allow_pickle=False)
                data = buffer.getvalue()
            dst.writestr(item, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def json_int(value: int) -> dict:
    """A skops JsonNode for an int, with an id of its own (skops shares nodes by id)."""
    return {
        "__class__": "int",
        "__module__": "builtins",
        "__loader__": "JsonNode",
        "content": str(value),
        "is_json": True,
        "__id__": next(_fresh_ids),
    }


def object_nodes(node, class_names: set[str] | None = None) -> Iterator[dict]:
    """Every ObjectNode (an estimator) in a skops schema, outermost first."""
    if isinstance(node, dict):
        if node.get("__loader__") == "ObjectNode" and (
            class_names is None or node.get("__class__") in class_names
        ):
            yield node
        for value in node.values():
            yield from object_nodes(value, class_names)
    elif isinstance(node, list):
        for value in node:
            yield from object_nodes(value, class_names)


def attributes(estimator_node: dict) -> dict:
    """The attributes of an estimator's ObjectNode, by name."""
    return estimator_node["content"]["content"]


def fitted_trees(node) -> list[dict]:
    """The fitted decision-tree estimators (those with a `tree_`) under a schema node."""
    return [n for n in object_nodes(node) if "tree_" in attributes(n)]


def _nodes_file(tree_estimator: dict) -> str:
    return attributes(tree_estimator)["tree_"]["content"]["content"]["nodes"]["file"]


def _claim_features(tree_estimator: dict, count: int) -> None:
    """Make a tree estimator and its Tree claim `count` input features."""
    attributes(tree_estimator)["n_features_in_"] = json_int(count)
    tree = attributes(tree_estimator)["tree_"]
    tree["__reduce__"]["args"]["content"][0] = json_int(count)


def _split_on(feature: int) -> Callable[[np.ndarray], np.ndarray]:
    def edit(nodes: np.ndarray) -> np.ndarray:
        nodes = nodes.copy()
        nodes["feature"][nodes["left_child"] != -1] = feature
        return nodes

    return edit


def inner_trees_beyond_input(content: bytes, ensembles: set[str]) -> bytes:
    """The issue's attack. In every ensemble of the named classes, every inner decision tree
    but the first (gradient boosting checks the input width against estimators_[0, 0] only)
    claims 2**40 input features and splits on feature 2**39: the old tree check compared the
    splits with that claimed count, and scikit-learn reads far outside the input array."""
    targets = []
    for ensemble in object_nodes(schema_of(content), ensembles):
        if "estimators_" in attributes(ensemble):  # not the unfitted templates in parameters
            targets.extend(fitted_trees(attributes(ensemble)["estimators_"])[1:])
    files = {_nodes_file(tree) for tree in targets}
    assert files, f"no inner trees found under {ensembles}"

    def edit(schema: dict) -> None:
        for tree in fitted_trees(schema):
            if _nodes_file(tree) in files:
                _claim_features(tree, HUGE)

    return skops_tamper(content, schema=edit, arrays=dict.fromkeys(files, _split_on(HUGE // 2)))


def boosting_stages_widened(content: bytes) -> bytes:
    """A binary gradient boosting model (one tree per stage) that claims two trees per stage:
    predict_stages() then adds the second tree into a column the prediction array lacks."""

    def edit(schema: dict) -> None:
        stages = attributes(schema)["estimators_"]["content"]
        for row in stages:
            row["content"].append(row["content"][0])
        attributes(schema)["n_trees_per_iteration_"] = json_int(2)

    return skops_tamper(content, schema=edit)


def bagged_features_out_of_range(content: bytes) -> bytes:
    """A bagging model whose first estimator reads a column the input does not have."""
    subsets = attributes(schema_of(content))["estimators_features_"]["content"]
    first = subsets[0]["file"]

    def edit(columns: np.ndarray) -> np.ndarray:
        columns = columns.copy()
        columns[-1] = 1000
        return columns

    return skops_tamper(content, arrays={first: edit})


def dumps(estimator) -> bytes:
    return sio.dumps(estimator)


# --- zip bombs --------------------------------------------------------------------------------

MIB = 1024**2


def _deflated(prefix: bytes, unit: bytes, repeat: int) -> tuple[bytes, int, int]:
    """(raw deflate stream, crc32, size) of prefix + unit * repeat, built from one compressed
    copy of unit: after a full flush the compressor forgets its history, so every copy
    compresses to the same bytes (asserted)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(unit) + compressor.flush(zlib.Z_FULL_FLUSH) if repeat else b""
    assert not repeat or block == compressor.compress(unit) + compressor.flush(zlib.Z_FULL_FLUSH)
    stream = head + block * repeat + compressor.flush(zlib.Z_FINISH)
    return stream, _crc_repeated(prefix, unit, repeat), len(prefix) + len(unit) * repeat


@cache
def _crc_repeated(prefix: bytes, unit: bytes, repeat: int) -> int:
    crc = zlib.crc32(prefix)
    for _ in range(repeat):
        crc = zlib.crc32(unit, crc)
    return crc


def _zip(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip of already deflated members (name, stream, crc32, size), as zipfile would write
    it; sizes below 4 GiB, so no zip64 records."""
    out, central = io.BytesIO(), io.BytesIO()
    for name, stream, crc, size in members:
        offset = out.tell()
        encoded = name.encode()
        out.write(
            struct.pack(
                "<IHHHHHIIIHH",
                0x04034B50,
                20,
                0,
                8,
                0,
                0x21,
                crc,
                len(stream),
                size,
                len(encoded),
                0,
            )  # fmt: skip
        )
        out.write(encoded)
        out.write(stream)
        central.write(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                8,
                0,
                0x21,
                crc,
                len(stream),
                size,
                len(encoded),
                0,
                0,
                0,
                0,
                0,
                offset,
            )  # fmt: skip
        )
        central.write(encoded)
    start = out.tell()
    out.write(central.getvalue())
    out.write(
        struct.pack(
            "<IHHHHIIH",
            0x06054B50,
            0,
            0,
            len(members),
            len(members),
            len(central.getvalue()),
            start,
            0,
        )  # fmt: skip
    )
    return out.getvalue()


def _members_of(content: bytes, replace: dict[str, tuple[bytes, int, int]]) -> list:
    members = []
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for name in archive.namelist():
            if name in replace:
                members.append((name, *replace[name]))
            else:
                data = archive.read(name)
                stream, crc, size = _deflated(data, b"", 0)
                members.append((name, stream, crc, size))
    return members


def schema_padded_with_whitespace(content: bytes, *, padding: int) -> bytes:
    """The same model with `padding` bytes of spaces after its schema.json (still valid JSON:
    a parser reads all of it), deflated to about a thousandth of that."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        schema = archive.read("schema.json")
    assert padding % MIB == 0
    padded = _deflated(schema, b" " * MIB, padding // MIB)
    return _zip(_members_of(content, {"schema.json": padded}))


def array_replaced_with_zeros(content: bytes, attribute: str, *, size: int) -> bytes:
    """The same model whose array `attribute` (e.g. coef_) is a float64 array of `size` bytes
    of zeros, deflated to about a thousandth of that."""
    array_file = attributes(schema_of(content))[attribute]["file"]
    assert size % MIB == 0
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (1, size // 8)}
    )
    zeros = _deflated(header.getvalue(), bytes(MIB), size // MIB)
    return _zip(_members_of(content, {array_file: zeros}))


# --- through SAM Hub ------------------------------------------------------------------------


def api_client(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    # A real session too: the body-size middleware lets large uploads through only for callers
    # it can tell are signed in, before DRF authenticates.
    client.force_login(user)
    return client


def put_artifact(user, version, content: bytes, filename: str):
    """The provider's upload, as `PUT /api/v1/versions/{id}/artifact/` with the raw file."""
    return api_client(user).put(
        f"/api/v1/versions/{version.pk}/artifact/?filename={filename}",
        data=content,
        content_type="application/octet-stream",
    )


def infer(user, version, inputs: dict):
    return api_client(user).post(
        f"/api/v1/versions/{version.pk}/infer/", {"inputs": inputs}, format="json"
    )


def released(provider, auditor, content: bytes, filename: str):
    """A version carried through the lifecycle with this file, uploaded while DRAFT."""
    from registry import services
    from tests import factories

    version = factories.make_draft(provider)
    services.version_artifact_upload(
        version_id=version.pk, user=provider, stream=io.BytesIO(content), filename=filename
    )
    services.version_submit(version_id=version.pk, user=provider)
    services.version_approve(version_id=version.pk, user=auditor)
    services.version_register(version_id=version.pk, user=provider, access_type="MODEL_FILE")
    return services.version_release(version_id=version.pk, user=provider)


def stored_before_measurement(version, content: bytes, artifact_format: str):
    """Put `content` in the warehouse as this version's file the way a version stored before
    the checker measured files looks (and as a file the old checker accepted would): stored
    under its sha256, with no measurement."""
    import hashlib

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from registry.artifacts import artifact_storage_name
    from registry.models import ModelVersion

    sha256 = hashlib.sha256(content).hexdigest()
    name = artifact_storage_name(sha256=sha256, format=artifact_format)
    default_storage.save(name, ContentFile(content))
    ModelVersion.objects.filter(pk=version.pk).update(
        artifact=name,
        artifact_sha256=sha256,
        artifact_size=len(content),
        artifact_format=artifact_format,
        artifact_loaded_bytes=None,
        artifact_peak_memory=None,
    )
    return ModelVersion.objects.get(pk=version.pk)
