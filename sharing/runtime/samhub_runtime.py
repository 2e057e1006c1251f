"""SAM Hub model runtime: load a model file and predict the way SAM Hub's inference API does.

One file, shipped unchanged inside every SDK wheel (as `_runtime.py`) and every mirror bundle
(as `samhub_runtime.py`), so that they answer as SAM Hub does. It needs the standard library,
numpy and onnxruntime (ONNX) or scikit-learn + skops (skops); nothing of Django.

    model = load("model.onnx", format="onnx", signature=signature, sha256=sha256)
    model.predict({"X": [[9, 2, 120.5, 61.0, 250.0, 0.3]]})  # -> {"variable": [[63.1]]}

Inputs are `{"<input name>": nested list}` whose leading dimension is the batch; outputs are
`{"<output name>": list}` named exactly as in the version's signature: ONNX outputs by their
graph names; scikit-learn classifiers answer "label" (predict) and "probabilities"
(predict_proba), regressors "variable" (predict).
"""

import hashlib
import math
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import chain
from typing import Any, Protocol

import numpy as np

# skops flags the tree structure (and the Bunch that stacking ensembles keep their estimators
# in) as untrusted; registry.artifact_inspection validated every tree's arrays at upload, and
# load_model() only runs bytes whose sha256 is the uploaded one.
TRUSTED_AFTER_CHECKS = frozenset({"sklearn.tree._tree.Tree", "sklearn.utils._bunch.Bunch"})
NUMERIC_KINDS = "iuf"
# SAM Hub models keep every tensor inside the file (the checker refuses external data). Made
# from bytes, a session would look for external data under the working directory of the
# process; pointing onnxruntime at a folder that does not exist makes any such file fail.
NO_EXTERNAL_DATA_FOLDER = "/nonexistent/samhub-models-have-no-external-data"


