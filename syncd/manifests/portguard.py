"""Ports published on an explicit host address, checked against the operator's policy (D3).

No host address: syncd's publish address setting (the operator's own choice, not checked). The
host's loopback (127.0.0.1, ::1) is always allowed; any other address (`0.0.0.0`, `::`, a public
IP) needs `publishAddresses` in the policy. Walked by `policyguard` in both spellings. Pure.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from typing import Any

from syncd.manifests.yamlsafe import Path
from syncd.policy import ANY_ADDRESS, LOOPBACK_ADDRESSES, Allowed, PolicyKey, Refusal


def check_publish_address(allowed: Allowed, host_ip: str) -> Refusal | None:
    """A port published on an explicit host address: loopback is always allowed; any other
    (`0.0.0.0`, `::`, a public IP) only when the policy lists it. No address at all means the
    daemon's publish address setting and is not checked here."""
    try:
        normal = str(ipaddress.ip_address(host_ip))
    except ValueError:
        return None  # the model reports an address that is none
    if normal in LOOPBACK_ADDRESSES or normal in allowed.publish_addresses:
        return None
    if ANY_ADDRESS in allowed.publish_addresses:
        return None
    return allowed.refuse(
        f"a port published on host address {normal}", PolicyKey.PUBLISH_ADDRESSES, repr(normal)
    )


def port_findings(
    allowed: Allowed, svc: Mapping[str, Any], camel: bool
) -> Iterator[tuple[Path, Refusal]]:
    """A port's explicit host address: `IP:HOST:CONTAINER` (IPv6 in brackets or bare, the last
    two fields are the ports), or the long form's `host_ip`."""
    key = "ports"
    ports = svc.get(key)
    for index, port in enumerate(ports if isinstance(ports, list | tuple) else []):
        if isinstance(port, Mapping):
            spelling = "hostIp" if camel else "host_ip"
            ip = port.get(spelling)
            if isinstance(ip, str):
                refusal = check_publish_address(allowed, ip)
                if refusal is not None:
                    yield (key, index, spelling), refusal
        elif isinstance(port, str):
            ip = _short_host_ip(port)
            if ip:
                refusal = check_publish_address(allowed, ip)
                if refusal is not None:
                    yield (key, index), refusal


def _short_host_ip(port: str) -> str | None:
    text = port.strip().partition("/")[0]
    if text.startswith("["):
        return text[1:].partition("]")[0]
    parts = text.split(":")
    return ":".join(parts[:-2]) if len(parts) > 2 else None
