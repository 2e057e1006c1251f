"""Inspect an uploaded model file: refuse what would run code, validate what we accept.

Runs in a child process (registry.artifacts.artifact_inspect runs `check` through
core.forked.forked_run, under an address-space and time cap) so that a crafted file can at
worst crash that child, and so that a large model never inflates the web process. It imports
nothing from Django. `check` answers {"ok": true, "format", "signature", "loaded_bytes",
"peak_memory"} or {"ok": false, "error"}.

`loaded_bytes` is what loading the file the way the web process does (sharing.inference: read
the bytes, then skops.io.loads or an onnxruntime session from bytes) added to this process's
peak resident memory; `peak_memory` is this process's peak over the whole check (the child is
forked from a fork server that has the libraries below imported, so that peak counts the
pages it shares with the server). The web process refuses to load a version that has no
measurement or one over its limit.
"""

import resource
import zipfile
from collections.abc import Callable
from typing import Any

# What the checks import, for the fork server to import once (registry.apps).
PRELOAD = (
    "registry.artifact_inspection",
    "sklearn.compose",
    "sklearn.ensemble",
    "sklearn.linear_model",
    "sklearn.pipeline",
    "sklearn.preprocessing",
    "sklearn.tree",
    "skops.io",
    "onnx",
    "onnx.checker",
    "onnxruntime",
)
PICKLE_HINT = (
    "Loading pickle and joblib files runs arbitrary code, so SAM Hub refuses them. "
    "Save scikit-learn models with skops (skops.io.dump) or convert them to ONNX."
)
ACCEPTED_HINT = (
    "SAM Hub accepts ONNX models (.onnx) and scikit-learn models saved with skops (.skops)."
)
# skops marks the tree structure untrusted because scikit-learn indexes its arrays without
# bounds checks; we trust it only after check_trees() has checked every array.
TREE_TYPE = "sklearn.tree._tree.Tree"
# The dict that stacking and voting ensembles keep their fitted estimators in by name
# (named_estimators_): skops flags it only because it is not on its default list; it holds
# references to estimators that are checked like any other, and runs no code when loaded.
BUNCH_TYPE = "sklearn.utils._bunch.Bunch"
TRUSTED_AFTER_CHECKS = frozenset({TREE_TYPE, BUNCH_TYPE})
# The ONNX operator domains of the standard (the default domain has two spellings).
STANDARD_ONNX_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml"})
# As in samhub_runtime: should external data slip past the check, the session finds no file.
NO_EXTERNAL_DATA_FOLDER = "/nonexistent/samhub-models-have-no-external-data"
# A skops archive is read member by member into memory (skops reads schema.json whole and each
# .npy through numpy), so every member is bounded by its declared uncompressed size before any
# of it is read. Python's zipfile never inflates past that declared size.
MAX_ARCHIVE_MEMBERS = 100_000
# schema.json of real models is small (a 500-tree forest: about 2 MiB); a huge one only buys
# parse time and memory in every process that loads the model.
MAX_SCHEMA_BYTES = 64 * 1024**2
# Real model arrays compress a few times at most; 1 GiB of whitespace or zeros compresses about
# a thousand times. Members under the floor cannot hurt whatever their ratio.
MAX_COMPRESSION_RATIO = 100
RATIO_FLOOR_BYTES = 1024**2
_COMPRESSED_MAGIC = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bz2",
    b"\xfd7zXZ": "xz",
    b"\x04\x22\x4d\x18": "lz4",
    b"ZF": "zlib (old joblib)",
}


class ArtifactRefused(Exception):
    """The file is not a model SAM Hub can safely accept."""


def inspect_artifact(path: str, filename: str = "", *, max_loaded_bytes: int = 0) -> dict:
    """Check the file; `max_loaded_bytes` (0: no limit) bounds what loading it may cost."""
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
        return _inspect_skops(path, max_loaded_bytes)
    if lower.endswith(".skops"):
        raise ArtifactRefused("This .skops file is not a skops archive (it is not a zip file).")
    return _inspect_onnx(path, max_loaded_bytes, claimed=lower.endswith(".onnx"))