class InvalidInput(ValueError):
    """The inputs do not match the model's signature; the message says what was expected."""

    def __init__(self, message: str, *, input_name: str = "", count: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.input_name = input_name
        self.count = count


class ModelFailure(RuntimeError):
    """The model could not be loaded or failed while predicting."""


# --- inputs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: np.dtype | None  # None: not a tensor (sequence or map), not callable over JSON
    shape: tuple | None  # None: rank unknown; a dim is an int (fixed) or None/str (dynamic)
    type_name: str

    @classmethod
    def from_signature(cls, entry: dict) -> "TensorSpec":
        type_name = str(entry.get("type", ""))
        try:
            dtype = np.dtype(type_name)
        except TypeError:
            dtype = None
        shape = entry.get("shape")
        return cls(entry["name"], dtype, None if shape is None else tuple(shape), type_name)

    @property
    def batch_is_dynamic(self) -> bool:
        return bool(self.shape) and not _is_fixed(self.shape[0])

    def describe_shape(self) -> str:
        if self.shape is None:
            return "any shape"
        dims = [
            str(dim) if _is_fixed(dim) else (dim or ("batch" if i == 0 else "any"))
            for i, dim in enumerate(self.shape)
        ]
        return f"[{', '.join(dims)}]"

    def describe_elements(self) -> str:
        if self.dtype is None:
            return self.type_name
        return {
            "f": f"numbers ({self.type_name})",
            "i": f"integers ({self.type_name})",
            "u": f"non-negative integers ({self.type_name})",
            "b": "true/false values (bool)",
        }.get(self.dtype.kind, "strings")


@dataclass(frozen=True)
class PreparedInputs:
    arrays: dict[str, np.ndarray]
    count: int  # instances in the call: the leading (batch) dimension


def _is_fixed(dim) -> bool:
    return isinstance(dim, int) and not isinstance(dim, bool) and dim > 0


def input_specs(signature: dict) -> list[TensorSpec]:
    return [TensorSpec.from_signature(entry) for entry in signature.get("inputs", [])]


def output_names(signature: dict, wanted: list[str] | None = None) -> list[str]:
    """The signature's output names, or the `wanted` subset of them (in the order asked)."""
    names = [entry["name"] for entry in signature.get("outputs", [])]
    if wanted is None:
        return names
    unknown = [name for name in wanted if name not in names]
    if unknown:
        raise InvalidInput(
            f"Unknown output {', '.join(map(repr, unknown))}; the model's outputs are "
            f"{', '.join(map(repr, names))}."
        )
    return list(dict.fromkeys(wanted))


def prepare_inputs(signature: dict, inputs: Any, *, max_batch: int) -> PreparedInputs:
    """Check `{"<input name>": <nested list>}` against the signature and convert each input to
    an array of its dtype. The leading dimension is the batch; an input whose batch dimension
    is dynamic may also be given as one instance without it."""
    specs = input_specs(signature)
    if not isinstance(inputs, dict):
        raise InvalidInput('Send "inputs" as an object mapping each input name to a nested list.')
    known = {spec.name for spec in specs}
    unknown = sorted(set(inputs) - known)
    if unknown:
        raise InvalidInput(
            f"Unknown input {', '.join(map(repr, unknown))}; the model's inputs are "
            f"{', '.join(map(repr, sorted(known)))}.",
            input_name=unknown[0],
        )
    arrays, count, first = {}, None, ""
    for spec in specs:
        if spec.name not in inputs:
            raise InvalidInput(
                f"Missing input {spec.name!r}: expected {spec.describe_elements()} of shape "
                f"{spec.describe_shape()}.",
                input_name=spec.name,
            )
        array, batch = _batched(spec, _to_array(spec, inputs[spec.name]), max_batch)
        if count is not None and batch != count:
            raise InvalidInput(
                f"Input {spec.name!r} has {batch} instances but input {first!r} has {count}; "
                "every input needs one entry per instance.",
                input_name=spec.name,
                count=count,
            )
        arrays[spec.name], count, first = array, batch, first or spec.name
    return PreparedInputs(arrays, count or 0)


def _to_array(spec: TensorSpec, value: Any) -> np.ndarray:
    name, dtype = spec.name, spec.dtype
    if dtype is None:
        raise InvalidInput(
            f"Input {name!r} is a {spec.type_name}, which the inference API cannot feed; "
            "only tensors are supported.",
            input_name=name,
        )
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        raise InvalidInput(
            f"Input {name!r}: {_ragged_detail(value)}; expected shape {spec.describe_shape()}.",
            input_name=name,
            count=_leading_length(value),
        ) from None
    kind = array.dtype.kind
    if dtype.kind in NUMERIC_KINDS:
        # JSON true/false are Python bools, which numpy would quietly turn into 1 and 0.
        if kind not in NUMERIC_KINDS or _contains_bool(value, array.ndim):
            raise _element_error(spec, value, array)
        if dtype.kind in "iu":
            return _integers(spec, array).astype(dtype, copy=False)
        return _floats(spec, array)
    if dtype.kind == "b":
        if kind != "b":
            raise _element_error(spec, value, array)
        return array
    if kind != "U":  # string tensors: ONNX STRING maps to numpy object
        raise _element_error(spec, value, array)
    return array.astype(object)


def _floats(spec: TensorSpec, array: np.ndarray) -> np.ndarray:
    """The array in the input's float type, every value finite. Checked after the cast: a
    finite number can overflow a narrower type (3.5e38 is infinity in float32)."""
    if array.dtype.itemsize > spec.dtype.itemsize:
        with np.errstate(over="ignore"):  # overflow is checked just below, and named
            cast = array.astype(spec.dtype)
    else:
        cast = array.astype(spec.dtype, copy=False)
    if not np.isfinite(cast).all():
        raise _not_finite(spec, array, cast)
    return cast


def _not_finite(spec: TensorSpec, sent: np.ndarray, cast: np.ndarray) -> InvalidInput:
    """Name the first value that is not finite once cast, with its position."""
    position = tuple(int(i) for i in np.argwhere(~np.isfinite(cast))[0])
    where = spec.name + "".join(f"[{i}]" for i in position)
    value = sent[position].item()
    if isinstance(value, float) and not math.isfinite(value):
        message = f"Input {spec.name!r}: NaN and infinity are not accepted, got {value} at {where}."
    else:
        largest = float(np.finfo(spec.dtype).max)
        message = (
            f"Input {spec.name!r}: {value} at {where} is out of the range of "
            f"{spec.type_name} (largest magnitude {largest:.8g})."
        )
    return InvalidInput(message, input_name=spec.name, count=sent.shape[0] if sent.ndim else 0)


def _integers(spec: TensorSpec, array: np.ndarray) -> np.ndarray:
    if array.dtype.kind == "f" and not (
        np.isfinite(array).all() and (array == np.trunc(array)).all()
    ):
        raise InvalidInput(
            f"Input {spec.name!r}: expected {spec.describe_elements()}, got numbers with a "
            "fractional part.",
            input_name=spec.name,
        )
    info = np.iinfo(spec.dtype)
    if array.size and (array.min() < info.min or array.max() > info.max):
        raise InvalidInput(
            f"Input {spec.name!r}: values must lie between {info.min} and {info.max} "
            f"({spec.type_name}).",
            input_name=spec.name,
        )
    return array


def _batched(spec: TensorSpec, array: np.ndarray, max_batch: int) -> tuple[np.ndarray, int]:
    """The array with its batch dimension, and the batch size, after checking the shape."""
    got = list(array.shape)
    if got[:1] == [0]:
        raise InvalidInput(
            f"Input {spec.name!r}: the batch is empty; send at least one instance.",
            input_name=spec.name,
        )
    if spec.shape is not None:
        if spec.batch_is_dynamic and array.ndim == len(spec.shape) - 1:
            array = array.reshape(1, *array.shape)  # one instance without the batch dimension
        expected = spec.shape
        matches = array.ndim == len(expected) and all(
            not _is_fixed(want) or want == have
            for want, have in zip(expected, array.shape, strict=True)
        )
        if not matches:
            raise InvalidInput(
                f"Input {spec.name!r}: expected shape {spec.describe_shape()}, got {got}.",
                input_name=spec.name,
                count=got[0] if got else 0,
            )
    if array.ndim == 0:
        raise InvalidInput(
            f"Input {spec.name!r}: expected a list of instances, got a single value.",
            input_name=spec.name,
        )
    batch = array.shape[0]
    if batch > max_batch:
        raise InvalidInput(
            f"Input {spec.name!r}: {batch} instances is over the limit of {max_batch} per call; "
            "split the batch.",
            input_name=spec.name,
            count=batch,
        )
    return array, batch


def _contains_bool(value: Any, ndim: int) -> bool:
    if ndim == 0:
        return type(value) is bool
    items: Iterable = value
    for _ in range(ndim - 1):
        items = chain.from_iterable(items)
    return bool in set(map(type, items))


def _leading_length(value: Any) -> int:
    return len(value) if isinstance(value, list) else 0


def _element_error(spec: TensorSpec, value: Any, array: np.ndarray) -> InvalidInput:
    """Name the first element that is not of the expected type, with its position."""
    expected = spec.describe_elements()
    want = spec.dtype.kind
    for position, item in _leaves(value, ()):
        if want in NUMERIC_KINDS:
            bad = isinstance(item, bool) or not isinstance(item, int | float)
        elif want == "b":
            bad = not isinstance(item, bool)
        else:
            bad = not isinstance(item, str)
        if bad or (isinstance(item, int) and not isinstance(item, bool) and _too_big(item)):
            where = "".join(f"[{i}]" for i in position)
            return InvalidInput(
                f"Input {spec.name!r}: expected {expected}, got {_json_kind(item)} "
                f"at {spec.name}{where}.",
                input_name=spec.name,
                count=_leading_length(value),
            )
    return InvalidInput(
        f"Input {spec.name!r}: expected {expected}, got {array.dtype.name} values.",
        input_name=spec.name,
        count=_leading_length(value),
    )


def _leaves(value: Any, position: tuple):
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _leaves(item, (*position, i))
    else:
        yield position, value


def _too_big(number: int) -> bool:
    return not (-(2**63) <= number < 2**64)


def _json_kind(item: Any) -> str:
    if item is None:
        return "null"
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, str):
        return f"the string {item[:40]!r}"
    if isinstance(item, int) and _too_big(item):
        return f"the integer {item}, which is too large"
    if isinstance(item, int | float):
        return f"the number {item}"
    if isinstance(item, dict):
        return "an object"
    return f"a {type(item).__name__}"


