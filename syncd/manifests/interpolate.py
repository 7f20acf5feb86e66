"""`${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`, `${VAR?message}` and `$$`.

Values come from a given mapping: the operator's variables (env file(s) and the process variables
the operator allows, see `syncd.operatorenv`). `SYNCD_*` names count as unset whatever the mapping
holds: they are syncd's own settings and tokens. A string that took any value from the mapping is
reported as secret (its path, and the string with the values it took, so messages can be scrubbed
of them), and every output redacts it. A value taken from a default written in the repo is not
secret. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from syncd.manifests.yamlsafe import Path
from syncd.secretpolicy import is_own, unset_variable
from syncd.taint import REDACTED

__all__ = ["REDACTED", "Interpolation", "interpolate"]

_TOKEN = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<open>\{))")
_BRACED = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|-|:\?|\?)(?P<arg>.*))?$", re.S)


@dataclass
class Interpolation:
    value: Any
    secrets: set[Path] = field(default_factory=set)
    values: set[str] = field(default_factory=set)  # tainted strings and the env values in them
    problems: list[tuple[Path, str]] = field(default_factory=list)


class _Unresolved(Exception):
    pass


def _substitute(text: str, env: Mapping[str, str]) -> tuple[str, list[str]]:
    """The interpolated text, and the values it took from the environment."""
    from_env: list[str] = []

    def replace(match: re.Match[str]) -> str:
        nonlocal from_env
        if match["escaped"]:
            return "$"
        if match["open"]:
            raise _Unresolved("'${' is not closed by '}' (write '$${' for a literal '${')")
        inner = _BRACED.match(match["braced"])
        if inner is None:
            raise _Unresolved(
                f"'${{{match['braced']}}}' is not ${{NAME}}, ${{NAME:-default}} or similar"
            )
        name, op, arg = inner["name"], inner["op"], inner["arg"] or ""
        value = None if is_own(name) else env.get(name)
        missing = value is None or (value == "" and op in (":-", ":?"))
        if not missing:
            from_env.append(str(value))
            return str(value)
        if op in (":-", "-"):
            return arg
        if op in (":?", "?") and not is_own(name):
            raise _Unresolved(f"{name} is required: {arg}" if arg else f"{name} is required")
        raise _Unresolved(f"{unset_variable(name)}; or write ${{{name}:-default}}")

    return _TOKEN.sub(replace, text), from_env


def interpolate(data: Any, env: Mapping[str, str], path: Path = ()) -> Interpolation:
    """A copy of `data` with every string value interpolated (mapping keys are left alone)."""
    result = Interpolation(None)
    result.value = _walk(data, env, path, result)
    return result


def _walk(data: Any, env: Mapping[str, str], path: Path, out: Interpolation) -> Any:
    if isinstance(data, str):
        if "$" not in data:
            return data
        try:
            text, taken = _substitute(data, env)
        except _Unresolved as err:
            out.problems.append((path, str(err)))
            return data
        if taken:
            out.secrets.add(path)
            out.values.update([text, *taken])
        return text
    if isinstance(data, dict):
        return {k: _walk(v, env, (*path, k), out) for k, v in data.items()}
    if isinstance(data, list):
        return [_walk(v, env, (*path, i), out) for i, v in enumerate(data)]
    return data
