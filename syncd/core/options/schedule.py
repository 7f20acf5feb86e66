"""The canonical form of a service's update schedule (see `manifests.options.schedule`).

`updateSchedule`: `{cron, timezone}` or `{interval}` (the stack's, when the service sets none),
None when the image is never checked. A change needs no new container (metadata). Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from syncd.manifests.model import Service

DEFAULTS: dict[str, Any] = {"updateSchedule": None}
METADATA: frozenset[str] = frozenset({"updateSchedule"})


def fields(service: Service, given: set[str]) -> dict[str, Any]:
    """`given`: the model field names the manifest sets (`service.model_fields_set`)."""
    if "update_schedule" not in given:
        return {}
    schedule = service.update_schedule
    if schedule is None:
        return {"updateSchedule": None}
    if schedule.interval is not None:
        return {"updateSchedule": {"interval": schedule.interval}}
    return {"updateSchedule": {"cron": schedule.cron, "timezone": schedule.timezone or "UTC"}}
