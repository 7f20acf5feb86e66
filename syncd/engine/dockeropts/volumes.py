"""A stack's volumes as the Docker Engine API takes and reports them.

`create_kwargs`: docker-py's `APIClient.create_volume` arguments for a declaration
(`core.options.volumes.declaration`: driver, driverOpts, labels); syncd's own labels win.
`observed`: the same three fields of a listed volume (syncd's labels left out), to tell a
declaration that changed since the volume was made. `check_volumes`: Docker creates a missing
volume named in a mount by itself; every volume a container mounts must exist already (an
external one, or one syncd made), so each is looked up first and a missing one is a clear
error, never created.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from syncd.engine.base import LABEL_PREFIX, Mount
from syncd.errors import EngineError, ExternalVolumeMissing

OWN_LABEL_PREFIX = LABEL_PREFIX  # syncd's own labels


def create_kwargs(declared: Mapping[str, Any] | None, labels: Mapping[str, str]) -> dict[str, Any]:
    declared = declared or {}
    mine = {k: v for k, v in (declared.get("labels") or {}).items()
            if not k.startswith(OWN_LABEL_PREFIX)}  # fmt: skip
    return {
        "driver": declared.get("driver") or "local",
        "driver_opts": dict(declared.get("driverOpts") or {}) or None,
        "labels": {**mine, **labels},
    }


def observed(raw: Mapping[str, Any]) -> dict[str, Any]:
    labels = raw.get("Labels") or {}
    mine = sorted((k, v) for k, v in labels.items() if not k.startswith(OWN_LABEL_PREFIX))
    return {
        "driver": raw.get("Driver") or "local",
        "driverOpts": dict(sorted((raw.get("Options") or {}).items())),
        "labels": dict(mine),
    }


def check_volumes(
    exists: Callable[[str], bool], mounts: Iterable[Mount], engine_name: Callable[[str], str]
) -> None:
    """Every volume the mounts name exists: an external one (`ExternalVolumeMissing`, never
    created), and syncd's own (made before the services; one whose creation failed or was
    refused is an error here, where Docker would make a plain empty volume of that name)."""
    for mount in mounts:
        if mount.bind or mount.tmpfs:
            continue
        if mount.external:
            if not exists(mount.source):
                raise ExternalVolumeMissing(mount.source)
        elif not exists(engine_name(mount.source)):
            raise EngineError(
                f"volume {mount.source!r} does not exist: its creation failed (see the sync's "
                "errors); a plain empty volume is not made in its place"
            )
