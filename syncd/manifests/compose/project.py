"""The identity of a Compose file's stack, and the `.env` beside it.

Project: `x-syncd.project`, else `COMPOSE_PROJECT_NAME` from the `.env` (mapping D24), else
`name:`, else the folder holding the file (`names.project_name`); stack: `x-syncd.stack`, else
`default`. Identity is never taken from the operator's environment: `x-syncd` takes no
variables, and `name:` only those of the committed `.env` that read no operator variable.
Pure: no I/O.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from syncd.errors import SopsError
from syncd.ids import DEFAULT_STACK
from syncd.manifests.compose.context import Context, Revision, clip, kind_of
from syncd.manifests.compose.envfile import parse_env_file
from syncd.manifests.compose.names import is_dns_label, project_name
from syncd.manifests.interpolate import Flavour, interpolate
from syncd.manifests.parse import suggest
from syncd.manifests.yamlsafe import Path
from syncd.problems import Severity

_X_SYNCD_KEYS = ("project", "stack")


def read_dotenv(
    revision: Revision, env: Mapping[str, str], ctx: Context
) -> tuple[dict[str, str], set[str]]:
    """The `.env` beside the Compose file: its values, and the names that are secret (read the
    operator's variables, or decrypted from a SOPS-encrypted `.env`)."""
    name = posixpath.normpath(posixpath.join(revision.folder, ".env"))
    data = revision.read(name)
    if data is None:
        return {}, set()
    try:
        opened = revision.sops.open_env(name, data)
        values = opened.env() if opened is not None else {}  # SopsError: not a flat map
    except SopsError as err:
        ctx.error((), f"the .env beside this file cannot be used: {err}")
        return {}, set()
    tainted = (set(values) if opened.known else set()) if opened is not None else None
    if tainted is None:
        parsed = parse_env_file(name, data, env)
        for problem in parsed.problems:
            ctx.add(problem)
        values, tainted = parsed.values, parsed.tainted
    if tainted:
        ctx.declare_file((".env",), data)  # every service's: it fills the whole file
    return values, tainted


def x_syncd(data: Mapping[str, Any]) -> dict[str, Any]:
    found = data.get("x-syncd")
    return found if isinstance(found, dict) else {}


def read_identity(
    data: dict[str, Any], committed: Mapping[str, str], folder: str, ctx: Context
) -> tuple[str | None, str]:
    x_syncd = data.get("x-syncd", {})
    if not isinstance(x_syncd, dict):
        ctx.error(("x-syncd",), f"x-syncd is a mapping {{project, stack}}, got {kind_of(x_syncd)}")
        x_syncd = {}
    for key, value in x_syncd.items():
        if key not in _X_SYNCD_KEYS:
            ctx.error(
                ("x-syncd", key), f"unknown key {key!r}{suggest(key, _X_SYNCD_KEYS)}", key=True
            )
        elif not isinstance(value, str) or "$" in value:
            ctx.error(("x-syncd", key), f"x-syncd.{key} is plain text (no variables)")
    stack = x_syncd.get("stack", DEFAULT_STACK)
    if isinstance(stack, str) and not is_dns_label(stack):
        ctx.error(("x-syncd", "stack"), f"x-syncd.stack {clip(stack)!r} is not a DNS label")
    name = data.get("name")
    if name is not None:
        filled = interpolate(name, committed, ("name",), flavour=Flavour.COMPOSE)
        for at, message in filled.problems:
            ctx.error(at, message)
        name = filled.value if isinstance(filled.value, str) else None
        if name is None:
            ctx.error(("name",), "name is text")
    name = committed.get("COMPOSE_PROJECT_NAME") or name
    explicit = x_syncd.get("project")
    found = project_name(explicit if isinstance(explicit, str) else None, name, folder)
    if found.message is not None:
        where: Path = ("x-syncd", "project") if explicit is not None else ("name",) if name else ()
        report = ctx.error if found.severity is Severity.ERROR else ctx.warn
        report(where, found.message)
    return found.project, stack if isinstance(stack, str) else DEFAULT_STACK
