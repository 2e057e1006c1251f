"""The REST API's JSON parser: DRF's, with the nesting bounded before parsing and plain
messages (registry.json_input)."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from registry import json_input


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        raw = stream.read()
        try:
            if encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
                raw = raw.decode(encoding)
            return json_input.loads(raw)
        except UnicodeDecodeError:
            raise ParseError(f"The body is not {encoding} text.") from None
        except json_input.InvalidJSON as exc:
            raise ParseError(exc.message) from None
