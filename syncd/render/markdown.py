"""The plan as a pull-request comment: a summary table, then one collapsible section per service.

Pure: no I/O.
"""

from __future__ import annotations

import html
import re

from syncd.core.diffs import ValueChange
from syncd.core.plan import Action, Plan, ServiceChange, StackPlan
from syncd.render.changes import (
    change_symbol,
    change_text,
    impact_lines,
    impact_tag,
    service_changes,
    stack_changes,
)
from syncd.render.vocabulary import (
    action_symbol,
    base_name,
    head_name,
    no_changes,
    plural,
    service_text,
    totals,
    volume_symbol,
    volume_text,
)

COLUMNS = [a for a in Action if a is not Action.NONE]
_TICKS = re.compile(r"`+")
_NO_OPS = {
    Action.REMOVE: "_The container is removed._",
    Action.START: "_No spec change: the container is started._",
}


def cell(text: str) -> str:
    """A table cell: a `|` would end the cell, a newline the row."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _fenced(lang: str, lines: list[str]) -> list[str]:
    body = "\n".join(lines)
    fence = "`" * max([3, *(len(run) + 1 for run in _TICKS.findall(body))])
    return [f"{fence}{lang}", *lines, fence]


def _diff(changes: list[ValueChange]) -> list[str]:
    return _fenced("diff", [f"{change_symbol(c)} {change_text(c)}" for c in changes])


def _row(stack: StackPlan) -> str:
    counts = {a: sum(c.action is a for c in stack.changes) for a in COLUMNS}
    name = f"{stack.key} (removed)" if stack.removed else str(stack.key)
    cells = [cell(name), *(str(counts[a]) for a in COLUMNS), str(len(stack.volume_changes))]
    return f"| {' | '.join(cells)} |"


def _table(plan: Plan) -> list[str]:
    names = ["stack", *(a.value for a in COLUMNS), "volumes"]
    return [
        f"| {' | '.join(names)} |",
        f"|---|{'---:|' * (len(names) - 1)}",
        *(_row(s) for s in plan.stacks if s.changed),
    ]


def _service(change: ServiceChange) -> list[str]:
    title = f"{action_symbol(change.action)} {change.key}"
    why = f"{change.action.value}: {service_text(change)}"
    if change.impact is not None:
        why += f" ({impact_tag(change.impact)})"
    summary = f"<code>{html.escape(title)}</code> {html.escape(why)}"
    found = service_changes(change)
    quiet = _NO_OPS.get(change.action, "_No spec change._")
    if change.impact is not None and change.impact.restart:
        quiet = "_No spec change: the container is restarted._"
    body = _diff(found) if found else [quiet]
    if change.impact is not None:
        body += ["", *_fenced("text", impact_lines(change.impact))]  # values: never markdown
    return [f"<details><summary>{summary}</summary>", "", *body, "", "</details>"]


def _stack(stack: StackPlan) -> list[str]:
    title = f"#### {stack.key}" + (" (no longer in the repository)" if stack.removed else "")
    lines = [title, ""]
    if own := stack_changes(stack):
        lines += [*_diff(own), ""]
    for change in stack.changes:
        lines += [*_service(change), ""]
    volumes = [
        f"{volume_symbol(v.action)} volume {v.key}: {v.action.value} ({volume_text(v)})"
        for v in stack.volume_changes
    ]
    if volumes:
        lines += [*_fenced("diff", volumes), ""]
    return lines


def render_markdown(plan: Plan) -> str:
    title = f"### syncd plan: {base_name(plan)} → {head_name(plan)}"
    if not plan.changed:
        return f"{title}\n\n{no_changes(plan)}\n"
    lines = [title, "", *_table(plan), ""]
    unchanged = sum(not s.changed for s in plan.stacks)
    if unchanged:
        lines += [f"{plural(unchanged, 'stack')} unchanged.", ""]
    for stack in plan.stacks:
        if stack.changed:
            lines += _stack(stack)
    lines.append(f"**{totals(plan)}**")
    return "\n".join(lines) + "\n"
