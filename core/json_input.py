"""JSON from people and systems outside SAM Hub, parsed with its nesting bounded first.

Python's json module recurses once per nesting level, so a body of a few thousand `[` raises
RecursionError (an HTML 500) or worse. loads() measures the depth without recursion before
parsing and refuses NaN and infinity, which JSON does not have. The REST API's parser
(core.api.parsers), the inference hot path and the portal's JSON fields all use it.
"""

import json
from typing import Any

import numpy as np

# Deep enough for any tensor numpy can hold (64 dimensions) inside an API body; far below the
# recursion limit of the parser and of everything that walks the parsed value afterwards.
MAX_DEPTH = 64

# What _deeper_than() keeps of a body: an opening bracket as 1, a closing one as 2, a quote.
_OPEN, _CLOSE, _QUOTE = b"\x01", b"\x02", b'"'
_MARKS = bytes.maketrans(b"[{]}", _OPEN * 2 + _CLOSE * 2)
_UNMARKED = bytes(set(range(256)) - set(b'[]{}"'))
_STEPS = np.zeros(256, dtype=np.int32)
_STEPS[ord(_OPEN)], _STEPS[ord(_CLOSE)] = 1, -1


class InvalidJSON(ValueError):
    """The text is not JSON SAM Hub accepts; the message says why, in plain words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def loads(data: bytes | str, *, what: str = "The body") -> Any:
    """Parse UTF-8 JSON (bytes or text) whose nesting is at most MAX_DEPTH and that holds no
    NaN or infinity; InvalidJSON otherwise. `what` names the text in messages."""
    if isinstance(data, bytes):
        raw = data
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidJSON(f"{what} is not UTF-8 text.") from None
    else:
        raw, text = data.encode("utf-8", "surrogatepass"), data
    if _deeper_than(raw, MAX_DEPTH):
        raise InvalidJSON(
            f"{what} nests lists and objects more than {MAX_DEPTH} levels deep; SAM Hub "
            "does not read it."
        )
    try:
        return json.loads(text, parse_constant=_refuse_constant(what))
    except json.JSONDecodeError as exc:
        raise InvalidJSON(
            f"{what} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from None


def _refuse_constant(what: str):
    def refuse(name: str):
        raise InvalidJSON(
            f"{what} holds {name}, which is not a JSON number; send finite numbers only."
        )

    return refuse


def _deeper_than(raw: bytes, limit: int) -> bool:
    """Whether the brackets outside strings nest more than `limit` deep, measured without
    recursion in C-speed passes, each linear in the size. The parser's depth at any point,
    up to where it fails, is at most the running count of openers minus closers."""
    if b"\\" in raw:
        # Escaped backslashes, then escaped quotes, go first, so that every quote left opens
        # or closes a string.
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    marks = raw.translate(_MARKS, _UNMARKED)  # the brackets and quotes only, in order
    if marks.count(_OPEN) <= limit:
        return False  # the common case: too few brackets to nest deeper, wherever they are
    codes = np.frombuffer(marks, dtype=np.uint8)
    in_string = np.cumsum(codes == ord(_QUOTE), dtype=np.int32) & 1  # after an odd count
    steps = _STEPS[codes] * (1 - in_string)  # +1 per opener, -1 per closer, outside strings
    return int(np.cumsum(steps, dtype=np.int32).max(initial=0)) > limit
