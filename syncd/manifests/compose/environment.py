"""A service's `environment` (a map or a list of `KEY=VALUE` / `KEY`) and `env_file` (a path, a
list of paths, or `{path, required, format}` entries) in Compose's meaning, merged into one map:
env files in order (a later file wins), then `environment` over them.

- a list item splits at its first `=`; `KEY=` is empty; a bare `KEY` (or `KEY:` null in a map)
  takes its value from the interpolation sources (the operator's variables, then the `.env`
  beside the file) and is left out, with a warning, when none sets it;
- numbers and booleans are written as text (`true` -> "true"), as Compose does;
- env file paths are relative to the Compose file and must stay inside the repository; a missing
  required file is an error, a missing `required: false` file is skipped;
- a SOPS-encrypted env file (`syncd.manifests.sopsfiles`) is decrypted: all its values are
  secret; one that cannot be decrypted is an error at the `env_file` entry.
Values taken from the environment (directly, through interpolation, or through a tainted env
file key) are reported as tainted keys. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from syncd.errors import SopsError
from syncd.manifests.compose.context import Context, Revision, clip, kind_of
from syncd.manifests.compose.envfile import EnvFile, parse_env_file
from syncd.manifests.yamlsafe import Path
from syncd.secretpolicy import unknowable, unknown_value

_ENV_FILE_KEYS = frozenset({"path", "required", "format"})


@dataclass
class Environment:
    values: dict[str, str] = field(default_factory=dict)
    tainted: set[str] = field(default_factory=set)
    origins: dict[str, Path] = field(default_factory=dict)  # where each variable was set


def _text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    return None


def _env_files(value: object, at: Path) -> list[tuple[Path, Any]]:
    if isinstance(value, str | dict):
        return [(at, value)]
    if isinstance(value, list):
        return [((*at, i), item) for i, item in enumerate(value)]
    return [(at, value)]


def _read_env_file(
    item: object,
    at: Path,
    ctx: Context,
    *,
    out: Environment,
    lookup: Mapping[str, str],
    revision: Revision,
) -> None:
    required = True
    if isinstance(item, dict):
        for key in item:
            if key not in _ENV_FILE_KEYS:
                ctx.error((*at, key), f"unknown key {key!r} in an env_file entry", key=True)
                return
        if item.get("format") not in (None, "raw", "dotenv"):
            ctx.error((*at, "format"), "only the default env file format is read")
            return
        required = item.get("required", True)
        if not isinstance(required, bool):
            ctx.error((*at, "required"), f"expected true or false, got {kind_of(required)}")
            return
        item = item.get("path")
    if not isinstance(item, str) or not item:
        ctx.error(at, f"an env file is a path, got {kind_of(item)}")
        return
    rel = revision.resolve(item)
    if rel is None:
        ctx.error(at, f"env file {clip(item)!r} is outside the repository")
        return
    data = revision.read(rel)
    if data is None:
        if required:
            ctx.error(at, f"env file {clip(item)!r} is not in the revision ({rel})")
        return
    parsed = ctx.cache.get(rel)
    if not isinstance(parsed, EnvFile):
        parsed = ctx.cache[rel] = _parse(rel, data, lookup, revision)  # read (and reported) once
        for problem in parsed.problems:
            ctx.add(problem)
        if parsed.failed is not None:
            ctx.error(at, f"env file {clip(item)!r} cannot be used: {parsed.failed}")
        secret = (v for k, v in parsed.values.items() if k in parsed.tainted and v)
        ctx.secret_values |= frozenset(secret)  # scrubbed from every message
    if parsed.failed is not None:
        return
    if parsed.tainted:
        ctx.declare_file(at, data)
    for name, text in parsed.values.items():
        out.values[name] = text
        out.origins[name] = at
        if name in parsed.tainted:
            out.tainted.add(name)
        else:
            out.tainted.discard(name)


def _parse(rel: str, data: bytes, lookup: Mapping[str, str], revision: Revision) -> EnvFile:
    """An env file as Compose reads it, or a SOPS-encrypted one decrypted: every value of it
    secret (unknown values in a plan without the key: not secret, they hold none)."""
    try:
        opened = revision.sops.open_env(rel, data)
        if opened is None:
            return parse_env_file(rel, data, lookup)
        values = opened.env()  # SopsError: not a flat map of scalars
    except SopsError as err:
        return EnvFile(failed=str(err))
    return EnvFile(values=values, tainted=set(values) if opened.known else set())


def _set(
    name: str,
    value: Any,
    at: Path,
    ctx: Context,
    *,
    out: Environment,
    lookup: Mapping[str, str],
    secret: Collection[str],
) -> None:
    if not name or "=" in name or "\x00" in name:
        ctx.error(at, f"{clip(name)!r} is not an environment variable name")
        return
    if value is None:
        found = lookup.get(name)
        if found is None and unknowable(name):  # a plan between revisions
            found = unknown_value(name)
        if found is None:
            ctx.warn(at, f"{name} is set nowhere (no operator variable, no .env): left out")
            out.values.pop(name, None)
            return
        out.values[name] = found
        out.origins[name] = at
        if name in secret:
            out.tainted.add(name)
        else:
            out.tainted.discard(name)  # from the committed .env: in the repository already
        return
    text = _text(value)
    if text is None:
        ctx.error(at, f"an environment value is text, got {kind_of(value)}")
        return
    if "\x00" in text:
        ctx.error(at, "a NUL character cannot be passed to a container")
        return
    out.values[name] = text
    out.origins[name] = at
    if ctx.tainted(at):
        out.tainted.add(name)
    else:
        out.tainted.discard(name)


def read_environment(
    service: Mapping[str, Any],
    at: Path,
    ctx: Context,
    *,
    lookup: Mapping[str, str],
    secret: Collection[str],
    revision: Revision,
) -> Environment | None:
    """The service's environment, or None when it sets none."""
    if "environment" not in service and "env_file" not in service:
        return None
    out = Environment()
    if "env_file" in service:
        for here, item in _env_files(service["env_file"], (*at, "env_file")):
            _read_env_file(item, here, ctx, out=out, lookup=lookup, revision=revision)
    value = service.get("environment")
    where = (*at, "environment")
    if isinstance(value, dict):
        for name, item in value.items():
            _set(name, item, (*where, name), ctx, out=out, lookup=lookup, secret=secret)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if not isinstance(item, str):
                ctx.error((*where, index), f"expected 'KEY=VALUE' or 'KEY', got {kind_of(item)}")
                continue
            name, sep, text = item.partition("=")
            _set(
                name,
                text if sep else None,
                (*where, index),
                ctx,
                out=out,
                lookup=lookup,
                secret=secret,
            )
    elif value is not None:
        ctx.error(where, f"environment is a mapping or a list, got {kind_of(value)}")
    return out
