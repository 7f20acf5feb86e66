"""One canonical form per service: defaults explicit, values normalized, order fixed.

Two specs that Docker would run the same way have equal canonical forms, so defaults or
reordering never show up as a diff. The config hash is sha256 of the canonical JSON.
Pure: no I/O.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from syncd.core import options
from syncd.core.options import files
from syncd.manifests.fields import parse_cpus, parse_duration, parse_memory, parse_port
from syncd.manifests.model import HealthCheck, RestartPolicy, Service
from syncd.manifests.options import Mount
from syncd.taint import REDACTED, escape, redact

__all__ = ["REDACTED", "Spec", "escape", "redact"]  # redaction lives in `taint`

Spec = dict[str, Any]

# Docker's own defaults, made explicit so that omitting a field and writing its default are equal.
HEALTHCHECK_DEFAULTS = {"interval": 30.0, "timeout": 30.0, "startPeriod": 0.0, "retries": 3}
DEFAULTS: Spec = {
    "image": None,
    "description": "",
    "command": None,  # None: the image's default
    "entrypoint": None,
    "environment": {},
    "ports": [],
    "volumes": [],
    "cpus": None,
    "memory": None,
    "restartPolicy": RestartPolicy.NO.value,
    "healthcheck": None,
    "dependsOn": {},
    **options.DEFAULTS,
}
# Fields whose change needs no new container: syncd only records them.
METADATA_FIELDS = frozenset({"description", "dependsOn"}) | options.METADATA


def _healthcheck(check: HealthCheck) -> Spec:
    test = check.test if isinstance(check.test, list) else ["CMD-SHELL", check.test]
    out: Spec = {"test": list(test), **HEALTHCHECK_DEFAULTS}
    for name in ("interval", "timeout", "start_period"):
        value = getattr(check, name)
        if value is not None:
            out["startPeriod" if name == "start_period" else name] = parse_duration(value)
    if check.retries is not None:
        out["retries"] = check.retries
    return out


def mount_text(raw: str | Mount) -> str | dict[str, Any]:
    """A mount in its canonical form (`data:/data:rw`, or a mapping for the long forms)."""
    return files.mount_entry(raw)


def port_text(raw: str) -> str:
    """A port in its canonical form (`8080:80/tcp`)."""
    return str(parse_port(raw))


def fields(service: Service) -> Spec:
    """The canonical form of only the fields the manifest sets (for PATCH semantics)."""
    given = service.model_fields_set
    out: Spec = {}
    if "image" in given:
        out["image"] = service.image
    if "description" in given:
        out["description"] = service.description or ""
    for name in ("command", "entrypoint"):
        if name in given:
            out[name] = getattr(service, name)
    if given & {"environment", "envs"}:
        out["environment"] = dict(sorted(service.env().items()))
    if "ports" in given:
        out["ports"] = sorted({port_text(p) for p in service.ports or []})
    if "volumes" in given:
        out["volumes"] = files.sort_mounts([mount_text(v) for v in service.volumes or []])
    limits = (
        service.deploy.resources.limits if service.deploy and service.deploy.resources else None
    )
    if "deploy" in given:
        cpus = limits.cpus if limits else None
        memory = limits.memory if limits else None
        out["cpus"] = str(parse_cpus(cpus).normalize()) if cpus is not None else None
        out["memory"] = parse_memory(memory) if memory is not None else None
    if "restart_policy" in given and service.restart_policy is not None:
        out["restartPolicy"] = service.restart_policy.value
    if "healthcheck" in given:
        out["healthcheck"] = _healthcheck(service.healthcheck) if service.healthcheck else None
    if "depends_on" in given:
        out["dependsOn"] = {k: v.value for k, v in sorted((service.depends_on or {}).items())}
    out.update(options.fields(service))
    return out


def defaults() -> Spec:
    """A fresh copy of the defaults: specs never share mutable values (a patch of one list
    must not change another service's)."""
    return copy.deepcopy(DEFAULTS)


def full(service: Service) -> Spec:
    """The canonical form of a whole service (PUT semantics): defaults for everything omitted."""
    return {**defaults(), **fields(service)}


def merge(last: Spec, given: Spec) -> Spec:
    """PATCH: given fields set, omitted fields keep their last applied value."""
    return copy.deepcopy({**DEFAULTS, **last, **given})


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def hashed(spec: Spec) -> Spec:
    """The spec as the config hash sees it: option fields at their default are left out, so the
    hash of a container made before syncd knew an option does not change when it learns it."""
    return {k: v for k, v in spec.items() if k not in options.DEFAULTS or v != options.DEFAULTS[k]}


def config_hash(spec: Spec, image_id: str | None = None) -> str:
    """sha256 of the canonical JSON of the applied spec (and the resolved image id, when known)."""
    payload = canonical_json({"spec": hashed(spec), "imageId": image_id})
    return hashlib.sha256(payload.encode()).hexdigest()


def _value(spec: Spec, name: str) -> Any:
    """A field's value; an option field a spec lacks (applied before syncd knew it) is at its
    default."""
    return spec[name] if name in spec else options.DEFAULTS.get(name)


def recreate_fields(before: Spec, after: Spec) -> list[str]:
    """The changed fields that need a new container."""
    if before == after:
        return []  # the usual case, compared at C speed whatever the number of option fields
    names = set(before) | set(after)
    changed = sorted(n for n in names - METADATA_FIELDS if _value(before, n) != _value(after, n))
    return [files.named_changes(n, before, after) for n in changed]


def changed_fields(before: Spec, after: Spec) -> list[str]:
    if before == after:
        return []
    return sorted(n for n in set(before) | set(after) if _value(before, n) != _value(after, n))