def _looks_like_pickle(head: bytes) -> bool:
    # Protocol 2+ pickles start with PROTO (0x80) and the protocol number.
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def _inspect_onnx(path: str, max_loaded_bytes: int, *, claimed: bool) -> dict:
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
    _refuse_external_data(model)
    _refuse_custom_domains(model)
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
        raise ArtifactRefused(f"The ONNX model fails onnx.checker: {_first_line(exc)}") from exc
    # The session is what the web process builds: if this onnxruntime cannot (an operator it
    # does not implement, an opset it does not know), every call would fail, so refuse now.
    import onnxruntime  # noqa: F401 (imported before the measurement, as in the web process)

    _, loaded, peak = _measured(lambda: _onnx_session(path))
    _refuse_over_limit(loaded, max_loaded_bytes)
    return {"format": "onnx", "signature": signature, "loaded_bytes": loaded, "peak_memory": peak}


def _onnx_session(path: str):
    import onnxruntime as ort

    # The same options as sharing/runtime/samhub_runtime.py's OnnxModel (graph
    # optimisation included: constant folding may allocate), loaded from bytes as there.
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry(
        "session.model_external_initializers_file_folder_path", NO_EXTERNAL_DATA_FOLDER
    )
    with open(path, "rb") as f:
        content = f.read()
    try:
        return ort.InferenceSession(
            content, sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/NotImplemented
        raise ArtifactRefused(
            f"onnxruntime {ort.__version__} cannot run this model: {_first_line(exc)}"
        ) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _onnx_graphs(model):
    """The main graph, every subgraph (If/Loop/Scan bodies), and the model's local functions'
    nodes, as (nodes, initializers) pairs."""
    import onnx

    pending = [model.graph]
    while pending:
        graph = pending.pop()
        yield graph.node, list(graph.initializer), list(graph.sparse_initializer)
        for node in graph.node:
            for attribute in node.attribute:
                if attribute.type == onnx.AttributeProto.GRAPH:
                    pending.append(attribute.g)
                pending.extend(attribute.graphs)
    for function in model.functions:
        yield function.node, [], []
        for node in function.node:
            for attribute in node.attribute:
                if attribute.type == onnx.AttributeProto.GRAPH:
                    pending.append(attribute.g)
                pending.extend(attribute.graphs)
    while pending:  # subgraphs inside functions
        graph = pending.pop()
        yield graph.node, list(graph.initializer), list(graph.sparse_initializer)


def _onnx_tensors(model):
    """Every tensor stored in the model: initializers, sparse ones, and node attributes."""
    for nodes, initializers, sparse in _onnx_graphs(model):
        yield from initializers
        for tensor in sparse:
            yield tensor.values
            yield tensor.indices
        for node in nodes:
            for attribute in node.attribute:
                if attribute.HasField("t"):
                    yield attribute.t
                yield from attribute.tensors
                if attribute.HasField("sparse_tensor"):
                    yield attribute.sparse_tensor.values
                    yield attribute.sparse_tensor.indices
                for tensor in attribute.sparse_tensors:
                    yield tensor.values
                    yield tensor.indices


def _refuse_external_data(model) -> None:
    """SAM Hub stores single-file models. onnxruntime resolves an external-data location
    against the model's folder, which for a session made from bytes is the working directory
    of the process: a relative path would read the server's own files into the model."""
    import onnx

    names = [
        tensor.name or "(unnamed)"
        for tensor in _onnx_tensors(model)
        if tensor.data_location == onnx.TensorProto.EXTERNAL or len(tensor.external_data)
    ]
    if names:
        shown = ", ".join(sorted(set(names))[:5]) + (", ..." if len(set(names)) > 5 else "")
        raise ArtifactRefused(
            f"The ONNX model keeps tensors in external data files ({shown}). SAM Hub stores "
            "single-file models: save it with all tensors inside the .onnx file "
            "(onnx.save_model(model, path, save_as_external_data=False))."
        )


def _refuse_custom_domains(model) -> None:
    """Only the standard ONNX operator domains: a custom domain needs a custom-operator
    library that SAM Hub's runtime does not load, so every call would fail. A node may also
    call one of the model's own functions (ONNX inlines those); their bodies are checked too."""
    local = {(function.domain, function.name) for function in model.functions}
    unknown = set()
    for nodes, _, _ in _onnx_graphs(model):
        for node in nodes:
            if (
                node.domain not in STANDARD_ONNX_DOMAINS
                and (node.domain, node.op_type) not in local
            ):
                unknown.add(f"{node.domain}::{node.op_type}")
    local_domains = {domain for domain, _ in local}
    for opset in model.opset_import:
        if opset.domain not in STANDARD_ONNX_DOMAINS and opset.domain not in local_domains:
            unknown.add(f"{opset.domain} (opset import)")
    if unknown:
        raise ArtifactRefused(
            "The ONNX model uses operators outside the standard ONNX domains (ai.onnx, "
            f"ai.onnx.ml): {', '.join(sorted(unknown))}. SAM Hub runs models with the "
            "standard onnxruntime operators only."
        )


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


def _inspect_skops(path: str, max_loaded_bytes: int) -> dict:
    try:
        _check_archive(path, max_loaded_bytes)  # before anything reads a member
        import skops.io as sio

        untrusted = sio.get_untrusted_types(file=path)
    except zipfile.BadZipFile as exc:
        raise ArtifactRefused(f"The skops file is truncated or corrupt: {exc}") from exc
    except ArtifactRefused:
        raise
    except Exception as exc:
        raise ArtifactRefused(f"The skops file cannot be read: {exc}") from exc
    refused = sorted(set(untrusted) - TRUSTED_AFTER_CHECKS)
    if refused:
        raise ArtifactRefused(
            "The skops file contains types that are not trusted, so loading it could run code: "
            + ", ".join(refused)
        )
    _preload_sklearn()
    try:
        estimator, loaded, peak = _measured(lambda: _skops_load(path))
    except Exception as exc:
        raise ArtifactRefused(f"The skops file cannot be loaded: {exc}") from exc
    _refuse_over_limit(loaded, max_loaded_bytes)
    if not hasattr(estimator, "predict"):
        raise ArtifactRefused("The skops file holds no estimator with a predict() method.")
    n_features = getattr(estimator, "n_features_in_", None)
    if not _is_count(n_features):
        raise ArtifactRefused("The estimator is not fitted (it has no n_features_in_).")
    check_trees(estimator, n_features)
    return {
        "format": "skops",
        "signature": _skops_signature(estimator, n_features),
        "loaded_bytes": loaded,
        "peak_memory": peak,
    }


def _skops_load(path: str):
    import skops.io as sio

    # As samhub_runtime.SkopsModel does it in the web process: bytes, types, loads.
    with open(path, "rb") as f:
        content = f.read()
    return sio.loads(content, trusted=sio.get_untrusted_types(data=content))


def _check_archive(path: str, max_loaded_bytes: int) -> None:
    """Refuse a zip whose members would unpack to more than we accept, before reading any."""
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
    if len(members) > MAX_ARCHIVE_MEMBERS:
        raise ArtifactRefused(
            f"The skops file has {len(members):,} members, over the limit of "
            f"{MAX_ARCHIVE_MEMBERS:,}."
        )
    if "schema.json" not in {m.filename for m in members}:
        raise ArtifactRefused(f"This zip file is not a skops archive. {ACCEPTED_HINT}")
    total = 0
    for member in members:
        size, packed = member.file_size, member.compress_size
        total += size
        if member.filename == "schema.json" and size > MAX_SCHEMA_BYTES:
            raise ArtifactRefused(
                f"The skops file's schema.json unpacks to {size:,} bytes, over the limit of "
                f"{MAX_SCHEMA_BYTES:,}."
            )
        if max_loaded_bytes and size > max_loaded_bytes:
            raise ArtifactRefused(
                f"The skops file's member {member.filename} unpacks to {size:,} bytes, over "
                f"the limit of {max_loaded_bytes:,} bytes for a loaded model."
            )
        if size > RATIO_FLOOR_BYTES and size > MAX_COMPRESSION_RATIO * max(packed, 1):
            raise ArtifactRefused(
                f"The skops file's member {member.filename} unpacks {size // max(packed, 1):,} "
                f"times its packed size (from {packed:,} to {size:,} bytes); over "
                f"{MAX_COMPRESSION_RATIO} times is refused as a zip bomb."
            )
    if max_loaded_bytes and total > max_loaded_bytes:
        raise ArtifactRefused(
            f"The skops file unpacks to {total:,} bytes, over the limit of "
            f"{max_loaded_bytes:,} bytes for a loaded model."
        )


def _preload_sklearn() -> None:
    # Imported before the measurement: the web process has them loaded already, so they are
    # not part of what one model costs.
    import sklearn.compose  # noqa: F401
    import sklearn.ensemble  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    import sklearn.pipeline  # noqa: F401
    import sklearn.preprocessing  # noqa: F401
    import sklearn.tree  # noqa: F401


def _is_count(value) -> bool:
    import numbers

    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1


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


def check_trees(estimator, n_features: int) -> None:
    """Refuse an estimator whose trees could make scikit-learn read or write out of bounds.

    scikit-learn checks the input width only where an estimator's public predict() is called
    (against that estimator's own n_features_in_); ensembles then hand the input to their inner
    trees unchecked (forests call them with check_input=False, gradient boosting walks the
    node arrays in Cython). So every tree's feature indices must lie below the narrowest width
    on its way from the outermost estimator, not below a count its own estimator claims.
    """
    for tree, bound, owner in _find_trees(estimator, n_features, None, set()):
        if bound is None:
            raise ArtifactRefused(
                "A decision tree in the skops file sits under an estimator without a feature "
                "count (n_features_in_), so its input width cannot be checked."
            )
        validate_tree(tree, bound, owner)


def _find_trees(obj, bound: int | None, owner: int | None, seen: set):
    """Yield (Tree, bound on its feature indices, n_features_in_ of the estimator owning it)
    for every tree inside obj; `bound` is the narrowest input width on the way down."""
    import numpy as np
    from sklearn.base import BaseEstimator
    from sklearn.tree._tree import Tree

    # An object reachable on two paths is checked under each path's bound.
    if (id(obj), bound) in seen:
        return
    seen.add((id(obj), bound))
    if isinstance(obj, Tree):
        yield obj, bound, owner
        return
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            for item in obj.ravel():
                yield from _find_trees(item, bound, owner, seen)
        return
    if isinstance(obj, dict):
        children = list(obj.values())
    elif isinstance(obj, list | tuple):
        children = list(obj)
    elif isinstance(obj, BaseEstimator):
        yield from _estimator_trees(obj, bound, seen)
        return
    elif hasattr(obj, "__dict__"):
        children = list(vars(obj).values())
    else:
        return
    for child in children:
        yield from _find_trees(child, bound, owner, seen)


def _estimator_trees(estimator, bound: int | None, seen: set):
    own = getattr(estimator, "n_features_in_", None)
    if own is not None and not _is_count(own):
        raise ArtifactRefused(
            f"A {type(estimator).__name__} in the skops file has an invalid feature count."
        )
    if own is not None:
        bound = own if bound is None else min(bound, own)
    _check_ensemble_shape(estimator, own)
    # Children that receive another input than this estimator's own (a transformed or
    # column-selected one) are entered through their public methods, which check the width
    # against their own n_features_in_: the bound starts again from theirs.
    restart = _children_with_their_own_input(estimator)
    narrowed = _bagged_feature_bounds(estimator, bound)
    for name, child in vars(estimator).items():
        if name == "steps" and restart == {"steps"}:
            # A pipeline: only the first step sees its input, the others the previous output.
            for position, step in enumerate(child):
                yield from _find_trees(step, bound if position == 0 else None, None, seen)
        elif name in restart:
            for item in _flatten(child):
                yield from _find_trees(item, None, None, seen)
        elif name == "estimators_" and narrowed is not None:
            for item, width in zip(child, narrowed, strict=True):
                yield from _find_trees(item, width, own, seen)
        else:
            yield from _find_trees(child, bound, own, seen)


def _flatten(value) -> list:
    if isinstance(value, list | tuple):
        return [leaf for item in value for leaf in _flatten(item)]
    return [value]


def _children_with_their_own_input(estimator) -> set[str]:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble._stacking import _BaseStacking
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Pipeline):
        return {"steps"}
    if isinstance(estimator, _BaseStacking):
        return {"final_estimator_"}
    if isinstance(estimator, ColumnTransformer):
        return {"transformers_"}
    return set()


