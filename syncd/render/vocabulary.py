"""Words and symbols the human-facing plan renderings share, so text and markdown agree.

Values shown come only from the plan's changes, which the planner has already redacted.
Pure: no I/O.
"""

from __future__ import annotations

import re
from typing import assert_never

from syncd.core.plan import (
    Action,
    Plan,
    Reason,
    ServiceChange,
    VolumeAction,
    VolumeChange,
)

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Unicode that changes how the text around it reads (bidi overrides and isolates, zero-width
# characters, line and paragraph separators): a value could hide or reorder a change in a plan
_INVISIBLE = re.compile(
    "[\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f"
    "\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb]"
)


def safe(text: str) -> str:
    """`text` with control characters and characters that reorder or hide text escaped, so a
    name or value can never drive the terminal nor make a plan read otherwise than it acts."""
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return _INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


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
    restarting, down = plan.restarts()
    if restarting:
        line += f" {plural(restarting, 'service')} will restart, {down} of them down meanwhile."
    return line


def no_changes(plan: Plan) -> str:
    return f"No changes. Docker matches revision {head_name(plan)}."


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
