"""Inspect an uploaded model file: refuse what would run code, validate what we accept.

Runs in a child process (`python -m registry.artifact_inspection PATH`) so that a crafted
file can at worst crash that child, and so that a large model never inflates the web process.
It imports nothing from Django. Prints one JSON object: {"ok": true, "format", "signature"}
or {"ok": false, "error"}.
"""

import json
import math
import sys
import zipfile

PICKLE_HINT = (
    "Loading pickle and joblib files runs arbitrary code, so SAM Hub refuses them. "
    "Save scikit-learn models with skops (skops.io.dump) or convert them to ONNX."
)
ACCEPTED_HINT = (
    "SAM Hub accepts ONNX models (.onnx) and scikit-learn models saved with skops (.skops)."
)
# skops marks the tree structure untrusted because scikit-learn indexes its arrays without
# bounds checks; we trust it only after validate_tree() has checked every array.
TREE_TYPE = "sklearn.tree._tree.Tree"
_COMPRESSED_MAGIC = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bz2",
    b"\xfd7zXZ": "xz",
    b"\x04\x22\x4d\x18": "lz4",
    b"ZF": "zlib (old joblib)",
}


class ArtifactRefused(Exception):
    """The file is not a model SAM Hub can safely accept."""


def inspect_artifact(path: str, filename: str = "") -> dict:
    with open(path, "rb") as f:
        head = f.read(16)
    lower = filename.lower()
    if not head:
        raise ArtifactRefused("The file is empty.")
    if lower.endswith((".pkl", ".pickle", ".joblib", ".sav")) or _looks_like_pickle(head):
        raise ArtifactRefused(f"This is a pickle/joblib file. {PICKLE_HINT}")
    for magic, kind in _COMPRESSED_MAGIC.items():
        if head.startswith(magic):
            raise ArtifactRefused(
                f"This is a {kind}-compressed file, as joblib writes. {PICKLE_HINT}"
            )
    if head[:1] == b"\x78" and head[1:2] in (b"\x01", b"\x5e", b"\x9c", b"\xda"):
        raise ArtifactRefused(f"This is a zlib-compressed file, as joblib writes. {PICKLE_HINT}")
    if head.startswith(b"PK\x03\x04"):
        return _inspect_skops(path)
    if lower.endswith(".skops"):
        raise ArtifactRefused("This .skops file is not a skops archive (it is not a zip file).")
    return _inspect_onnx(path, claimed=lower.endswith(".onnx"))


def _looks_like_pickle(head: bytes) -> bool:
    # Protocol 2+ pickles start with PROTO (0x80) and the protocol number.
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def _inspect_onnx(path: str, *, claimed: bool) -> dict:
    import onnx
    from google.protobuf.message import DecodeError

    try:
        model = onnx.load(path, load_external_data=False)
    except (DecodeError, RuntimeWarning, ValueError, OSError) as exc:
        if claimed:
            raise ArtifactRefused(
                f"The ONNX file cannot be read (truncated or corrupt): {exc}"
            ) from exc
        raise ArtifactRefused(f"Unknown file format. {ACCEPTED_HINT}") from exc
    if not model.graph.node and not model.graph.output:
        if claimed:
            raise ArtifactRefused("The ONNX file holds no graph (truncated or corrupt).")
        raise ArtifactRefused(f"Unknown file format. {ACCEPTED_HINT}")
    initializers = {init.name for init in model.graph.initializer}
    signature = {
        "inputs": [_onnx_value(v) for v in model.graph.input if v.name not in initializers],
        "outputs": [_onnx_value(v) for v in model.graph.output],
        "opset": {(o.domain or "ai.onnx"): o.version for o in model.opset_import},
    }
    # Free the parsed copy before the checker parses the file again, so the peak memory is
    # one copy of the model, not two.
    del model
    try:
        onnx.checker.check_model(path, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ArtifactRefused(f"The ONNX model fails onnx.checker: {first_line}") from exc
    return {"format": "onnx", "signature": signature}


def _onnx_value(value) -> dict:
    import onnx

    kind = value.type.WhichOneof("value")
    if kind == "tensor_type":
        tensor = value.type.tensor_type
        shape = None
        if tensor.HasField("shape"):
            shape = [
                d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
                for d in tensor.shape.dim
            ]
        return {
            "name": value.name,
            "type": onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type).name,
            "shape": shape,
        }
    return {"name": value.name, "type": kind or "unknown", "shape": None}


