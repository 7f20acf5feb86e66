"""A stack's `updateSchedule` as mittwald's StackResponse shows it: `{cron, timezone}`, the
schedule its services share (the stack's own, inherited by every service that sets none), or
null when they have none, differ, or use an interval (mittwald's shape has none). A schedule
taken from the environment shows as `<redacted>`."""

from __future__ import annotations

from collections.abc import Mapping

from syncd.api.models import UpdateScheduleResponse
from syncd.core.desired import DesiredService
from syncd.taint import REDACTED


def stack_schedule(services: Mapping[str, DesiredService]) -> UpdateScheduleResponse | None:
    found = {_shown(s) for s in services.values()}
    if len(found) != 1:
        return None
    only = found.pop()
    return None if only is None else UpdateScheduleResponse(cron=only[0], timezone=only[1])


def _shown(service: DesiredService) -> tuple[str, str] | None:
    schedule = service.spec.get("updateSchedule")
    if not isinstance(schedule, dict) or not schedule.get("cron"):
        return None
    if any(p == "/updateSchedule" or p.startswith("/updateSchedule/") for p in service.secrets):
        return REDACTED, REDACTED
    return str(schedule["cron"]), str(schedule.get("timezone") or "UTC")
