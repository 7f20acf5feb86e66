"""Compose's `configs` and `secrets`: the top-level sources (`file:` in the repo, `content:`,
`environment:`) and a service's uses of them (`[name]` or `[{source, target, uid, gid, mode}]`),
as the data of syncd's `Stack` model (`manifests.options.files`).

An `environment:` source is read here from the interpolation sources into `content` and tainted,
like a secret's content: no output shows it. `external`, `template_driver` and a secret's
`driver` are Swarm objects: errors naming the key. A SOPS-encrypted `file:` becomes its decrypted
`content`, secret (`syncd.manifests.sopsfiles`); one that cannot be decrypted is an error there.
`name` and `labels` have no effect on a Docker host (the file is bind-mounted): accepted.
Pure: no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from syncd.errors import SopsError
from syncd.manifests.compose.context import Context, Revision, clip, kind_of
from syncd.manifests.sopsfiles import Opened
from syncd.manifests.yamlsafe import Path
from syncd.secretpolicy import unknowable, unknown_value

SECTIONS = ("configs", "secrets")
_SWARM = ("external", "template_driver", "driver", "driver_opts")
_REF_KEYS = frozenset({"source", "target", "uid", "gid", "mode"})


@dataclass
class Sources:
    """The stack's `configs` and `secrets` (model data), and the paths that are tainted."""

    data: dict[str, dict[str, Any]] = field(default_factory=dict)
    secrets: set[Path] = field(default_factory=set)
    values: set[str] = field(default_factory=set)  # secret contents, to scrub from messages


def _source(
    section: str,
    name: str,
    spec: Mapping[str, Any],
    ctx: Context,
    *,
    lookup: Mapping[str, str],
    secret: Collection[str],
    revision: Revision,
    out: Sources,
) -> dict[str, Any] | None:
    at: Path = (section, name)
    for key in _SWARM:
        if key in spec and spec[key] not in (None, False):
            ctx.error((*at, key), f"{key}: a Swarm {section[:-1]}, not on a Docker host", key=True)
            return None
    given = [k for k in ("file", "content", "environment") if k in spec]
    if len(given) != 1:
        ctx.error(at, f"a {section[:-1]} needs exactly one of 'file', 'content', 'environment'")
        return None
    key = given[0]
    value = spec[key]
    if not isinstance(value, str) or not value:
        ctx.error((*at, key), f"expected a string, got {kind_of(value)}")
        return None
    if key == "file":
        path = revision.resolve(value)
        if path is None:
            ctx.error((*at, key), f"{clip(value)!r}: a file in the repository, relative to this "
                      "file; it leaves the repository")  # fmt: skip
            return None
        data = revision.read(path)
        if data is None:
            ctx.error((*at, key), f"{clip(value)!r} is not a file of the revision")
            return None
        try:
            opened = revision.sops.open_file(path, data)
        except SopsError as err:
            ctx.error((*at, key), f"{clip(value)!r} cannot be used: {err}")
            return None
        if opened is not None:
            if opened.known:  # values of its own: the file is how they were declared
                ctx.declare_file(at, data)
            return _decrypted(opened, at, ctx, out)
        if section == "secrets":
            out.values.add(data.decode("utf-8", "replace").strip())
        return {"file": value if value.startswith(".") else "./" + value}
    if key == "environment":
        if value not in lookup and unknowable(value):  # a plan between revisions
            return {"content": unknown_value(value)}
        if value not in lookup:
            ctx.error((*at, key), f"variable {clip(value)!r} is not set (allowed variables only)")
            return None
        out.secrets.add((*at, "content"))
        out.values.add(lookup[value])
        _declare_variable(at, value, lookup, secret, ctx)
        return {"content": lookup[value]}
    if section == "secrets" or ctx.tainted((*at, key)):
        out.secrets.add((*at, "content"))
    if section == "secrets":
        out.values.add(value.strip())
    return {"content": value}


def _declare_variable(
    at: Path, name: str, lookup: Mapping[str, str], secret: Collection[str], ctx: Context
) -> None:
    """How an `environment:` source was declared (`Located.templates`): the variable's name,
    and, for a variable of the committed `.env` (written in the repository, not the
    operator's), its value: a pull request may write a guess there."""
    declared = f"environment:{name}"
    if name not in secret:
        declared += "=sha256:" + hashlib.sha256(lookup[name].encode()).hexdigest()
    ctx.templates[(*at, "<source>")] = declared


def _decrypted(opened: Opened, at: Path, ctx: Context, out: Sources) -> dict[str, Any] | None:
    """A SOPS-encrypted `file:`: its decrypted content is the file mounted, secret (a config's
    too); in a plan without the key, an unknown value of the file's fingerprint."""
    try:
        content = opened.content().decode("utf-8")
    except (SopsError, UnicodeDecodeError):
        ctx.error((*at, "file"), f"{opened.path}: the decrypted content is not UTF-8 text")
        return None
    if opened.known:
        out.secrets.add((*at, "content"))
        out.values.add(content.strip())
    return {"content": content}


def read_sources(
    declared: Mapping[str, Mapping[str, Mapping[str, Any]]],
    ctx: Context,
    lookup: Mapping[str, str],
    revision: Revision,
    secret: Collection[str] = (),
) -> Sources:
    """The top-level `configs` and `secrets` (`declared`: section -> name -> spec, checked for
    unknown keys by the reader); `secret`: the variables that are the operator's (or read one)."""
    out = Sources()
    for section in SECTIONS:
        members: dict[str, Any] = {}
        for name, spec in (declared.get(section) or {}).items():
            found = _source(
                section, name, spec, ctx, lookup=lookup, secret=secret, revision=revision, out=out
            )
            if found is not None:
                members[name] = found
        out.data[section] = members
    ctx.secret_values |= frozenset(v for v in out.values if v)  # scrubbed from every message
    return out


def _ref(item: object, at: Path, ctx: Context, declared: Collection[str]) -> dict[str, Any] | None:
    if isinstance(item, str):
        item = {"source": item}
    if not isinstance(item, dict):
        ctx.error(at, f"expected a name or a mapping, got {kind_of(item)}")
        return None
    for key in item:
        if key not in _REF_KEYS:
            ctx.error((*at, key), f"unknown key {key!r} (source, target, uid, gid, mode)", key=True)
            return None
    source = item.get("source")
    if not isinstance(source, str) or source not in declared:
        ctx.error(at, f"{clip(str(source))!r} is not declared at the top level")
        return None
    out: dict[str, Any] = {"source": source}
    for key in ("target", "uid", "gid"):
        value = item.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            ctx.error((*at, key), f"expected a string, got {kind_of(value)}")
            return None
        out[key] = str(value)
    if item.get("mode") is not None:
        out["mode"] = item["mode"]
    return out


def read_file_refs(
    service: Mapping[str, Any],
    at: Path,
    ctx: Context,
    declared: Mapping[str, Collection[str]],
    *,
    data: dict[str, Any],
    origins: dict[Path, Path],
) -> None:
    """A service's `configs` and `secrets` into `data` (model fields of the same names)."""
    for section in SECTIONS:
        if section not in service:
            continue
        value = service[section]
        here = (*at, section)
        if not isinstance(value, list):
            ctx.error(here, f"{section} is a list, got {kind_of(value)}")
            continue
        refs: list[dict[str, Any]] = []
        for index, item in enumerate(value):
            ref = _ref(item, (*here, index), ctx, declared.get(section) or ())
            if ref is not None:
                origins[(section, len(refs))] = (*here, index)
                refs.append(ref)
        data[section] = refs
        origins[(section,)] = here
