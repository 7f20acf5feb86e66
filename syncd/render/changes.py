"""Old -> new lines and impact lines, shared by the text and markdown renderings.

`~ /image: "busybox:1.36" → "busybox:1.37"`, `- /command/3: "x"`, `+ /ports: [...]`; a secret
shows `<redacted>` on both sides and whether it changed; a value the plan could not know (a
variable not set where the plan ran) shows as `(from $NAME, not set here)`, a value of a SOPS
file the plan could not decrypt as `(encrypted value)`, "(encrypted value changed)" when its
file's encrypted content changed. Values come only from
the plan's redacted changes. Long values are cut (a pull-request comment has a size limit).
Pure: no I/O.
"""

from __future__ import annotations

import json
from typing import Any, assert_never

from syncd.core.canonical import DEFAULTS
from syncd.core.diffs import ChangeKind, SecretChange, ValueChange
from syncd.core.impact import GRACE, Impact
from syncd.core.plan import Action, ServiceChange, StackPlan
from syncd.manifests.options.lifecycle import UpdateOrder
from syncd.render.vocabulary import safe
from syncd.secretpolicy import is_encrypted, is_unknown
from syncd.taint import REDACTED

MAX_VALUE = 400  # characters of one value shown; the JSON plan carries it whole
ARROW = "→"


def _encrypted(value: Any) -> bool:
    return isinstance(value, str) and is_encrypted(value)


def value_text(value: Any) -> str:
    """A value as JSON, or an unknown value as its `(from $NAME, not set here)`; a value of a
    SOPS file not decrypted here as `(encrypted value)` (its id tells nothing to a reader)."""
    if _encrypted(value):
        return "(encrypted value)"
    if isinstance(value, str) and is_unknown(value):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if len(text) > MAX_VALUE:
        text = f"{text[:MAX_VALUE]}… ({len(text) - MAX_VALUE} more characters)"
    return safe(text)


def change_symbol(change: ValueChange) -> str:
    match change.kind:
        case ChangeKind.ADD:
            return "+"
        case ChangeKind.REMOVE:
            return "-"
        case ChangeKind.REPLACE:
            return "~"
        case _:
            assert_never(change.kind)


def change_text(change: ValueChange) -> str:
    """`/image: "busybox:1.36" → "busybox:1.37"` (without the symbol)."""
    path = safe(change.path) or "/"
    match change.kind:
        case ChangeKind.ADD:
            return f"{path}: {value_text(change.new)}"
        case ChangeKind.REMOVE:
            return f"{path}: {value_text(change.old)}"
        case ChangeKind.REPLACE:
            if _encrypted(change.old) and _encrypted(change.new):
                return f"{path}: (encrypted value changed)"
            line = f"{path}: {value_text(change.old)} {ARROW} {value_text(change.new)}"
            if change.secret is SecretChange.CHANGED:
                line += " (changed)"
            elif change.secret is SecretChange.UNCHANGED:
                line += " (secret unchanged)"
            return line
        case _:
            assert_never(change.kind)


def _is_default(change: ValueChange) -> bool:
    name = change.path.removeprefix("/")
    return change.kind is ChangeKind.ADD and name in DEFAULTS and change.new == DEFAULTS[name]


def service_changes(change: ServiceChange) -> list[ValueChange]:
    """A service's changes worth reading: a create leaves out the fields at their default."""
    if change.action is not Action.CREATE:
        return list(change.diff)
    return [c for c in change.diff if not _is_default(c)]


def stack_changes(stack: StackPlan) -> list[ValueChange]:
    return list(stack.diff)


def _seconds(value: float | None) -> str:
    return f"{REDACTED} s" if value is None else f"{value:g} s"


def _stop_first(found: Impact) -> str:
    """`stop-first`, with the reason when the spec asked for start-first."""
    return f"stop-first: {found.fallback}" if found.fallback else "stop-first"


def impact_tag(found: Impact) -> str:
    """The impact in a few words, for a summary line."""
    if found.down is None:
        return "downtime not known here"
    if found.restart:
        return f"restarted with downtime: down up to {_seconds(found.stop_seconds)} + start"
    if found.down:
        return (
            f"replaced with downtime ({_stop_first(found)}): down up to "
            f"{_seconds(found.stop_seconds)} + start"
        )
    if found.order == UpdateOrder.START_FIRST.value:
        return "replaced without downtime (start-first)"
    return f"replaced without downtime ({found.replicas} replicas one at a time, stop-first)"


def impact_lines(found: Impact) -> list[str]:
    """What the replace costs: downtime and where its bound comes from, then what it touches."""
    stop = f"{_seconds(found.stop_seconds)} to stop"
    stop += f" ({GRACE})" if found.stop_source == GRACE else " (the stop_timeout setting)"
    if found.down is None:
        first = (
            f"downtime not known here: its update order or replicas come from the operator's "
            f"variables; each container stops within {stop}"
        )
    elif found.restart:
        first = f"restarted with downtime: down at most {stop}, then its start"
    elif found.down:
        first = (
            f"replaced with downtime ({_stop_first(found)}): down at most {stop}, then the "
            "start of the new container"
        )
    elif found.order == UpdateOrder.START_FIRST.value:
        first = (
            "replaced without downtime (start-first): the old container serves until the new "
            "one runs"
        )
    else:
        first = (
            f"replaced without downtime ({found.replicas} replicas one at a time, "
            f"{_stop_first(found)}; the others serve): each down at most {stop}, then its start"
        )
    health = found.health
    if found.health_hidden:
        first += f"; healthcheck {REDACTED}"
    elif health is not None:
        first += (
            f"; healthy within {_seconds(health.within)} (healthcheck start_period "
            f"{_seconds(health.start_period)} + {health.retries} retries x interval "
            f"{_seconds(health.interval)})"
        )
    lines = [f"impact: {first}"]
    touched = []
    if found.ports:
        touched.append(f"host ports {', '.join(safe(p) for p in found.ports)}")
    if found.volumes:
        touched.append(f"volumes {', '.join(safe(v) for v in found.volumes)}")
    if found.dependents:
        touched.append(f"needed by {', '.join(safe(d) for d in found.dependents)}")
    if touched:
        lines.append(f"affects: {'; '.join(touched)}")
    return lines