def _bagged_feature_bounds(estimator, bound: int | None) -> list[int | None] | None:
    """Bagging and isolation forests hand each inner estimator the columns listed in
    estimators_features_: check those lists and bound each estimator by its own list."""
    import numpy as np

    features = getattr(estimator, "estimators_features_", None)
    if features is None:
        return None
    inner = getattr(estimator, "estimators_", None)
    if not isinstance(features, list) or not isinstance(inner, list) or len(features) != len(inner):
        raise ArtifactRefused(
            f"The {type(estimator).__name__} in the skops file lists feature subsets that do "
            "not match its estimators."
        )
    widths = []
    for columns, child in zip(features, inner, strict=True):
        if (
            not isinstance(columns, np.ndarray)
            or columns.ndim != 1
            or columns.dtype.kind not in "iu"
            or columns.size == 0
            or columns.min() < 0
            or (bound is not None and columns.max() >= bound)
        ):
            raise ArtifactRefused(
                f"The {type(estimator).__name__} in the skops file has feature subsets out of "
                "range."
            )
        child_features = getattr(child, "n_features_in_", None)
        if child_features is not None and child_features != columns.size:
            raise ArtifactRefused(
                f"An estimator of the {type(estimator).__name__} in the skops file disagrees "
                "with its feature subset on the feature count."
            )
        widths.append(int(columns.size) if bound is not None else None)
    return widths


