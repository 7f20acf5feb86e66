"""The files options of a `ContainerRequest` as docker-py arguments.

`options` holds canonical values keyed by syncd's field names (`core.options.files`), every
field present (defaults included). `container_kwargs` feeds `APIClient.create_container`,
`host_kwargs` `APIClient.create_host_config`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncd.engine.base import Mount


def container_kwargs(options: Mapping[str, Any]) -> dict[str, Any]:
    return {}


def host_kwargs(options: Mapping[str, Any]) -> dict[str, Any]:
    return {}


def mount_kwargs(m: Mount, source: str) -> dict[str, Any]:
    """One mount as docker-py's `docker.types.Mount` takes it (`HostConfig.Mounts`); `source` is
    the engine volume's name for a volume, the host path for a bind, unused for a tmpfs."""
    if m.tmpfs:
        return {"target": m.target, "source": None, "type": "tmpfs", "read_only": m.read_only,
                "tmpfs_size": m.tmpfs_size, "tmpfs_mode": m.tmpfs_mode}  # fmt: skip
    return {"target": m.target, "source": source, "type": "bind" if m.bind else "volume",
            "read_only": m.read_only, "propagation": m.propagation if m.bind else None,
            "no_copy": m.no_copy}  # fmt: skip
