"""Published ports and the healthcheck as docker-py's `create_host_config(port_bindings=…)`
and `create_container(healthcheck=…)` take them. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from syncd.engine.base import HealthProbe, Port

NANO = 1_000_000_000


def host_port(port: Port) -> str:
    """Docker's `HostPort`: one port, or a range Docker picks a free one from."""
    last = f"-{port.public_last}" if port.public_last is not None else ""
    return f"{port.public}{last}"


def port_bindings(ports: Iterable[Port], publish_address: str) -> dict[str, tuple[str, str]]:
    """Each published port on its host address (syncd's publish address when it names none);
    an ephemeral one with an empty host port, which Docker fills."""
    return {
        f"{p.container}/{p.protocol}": (
            p.host_ip or publish_address,
            "" if p.ephemeral else host_port(p),
        )
        for p in ports
        if p.public is not None or p.ephemeral
    }


def healthcheck(probe: HealthProbe | None) -> dict[str, Any] | None:
    """docker-py's `Healthcheck` arguments (durations in nanoseconds), or None: the image's."""
    if probe is None:
        return None
    return {
        "test": list(probe.test),
        "interval": int(probe.interval * NANO),
        "timeout": int(probe.timeout * NANO),
        "start_period": int(probe.start_period * NANO),
        "retries": probe.retries,
    }


def published(listed: Iterable[Mapping[str, Any]] | None) -> tuple[str, ...]:
    """The host ports Docker bound, from a container listing's `Ports`, as
    `127.0.0.1:49153->5432/tcp` (an ephemeral port or one of a range shows the port it got)."""
    out: set[str] = set()
    for port in listed or []:
        public, private = port.get("PublicPort"), port.get("PrivatePort")
        if not public or not private:
            continue  # exposed only
        ip = str(port.get("IP") or "0.0.0.0")
        host = f"[{ip}]" if ":" in ip else ip
        out.add(f"{host}:{public}->{private}/{port.get('Type') or 'tcp'}")
    return tuple(sorted(out))