def _check_ensemble_shape(estimator, own: int | None) -> None:
    """Ensembles whose inner trees see the ensemble's own input: same width, expected layout."""
    import numpy as np
    from sklearn.ensemble import BaseEnsemble
    from sklearn.ensemble._gb import BaseGradientBoosting
    from sklearn.tree import BaseDecisionTree

    if not isinstance(estimator, BaseEnsemble) or hasattr(estimator, "estimators_features_"):
        return
    inner = getattr(estimator, "estimators_", None)
    if inner is None:
        return
    name = type(estimator).__name__
    if isinstance(estimator, BaseGradientBoosting):
        if not isinstance(inner, np.ndarray) or inner.ndim != 2 or inner.size == 0:
            raise ArtifactRefused(f"The {name} in the skops file has a malformed estimators_.")
        if not all(isinstance(tree, BaseDecisionTree) for tree in inner.ravel()):
            raise ArtifactRefused(f"The {name} in the skops file holds non-tree stages.")
        _check_boosting_width(estimator, inner, own)
        inner = list(inner.ravel())
    for child in inner if isinstance(inner, list) else []:
        child_features = getattr(child, "n_features_in_", None)
        if own is not None and child_features is not None and child_features != own:
            raise ArtifactRefused(
                f"An estimator inside the {name} in the skops file claims {child_features} "
                f"input features; the {name} has {own}."
            )