def _ragged_detail(value: Any) -> str:
    """Say where nested lists stop being rectangular (only called on the error path)."""
    level = [((), value)]
    while level:
        lengths = {}
        for position, item in level:
            lengths[position] = len(item) if isinstance(item, list) else None
        if len(set(lengths.values())) > 1:
            (first_pos, first_len), *_ = lengths.items()
            for position, length in lengths.items():
                if length != first_len:
                    return (
                        f"the nested lists are ragged: {_where(position)} "
                        f"{_length_text(length)} but {_where(first_pos)} {_length_text(first_len)}"
                    )
        level = [
            ((*position, i), child)
            for position, item in level
            if isinstance(item, list)
            for i, child in enumerate(item)
        ]
    return "the nested lists are ragged or hold objects"


def _where(position: tuple) -> str:
    return "instance " + "".join(f"[{i}]" for i in position) if position else "the input"


def _length_text(length: int | None) -> str:
    return "is a single value" if length is None else f"has {length} entries"


# --- models ----------------------------------------------------------------------------------


class LoadedModel(Protocol):
    def predict(self, arrays: dict[str, np.ndarray], outputs: list[str]) -> dict[str, Any]: ...


class OnnxModel:
    """An onnxruntime session on the CPU; `run` is safe to call from several threads."""

    def __init__(self, content: bytes, *, threads: int = 1) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        # Small models answer fastest on the calling thread: a pool costs more to wake than the
        # graph takes to run (demo forest, 2 CPUs: 5 us per row either way, and 1.3 ms for
        # 1000 rows on one thread against 2.6 ms with the default pool).
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.add_session_config_entry(
            "session.model_external_initializers_file_folder_path", NO_EXTERNAL_DATA_FOLDER
        )
        self.session = ort.InferenceSession(
            content, sess_options=options, providers=["CPUExecutionProvider"]
        )

    def predict(self, arrays: dict[str, np.ndarray], outputs: list[str]) -> dict[str, Any]:
        from onnxruntime.capi.onnxruntime_pybind11_state import InvalidArgument

        try:
            results = self.session.run(outputs, arrays)
        except InvalidArgument as exc:
            # Shapes the signature leaves open (unknown rank) are checked by the graph itself.
            raise InvalidInput(f"The model refused the inputs: {exc}") from exc
        return {name: to_json(value) for name, value in zip(outputs, results, strict=True)}


