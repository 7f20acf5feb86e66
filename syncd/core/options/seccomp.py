"""A seccomp profile from the repository: `security_opt: [seccomp=./profile.json]`.

Compose reads the profile on the client and sends its JSON content; syncd reads it from the
applied revision, relative to the manifest's folder, never from the host (an absolute path is
refused by the model). `resolve` checks it is a file of the revision holding one JSON object
(bounded size), keeps its content with the revision's other files and records it in the spec as
`seccompProfile: {source: <repository path>, digest: sha256:...}`: the digest is part of the
config hash, so a changed profile recreates the service (the reason names the file). The engine
gets the content at apply time (`runspec`). Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

from syncd.core.options.files import Revision
from syncd.errors import UnresolvedFile

FIELD = "seccompProfile"
MAX_PROFILE_BYTES = 256 * 1024  # Docker's own default profile is about 20 KiB
_PREFIX = "seccomp="


def profile_file(option: str) -> str | None:
    """The relative file of a canonical `seccomp=<file>` option, else None (`unconfined`, an
    inline JSON profile, another option)."""
    if not option.startswith(_PREFIX):
        return None
    value = option.removeprefix(_PREFIX)
    if value == "unconfined" or value.startswith("{"):
        return None
    return value


def _where(index: int) -> tuple[str, int]:
    return ("securityOpt", index)


def _checked(data: bytes, shown: str, index: int) -> None:
    if len(data) > MAX_PROFILE_BYTES:
        raise UnresolvedFile(
            _where(index), f"seccomp profile {shown!r} is over {MAX_PROFILE_BYTES} bytes"
        )
    try:
        profile = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        why = "not UTF-8" if isinstance(err, UnicodeDecodeError) else "nested too deep"
        if isinstance(err, ValueError) and not isinstance(err, UnicodeDecodeError):
            why = str(err).splitlines()[0][:120]
        raise UnresolvedFile(
            _where(index), f"seccomp profile {shown!r} is not JSON ({why})"
        ) from None
    if not isinstance(profile, dict):
        raise UnresolvedFile(_where(index), f"seccomp profile {shown!r} is not a JSON object")


def resolve(spec: Mapping[str, Any], revision: Revision) -> dict[str, Any]:
    """`spec` with `seccompProfile` for its `seccomp=<file>` option (none: left out);
    `UnresolvedFile` when the file is not a JSON profile of the revision."""
    out = dict(spec)
    out.pop(FIELD, None)  # a kept field of a PATCH merge: computed anew
    found = [(i, profile_file(o)) for i, o in enumerate(spec.get("securityOpt") or [])]
    files = [(i, f) for i, f in found if f is not None]
    if len(files) > 1:
        raise UnresolvedFile(_where(files[1][0]), "one seccomp profile per service")
    for index, relative in files:
        shown = relative[:60]
        path = revision.path(relative)
        if path is None:
            raise UnresolvedFile(_where(index), f"seccomp profile {shown!r} leaves the repository")
        data = revision.files.get(path)
        if data is None:
            raise UnresolvedFile(
                _where(index), f"seccomp profile {shown!r} is not a file of the revision"
            )
        _checked(data, shown, index)
        tree = revision.content(data, _where(index))
        out[FIELD] = {"source": path, "digest": tree.digest}
    return out


def tainted(spec: Mapping[str, Any], secrets: Collection[str]) -> set[str]:
    """`/seccompProfile` when the option naming its file came from the operator's environment
    (its `source` is that file's name), for `spec`'s tainted pointers `secrets`."""
    named = any(p == "/securityOpt" or p.startswith("/securityOpt/") for p in secrets)
    return {f"/{FIELD}"} if named and FIELD in spec else set()


def named_change(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """`seccompProfile (seccomp/profile.json changed)` when the same file's content changed."""
    old, new = before.get(FIELD) or {}, after.get(FIELD) or {}
    if old and new and old.get("source") == new.get("source"):
        return f"{FIELD} ({new.get('source')} changed)"
    return FIELD


def with_content(options: Mapping[str, Any], content: str) -> dict[str, Any]:
    """The engine's options with the profile's JSON text in place of `seccomp=<file>`."""
    out = dict(options)
    out["securityOpt"] = [
        f"{_PREFIX}{content}" if profile_file(o) is not None else o
        for o in options.get("securityOpt") or []
    ]
    return out
