"""The REST API's JSON parser: DRF's, with the nesting bounded before parsing and plain
messages (core.json_input)."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from core import json_input


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        # JSON between systems is UTF-8 (RFC 8259 §8.1); no other charset is decoded, so no
        # codec can expand a body after its size was checked.
        charset = (parser_context or {}).get("encoding") or "utf-8"
        if charset.lower().replace("_", "-") not in ("utf-8", "utf8"):
            raise ParseError(f"Send JSON as UTF-8, not {charset}.")
        try:
            return json_input.loads(stream.read())
        except json_input.InvalidJSON as exc:
            raise ParseError(exc.message) from None
