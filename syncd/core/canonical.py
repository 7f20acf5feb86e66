"""One canonical form per service: defaults explicit, values normalized, order fixed.

Two specs that Docker would run the same way have equal canonical forms, so defaults or
reordering never show up as a diff. The config hash is sha256 of the canonical JSON.
Pure: no I/O.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from collections.abc import Collection
from typing import Any

from syncd.core import options
from syncd.core.options import files, seccomp
from syncd.manifests.fields import parse_port
from syncd.manifests.model import Dependency, DependsCondition, HealthCheck, RestartPolicy, Service
from syncd.manifests.options import Mount
from syncd.manifests.options.lifecycle import parse_restart
from syncd.manifests.quantities import parse_cpus, parse_duration, parse_memory
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
# The defaults that are containers: a fresh copy per spec is a new empty list or dict for the
# empty ones, and one C-speed `json.loads` for the others (a `deepcopy` walk made 163,000 calls
# to resolve 1,000 services).
_EMPTY_LISTS = tuple(k for k, v in DEFAULTS.items() if isinstance(v, list) and not v)
_EMPTY_DICTS = tuple(k for k, v in DEFAULTS.items() if isinstance(v, dict) and not v)
_MUTABLE_DEFAULTS = json.dumps(
    {k: v for k, v in DEFAULTS.items() if isinstance(v, list | dict) and v}
)


def _healthcheck(check: HealthCheck) -> Spec:
    """Docker reads a zero timing as unset (the image's value, else its default): a written zero
    is the default here too. Without a test the engine takes the image's test, and every timing
    not written the image's (None)."""
    if check.test is None:
        test, base = None, dict.fromkeys(HEALTHCHECK_DEFAULTS)
    else:
        test = check.test if isinstance(check.test, list) else ["CMD-SHELL", check.test]
        test, base = list(test), dict(HEALTHCHECK_DEFAULTS)
    out: Spec = {"test": test, **base}
    for name in ("interval", "timeout", "start_period"):
        value = getattr(check, name)
        if value is not None and parse_duration(value) > 0:
            out["startPeriod" if name == "start_period" else name] = parse_duration(value)
    if check.retries:
        out["retries"] = check.retries
    return out


def condition(dependency: DependsCondition | Dependency) -> str:
    """A dependency's condition, whichever form wrote it."""
    return (dependency if isinstance(dependency, DependsCondition) else dependency.condition).value


def mount_text(raw: str | Mount) -> str | dict[str, Any]:
    """A mount in its canonical form (`data:/data:rw`, or a mapping for the long forms)."""
    return files.mount_entry(raw)


@functools.lru_cache(maxsize=4096)
def port_text(raw: str) -> str:
    """A port in its canonical form (`8080:80/tcp`); remembered, as files repeat their ports."""
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
        out["restartPolicy"] = parse_restart(service.restart_policy)[0]
    if "healthcheck" in given:
        check = _healthcheck(service.healthcheck) if service.healthcheck else None
        # nothing written (`healthcheck: {}`): the image's healthcheck, as with no key at all
        out["healthcheck"] = check if check and any(v is not None for v in check.values()) else None
    if "depends_on" in given:
        out["dependsOn"] = {k: condition(v) for k, v in sorted((service.depends_on or {}).items())}
    out.update(options.fields(service))
    return out


def defaults() -> Spec:
    """A fresh copy of the defaults: specs never share mutable values (a patch of one list
    must not change another service's)."""
    out = {**DEFAULTS, **json.loads(_MUTABLE_DEFAULTS)}
    for name in _EMPTY_LISTS:
        out[name] = []
    for name in _EMPTY_DICTS:
        out[name] = {}
    return out


def full(service: Service, given: Spec | None = None) -> Spec:
    """The canonical form of a whole service (PUT semantics): defaults for everything omitted
    (`given`: its `fields`, when the caller has them already)."""
    return {**defaults(), **(fields(service) if given is None else given)}


def merge(last: Spec, given: Spec) -> Spec:
    """PATCH: given fields set, omitted fields keep their last applied value."""
    return copy.deepcopy({**DEFAULTS, **last, **given})


def upgraded(spec: Spec, like: Spec) -> Spec:
    """A spec recorded before syncd knew some option fields, with those `like` holds at their
    defaults (what the container runs with): a plan shows no difference that is none."""
    if not spec or spec.keys() >= like.keys():  # unknown: stays unknown; or lacks nothing
        return spec
    missing = {
        k: copy.deepcopy(options.DEFAULTS[k])
        for k in like
        if k in options.DEFAULTS and k not in spec
    }
    return {**spec, **missing} if missing else spec


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def hashed(spec: Spec) -> Spec:
    """The spec as the config hash sees it: option fields at their default are left out, so the
    hash of a container made before syncd knew an option does not change when it learns it.
    The Swarm-only values (`swarm`) are never in it: they do not change a Docker container."""
    return {
        k: v
        for k, v in spec.items()
        if k not in options.UNHASHED and (k not in options.DEFAULTS or v != options.DEFAULTS[k])
    }


def config_hash(spec: Spec, image_id: str | None = None) -> str:
    """sha256 of the canonical JSON of the applied spec (and the resolved image id, when known)."""
    payload = canonical_json({"spec": hashed(spec), "imageId": image_id})
    return hashlib.sha256(payload.encode()).hexdigest()


def _value(spec: Spec, name: str) -> Any:
    """A field's value; an option field a spec lacks (applied before syncd knew it) is at its
    default."""
    return spec[name] if name in spec else options.DEFAULTS.get(name)


def recreate_fields(before: Spec, after: Spec, secrets: Collection[str] = ()) -> list[str]:
    """The changed fields that need a new container; the files whose content changed are
    named, unless a value of the field is tainted (`secrets`: a file named from the operator's
    environment is named by its field alone)."""
    if before == after:
        return []  # the usual case, compared at C speed whatever the number of option fields
    names = set(before) | set(after)
    changed = sorted(n for n in names - METADATA_FIELDS if _value(before, n) != _value(after, n))
    tainted = {p.split("/")[1] for p in secrets if p.count("/") >= 1}
    return [
        n
        if n in tainted
        else seccomp.named_change(before, after)
        if n == seccomp.FIELD
        else files.named_changes(n, before, after)
        for n in changed
    ]


def changed_fields(before: Spec, after: Spec) -> list[str]:
    if before == after:
        return []
    return sorted(n for n in set(before) | set(after) if _value(before, n) != _value(after, n))
