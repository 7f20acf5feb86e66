"""From YAML documents to typed manifests, with every problem placed at file:line:col.

Pure: takes `Document`s (already read and positioned by `yamlsafe`) and an environment for
interpolation; returns `Located` manifests and `Problem`s.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from syncd.manifests.interpolate import interpolate
from syncd.manifests.model import MODELS, Kind, Registry, Stack, StackPatch
from syncd.manifests.yamlsafe import Document, Path, PathPart, overlaps, pointer
from syncd.problems import Problem
from syncd.taint import scrub

M = TypeVar("M", Stack, StackPatch, Registry)
# Names that become ids, container names and labels everywhere: never from the environment.
IDENTITY = frozenset({"project", "name", "stack"})
# The parts of a StackPatch op that name places (keys), never values: not from the environment.
PATCH_NAMES = frozenset({"op", "path", "from"})
# A service's fields whose items name another object of the stack.
REFERENCES = frozenset({"dependsOn", "networks", "secrets", "configs"})


@dataclass(frozen=True)
class Located(Generic[M]):
    """A manifest and where it came from; `secrets` are paths of values taken from the env,
    `secret_values` those values (whole, and the env values inside them). `templates`: how the
    file declared each of them (the text before interpolation; for a Compose file also a
    digest of each env file that gave one), by the path it was written at: the declaration a
    recorded secret is bound to (`core.declarations`)."""

    manifest: M
    document: Document
    secrets: frozenset[Path] = frozenset()
    secret_values: frozenset[str] = frozenset()
    templates: Mapping[Path, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return self.document.path

    def problem(self, path: Sequence[PathPart], message: str, *, key: bool = False) -> Problem:
        """A problem at `path`; its message never shows a tainted value (nor, at a tainted
        place, a piece of one)."""
        position = self.document.positions.locate(path, key=key)
        return Problem(self.document.path, self.scrub(path, message), pointer(path), position)

    def scrub(self, path: Sequence[PathPart], message: str) -> str:
        if not self.secret_values:
            return message
        return scrub(message, self.secret_values, whole_only=not self.tainted(path))

    def tainted(self, path: Sequence[PathPart]) -> bool:
        """Whether `path`, a place inside it or one around it took a value from the env."""
        return overlaps(path, self.secrets)


def suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types an annotation may hold (Optional, unions and Annotated removed)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) for t in _unwrap(arg)]
    return [annotation]


def _field_names(root: type[BaseModel], path: Sequence[PathPart]) -> list[str]:
    """The field names a model accepts at `path`, for 'did you mean' hints."""
    current: list[Any] = [root]
    for part in path:
        following: list[Any] = []
        for candidate in current:
            origin = typing.get_origin(candidate)
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                for name, info in candidate.model_fields.items():
                    if (info.alias or name) == part:
                        following.extend(_unwrap(info.annotation))
            elif origin is dict:
                following.extend(_unwrap(typing.get_args(candidate)[1]))
            elif origin is list:
                following.extend(_unwrap(typing.get_args(candidate)[0]))
        current = following
    names: list[str] = []
    for candidate in current:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            names.extend(info.alias or name for name, info in candidate.model_fields.items())
    return names


def _data_path(data: Any, loc: Sequence[Any]) -> tuple[Path, list[Any]]:
    """Split a pydantic `loc` into the part that exists in the data and what is left.

    Union members and validator names that pydantic adds to `loc` are skipped.
    """
    path: list[PathPart] = []
    rest = list(loc)
    current = data
    while rest:
        part = rest[0]
        in_dict = isinstance(current, dict) and isinstance(part, str) and part in current
        in_list = isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        if in_dict or in_list:
            current = current[part]
        elif part == "[key]" or not (isinstance(part, str) and part.isidentifier()):
            rest.pop(0)
            if part == "[key]":
                return tuple(path), ["[key]"]
            continue
        else:
            return tuple(path), rest
        path.append(part)
        rest.pop(0)
    return tuple(path), rest


_EXPECTED = {
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "bool_type": "true or false",
}


def _shown(value: Any) -> str:
    """The repr of a value from the manifest, cut short: a message quotes, never floods."""
    text = repr(value)
    return text if len(text) <= 42 else text[:40] + "..."


def yaml_type(value: Any) -> str:
    """What a value is called in YAML terms, for "expected X, got Y" messages."""
    if value is None:
        return "null"
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}
    names |= {list: "a list", dict: "a mapping"}
    return names.get(type(value), type(value).__name__)


def _message(error: ErrorDetails, model: type[BaseModel], path: Path, rest: list[Any]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        field = str(path[-1])
        return f"unknown field {field!r}{suggest(field, _field_names(model, path[:-1]))}"
    if kind == "missing":
        return f"missing required field {str(rest[-1]) if rest else '?'!r}"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"must be one of {expected}"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {yaml_type(error['input'])}"
    if kind == "enum":
        expected = error.get("ctx", {}).get("expected", "")
        return f"{_shown(error['input'])} is not one of {expected}"
    return str(error["msg"]).removeprefix("Value error, ")


def _problems(located: Located[Any], model: type[BaseModel], err: ValidationError) -> list[Problem]:
    """One problem per JSON pointer; union branches failing at one place are joined with 'or'."""
    data = located.document.data
    found: dict[str, Problem] = {}
    for error in err.errors(include_url=False):
        path, rest = _data_path(data, error["loc"])
        message = _message(error, model, path, rest)
        if rest == ["[key]"]:
            problem = located.problem(path, message, key=True)
        elif error["type"] == "missing":
            missing = (*path, *(r for r in rest[-1:] if isinstance(r, str)))
            position = located.document.positions.locate(path)
            problem = Problem(located.path, message, pointer(missing), position)
        else:
            problem = located.problem(path, message, key=error["type"] == "extra_forbidden")
        problem = Problem(
            problem.path, located.scrub(path, problem.message), problem.pointer, problem.position
        )
        previous = found.get(problem.pointer)
        if previous is None:
            found[problem.pointer] = problem
        elif message not in previous.message:
            joined = f"{previous.message}; or {message}"
            found[problem.pointer] = Problem(
                previous.path, joined, previous.pointer, previous.position
            )
    return list(found.values())


def _names_from_env(secrets: Iterable[Path]) -> list[tuple[Path, str]]:
    """The places that took a value from the environment but name things rather than hold a
    value: identity fields, and a StackPatch op's `op`, `path` and `from` (a pointer names
    mapping keys, services and variable names, which are shown everywhere and never redacted)."""
    found: list[tuple[Path, str]] = []
    for path in sorted(secrets, key=str):
        if len(path) == 1 and path[0] in IDENTITY:
            found.append((path, "an identity field cannot take a value from the environment"))
        elif len(path) == 3 and path[0] == "patch" and path[2] in PATCH_NAMES:
            found.append(
                (path, f"a patch op's {path[2]!r} cannot take a value from the environment")
            )
        elif is_reference(path, REFERENCES):
            found.append(
                (
                    path,
                    f"a reference ({path[2]}) cannot take a value from the environment (whether "
                    "it names one would tell the value)",
                )
            )
    return found


# A service's fields that may join another service's namespace (`service:<name>`), in both
# spellings (native `networkMode`, Compose `network_mode`)
NAMESPACES = frozenset({"networkMode", "network_mode", "pid", "ipc"})
NAMESPACE_REFUSED = (
    "a service's namespace (service:<name>) cannot come from the operator's variables (whether "
    "it names one would tell the value)"
)


def namespaces_from_env(secrets: Iterable[Path], body: Any) -> list[Path]:
    """The places that took a value from the environment and join another service's namespace
    (`networkMode: service:${NAME}`): whether the name resolves would tell the value."""
    found: list[Path] = []
    services = body.get("services") if isinstance(body, dict) else None
    for path in sorted(secrets, key=str):
        if len(path) != 3 or path[0] != "services" or path[2] not in NAMESPACES:
            continue
        service = services.get(path[1]) if isinstance(services, dict) else None
        value = service.get(path[2]) if isinstance(service, dict) else None
        if isinstance(value, str) and value.startswith("service:"):
            found.append(path)
    return found


def is_reference(path: Path, fields: Collection[str]) -> bool:
    """Whether `path` is a service's reference to another object of the stack by name, in one
    of `fields`: an item of its list (`dependsOn: [db]`, `networks: [front]`), or the `source`
    of a config's or secret's long form."""
    if len(path) < 4 or path[0] != "services" or path[2] not in fields:
        return False
    item = path[3:]
    whole = len(item) == 1 and isinstance(item[0], int)
    sourced = len(item) == 2 and isinstance(item[0], int) and item[1] == "source"
    return whole or (sourced and path[2] in ("secrets", "configs"))


def parse_document(
    document: Document, env: Mapping[str, str]
) -> tuple[Located[Any] | None, list[Problem]]:
    data = document.data
    blank = Located(None, document)  # type: ignore[type-var]
    if data is None:
        return None, []  # an empty document, e.g. after a trailing '---'
    if not isinstance(data, dict):
        return None, [blank.problem((), "a manifest must be a mapping with a 'kind'")]
    kind = data.get("kind")
    if kind is None:
        choices = ", ".join(k.value for k in Kind)
        return None, [blank.problem((), f"missing 'kind': one of {choices}")]
    if kind not in Kind.__members__.values():
        hint = suggest(str(kind)[:100], [k.value for k in Kind])
        return None, [blank.problem(("kind",), f"unknown kind {_shown(kind)}{hint}")]
    filled = interpolate({k: v for k, v in data.items() if k != "kind"}, env)
    if filled.problems:
        # The model would only repeat these as format errors of the uninterpolated text.
        return None, [blank.problem(path, message) for path, message in filled.problems]
    secrets, values = frozenset(filled.secrets), frozenset(filled.values)
    located_raw = Located(None, document, secrets, values)  # type: ignore[type-var]
    named = _names_from_env(secrets) + [
        (path, NAMESPACE_REFUSED) for path in namespaces_from_env(secrets, filled.value)
    ]
    if named:
        # Fixed texts that quote nothing: not scrubbed (a piece of the value may be a word).
        return None, [
            Problem(document.path, message, pointer(path), document.positions.locate(path))
            for path, message in named
        ]
    model = MODELS[Kind(kind)]
    try:
        manifest = model.model_validate({"kind": kind, **filled.value})
    except ValidationError as err:
        return None, _problems(located_raw, model, err)
    return Located(manifest, document, secrets, values, dict(filled.templates)), []
