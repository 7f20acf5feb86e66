"""The canonical form of a service's device requests (`manifests.options.devicerequests`), as
Docker's `DeviceRequests` reads them and docker compose builds them: the reserved devices
first, then `gpus` (capability `gpu` added). One request: `{driver, count, deviceIds,
capabilities, options}`: `count` -1 for all (`all`, or neither count nor ids), 0 with ids;
`capabilities` one AND list (sorted). Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from syncd.manifests.model import Service
from syncd.manifests.options.devicerequests import DeviceRequest

FIELD = "deviceRequests"
ALL = -1


def _request(entry: DeviceRequest, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    ids = list(entry.device_ids or [])
    every = entry.count == "all" or (entry.count is None and not ids)
    count = ALL if every else int(entry.count or 0)
    return {
        "driver": entry.driver or "",
        "count": count,
        "deviceIds": ids,
        "capabilities": [sorted({*(entry.capabilities or []), *extra})],
        "options": dict(sorted((entry.options or {}).items())),
    }


def fields(service: Service) -> dict[str, Any]:
    """`{deviceRequests: [...]}` when the manifest names any, else nothing."""
    found = requests(service)
    return {} if found is None else {FIELD: found}


def requests(service: Service) -> list[dict[str, Any]] | None:
    """The canonical requests, or None when the manifest names none."""
    resources = service.deploy.resources if service.deploy else None
    reserved = resources.reservations.devices if resources and resources.reservations else None
    if reserved is None and "gpus" not in service.model_fields_set:
        return None
    out = [_request(entry) for entry in reserved or []]
    if service.gpus == "all":
        out.append(_request(DeviceRequest(count="all"), ("gpu",)))
    elif service.gpus is not None:
        out += [_request(entry, ("gpu",)) for entry in service.gpus]
    return out
