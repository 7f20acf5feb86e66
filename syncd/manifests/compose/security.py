"""The security option group of a Compose service (isolation and resources: `cap_add`,
`security_opt`, `privileged`, `devices`, namespaces, `read_only`, `tmpfs`, `shm_size`,
`ulimits`, `pids_limit`, `sysctls`, `logging`, the legacy CPU and memory keys, `blkio_config`)
as the data of syncd's `Service` model (camelCase).

Compose's own forms are turned into the model's (`sysctls` as a list, numbers as text, the
snake_case keys of `blkio_config`), then each value is checked by the model's own field (the
rules the engine applies), so a bad value is an error at its line naming the key. The policy
(what needs the operator's consent) is `policyguard`'s. `deploy.resources.limits.pids` and
`deploy.resources.reservations.memory` fold into `pidsLimit` / `memReservation` with the legacy
keys (both given and different: an error, as compose-go). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from pydantic import TypeAdapter, ValidationError
from pydantic.alias_generators import to_camel, to_snake

from syncd.manifests.compose import keys
from syncd.manifests.compose.context import Context, clip
from syncd.manifests.options import securityvalues as v
from syncd.manifests.options.security import SecurityFields
from syncd.manifests.yamlsafe import Path, PathPart


class ServiceData(Protocol):
    """What `services.ServiceData` holds that this group writes (no import: no circle)."""

    data: dict[str, Any]
    secrets: set[Path]
    origins: dict[Path, Path]


_INTEGERS = frozenset({"pids_limit", "mem_swappiness", "cpu_shares", "oom_score_adj"})
_TEXT_MAPS = frozenset({"sysctls", "storage_opt"})
# pydantic's generic "wrong type" errors: a union reports one per member; the others say more.
_GENERIC = frozenset({"int_type", "string_type", "model_type", "dict_type", "list_type"})
_TAGS = frozenset({"int", "str", "float", "bool", "list", "dict"})


def _integer(value: object) -> object:
    """Compose writes numbers as text too (`pids_limit: "100"`)."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return value


def _text(value: object) -> object:
    """Numbers as Docker wants them: text (`max-file: 3` -> `"3"`)."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _sysctls(value: object, at: Path, ctx: Context) -> object:
    if not isinstance(value, list):
        return value
    out: dict[str, object] = {}
    for index, entry in enumerate(value):
        if not isinstance(entry, str) or "=" not in entry:
            ctx.error((*at, index), f"a sysctl is 'name=value', got {clip(str(entry))!r}")
            continue
        name, _, text = entry.partition("=")
        problem = v.sysctl_problem(name.strip())
        if problem is not None:
            ctx.error((*at, index), f"sysctls: {problem}")
            continue
        out[name.strip()] = text.strip()
    return out


def _camel_keys(value: object) -> object:
    if isinstance(value, dict):
        return {to_camel(str(k)): _camel_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel_keys(v) for v in value]
    return value


def _form(key: str, value: object, at: Path, ctx: Context) -> object:
    """The model's form of a Compose value."""
    if key in _INTEGERS:
        return _integer(value)
    if key == "sysctls":
        value = _sysctls(value, at, ctx)
    if key in _TEXT_MAPS and isinstance(value, dict):
        return {str(k): _text(v) for k, v in value.items()}
    if key == "logging" and isinstance(value, dict) and isinstance(value.get("options"), dict):
        return {**value, "options": {str(k): _text(v) for k, v in value["options"].items()}}
    if key == "cpuset":
        return _text(value)
    if key == "blkio_config":
        return _camel_keys(value)
    return value


def _where(value: object, loc: tuple[int | str, ...], at: Path) -> tuple[Path, str]:
    """The deepest place of `loc` that the Compose value has, and the rest of it as text."""
    here: list[PathPart] = list(at)
    node: Any = value
    rest: list[str] = []
    for part in loc:
        snake = to_snake(str(part))
        if not rest and isinstance(node, dict) and (part in node or snake in node):
            name = part if part in node else snake
            here.append(name)
            node = node[name]
        elif not rest and isinstance(node, list) and isinstance(part, int) and part < len(node):
            here.append(part)
            node = node[part]
        elif isinstance(part, str) and ("[" in part or part[:1].isupper() or part in _TAGS):
            continue  # a union member's or a validator's tag, not a place
        else:
            rest.append(snake)
    return tuple(here), ".".join(rest)


_FIELDS = {info.alias or name: info for name, info in SecurityFields.model_fields.items()}
_ADAPTERS = {alias: TypeAdapter(info.rebuild_annotation()) for alias, info in _FIELDS.items()}


