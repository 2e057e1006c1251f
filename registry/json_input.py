"""JSON from people and systems outside SAM Hub, parsed with its nesting bounded first.

Python's json module recurses once per nesting level, so a body of a few thousand `[` raises
RecursionError (an HTML 500) or worse. loads() measures the depth without recursion before
parsing and refuses NaN and infinity, which JSON does not have. The REST API's parser
(registry.api.parsers), the inference hot path and the portal's JSON fields all use it.
"""

import json
import re
from typing import Any

# Deep enough for any tensor numpy can hold (64 dimensions) inside an API body; far below the
# recursion limit of the parser and of everything that walks the parsed value afterwards.
MAX_DEPTH = 64

# A JSON string, escapes included, or an unterminated one running to the end. Possessive, so
# every attempt matches at once and the scan stays linear whatever the input.
_STRING = re.compile(rb'"(?:[^"\\]++|\\[\s\S]?)*+(?:"|\Z)')
_NOT_A_BRACKET = bytes(set(range(256)) - set(b"[]{}"))
_AS_PARENTHESES = bytes.maketrans(b"[]{}", b"()()")


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
    """Whether the brackets outside strings nest more than `limit` deep, counted without
    recursion; unbalanced brackets count as open, as the parser would descend into them."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False  # the common case, in two C-speed counts: too few brackets to nest deeper
    brackets = _STRING.sub(b"", raw).translate(_AS_PARENTHESES, _NOT_A_BRACKET)
    # Each round removes every innermost pair, so the rounds count the nesting; what is left
    # unmatched can only be opened deeper still.
    rounds = 0
    while brackets:
        reduced = brackets.replace(b"()", b"")
        if len(reduced) == len(brackets):
            break
        brackets, rounds = reduced, rounds + 1
        if rounds > limit:
            return True
    return rounds + brackets.count(b"(") > limit
