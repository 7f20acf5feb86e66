"""The plan for a terminal, in the manner of `terraform plan`; ANSI colour only when asked.

Pure: no I/O.
"""

from __future__ import annotations

from syncd.core.plan import Plan, ServiceChange, StackPlan, VolumeChange
from syncd.render.changes import (
    change_symbol,
    change_text,
    impact_lines,
    service_changes,
    stack_changes,
)
from syncd.render.vocabulary import (
    action_symbol,
    base_name,
    head_name,
    no_changes,
    plural,
    safe,
    service_text,
    totals,
    volume_symbol,
    volume_text,
)

_COLOURS = {"+": "32", "~": "33", ">": "36", "-": "31", "?": "35", "bold": "1", "dim": "2"}


class _Paint:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, style: str) -> str:
        code = _COLOURS.get(style)
        if not self.enabled or code is None:
            return text
        return f"\x1b[{code}m{text}\x1b[0m"


def _service(change: ServiceChange, paint: _Paint) -> list[str]:
    symbol = action_symbol(change.action)
    key = paint(safe(str(change.key)), "bold")
    lines = [f"  {paint(symbol, symbol)} {key}: {change.action.value} ({service_text(change)})"]
    for found in service_changes(change):
        symbol = change_symbol(found)
        lines.append(f"      {paint(symbol, symbol)} {change_text(found)}")
    if change.impact is not None:
        lines += [f"      {paint(line, 'dim')}" for line in impact_lines(change.impact)]
    return lines


def _volume(change: VolumeChange, paint: _Paint) -> str:
    symbol = volume_symbol(change.action)
    key = safe(str(change.key))
    return f"  {paint(symbol, symbol)} volume {key}: {change.action.value} ({volume_text(change)})"


def _stack(stack: StackPlan, paint: _Paint) -> list[str]:
    title = f"stack {safe(str(stack.key))}"
    if stack.removed:
        title += " (no longer in the repository)"
    lines = [paint(title, "bold")]
    for found in stack_changes(stack):
        symbol = change_symbol(found)
        lines.append(f"  {paint(symbol, symbol)} {change_text(found)}")
    for change in stack.changes:
        lines += _service(change, paint)
    lines += [_volume(v, paint) for v in stack.volume_changes]
    return lines


def render_text(plan: Plan, *, color: bool = False) -> str:
    paint = _Paint(color)
    lines = [paint(f"syncd plan: {base_name(plan)} -> {head_name(plan)}", "bold"), ""]
    for stack in plan.stacks:
        if stack.changed or stack.volume_changes:  # volume warnings too
            lines += [*_stack(stack, paint), ""]
    unchanged = sum(not s.changed for s in plan.stacks)
    if unchanged:
        lines += [paint(f"{plural(unchanged, 'stack')} unchanged.", "dim"), ""]
    lines.append(paint(totals(plan) if plan.changed else no_changes(plan), "bold"))
    return "\n".join(lines)
