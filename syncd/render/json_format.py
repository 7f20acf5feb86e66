"""The plan for programs: the whole plan as JSON, or each changed stack's RFC 6902 patch.

Each service and stack carries its `changes` (old -> new, `core.diffs`) beside the RFC 6902
`patch`, and each replaced service its `impact`. Stacks come in key order, services in the
plan's execution order (dependencies first, removals last), volumes in the plan's order. Every
patch and change is the planner's, already redacted.
Pure: no I/O.
"""

from __future__ import annotations

import json
from typing import Any

from syncd.core.plan import Plan, ServiceChange, StackPlan, VolumeChange


def _service(change: ServiceChange) -> dict[str, Any]:
    return {
        "service": str(change.key),
        "id": change.key.id,
        "action": change.action.value,
        "reason": change.reason.value,
        "reasonText": change.reason_text,
        "fields": list(change.fields),
        "patch": list(change.patch),
        "changes": [c.as_json() for c in change.diff],
        "impact": change.impact.as_json() if change.impact else None,
    }


def _volume(change: VolumeChange) -> dict[str, Any]:
    return {
        "volume": str(change.key),
        "id": change.key.id,
        "action": change.action.value,
        "reason": change.reason.value,
    }


def _stack(stack: StackPlan) -> dict[str, Any]:
    return {
        "stack": str(stack.key),
        "id": stack.key.id,
        "changed": stack.changed,
        "removed": stack.removed,
        "patch": list(stack.patch),
        "changes": [c.as_json() for c in stack.diff],
        "services": [_service(c) for c in stack.services],
        "volumes": [_volume(v) for v in stack.volumes],
    }


def plan_json(plan: Plan) -> dict[str, Any]:
    """The plan as one JSON value (what the API serves as the current plan)."""
    return {
        "base": plan.base,
        "head": plan.head,
        "changed": plan.changed,
        "counts": plan.counts(),
        "restarts": dict(zip(("services", "down"), plan.restarts(), strict=True)),
        "stacks": [_stack(s) for s in sorted(plan.stacks, key=lambda s: s.key)],
    }


def render_json(plan: Plan) -> str:
    return json.dumps(plan_json(plan), indent=2, ensure_ascii=False)


def render_json_patch(plan: Plan) -> str:
    """`{"shop/default": [ops]}` for changed stacks: each applies to the base's stack spec."""
    stacks = sorted((s for s in plan.stacks if s.changed), key=lambda s: s.key)
    return json.dumps({str(s.key): list(s.patch) for s in stacks}, indent=2, ensure_ascii=False)
