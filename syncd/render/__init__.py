"""Plan renderings: text for a terminal, markdown for a pull request, JSON for programs.

Every rendering shows values only from the plan's patch ops, which the planner has redacted, so
no format can print a secret. Pure: no I/O; each function returns a string.

Stage 5. May import: the root leaves, `manifests`, `engine.base` and `core`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import assert_never

from syncd.core.plan import Plan
from syncd.render.json_format import render_json, render_json_patch
from syncd.render.markdown import render_markdown
from syncd.render.text import render_text


class PlanFormat(StrEnum):
    TEXT = "text"
    MARKDOWN = "markdown"
    JSON = "json"
    JSON_PATCH = "json-patch"


def render(plan: Plan, fmt: PlanFormat, *, color: bool = False) -> str:
    """`plan` in `fmt`; `color` adds ANSI colour to text (the CLI passes True only on a TTY)."""
    match fmt:
        case PlanFormat.TEXT:
            return render_text(plan, color=color)
        case PlanFormat.MARKDOWN:
            return render_markdown(plan)
        case PlanFormat.JSON:
            return render_json(plan)
        case PlanFormat.JSON_PATCH:
            return render_json_patch(plan)
        case _:
            assert_never(fmt)


__all__ = ["PlanFormat", "render"]
