"""Resource limits that grant a capability's power, checked against the operator's policy.

Raising a ulimit is done by the runtime as root, before the process starts, so the container's
process gets powers its capabilities do not give it: `rtprio` above 0 lets it take real-time
scheduling (it can starve the host's CPUs) and `nice` above 20 a priority above the host's own
processes, as capability SYS_NICE would; `memlock` above 8 MiB (systemd's default) lets it lock
memory out of swap, as IPC_LOCK would. So these need the same `capabilities` entry. Values the
model refuses (not numbers) are left to it. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from syncd.manifests.yamlsafe import Path
from syncd.policy import ANY_CAPABILITY, Allowed, PolicyKey, Refusal

UNLIMITED = -1
# ulimit -> (the highest value that grants nothing, the capability it stands for)
GRANTS: dict[str, tuple[int, str]] = {
    "rtprio": (0, "SYS_NICE"),
    "nice": (20, "SYS_NICE"),
    "memlock": (8 * 1024 * 1024, "IPC_LOCK"),
}


def _hard(value: Any) -> int | None:
    """The hard limit of `name: N` or `name: {soft, hard}` (the soft one can go up to it)."""
    if isinstance(value, Mapping):
        values = [v for v in (value.get("soft"), value.get("hard")) if isinstance(v, int)]
        values = [v for v in values if _number(v)]
        if UNLIMITED in values:
            return UNLIMITED
        return max(values, default=None)
    return value if _number(value) else None


def _number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def ulimit_refusals(allowed: Allowed, ulimits: Any) -> Iterator[tuple[Path, Refusal]]:
    """One refusal per ulimit of `ulimits` that grants a capability the policy does not allow,
    at its path (relative to `ulimits`)."""
    if not isinstance(ulimits, Mapping):
        return
    for name, value in ulimits.items():
        grant = GRANTS.get(str(name))
        hard = _hard(value)
        if grant is None or hard is None or (hard != UNLIMITED and hard <= grant[0]):
            continue
        ceiling, capability = grant
        if ANY_CAPABILITY in allowed.capabilities or capability in allowed.capabilities:
            continue
        shown = "unlimited" if hard == UNLIMITED else str(hard)
        what = f"ulimits.{name} {shown} (above {ceiling}: the power of capability {capability})"
        yield (str(name),), allowed.refuse(what, PolicyKey.CAPABILITIES, capability)