def _check_boosting_width(estimator, stages, own: int | None) -> None:
    """predict_stages() adds tree k of every stage into column k of the initial predictions
    without bounds checks: that array must have one column per tree of a stage."""
    import numpy as np

    per_stage = stages.shape[1]
    if getattr(estimator, "n_trees_per_iteration_", per_stage) != per_stage:
        raise ArtifactRefused(
            f"The {type(estimator).__name__} in the skops file has {per_stage} trees per stage "
            f"but claims {estimator.n_trees_per_iteration_}."
        )
    if own is None:
        return
    # Computing the initial prediction runs the init estimator, which may hold trees itself:
    # check those first (the walk reaches them again later, harmlessly).
    init = getattr(estimator, "init_", None)
    if init is not None and not isinstance(init, str):
        check_trees(init, own)
    try:
        initial = estimator._raw_predict_init(np.zeros((1, own), dtype=np.float32))
    except Exception as exc:
        raise ArtifactRefused(
            f"The {type(estimator).__name__} in the skops file cannot make its initial "
            f"prediction: {_first_line(exc)}"
        ) from exc
    if initial.ndim != 2 or initial.shape[1] != per_stage:
        raise ArtifactRefused(
            f"The {type(estimator).__name__} in the skops file has {per_stage} trees per stage "
            f"but its initial prediction has {initial.shape[1] if initial.ndim == 2 else 1} "
            "columns."
        )


