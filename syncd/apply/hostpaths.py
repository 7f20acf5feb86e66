"""The apply-time check of host binds: the policy was checked on the path as the manifest wrote
it; here, just before the container is created, the path is resolved on the host
(`os.path.realpath`, every symlink followed) and checked again, so a symlink swapped in under an
allowed prefix (`/srv/shared/x -> /`) cannot lead the mount out of it.

Binds into syncd's own data dir (project files, files from git) are syncd's: they are confined
where they are made (`steps.project_files`), not by the policy; they must stay inside the data
dir once resolved.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from syncd.engine.base import ContainerRequest
from syncd.errors import ServiceFailed
from syncd.ids import VolumeKey
from syncd.settings import Settings


def check_host_binds(settings: Settings, request: ContainerRequest) -> None:
    """`ServiceFailed` when a bind of `request` resolves to a path its project may not mount."""
    data_dir = Path(os.path.realpath(settings.data_dir))
    for mount in request.mounts:
        if not mount.bind:
            continue
        resolved = os.path.realpath(mount.source)
        source = Path(mount.source)
        if _inside(source, settings.data_dir) or _inside(source, data_dir):
            if not _inside(Path(resolved), data_dir):
                raise ServiceFailed(
                    f"the mount at {mount.target!r} resolves outside syncd's data dir "
                    "(a symlink?); refused"
                )
            continue
        refusal = settings.policy.check_bind(request.key.project, mount.source, resolved=resolved)
        if refusal is not None:
            raise ServiceFailed(f"at apply time, with its symlinks resolved: {refusal}")


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_volume_device(settings: Settings, key: VolumeKey, declared: Mapping[str, Any]) -> None:
    """The same check for a `local` volume whose options bind a host path (`o: bind`, `device`),
    just before syncd creates it."""
    opts = declared.get("driverOpts") or {}
    flags = {o.strip().split("=")[0] for o in str(opts.get("o", "")).split(",")}
    if declared.get("driver", "local") != "local" or not flags & {"bind", "rbind"}:
        return
    device = str(opts.get("device") or "")
    resolved = os.path.realpath(device) if device.startswith("/") else None
    refusal = settings.policy.check_bind(key.project, device, resolved=resolved)
    if refusal is not None:
        raise ServiceFailed(f"volume {key}: at apply time, with its symlinks resolved: {refusal}")
