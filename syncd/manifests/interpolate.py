"""`${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`, `${VAR?message}` and `$$`.

Two flavours. `NATIVE` (syncd's own manifests): the forms above; a bare `$VAR` stays text and an
unset variable without a default is an error. `COMPOSE` (Compose files): Compose's full set
(`syncd.manifests.compose.template`: also `$VAR`, `${VAR:+x}`, `${VAR+x}` and nested defaults);
an unset variable without a default is an empty string and a warning, as in Compose.

Values come from a given mapping: the operator's variables (env file(s) and the process variables
the operator allows, see `syncd.operatorenv`). `SYNCD_*` names count as unset whatever the mapping
holds: they are syncd's own settings and tokens. A string that took any value from the mapping is
reported as secret (its path, and the string with the values it took, so messages can be scrubbed
of them), and every output redacts it. A value taken from a default written in the repo is not
secret (in both flavours). The text built from one `interpolate` call is bounded
(`MAX_INTERPOLATED` characters): a template cannot multiply an environment value without
limit. Within `secretpolicy.unknowns_allowed` (a plan between two revisions), a variable that
is not set and has no default is not an error: it stands for `unknown_value(NAME)`.
Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, assert_never

from syncd.errors import TemplateError
from syncd.manifests.compose.template import substitute
from syncd.manifests.yamlsafe import Path
from syncd.secretpolicy import is_own, unknowable, unknown_value, unset_variable
from syncd.taint import REDACTED

__all__ = ["REDACTED", "Flavour", "Interpolation", "interpolate"]

MAX_INTERPOLATED = 8 * 1024 * 1024  # characters built by one call (a file is at most 1 MiB)
MAX_WARNINGS = 50  # unset variables named one by one; the rest are counted


class Flavour(StrEnum):
    NATIVE = "native"  # syncd's manifests
    COMPOSE = "compose"  # Compose files


_TOKEN = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<open>\{))")
_BRACED = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|-|:\?|\?)(?P<arg>.*))?$", re.S)


@dataclass
class Interpolation:
    value: Any
    secrets: set[Path] = field(default_factory=set)
    values: set[str] = field(default_factory=set)  # tainted strings and the env values in them
    templates: dict[Path, str] = field(default_factory=dict)  # each tainted string as written
    problems: list[tuple[Path, str]] = field(default_factory=list)
    warnings: list[tuple[Path, str]] = field(default_factory=list)  # COMPOSE: unset variables
    budget: int = MAX_INTERPOLATED
    unset: dict[str, Path] = field(default_factory=dict)  # COMPOSE: first place of each


_TOO_LONG = (
    f"interpolation builds more than {MAX_INTERPOLATED} characters in this document; refused"
)


class _Unresolved(Exception):
    pass


def _substitute(text: str, env: Mapping[str, str], out: Interpolation) -> tuple[str, list[str]]:
    """The interpolated text, and the values it took from the environment."""
    from_env: list[str] = []

    def replace(match: re.Match[str]) -> str:
        found = _replace(match)
        out.budget -= len(found)
        if out.budget < 0:
            raise _Unresolved(_TOO_LONG)
        return found

    def _replace(match: re.Match[str]) -> str:
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
        if value is None and unknowable(name):  # a plan between revisions: not known here
            return unknown_value(name)
        if op in (":?", "?") and not is_own(name):
            raise _Unresolved(f"{name} is required: {arg}" if arg else f"{name} is required")
        raise _Unresolved(f"{unset_variable(name)}; or write ${{{name}:-default}}")

    return _TOKEN.sub(replace, text), from_env


def interpolate(
    data: Any, env: Mapping[str, str], path: Path = (), *, flavour: Flavour = Flavour.NATIVE
) -> Interpolation:
    """A copy of `data` with every string value interpolated (mapping keys are left alone)."""
    result = Interpolation(None)
    result.value = _walk(data, env, path, result, flavour)
    _warn_unset(result)
    return result


def _walk(
    data: Any, env: Mapping[str, str], path: Path, out: Interpolation, flavour: Flavour
) -> Any:
    if isinstance(data, str):
        if "$" not in data:
            return data
        try:
            text, taken = _string(data, env, path, out, flavour)
        except (_Unresolved, TemplateError) as err:
            out.problems.append((path, str(err)))
            return data
        if taken:
            out.secrets.add(path)
            out.values.update([text, *taken])
            out.templates[path] = data
        return text
    if isinstance(data, dict):
        return {
            k: _walk(v, env, (*path, k), out, flavour) if _holds_text(v) else v
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [
            _walk(v, env, (*path, i), out, flavour) if _holds_text(v) else v
            for i, v in enumerate(data)
        ]
    return data


def _holds_text(value: Any) -> bool:
    """Whether `value` may hold a `$` to replace (a scalar without one stays as it is, and
    needs no path built for it: most values of a file have none)."""
    if isinstance(value, str):
        return "$" in value
    return isinstance(value, dict | list)


def _string(
    data: str, env: Mapping[str, str], path: Path, out: Interpolation, flavour: Flavour
) -> tuple[str, list[str]]:
    """The text and the values it took from `env` (a `:+` that used its text counts as taking
    the variable's value: the text tells that it is set)."""
    match flavour:
        case Flavour.NATIVE:
            return _substitute(data, env, out)
        case Flavour.COMPOSE:
            done = substitute(data, env, max(out.budget, 0))
            out.budget -= len(done.text)
            for name in done.unset:
                out.unset.setdefault(name, path)
            tested = len(done.names) > len(done.taken)
            return done.text, [*done.taken, *([done.text] if tested else [])]
        case _:
            assert_never(flavour)


def _warn_unset(out: Interpolation) -> None:
    names = list(out.unset.items())
    for name, path in names[:MAX_WARNINGS]:
        out.warnings.append(
            (
                path,
                f"{unset_variable(name)}: it is an empty string, as in Compose "
                f"(write ${{{name}:-default}} or ${{{name}:?message}} to say what you mean)",
            )
        )
    if len(names) > MAX_WARNINGS:
        first = names[MAX_WARNINGS][1]
        out.warnings.append((first, f"and {len(names) - MAX_WARNINGS} more variables are not set"))
