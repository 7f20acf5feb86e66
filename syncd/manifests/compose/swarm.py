"""The Swarm parts of Compose's `deploy` (`mode`, `placement`, `update_config`, `rollback_config`,
`restart_policy`, `endpoint_mode`) as syncd's `Stack` model takes them (camelCase), each value
checked at its line. Whether a field has an effect on the engine syncd runs against is judged
later, with the engine known (`manifests.enginecheck`). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from pydantic import ValidationError
from pydantic.alias_generators import to_camel

from syncd.manifests.compose.context import Context, kind_of
from syncd.manifests.options.lifecycle import RollbackConfig, UpdateConfig
from syncd.manifests.options.swarm import (
    EndpointMode,
    Placement,
    ServiceMode,
    SwarmRestartPolicy,
)
from syncd.manifests.parse import suggest
from syncd.manifests.strict import StrictModel
from syncd.manifests.yamlsafe import Path

# Compose key -> (model key, model class) of the nested Swarm parts of `deploy`
NESTED: dict[str, tuple[str, type[StrictModel]]] = {
    "placement": ("placement", Placement),
    "update_config": ("updateConfig", UpdateConfig),
    "rollback_config": ("rollbackConfig", RollbackConfig),
    "restart_policy": ("restartPolicy", SwarmRestartPolicy),
}
_ENUMS = {"mode": ("mode", ServiceMode), "endpoint_mode": ("endpointMode", EndpointMode)}
SWARM_KEYS = frozenset(NESTED) | frozenset(_ENUMS)


def _compose_key(model: type[StrictModel], camel: object) -> object:
    """The Compose (snake_case) key of a model field's alias."""
    for name, info in model.model_fields.items():
        if info.alias == camel:
            return name
    return camel


def _nested(model: type[StrictModel], value: object, at: Path, ctx: Context) -> dict[str, Any]:
    """A mapping of Compose keys read as `model` (camelCase, only the keys written); every
    problem at its own key or value."""
    if not isinstance(value, dict):
        ctx.error(at, f"{at[-1]} is a mapping, got {kind_of(value)}")
        return {}
    data: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(key, str) and key.startswith("x-"):
            continue
        if key not in model.model_fields:
            names = list(model.model_fields)
            ctx.error((*at, key), f"unknown key {key!r}{suggest(str(key), names)}", key=True)
            continue
        data[model.model_fields[key].alias or key] = item
    try:
        parsed = model.model_validate(data)
    except ValidationError as err:
        for detail in err.errors(include_url=False):
            loc = [p for p in detail["loc"] if isinstance(p, str | int)]
            if loc:
                loc[0] = str(_compose_key(model, loc[0]))
            ctx.error((*at, *loc), detail["msg"])
        return {}
    dumped: dict[str, Any] = parsed.model_dump(by_alias=True, exclude_unset=True, mode="json")
    return dumped


def read_swarm(key: str, value: object, at: Path, ctx: Context) -> tuple[str, Any] | None:
    """The model's (key, value) of one Swarm part of `deploy` (`key` in `SWARM_KEYS`), or
    None when it is in error or says nothing."""
    if key in _ENUMS:
        name, kind = _ENUMS[key]
        choices = [m.value for m in kind]
        if not isinstance(value, str) or value not in choices:
            ctx.error(at, f"{key} is one of {', '.join(choices)}")
            return None
        return name, value
    name, model = NESTED[key]
    if value is None:
        return None
    found = _nested(model, value, at, ctx)
    return (name, found) if found else None


def swarm_origins(deploy: Mapping[str, Any], at: Path, origins: MutableMapping[Path, Path]) -> None:
    """Where each Swarm value of the model's `deploy` was written (a problem found later, on
    the native stack, points at the Compose line)."""
    for key in SWARM_KEYS:
        if key not in deploy:
            continue
        name = NESTED[key][0] if key in NESTED else _ENUMS[key][0]
        origins[("deploy", name)] = (*at, "deploy", key)
        value = deploy[key]
        if not isinstance(value, dict):
            continue
        for inner, item in value.items():
            camel = to_camel(str(inner))
            origins[("deploy", name, camel)] = (*at, "deploy", key, inner)
            if isinstance(item, list):
                for index in range(len(item)):
                    origins[("deploy", name, camel, index)] = (*at, "deploy", key, inner, index)