def validate_tree(tree, bound: int, owner: int | None = None) -> None:
    """Refuse a tree whose arrays would make scikit-learn read or write out of bounds:
    feature indices must lie below `bound` (the narrowest input width on the tree's way down)
    and below the tree's own feature count, which must be its estimator's (`owner`)."""
    import numpy as np

    count = tree.node_count
    left, right = tree.children_left, tree.children_right
    feature, threshold, value = tree.feature, tree.threshold, tree.value
    if count < 1 or any(len(a) != count for a in (left, right, feature, threshold)):
        raise ArtifactRefused("A decision tree in the skops file has inconsistent array sizes.")
    # Gradient boosting reads value[node] through a raw pointer: one entry per node at least.
    if value.ndim != 3 or value.shape[0] != count or 0 in value.shape:
        raise ArtifactRefused("A decision tree in the skops file has inconsistent value arrays.")
    if not _is_count(tree.n_features) or (owner is not None and tree.n_features != owner):
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
    if used.size and (used.min() < 0 or used.max() >= min(bound, tree.n_features)):
        raise ArtifactRefused(
            "A decision tree in the skops file uses feature indices out of range "
            f"(up to {used.max()}; the input has {bound} features)."
        )
    if not np.all(np.isfinite(threshold[internal])):
        raise ArtifactRefused("A decision tree in the skops file has non-finite thresholds.")
    if not np.all(np.isfinite(value)):
        raise ArtifactRefused("A decision tree in the skops file has non-finite leaf values.")


# --- memory ----------------------------------------------------------------------------------


def _measured(load: Callable[[], Any]) -> tuple[Any, int, int]:
    """Run `load` and return (its result, the peak resident memory it added, this process's
    peak over the whole check), in bytes. Linux lets a process reset its high-water mark, so
    the load is measured on its own; elsewhere the whole check's peak counts (never less)."""
    peak_before = _status_bytes("VmHWM")
    if _reset_peak():
        baseline = _status_bytes("VmRSS")
    else:
        baseline = _status_bytes("VmRSS") if peak_before is None else peak_before
    result = load()
    peak_after = _status_bytes("VmHWM")
    if peak_after is None or baseline is None:  # no /proc: the rusage peak, all of it
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return result, peak, peak
    return result, max(peak_after - baseline, 0), max(peak_after, peak_before or 0)


def _status_bytes(field: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")  # 5: reset the peak resident set size to the current one
    except OSError:
        return False
    return True


def _refuse_over_limit(loaded: int, limit: int) -> None:
    if limit and loaded > limit:
        raise ArtifactRefused(
            f"Loading the model takes {loaded / 1024**2:,.0f} MiB of memory, over the limit of "
            f"{limit / 1024**2:,.0f} MiB for a loaded model (SAMHUB_MODEL_MAX_LOADED_BYTES)."
        )


def check(path: str, filename: str, max_loaded_bytes: int) -> dict:
    """The verdict on the file, as the child answers it."""
    try:
        return {"ok": True, **inspect_artifact(path, filename, max_loaded_bytes=max_loaded_bytes)}
    except ArtifactRefused as exc:
        return {"ok": False, "error": str(exc)}