def _inspect_skops(path: str) -> dict:
    import skops.io as sio

    try:
        with zipfile.ZipFile(path) as archive:
            if "schema.json" not in archive.namelist():
                raise ArtifactRefused(f"This zip file is not a skops archive. {ACCEPTED_HINT}")
        untrusted = sio.get_untrusted_types(file=path)
    except zipfile.BadZipFile as exc:
        raise ArtifactRefused(f"The skops file is truncated or corrupt: {exc}") from exc
    except ArtifactRefused:
        raise
    except Exception as exc:
        raise ArtifactRefused(f"The skops file cannot be read: {exc}") from exc
    refused = sorted(set(untrusted) - {TREE_TYPE})
    if refused:
        raise ArtifactRefused(
            "The skops file contains types that are not trusted, so loading it could run code: "
            + ", ".join(refused)
        )
    try:
        estimator = sio.load(path, trusted=list(untrusted))
    except Exception as exc:
        raise ArtifactRefused(f"The skops file cannot be loaded: {exc}") from exc
    if not hasattr(estimator, "predict"):
        raise ArtifactRefused("The skops file holds no estimator with a predict() method.")
    n_features = getattr(estimator, "n_features_in_", None)
    if not isinstance(n_features, int) or n_features < 1:
        raise ArtifactRefused("The estimator is not fitted (it has no n_features_in_).")
    for tree, owner_features in _find_trees(estimator, n_features):
        validate_tree(tree, owner_features)
    return {"format": "skops", "signature": _skops_signature(estimator, n_features)}


def _skops_signature(estimator, n_features: int) -> dict:
    inputs = [{"name": "input", "type": "float64", "shape": [None, n_features]}]
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None:
        inputs[0]["feature_names"] = [str(n) for n in names]
    classes = getattr(estimator, "classes_", None)
    if classes is not None:
        outputs = [{"name": "label", "type": str(classes.dtype), "shape": [None]}]
        outputs[0]["classes"] = [c.item() if hasattr(c, "item") else c for c in classes]
        if hasattr(estimator, "predict_proba"):
            outputs.append(
                {"name": "probabilities", "type": "float64", "shape": [None, len(classes)]}
            )
    else:
        outputs = [{"name": "variable", "type": "float64", "shape": [None]}]
    return {"inputs": inputs, "outputs": outputs, "estimator": type(estimator).__name__}


def _find_trees(obj, n_features: int, seen: set | None = None):
    """Yield (Tree, feature count of its estimator) for every tree inside obj."""
    import numpy as np
    from sklearn.tree._tree import Tree

    seen = seen if seen is not None else set()
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, Tree):
        yield obj, n_features
        return
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            for item in obj.ravel():
                yield from _find_trees(item, n_features, seen)
        return
    if isinstance(obj, dict):
        children = list(obj.values())
    elif isinstance(obj, list | tuple):
        children = list(obj)
    elif hasattr(obj, "__dict__"):
        own = getattr(obj, "n_features_in_", None)
        if isinstance(own, int):
            n_features = own
        children = list(vars(obj).values())
    else:
        return
    for child in children:
        yield from _find_trees(child, n_features, seen)


def validate_tree(tree, n_features: int) -> None:
    """Refuse a tree whose arrays would make scikit-learn read out of bounds."""
    import numpy as np

    count = tree.node_count
    left, right = tree.children_left, tree.children_right
    feature, threshold, value = tree.feature, tree.threshold, tree.value
    if count < 1 or any(len(a) != count for a in (left, right, feature, threshold)):
        raise ArtifactRefused("A decision tree in the skops file has inconsistent array sizes.")
    if value.shape[0] != count:
        raise ArtifactRefused("A decision tree in the skops file has inconsistent value arrays.")
    if tree.n_features != n_features:
        raise ArtifactRefused("A decision tree in the skops file disagrees on the feature count.")
    leaf = left == -1
    if not np.array_equal(leaf, right == -1):
        raise ArtifactRefused("A decision tree in the skops file has half-open nodes.")
    internal = ~leaf
    nodes = np.arange(count)
    for children in (left, right):
        kids = children[internal]
        # scikit-learn builds depth-first, so a child always comes after its parent.
        if kids.size and (kids.min() < 0 or kids.max() >= count or np.any(kids <= nodes[internal])):
            raise ArtifactRefused(
                "A decision tree in the skops file has child indices out of range."
            )
    used = feature[internal]
    if used.size and (used.min() < 0 or used.max() >= n_features):
        raise ArtifactRefused(
            "A decision tree in the skops file uses feature indices out of range."
        )
    if not np.all(np.isfinite(threshold[internal])):
        raise ArtifactRefused("A decision tree in the skops file has non-finite thresholds.")
    if not np.all(np.isfinite(value)):
        raise ArtifactRefused("A decision tree in the skops file has non-finite leaf values.")


def main(argv: list[str]) -> int:
    path, filename = argv[1], (argv[2] if len(argv) > 2 else "")
    try:
        result = {"ok": True, **inspect_artifact(path, filename)}
    except ArtifactRefused as exc:
        result = {"ok": False, "error": str(exc)}
    print(json.dumps(result, default=_json_default))
    return 0


def _json_default(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
