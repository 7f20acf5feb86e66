"""Words and symbols the human-facing plan renderings share, so text and markdown agree.

Values shown here come only from the plan's patch ops, which the planner has already redacted.
Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from typing import Any, assert_never

from syncd.core.canonical import DEFAULTS
from syncd.core.plan import (
    Action,
    Plan,
    Reason,
    ServiceChange,
    StackPlan,
    VolumeAction,
    VolumeChange,
)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def safe(text: str) -> str:
    """`text` with control characters escaped, so a name can never drive the terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def short(revision: str | None, *, missing: str) -> str:
    return safe(revision[:12]) if revision else missing


def base_name(plan: Plan) -> str:
    return short(plan.base, missing="live")


def head_name(plan: Plan) -> str:
    return short(plan.head, missing="(work tree)")


def action_symbol(action: Action) -> str:
    match action:
        case Action.CREATE:
            return "+"
        case Action.RECREATE | Action.UPDATE:
            return "~"
        case Action.START:
            return ">"
        case Action.REMOVE:
            return "-"
        case Action.NONE:
            return " "
        case _:
            assert_never(action)


def volume_symbol(action: VolumeAction) -> str:
    match action:
        case VolumeAction.CREATE:
            return "+"
        case VolumeAction.ATTACH:
            return "~"
        case VolumeAction.DETACH:
            return "-"
        case VolumeAction.NONE:
            return " "
        case _:
            assert_never(action)


def volume_text(change: VolumeChange) -> str:
    """What happens to the volume, and why (the service reason texts do not all fit volumes)."""
    match change.action:
        case VolumeAction.CREATE:
            return "does not exist yet"
        case VolumeAction.ATTACH:
            return "declared again; no longer orphaned"
        case VolumeAction.DETACH:
            because = "its stack is no longer in the repository"
            if change.reason is not Reason.STACK_REMOVED:
                because = "no longer declared by its stack"
            return f"kept, orphaned: {because}"
        case VolumeAction.NONE:
            if change.differs:  # field names only, never a value
                fields = ", ".join(change.differs)
                return (f"its {fields} differ from the declaration; not changed: Docker can only "
                        "change them by deleting the volume and its data")  # fmt: skip
            return "unchanged"
        case _:
            assert_never(change.action)


def service_text(change: ServiceChange) -> str:
    """The reason, with the fields that force a recreate or that an update records."""
    text = change.reason_text
    if change.fields and change.action is Action.RECREATE:
        text += f"; forced by {', '.join(change.fields)}"
    elif change.fields and change.action is Action.UPDATE:
        text += f"; changed {', '.join(change.fields)}"
    return text


def op_symbol(op: dict[str, Any]) -> str:
    return {"add": "+", "remove": "-", "replace": "~", "move": "~", "copy": "+"}.get(op["op"], "?")


def op_text(op: dict[str, Any]) -> str:
    """`/environment/GREETING: "hello"`: the path and, when the op carries one, its JSON value."""
    path = safe(op["path"]) or "/"
    if "value" in op:
        return f"{path}: {json.dumps(op['value'], ensure_ascii=False, sort_keys=True)}"
    if "from" in op:
        verb = "copied" if op["op"] == "copy" else "moved"
        return f"{path}: {verb} from {safe(op['from'])}"
    return path


def service_ops(change: ServiceChange) -> list[dict[str, Any]]:
    """A service's ops worth reading: for a create, the fields left at their default are omitted."""
    if change.action is not Action.CREATE:
        return list(change.patch)
    return [op for op in change.patch if not _is_default(op)]


def _is_default(op: dict[str, Any]) -> bool:
    name = op["path"].removeprefix("/")
    return op["op"] == "add" and name in DEFAULTS and op.get("value") == DEFAULTS[name]


def stack_ops(stack: StackPlan) -> list[dict[str, Any]]:
    """The stack's own ops (its description): services and volumes are shown one by one."""
    return [
        op for op in stack.patch if op["path"].split("/")[1:2] not in (["services"], ["volumes"])
    ]


def totals(plan: Plan) -> str:
    counts = plan.counts()
    parts = ", ".join(f"{counts[a.value]} to {a.value}" for a in Action if a is not Action.NONE)
    line = f"Plan: {parts}."
    volumes: dict[str, int] = {}
    for stack in plan.stacks:
        for change in stack.volume_changes:
            volumes[change.action.value] = volumes.get(change.action.value, 0) + 1
    if volumes:
        line += " Volumes: " + ", ".join(f"{n} to {a}" for a, n in sorted(volumes.items())) + "."
    return line


def no_changes(plan: Plan) -> str:
    return f"No changes. Docker matches revision {head_name(plan)}."


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
