"""What a replaced or restarted service costs while it happens, for a reviewer.

For each service whose containers are replaced (recreate) or restarted (a dependency with
`restart: true` renewed), `impact` says whether the service is down meanwhile (stop-first with
one replica: yes; start-first: the old container serves until the new one runs; several
replicas: replaced one at a time), for how long at most and where the numbers come from (the
old container's stop grace period, else the daemon's `stop_timeout`; the new container's
healthcheck), which host ports and volumes it touches and which services depend on it. Values
shown are redacted as the plan's patch is. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from syncd import taint
from syncd.core import updateorder
from syncd.core.canonical import HEALTHCHECK_DEFAULTS, Spec
from syncd.core.desired import DesiredService
from syncd.core.live import LiveService
from syncd.core.options.process import stop_timeout as grace_of
from syncd.manifests.fields import parse_port
from syncd.manifests.options.lifecycle import UpdateOrder
from syncd.taint import REDACTED, covered

GRACE = "stop_grace_period"
SETTING = "the stop_timeout setting"


@dataclass(frozen=True)
class Health:
    """The new container's healthcheck: healthy (or judged unhealthy) within `within` s."""

    start_period: float
    retries: int
    interval: float

    @property
    def within(self) -> float:
        return self.start_period + self.retries * self.interval

    def as_json(self) -> dict[str, Any]:
        return {
            "withinSeconds": self.within,
            "startPeriod": self.start_period,
            "retries": self.retries,
            "interval": self.interval,
        }


@dataclass(frozen=True)
class Impact:
    """None (and `<redacted>` for the order) where the value came from the operator's
    variables: an impact never shows what a secret holds, nor anything derived from one."""

    order: str  # stop-first | start-first: the order it gets (`updateorder.effective`)
    replicas: int | None  # containers replaced in turn
    stop_seconds: int | None  # at most, for an old container to stop before it is killed
    stop_source: str  # GRACE or SETTING
    health: Health | None  # None: no healthcheck declared (the image's, if any), or hidden
    ports: tuple[str, ...] = ()  # published host ports, old and new, redacted
    volumes: tuple[str, ...] = ()  # mounts, old and new, redacted
    dependents: tuple[str, ...] = ()  # services of the stack that name it in dependsOn
    restart: bool = False  # the same containers restart (a dependency was renewed)
    health_hidden: bool = False  # the healthcheck holds a value from the operator's variables
    declared: str = UpdateOrder.STOP_FIRST.value  # the order the spec asks for (or redacted)
    fallback: str | None = None  # why a declared start-first is replaced stop-first

    @property
    def down(self) -> bool | None:
        """The service has no container running while it is replaced (or restarted); None
        when that depends on a value not shown."""
        if not self.restart and self.order == REDACTED:
            return None
        stop_first = self.restart or self.order == UpdateOrder.STOP_FIRST.value
        return None if self.replicas is None else stop_first and self.replicas <= 1

    def as_json(self) -> dict[str, Any]:
        return {
            "down": self.down,
            "updateOrder": self.order,
            "declaredUpdateOrder": self.declared,
            "updateOrderReason": self.fallback,
            "replicas": self.replicas,
            "stopSeconds": self.stop_seconds,
            "stopSource": self.stop_source,
            "health": self.health.as_json() if self.health else None,
            "hostPorts": list(self.ports),
            "volumes": list(self.volumes),
            "dependents": list(self.dependents),
            "restart": self.restart,
            "healthHidden": self.health_hidden,
        }


def _health(spec: Spec) -> Health | None:
    check = spec.get("healthcheck")
    if not isinstance(check, Mapping) or not check.get("test") or check["test"] == ["NONE"]:
        return None

    def value(name: str) -> Any:
        found = check.get(name)
        return HEALTHCHECK_DEFAULTS[name] if found is None else found

    return Health(float(value("startPeriod")), int(value("retries")), float(value("interval")))


def _published(text: Any) -> bool:
    if not isinstance(text, str):
        return False
    try:
        port = parse_port(text)
    except ValueError:  # pydantic's custom error is one
        return True  # not a port text (redacted): say it, rather than hide it
    return port.public is not None or port.ephemeral


def _mount(entry: Any) -> str:
    if isinstance(entry, Mapping):
        return f"{entry.get('source') or entry.get('type') or '?'}:{entry.get('target', '?')}"
    return str(entry)


def _shown(spec: Spec, name: str, secrets: frozenset[str]) -> list[Any]:
    items = taint.redact(spec.get(name) or [], f"/{name}", secrets)  # by place: one spec
    return list(items) if isinstance(items, list) else [items]


def dependents(specs: Mapping[str, Spec], name: str) -> list[str]:
    """The services of `specs` that name `name` in their `dependsOn`."""
    return [other for other, spec in specs.items() if name in (spec.get("dependsOn") or {})]


def impact(
    desired: DesiredService,
    live: LiveService | None,
    dependents: list[str],
    stop_timeout: int,
    *,
    restart: bool = False,
) -> Impact:
    """The impact of replacing (or restarting) the running containers of `live` by `desired`'s.
    `stop_timeout`: the daemon's setting, for a running spec without a stop grace period."""
    new = desired.spec
    old = live.spec if live is not None else None
    old_secrets = live.secrets if live is not None else frozenset()
    grace = grace_of(old, -1)
    count: int | None = len(live.containers()) if live else 1
    if live and not count:  # a revision-to-revision plan: no container seen
        count = None if covered("/replicas", old_secrets) else int(live.spec.get("replicas", 1))
    health_hidden = covered("/healthcheck", desired.secrets) or any(
        p.startswith("/healthcheck/") for p in desired.secrets
    )
    order = updateorder.effective(new, desired.secrets)
    shown_order = order.effective.value
    if order.hidden or covered("/updateOrder", desired.secrets):
        shown_order = REDACTED
    ports: dict[str, None] = {}
    volumes: dict[str, None] = {}
    sides = [(new, desired.secrets), *([(old, live.secrets)] if live and old else [])]
    for spec, secrets in sides:
        ports.update((str(p), None) for p in _shown(spec, "ports", secrets) if _published(p))
        volumes.update((_mount(v), None) for v in _shown(spec, "volumes", secrets))
    return Impact(
        order=shown_order,
        declared=REDACTED if covered("/updateOrder", desired.secrets) else order.declared.value,
        fallback=None if shown_order == REDACTED else order.reason_text,
        replicas=count,
        stop_seconds=None
        if grace >= 0 and covered("/stopGracePeriod", old_secrets)
        else (grace if grace >= 0 else stop_timeout),
        stop_source=GRACE if grace >= 0 else SETTING,
        health=None if health_hidden else _health(new),
        health_hidden=health_hidden,
        ports=tuple(sorted(ports)),
        volumes=tuple(sorted(volumes)),
        dependents=tuple(sorted(dependents)),
        restart=restart,
    )
