"""A strict check of API answers against an OpenAPI document, as a strictly typed client generated
from it reads them: every `required` field present, every enum value known, `format`s checked
(`date-time`, `uuid`, `int64`, ...), `nullable` as OpenAPI 3.0 means it (no `null` unless the
schema says so), objects closed (a field the document does not name is an error, which also
catches a misspelled optional field), the status code documented and the media type the
documented one."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.requirements import missing

REFERENCE = Path(  # beside the checkout; a git worktree elsewhere names it (SYNCD_REFERENCE_SPEC)
    os.environ.get("SYNCD_REFERENCE_SPEC")
    or Path(__file__).resolve().parents[2]
    / "shared"
    / "reference"
    / "mittwald-container-openapi.json"
)
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


def reference() -> dict[str, Any]:
    """mittwald's spec (the routes syncd mirrors and every schema they use)."""
    if not REFERENCE.is_file():
        missing(f"the reference spec {REFERENCE} is missing")
    spec: dict[str, Any] = json.loads(REFERENCE.read_text())
    return spec


def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not RFC3339.match(value):
        raise ValueError(f"{value!r} is not an RFC 3339 date-time")
    dt.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))  # a real date and time
    return True


def _uuid(value: object) -> bool:
    if isinstance(value, str) and str(uuid.UUID(value)) != value.lower():
        raise ValueError(f"{value!r} is not a uuid in its canonical 8-4-4-4-12 form")
    return True


def _int32(value: object) -> bool:
    return not isinstance(value, int) or -(2**31) <= value < 2**31


def _int64(value: object) -> bool:
    return not isinstance(value, int) or -(2**63) <= value < 2**63


def _hostname(value: object) -> bool:
    return not isinstance(value, str) or bool(HOSTNAME.match(value))


def _email(value: object) -> bool:
    return not isinstance(value, str) or re.fullmatch(r"[^@\s]+@[^@\s]+", value) is not None


FORMATS = jsonschema.FormatChecker(formats=())
FORMATS.checkers = {
    "date-time": (_date_time, ValueError),
    "uuid": (_uuid, ValueError),
    "int32": (_int32, ()),
    "int64": (_int64, ()),
    "hostname": (_hostname, ()),
    "email": (_email, ()),
}


def _json_schema(node: Any, *, openapi30: bool) -> Any:
    """An OpenAPI schema as JSON Schema 2020-12, closed: `nullable` (3.0) becomes a `null`
    alternative, a `$ref`'s siblings are dropped (3.0 ignores them), and an object schema that
    names its properties and says nothing of others allows no others."""
    if isinstance(node, list):
        return [_json_schema(n, openapi30=openapi30) for n in node]
    if not isinstance(node, dict):
        return node
    if openapi30 and "$ref" in node:
        return {"$ref": node["$ref"]}
    out = {k: _json_schema(v, openapi30=openapi30) for k, v in node.items()}
    if "properties" in out and "additionalProperties" not in out and "allOf" not in out:
        out["additionalProperties"] = False
    if out.pop("nullable", False) is True:
        out = {"anyOf": [out, {"type": "null"}]}
    return out


class Conformance:
    """Validates real answers against the response schemas of one OpenAPI document."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        openapi30 = str(spec.get("openapi", "")).startswith("3.0")
        self._components = _json_schema(
            copy.deepcopy(spec.get("components", {})), openapi30=openapi30
        )
        self._openapi30 = openapi30
        resource = Resource.from_contents(
            {"components": self._components}, default_specification=DRAFT202012
        )
        self._registry: Registry[Any] = Registry().with_resource("urn:spec", resource)

    def routes(self) -> set[tuple[str, str]]:
        """Every (path, method) of the document."""
        methods = {"get", "put", "post", "patch", "delete"}
        return {(p, m) for p, ops in self.spec["paths"].items() for m in ops if m in methods}

    def template_of(self, path: str, method: str) -> str | None:
        """This document's path for another document's `path` (same method): equal, or with a
        path parameter here whose enum holds the other's literal segment (`{action}` ~ `stop`)."""
        paths = self.spec["paths"]
        if method in paths.get(path, {}):
            return path
        want = path.split("/")
        for candidate, operations in paths.items():
            have = candidate.split("/")
            if method not in operations or len(have) != len(want):
                continue
            enums = {
                p["name"]: p.get("schema", {}).get("enum") or []
                for p in operations[method].get("parameters", [])
                if p.get("in") == "path"
            }
            if all(
                h == w or (h.startswith("{") and (w.startswith("{") or w in enums.get(h[1:-1], [])))
                for h, w in zip(have, want, strict=True)
            ):
                return str(candidate)
        return None

    def response(self, path: str, method: str, status: int) -> dict[str, Any]:
        """The documented response (`default` when the status has none of its own)."""
        responses = self.spec["paths"][path][method]["responses"]
        response = responses.get(str(status)) or responses.get("default")
        assert response is not None, f"{method.upper()} {path}: {status} is not documented"
        if "$ref" in response:
            response = self.spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
        found: dict[str, Any] = response
        return found

    def validator(self, schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
        converted = _json_schema(copy.deepcopy(schema), openapi30=self._openapi30)
        converted = _rebase(converted)
        return jsonschema.Draft202012Validator(
            converted, registry=self._registry, format_checker=FORMATS
        )

    def errors(self, schema: dict[str, Any], body: Any) -> list[str]:
        """Every violation of `body` against `schema`, as `path: message` lines."""
        found = self.validator(schema).iter_errors(body)
        return [f"{'/'.join(map(str, e.absolute_path)) or '.'}: {e.message}" for e in found]

    def check(self, path: str, method: str, answer: httpx.Response) -> None:
        """The answer's status, media type and body, as the document describes them."""
        what = f"{method.upper()} {path} -> {answer.status_code} ({answer.request.url})"
        content = self.response(path, method, answer.status_code).get("content")
        if not content:
            assert answer.content == b"", f"{what}: a body where the document has none"
            return
        media = answer.headers.get("content-type", "").split(";")[0].strip()
        assert media in content, f"{what}: {media!r} is not one of {sorted(content)}"
        body = answer.text if media.startswith("text/") else answer.json()
        problems = self.errors(content[media]["schema"], body)
        assert not problems, f"{what}:\n" + "\n".join(problems)


def _rebase(node: Any) -> Any:
    """Local `#/components/...` references point into the registered document."""
    if isinstance(node, list):
        return [_rebase(n) for n in node]
    if isinstance(node, dict):
        return {
            k: (f"urn:spec{v}" if k == "$ref" and v.startswith("#/") else _rebase(v))
            for k, v in node.items()
        }
    return node
