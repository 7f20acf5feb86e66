"""What a container really runs, from Docker's inspect answer, in syncd's canonical field forms
(`8080:80/tcp`, `data:/data:rw`, `/html:/www:ro`). Environment and exposed ports that only come
from the image's own config are left out, as they are not part of the service. Pure: no I/O."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from syncd.core.canonical import Spec


def _env(items: list[str] | None) -> dict[str, str]:
    return dict(item.split("=", 1) for item in items or [] if "=" in item)


def deployed_spec(
    inspect: Mapping[str, Any],
    image: Mapping[str, Any] | None,
    *,
    volume_prefix: str,
    files_root: str,
) -> Spec:
    config = inspect.get("Config") or {}
    host = inspect.get("HostConfig") or {}
    image_config = (image or {}).get("Config") or {}
    image_env = _env(image_config.get("Env"))
    environment = {k: v for k, v in _env(config.get("Env")).items() if image_env.get(k) != v}
    bindings = host.get("PortBindings") or {}
    image_ports = set(image_config.get("ExposedPorts") or {})
    ports = []
    for port in sorted(set(config.get("ExposedPorts") or {}) | set(bindings)):
        published = [b for b in bindings.get(port) or [] if b.get("HostPort")]
        if published:
            ports += [f"{b['HostPort']}:{port}" for b in published]
        elif port not in image_ports:
            ports.append(port)
    volumes = []
    for mount in inspect.get("Mounts") or []:
        mode = "rw" if mount.get("RW", True) else "ro"
        target = mount.get("Destination", "")
        if mount.get("Type") == "volume":
            name = str(mount.get("Name", "")).removeprefix(volume_prefix)
            volumes.append(f"{name}:{target}:{mode}")
        elif mount.get("Type") == "bind":
            source = str(mount.get("Source", ""))
            if source == files_root or source.startswith(files_root + "/"):
                source = "/" + posixpath.relpath(source, files_root).removeprefix(".")
            volumes.append(f"{source.replace('//', '/')}:{target}:{mode}")
    return {
        "image": config.get("Image"),
        "command": config.get("Cmd"),
        "entrypoint": config.get("Entrypoint"),
        "environment": dict(sorted(environment.items())),
        "ports": sorted(ports),
        "volumes": sorted(volumes),
    }
