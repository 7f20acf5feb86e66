"""How a service's containers are replaced: the update order it declares, and the one it gets.

Start-first (the new container runs, and is healthy if it has a healthcheck, before the old
one stops) needs the old and the new container at once. Some specs cannot have two: a fixed
published host port is bound by one container only, a fixed network address or MAC address
belongs to one endpoint, and a container on the host's network shares its ports with every
other. Such a service is replaced stop-first, with downtime, and the plan says why. The plan
and the executor both ask `effective`, so what is shown is what runs. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from syncd.manifests.fields import parse_port
from syncd.manifests.options.lifecycle import UpdateOrder


class Fallback(StrEnum):
    """Why a start-first service is replaced stop-first."""

    FIXED_HOST_PORT = "fixed_host_port"
    FIXED_ADDRESS = "fixed_address"
    HOST_NETWORK = "host_network"


FALLBACK_TEXT = {
    Fallback.FIXED_HOST_PORT: "a fixed host port can be bound by one container at a time",
    Fallback.FIXED_ADDRESS: "a fixed IP or MAC address belongs to one container at a time",
    Fallback.HOST_NETWORK: "on the host's network the old and the new container share ports",
}


@dataclass(frozen=True)
class Order:
    declared: UpdateOrder
    fallback: Fallback | None = None  # set: declared start-first, replaced stop-first
    hidden: bool = False  # the decision rests on a value from the operator's variables

    @property
    def effective(self) -> UpdateOrder:
        return UpdateOrder.STOP_FIRST if self.fallback is not None else self.declared

    @property
    def reason_text(self) -> str | None:
        return FALLBACK_TEXT[self.fallback] if self.fallback is not None else None


def _fixed_port(text: Any) -> bool:
    if not isinstance(text, str):
        return False
    try:
        return parse_port(text).fixed
    except ValueError:  # not a port text: say stop-first rather than risk a clash
        return True


def _fallbacks(spec: Mapping[str, Any]) -> Iterable[Fallback]:
    """Each reason the spec cannot run twice."""
    for port in spec.get("ports") or []:
        if _fixed_port(port):
            yield Fallback.FIXED_HOST_PORT
    if spec.get("networkMode") == "host":
        yield Fallback.HOST_NETWORK
    if spec.get("macAddress"):
        yield Fallback.FIXED_ADDRESS
    networks = spec.get("networks")
    for _, endpoint in sorted(networks.items() if isinstance(networks, Mapping) else []):
        if not isinstance(endpoint, Mapping):
            continue
        for field in ("ipv4Address", "ipv6Address"):
            if endpoint.get(field):
                yield Fallback.FIXED_ADDRESS


def _touches(at: str, secrets: tuple[str, ...]) -> bool:
    """A tainted pointer at, under or above `at`."""
    return any(s == at or s.startswith(at + "/") or at.startswith(s + "/") for s in secrets)


RESTING_ON = ("/ports", "/networks", "/networkMode", "/macAddress")  # what `_fallbacks` reads


def effective(spec: Mapping[str, Any], secrets: Iterable[str] = ()) -> Order:
    """The order `spec` declares and, for start-first, the first reason it cannot have it.
    `secrets`: the spec's tainted pointers; when one lies where a reason could come from, the
    order is marked `hidden` (shown redacted: whether it falls back is derived from it)."""
    declared = UpdateOrder(spec.get("updateOrder") or UpdateOrder.STOP_FIRST)
    if declared is UpdateOrder.STOP_FIRST:
        return Order(declared)
    tainted = tuple(secrets)
    hidden = any(_touches(at, tainted) for at in RESTING_ON)
    found = next(iter(_fallbacks(spec)), None)
    return Order(declared, found, hidden)