class SkopsModel:
    """A scikit-learn estimator: `label`/`variable` from predict(), `probabilities` from
    predict_proba(), as registry.artifact_inspection names them in the signature."""

    METHODS = {"label": "predict", "variable": "predict", "probabilities": "predict_proba"}

    def __init__(self, content: bytes) -> None:
        import skops.io as sio

        untrusted = sio.get_untrusted_types(data=content)
        refused = sorted(set(untrusted) - TRUSTED_AFTER_CHECKS)
        if refused:
            raise ModelFailure(f"The skops file holds untrusted types: {', '.join(refused)}.")
        self.estimator = sio.loads(content, trusted=untrusted)

    def predict(self, arrays: dict[str, np.ndarray], outputs: list[str]) -> dict[str, Any]:
        import sklearn

        (features,) = arrays.values()
        answers: dict[str, Any] = {}
        # prepare_inputs() refused NaN and infinity already; skipping scikit-learn's own scan
        # saves about a tenth of a single-row call.
        with sklearn.config_context(assume_finite=True):
            for name in outputs:
                method = self.METHODS.get(name)
                if method is None:
                    raise ModelFailure(f"The signature names an output {name!r} skops cannot make.")
                answers[name] = to_json(getattr(self.estimator, method)(features))
        return answers


def load_model(artifact_format: str, content: bytes, *, threads: int = 1) -> LoadedModel:
    if artifact_format == "onnx":
        return OnnxModel(content, threads=threads)
    if artifact_format == "skops":
        return SkopsModel(content)
    raise ModelFailure(f"SAM Hub cannot run models in the {artifact_format!r} format.")


def to_json(value: Any) -> Any:
    """Arrays, numpy scalars, and ONNX sequences of maps as plain JSON values; NaN and infinity
    (which JSON cannot carry) become null."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            value = np.where(np.isfinite(value), value, None)
        return value.tolist()
    if isinstance(value, dict):
        return {str(to_json(k)): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# --- a model file with its signature (what the SDK and the bundle use) ---------------------

# Most instances per call when the caller sets no limit (SAM Hub's API has its own).
UNLIMITED = sys.maxsize


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


class Runtime:
    """A loaded model and its signature: validate, predict, name the outputs."""

    def __init__(self, model: LoadedModel, signature: dict) -> None:
        self.model = model
        self.signature = signature

    def prepare(self, inputs: Any, *, max_batch: int = UNLIMITED) -> PreparedInputs:
        return prepare_inputs(self.signature, inputs, max_batch=max_batch)

    def run(self, prepared: PreparedInputs, *, outputs: list[str] | None = None) -> dict[str, Any]:
        """Predict the outputs asked for (all of the signature's by default)."""
        names = output_names(self.signature, outputs)
        try:
            return self.model.predict(prepared.arrays, names)
        except InvalidInput as exc:
            exc.count = exc.count or prepared.count
            raise
        except ModelFailure:
            raise
        except Exception as exc:
            raise ModelFailure(f"The model failed: {type(exc).__name__}: {exc}") from exc

    def predict(
        self, inputs: Any, *, outputs: list[str] | None = None, max_batch: int = UNLIMITED
    ) -> dict[str, Any]:
        return self.run(self.prepare(inputs, max_batch=max_batch), outputs=outputs)


def load(path: str, *, format: str, signature: dict, sha256: str, threads: int = 1) -> Runtime:
    """Load a model file after checking it is the one SAM Hub validated (by its sha256)."""
    with open(path, "rb") as f:
        content = f.read()
    actual = hashlib.sha256(content).hexdigest()
    if actual != sha256:
        raise ModelFailure(
            f"{path} has sha256 {actual}, not {sha256}: it is not the file SAM Hub validated."
        )
    return Runtime(load_model(format, content, threads=threads), signature)
