"""Old -> new: what a plan changes, with the value each change replaces, for a reviewer.

The plan's RFC 6902 patch says what to write; a reviewer also wants what it overwrites. `changes`
walks the two specs and gives one `ValueChange` per changed place: the old value (replace,
remove) and the new one (add, replace), redacted as the patch is. A list that differs in one
item, or by one item appended or removed at its end, shows that item; a list whose items moved,
were inserted or removed inside it, or that differs in more than one item, is shown whole (old
list -> new list): index ops into it say less than the two lists. A secret is `<redacted>` on
both sides; whether it changed is decided by comparing digests of the hidden values
(`SecretChange`), never printed. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import jsonpatch

from syncd import taint
from syncd.taint import REDACTED


def _differing(old: Any, new: Any) -> tuple[Any, Any]:
    """`old` and `new` without the mapping entries both hold alike: the patch is the same, and
    jsonpatch no longer walks every option field of every unchanged service."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return old, new
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for key, value in old.items():
        if key not in new:
            before[key] = value
        elif new[key] != value:
            before[key], after[key] = _differing(value, new[key])
    after.update((key, value) for key, value in new.items() if key not in old)
    return before, after


def redacted_patch(old: Any, new: Any, secrets: frozenset[str]) -> tuple[dict[str, Any], ...]:
    """RFC 6902 ops turning `old` into `new`, with secret values replaced by `<redacted>`: by
    place, and every item of a list that holds one (on either side), since an op into a list
    names an index of the list as it is while the ops run, not where the item ends up. Never
    by value: a plain value hidden for being equal to a secret would say a guess is right."""
    if old == new:
        return ()
    ops = jsonpatch.make_patch(*_differing(old, new)).patch
    return tuple(
        {
            **op,
            "value": taint.redact_lists(
                taint.redact(op["value"], op["path"], secrets), op["path"], secrets
            ),
        }
        if "value" in op
        else op
        for op in ops
    )


class ChangeKind(StrEnum):
    ADD = "add"
    REMOVE = "remove"
    REPLACE = "replace"


class SecretChange(StrEnum):
    """For a change that shows `<redacted>`: did the hidden value change (from digests)?"""

    CHANGED = "changed"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class ValueChange:
    kind: ChangeKind
    path: str  # JSON pointer into the spec (a service's, or the stack's own fields)
    old: Any = None  # the value replaced or removed, redacted (meaningless for an add)
    new: Any = None  # the value written, redacted (meaningless for a remove)
    secret: SecretChange | None = None  # set when `old` or `new` shows `<redacted>`

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"op": self.kind.value, "path": self.path}
        if self.kind is not ChangeKind.ADD:
            out["old"] = self.old
        if self.kind is not ChangeKind.REMOVE:
            out["new"] = self.new
        if self.secret is not None:
            out["secret"] = self.secret.value
        return out


def _walk(old: Any, new: Any, at: str, out: list[tuple[ChangeKind, str, Any, Any]]) -> None:
    if old == new:
        return
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key, value in new.items():  # the new order, then the gone; equal entries cost no call
            if key not in old:
                out.append((ChangeKind.ADD, f"{at}/{taint.escape(str(key))}", None, value))
            elif old[key] != value:
                _walk(old[key], value, f"{at}/{taint.escape(str(key))}", out)
        for key, value in old.items():
            if key not in new:
                out.append((ChangeKind.REMOVE, f"{at}/{taint.escape(str(key))}", value, None))
        return
    if isinstance(old, list) and isinstance(new, list):
        if len(old) == len(new):
            differ = [i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
            if len(differ) == 1:  # one item changed in place: name it
                _walk(old[differ[0]], new[differ[0]], f"{at}/{differ[0]}", out)
                return
        elif len(new) == len(old) + 1 and new[:-1] == old:  # one item appended
            out.append((ChangeKind.ADD, f"{at}/{len(old)}", None, new[-1]))
            return
        elif len(old) == len(new) + 1 and old[:-1] == new:  # the last item removed
            out.append((ChangeKind.REMOVE, f"{at}/{len(new)}", old[-1], None))
            return
    out.append((ChangeKind.REPLACE, at, old, new))  # a scalar, or a list shown whole


def _shown(value: Any, at: str, secrets: frozenset[str]) -> Any:
    """By place alone: `_walk` names each value where it stands on its own side."""
    return taint.redact(value, at, secrets)


def _hidden(real: Any, shown: Any) -> list[Any]:
    """The real values where `shown` says `<redacted>` (in order)."""
    if isinstance(shown, str) and shown == REDACTED and real != REDACTED:
        return [real]
    if isinstance(shown, Mapping) and isinstance(real, Mapping):
        return [h for k in sorted(shown, key=str) if k in real for h in _hidden(real[k], shown[k])]
    if isinstance(shown, list) and isinstance(real, list):
        return [h for r, s in zip(real, shown, strict=False) for h in _hidden(r, s)]
    return []


def _digest(values: Iterable[Any]) -> bytes:
    return hashlib.sha256(json.dumps(list(values), sort_keys=True).encode()).digest()


def _redacted(value: Any) -> bool:
    return REDACTED in taint.leaves(value)


def changes(
    old: Any, new: Any, old_secrets: frozenset[str], new_secrets: frozenset[str]
) -> tuple[ValueChange, ...]:
    """Every changed place from `old` to `new`, with both values as outputs may show them:
    everything at or under a pointer of its side's secrets is `<redacted>` (by place only: never
    a plain value for being equal to a secret, which would say that a guess is right)."""
    if old == new:
        return ()
    found: list[tuple[ChangeKind, str, Any, Any]] = []
    _walk(old, new, "", found)
    out = []
    for kind, path, before, after in found:
        shown_old = shown_new = None
        if kind is not ChangeKind.ADD:
            shown_old = _shown(before, path, old_secrets)
        if kind is not ChangeKind.REMOVE:
            shown_new = _shown(after, path, new_secrets)
        secret = None
        if kind is ChangeKind.REPLACE and (_redacted(shown_old) or _redacted(shown_new)):
            moved = _digest(_hidden(before, shown_old)) != _digest(_hidden(after, shown_new))
            secret = SecretChange.CHANGED if moved else SecretChange.UNCHANGED
        out.append(ValueChange(kind, path, shown_old, shown_new, secret))
    return tuple(out)


def own_changes(
    old: Any, new: Any, old_secrets: frozenset[str], new_secrets: frozenset[str]
) -> tuple[ValueChange, ...]:
    """A stack's own fields old -> new: its services and volumes are shown one by one."""

    def own(spec: Any) -> Any:
        return {k: v for k, v in spec.items() if k not in ("services", "volumes")}

    return changes(own(old), own(new), old_secrets, new_secrets)
