"""`gpus` and `deploy.resources.reservations.devices` (Docker's device requests) as the data of
syncd's model (`manifests.options.devicerequests`): Compose's snake_case keys in camelCase,
each value checked by the model's own type so a bad one is an error at its line. The policy
(`devices`) is `policyguard`'s. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from pydantic import TypeAdapter, ValidationError
from pydantic.alias_generators import to_camel, to_snake

from syncd.manifests.compose.context import Context
from syncd.manifests.options.devicerequests import Gpus, ReservedDevices
from syncd.manifests.yamlsafe import Path

_GPUS: TypeAdapter[Any] = TypeAdapter(Gpus)
_RESERVED: TypeAdapter[Any] = TypeAdapter(ReservedDevices)


class ServiceData(Protocol):
    data: dict[str, Any]
    secrets: set[Path]
    origins: dict[Path, Path]


def _camel(value: object) -> object:
    """An entry's keys as the model names them (`device_ids` -> `deviceIds`); options as
    written (driver options are the driver's names)."""
    if isinstance(value, list):
        return [_camel(v) for v in value]
    if isinstance(value, dict):
        return {to_camel(str(k)): (v if k == "options" else _camel(v)) for k, v in value.items()}
    return value


def _checked(adapter: TypeAdapter[Any], value: object, at: Path, what: str, ctx: Context) -> bool:
    try:
        adapter.validate_python(value)
    except ValidationError as err:
        # a union (`all` or a list) reports one error per member: the deepest says most
        first = max(err.errors(include_url=False), key=lambda e: len(e["loc"]))
        place: list[str | int] = list(at)
        for part in first["loc"]:
            if isinstance(part, int):
                place.append(part)
            elif part in ("deviceIds", "driver", "count", "capabilities", "options"):
                place.append(to_snake(part))
                break
        ctx.error(tuple(place), f"{what}: {first['msg']}")
        return False
    return True


def read_gpus(service: Mapping[str, Any], at: Path, ctx: Context, out: ServiceData) -> None:
    """`gpus` into `out.data`."""
    if service.get("gpus") is None:
        return
    here = (*at, "gpus")
    value = _camel(service["gpus"])
    if _checked(_GPUS, value, here, "gpus", ctx):
        out.data["gpus"] = value
        out.origins[("gpus",)] = here
        if ctx.tainted(here):
            out.secrets.add(("gpus",))


def read_reserved_devices(value: object, at: Path, ctx: Context) -> object | None:
    """`deploy.resources.reservations.devices` as the model's value, or None (in error)."""
    data = _camel(value)
    what = "deploy.resources.reservations.devices"
    return data if _checked(_RESERVED, data, at, what, ctx) else None
