"""A fingerprint of the live state: what a plan was made against, to tell later whether it moved.

`live_parts` digests each observed thing on its own (a service: its containers, their states,
image and revision; a volume; a project network), keyed so that what moved can be named;
`live_fingerprint` digests them all. Each digest is the sha256 hex of canonical JSON.

Nothing derived from a secret goes in: a service's config hash is a hash of its spec, secret
values included, so it is left out; the container id stands for it (containers are immutable,
a new config hash is a new container). A volume's driver options may hold the operator's values:
only their names go in.

A state is fingerprinted as a plan reads it: a container is up or down (stopped, failed: a plan
starts it again), not which of the up states it is in. A health check still starting, a restart
by Docker's restart policy, are no move: a plan saved then is the plan of later (and a saved
plan is not refused as stale for them). Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from syncd.core.live import LiveService, LiveState, LiveVolume, ServiceStatus

DOWN = (ServiceStatus.STOPPED, ServiceStatus.ERROR)  # what a plan starts again (`core.plan`)


def digest(value: Any) -> str:
    """sha256 hex of `value`'s canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _state(status: ServiceStatus) -> str:
    return "down" if status in DOWN else "up"


def _service(service: LiveService) -> dict[str, Any]:
    return {
        "status": _state(service.status),
        "revision": service.revision,
        "imageId": service.image_id,
        "operatorStopped": service.operator_stopped,
        "containers": [
            [r.index, r.container_id, _state(r.status), list(r.published)]
            for r in service.containers()
        ],
    }


def _volume(volume: LiveVolume) -> dict[str, Any]:
    declared = volume.declared or {}
    return {
        "orphaned": volume.orphaned,
        "known": volume.declared is not None,
        "driver": declared.get("driver"),
        "driverOpts": sorted(declared.get("driverOpts") or {}),
        "labels": sorted(declared.get("labels") or {}),
    }


def live_parts(live: LiveState) -> dict[str, str]:
    """`service:shop/default/web`, `volume:shop/default/data`, `network:shop` -> digest."""
    parts: dict[str, str] = {}
    for stack in live.stacks.values():
        for service in stack.services.values():
            parts[f"service:{service.key}"] = digest(_service(service))
        for volume in stack.volumes.values():
            parts[f"volume:{volume.key}"] = digest(_volume(volume))
    for project in live.networks:
        parts[f"network:{project}"] = digest({"present": True})
    return dict(sorted(parts.items()))


def live_fingerprint(live: LiveState) -> str:
    """One digest of the whole live state (of `live_parts`)."""
    return digest(live_parts(live))
