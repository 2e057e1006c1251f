"""Validate JSON against the official 3GPP OpenAPI files in tests/specs/3gpp, with `$ref`s
resolved across the files by `referencing` (no schema is copied into the tests).

    contract = OpenApiContract("TS29520_Nnwdaf_MLModelMonitor.yaml")
    contract.request("/subscriptions", "post", body)
    contract.response("/subscriptions", "post", 201, body, content_type)
    contract.callback("/subscriptions", "post", "myNotification", body)
    contract.schema("MLModelMonitorNotify").validate(body)

A `$ref` into a file that is not in the folder raises referencing's Unresolvable, naming it,
unless the contract is given a stand-in for it (`stand_ins`).
"""

from functools import cache
from pathlib import Path

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT202012

SPECS = Path(__file__).resolve().parent / "specs" / "3gpp"


@cache
def _document(name: str) -> dict:
    return yaml.safe_load((SPECS / name).read_text())


def _retrieve(uri: str) -> Resource:
    name = uri.removeprefix("file://").rsplit("/", 1)[-1]
    if not (SPECS / name).is_file():
        raise NoSuchResource(ref=uri)
    return Resource.from_contents(_document(name), default_specification=DRAFT202012)


def _uri(name: str) -> str:
    return f"file://{SPECS}/{name}"


class OpenApiContract:
    """`stand_ins`: for a file that is not in the folder, the schemas it would give, by name
    ({"TS29508_Nsmf_EventExposure.yaml": {"NotificationMethod": {...}}}); each use says why
    its stand-in decides as the real file would."""

    def __init__(self, name: str, *, stand_ins: dict[str, dict] | None = None) -> None:
        self.name = name
        self.registry = Registry(retrieve=_retrieve).with_resources(
            (
                _uri(absent),
                Resource.from_contents(
                    {"components": {"schemas": schemas}}, default_specification=DRAFT202012
                ),
            )
            for absent, schemas in (stand_ins or {}).items()
        )

    def _validator(self, ref: str) -> jsonschema.Draft202012Validator:
        return jsonschema.Draft202012Validator(
            {"$ref": ref},
            registry=self.registry,
            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
        )

    def _resolve(self, node: dict, base: str) -> tuple[dict, str]:
        """Follow a `$ref` of an OpenAPI object (a response, a schema) to its target."""
        while "$ref" in node:
            resolved = self.registry.resolver(base).lookup(node["$ref"])
            node = resolved.contents
            base = resolved.resolver._base_uri
        return node, base

    def schema(self, component: str) -> jsonschema.Draft202012Validator:
        return self._validator(f"{_uri(self.name)}#/components/schemas/{component}")

    def _operation(self, path: str, method: str) -> dict:
        return _document(self.name)["paths"][path][method]

    def _content_validator(self, content: dict, base: str, media_type: str):
        assert media_type in content, f"{media_type} is not among {sorted(content)}"
        schema = content[media_type]["schema"]
        if "$ref" in schema:
            ref = schema["$ref"]
            target = self.registry.resolver(base).lookup(ref)
            return jsonschema.Draft202012Validator(
                target.contents,
                registry=self.registry,
                format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
                _resolver=target.resolver,
            )
        return jsonschema.Draft202012Validator(schema, registry=self.registry)

    def request(self, path: str, method: str, body) -> None:
        operation = self._operation(path, method)
        validator = self._content_validator(
            operation["requestBody"]["content"], _uri(self.name), "application/json"
        )
        validator.validate(body)

    def response(self, path: str, method: str, status: int, body, content_type: str) -> None:
        responses = self._operation(path, method)["responses"]
        assert str(status) in responses, f"{status} is not an answer of {method.upper()} {path}"
        response, base = self._resolve(responses[str(status)], _uri(self.name))
        if "content" not in response:
            assert body in (None, b"", ""), f"{status} has no body in the YAML, got {body!r}"
            return
        media_type = content_type.split(";")[0].strip()
        self._content_validator(response["content"], base, media_type).validate(body)

    def callback(self, path: str, method: str, name: str, body) -> None:
        callbacks = self._operation(path, method)["callbacks"][name]
        (expression,) = callbacks.values()
        content = expression["post"]["requestBody"]["content"]
        self._content_validator(content, _uri(self.name), "application/json").validate(body)
