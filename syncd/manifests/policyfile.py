"""Reading the operator's policy file: the same hardened YAML reader as manifests, and every
problem (unknown key, bad value) at file:line:col naming the key.

The model lives in the root leaf `syncd.policy` (any stage may consult it); this reader lives
here because it needs `yamlsafe`'s positions and bounds, which root leaves may not import.
The CLI reads the bytes (`--policy FILE` / `SYNCD_POLICY_FILE`), never from the repo.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from syncd.manifests.parse import suggest, yaml_type
from syncd.manifests.yamlsafe import Document, PathPart, load, pointer
from syncd.policy import Policy, Rules
from syncd.problems import Problem
from syncd.settings import Limits

# A policy file is short and written by hand.
POLICY_LIMITS = Limits(max_file_bytes=256 * 1024, max_depth=16, max_nodes=20_000, max_documents=1)
_RULE_KEYS = [info.alias or name for name, info in Rules.model_fields.items()]
_TOP_KEYS = [info.alias or name for name, info in Policy.model_fields.items()]
_EXPECTED = {
    "string_type": "a string",
    "bool_type": "true or false",
    "tuple_type": "a list",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def load_policy(path: str, data: bytes) -> tuple[Policy | None, list[Problem]]:
    """The policy in `data` (the file `path`), or the problems that stop it from being used.
    An empty file is the built-in policy (nothing allowed)."""
    documents, problems = load(path, data, POLICY_LIMITS)
    if problems:
        return None, problems
    present = [d for d in documents if d.data is not None]
    if not present:
        return Policy(), []
    document = present[0]
    if not isinstance(document.data, dict):
        where = document.positions.locate(())
        return None, [
            Problem(path, "a policy file is a mapping with 'default' and 'projects'", "", where)
        ]
    try:
        return Policy.model_validate(document.data), []
    except ValidationError as err:
        return None, _problems(document, err)


def _problems(document: Document, err: ValidationError) -> list[Problem]:
    found: dict[tuple[str, str], Problem] = {}
    for error in err.errors(include_url=False):
        loc: list[PathPart] = [p for p in error["loc"] if isinstance(p, str | int)]
        key = bool(loc) and loc[-1] == "[key]"
        if key:
            loc = loc[:-1]
        message = _message(error, loc)
        extra = error["type"] == "extra_forbidden"
        position = document.positions.locate(loc, key=key or extra)
        problem = Problem(document.path, message, pointer(loc), position)
        found.setdefault((problem.pointer, message), problem)
    return sorted(found.values(), key=Problem.sort_key)


def _message(error: ErrorDetails, loc: Sequence[PathPart]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        name = str(loc[-1])
        choices = _TOP_KEYS if len(loc) == 1 else _RULE_KEYS
        hint = suggest(name, choices) or f" (known keys: {', '.join(choices)})"
        return f"unknown key {name[:80]!r}{hint}"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {yaml_type(error['input'])}"
    if kind == "too_long":
        return f"too many entries (at most {error.get('ctx', {}).get('max_length', '?')})"
    return str(error["msg"]).removeprefix("Value error, ")
