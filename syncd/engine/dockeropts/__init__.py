"""A `ContainerRequest`'s options as docker-py arguments, one module per option group."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncd.engine.dockeropts import files, lifecycle, network, process, security

GROUPS = (process, security, network, files, lifecycle)


def container_kwargs(options: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for group in GROUPS:
        out.update(group.container_kwargs(options))
    return out


def host_kwargs(options: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for group in GROUPS:
        out.update(group.host_kwargs(options))
    return out