def _checked(key: str, value: object, at: Path, ctx: Context) -> bool:
    """Whether the model's field takes `value` for `key`; if not, the reason at its place."""
    try:
        _ADAPTERS[to_camel(key)].validate_python(value)
    except ValidationError as err:
        errors = err.errors(include_url=False)
        best = next((e for e in errors if e["type"] not in _GENERIC), errors[0])
        place, rest = _where(value, tuple(best["loc"]), at)
        named = ".".join([key, *(str(p) for p in place[len(at) :]), *([rest] if rest else [])])
        ctx.error(place, f"{named}: {best['msg']}")
        return False
    return True


def _limits(data: Mapping[str, Any]) -> tuple[int | None, bool]:
    """The memory limit (bytes) and whether a CPU limit is set, from the model's `deploy`."""
    deploy = data.get("deploy") or {}
    limits = (deploy.get("resources") or {}).get("limits") or {}
    memory = limits.get("memory")
    return (v.memory_bytes(str(memory)) if memory is not None else None), "cpus" in limits


def _resources(at: Path, ctx: Context, out: ServiceData) -> None:
    data = out.data
    values: dict[str, int | None] = {
        "memReservation": v.byte_count(data["memReservation"])
        if "memReservation" in data
        else None,
        "memswapLimit": v.swap_bytes(data["memswapLimit"]) if "memswapLimit" in data else None,
        "cpuQuota": v.micros(data["cpuQuota"]) if "cpuQuota" in data else None,
        "cpuPeriod": v.micros(data["cpuPeriod"]) if "cpuPeriod" in data else None,
    }
    memory, cpus = _limits(data)
    for key, why in v.resource_problems(memory, cpus, values):
        camel = to_camel(key)
        ctx.error(out.origins.get((camel,), (*at, key)), why)
        data.pop(camel, None)


def _resource(service: Mapping[str, Any], *where: str) -> tuple[bool, object]:
    node: Any = service.get("deploy")
    for part in where:
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _fold(service: Mapping[str, Any], at: Path, ctx: Context, out: ServiceData) -> None:
    """`deploy.resources` names the same values as `pids_limit` and `mem_reservation`."""
    data = out.data
    for legacy, where in (
        ("pids_limit", ("resources", "limits", "pids")),
        ("mem_reservation", ("resources", "reservations", "memory")),
    ):
        found, value = _resource(service, *where)
        here = (*at, "deploy", *where)
        if not found or not _checked(legacy, _form(legacy, value, here, ctx), here, ctx):
            continue
        camel = to_camel(legacy)
        value = _form(legacy, value, here, ctx)
        if legacy in service and not _same(legacy, data.get(camel), value):
            ctx.error(here, f"{legacy} and deploy.{'.'.join(where)} differ")
            continue
        data[camel] = value
        out.origins.setdefault((camel,), here)
        if ctx.tainted(here):
            out.secrets.add((camel,))


def _same(key: str, first: object, second: object) -> bool:
    """Whether two accepted values of `key` name one limit."""
    if first is None:
        return True  # the legacy key is in error: reported there
    if key == "mem_reservation":
        return v.byte_count(first) == v.byte_count(second)  # type: ignore[arg-type]
    return bool(max(first, 0) == max(second, 0))  # type: ignore[call-overload]


def read_security(service: Mapping[str, Any], at: Path, ctx: Context, out: ServiceData) -> None:
    """Write the group's keys of `service` into `out.data`, with their origins and taint."""
    for key in keys.SECURITY_KEYS:
        if key not in service:
            continue
        here = (*at, key)
        raw = service[key]
        if raw is None:
            continue  # `key:` with nothing after it: the default, as if omitted
        value = _form(key, raw, here, ctx)
        if not _checked(key, value, here, ctx):
            continue
        camel = to_camel(key)
        out.data[camel] = value
        out.origins[(camel,)] = here
        if key == "security_opt" and isinstance(value, list):  # a profile file's own line
            out.origins.update({(camel, i): (*here, i) for i in range(len(value))})
        if ctx.tainted(here):
            out.secrets.add((camel,))
    _fold(service, at, ctx, out)
    _resources(at, ctx, out)
    logging = service.get("logging")
    if isinstance(logging, dict) and logging.get("driver") == "none":
        ctx.warn(
            (*at, "logging", "driver"),
            "logging driver none keeps no logs: syncd's logs route has nothing to show",
        )
