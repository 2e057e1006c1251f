"""A SAM Hub model as a Python module (ETSI ENI SAM clause 6.1, module embedded reference).

    import samhub_<model> as model
    model.predict({"<input name>": [[...], ...]})  # -> {"<output name>": [...]}

`predict` answers exactly as SAM Hub's inference API does for the same inputs; `signature`
describes the inputs and outputs, `metadata` the model (name, version, organisation, licence,
sha256 of the model file). The model file ships inside the package; nothing is downloaded.
"""

import json
from functools import cache
from importlib import resources

from . import _runtime

InvalidInput = _runtime.InvalidInput
_FILES = resources.files(__name__)
metadata: dict = json.loads((_FILES / "metadata.json").read_text(encoding="utf-8"))
signature: dict = metadata["signature"]
__version__: str = metadata["packageVersion"]


@cache
def _model() -> _runtime.Runtime:
    # Loaded on first use; the runtime checks the file's sha256 before loading it.
    with resources.as_file(_FILES / metadata["modelFile"]) as path:
        return _runtime.load(
            str(path), format=metadata["format"], signature=signature, sha256=metadata["sha256"]
        )


def predict(inputs: dict) -> dict:
    """Predict a batch: `{"<input name>": rows}` -> `{"<output name>": one value per row}`.

    Inputs and outputs are named and shaped as in `signature`; a wrong name, shape or type
    raises InvalidInput with a message saying what to fix.
    """
    return _model().predict(inputs)
