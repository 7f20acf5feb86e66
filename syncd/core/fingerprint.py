"""A fingerprint of what runs: a stable digest of one observation, and its parts per service,
volume and project network, so that "what moved" since a plan can be named.

What counts is what an operator or a sync can change under a plan: each service's containers
(ids, replica numbers, states, published ports), the config hash and image they run, the
revision they were applied from and an operator's stop; each volume (kept or orphaned, its
options as the engine has them); each project network. The specs themselves are not read: the
config hash stands for them. Every digest is the sha256 hex of canonical JSON. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
from typing import Any

from syncd.core.canonical import canonical_json
from syncd.core.live import LiveService, LiveState, LiveVolume

__all__ = ["live_fingerprint", "live_parts"]


def _digest(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


def _service(service: LiveService) -> dict[str, Any]:
    return {
        "hash": service.hash,
        "imageId": service.image_id,
        "status": service.status.value,
        "revision": service.revision,
        "operatorStopped": service.operator_stopped,
        "containers": [
            [r.index, r.container_id, r.status.value, sorted(r.published)]
            for r in service.containers()
        ],
    }


def _volume(volume: LiveVolume) -> dict[str, Any]:
    declared = dict(volume.declared) if volume.declared is not None else None
    return {"orphaned": volume.orphaned, "declared": declared}


def live_parts(live: LiveState) -> dict[str, str]:
    """key -> digest: `project/stack/service` for each service, `project/stack/volumes/name`
    for each volume and `project/network` for each project network (keys in order)."""
    parts: dict[str, str] = {}
    for stack in live.stacks.values():
        for service in stack.services.values():
            parts[str(service.key)] = _digest(_service(service))
        for name, volume in stack.volumes.items():
            parts[f"{stack.key}/volumes/{name}"] = _digest(_volume(volume))
    for project in live.networks:
        parts[f"{project}/network"] = _digest({"network": project})
    return dict(sorted(parts.items()))


def live_fingerprint(live: LiveState) -> str:
    """One digest of everything `live_parts` names: equal for the same observed state."""
    return _digest(live_parts(live))
