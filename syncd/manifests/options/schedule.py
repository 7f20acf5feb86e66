"""Scheduled image updates: mittwald's stack-level `updateSchedule: {cron, timezone}`, which
applies to every service of the stack, and a service's own (the same shape, or an `interval`).

When a service's schedule is due, the daemon asks the image's registry for the digest of its
tag and recreates the service when it moved (`apply.updates`). A cron expression has the five
classic fields (cronsim's syntax: `*/15 * * * *`, `0 4 * * mon-fri`), read in `timezone`
(an IANA name, default UTC); an interval is a duration (`6h`, `30m`) from the last check.
Bounded: an expression that never fires (`0 0 30 2 *`) or a too short interval is refused at
parse time, with the field's location. Pure: no I/O.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from syncd.manifests.quantities import DurationString, parse_duration
from syncd.manifests.strict import StrictModel

MIN_INTERVAL = 1.0  # seconds; the daemon checks at most `updates.MAX_CHECKS` services per pass
MAX_INTERVAL = 366 * 86400.0
MAX_CRON = 120  # characters of an expression
MAX_ZONE = 64
DEFAULT_ZONE = "UTC"
_ANCHOR = datetime(2026, 1, 1, tzinfo=UTC)  # any fixed moment: does the expression ever fire?


def _fail(message: str) -> PydanticCustomError:
    return PydanticCustomError("schedule", message)


def zone(name: str | None) -> ZoneInfo:
    """The time zone `name` (IANA, e.g. `Europe/Berlin`); UTC when None."""
    text = name or DEFAULT_ZONE
    if len(text) > MAX_ZONE or not text.isascii() or ".." in text or text.startswith("/"):
        raise _fail(f"{text[:MAX_ZONE]!r} is not a time zone name like 'Europe/Berlin'")
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise _fail(f"{text!r} is not a known time zone (IANA name, like 'Europe/Berlin')") from err


def cron(expression: str, start: datetime) -> CronSim:
    """The fire times of `expression` after `start`; a located error when it is not 5 fields
    or never fires."""
    text = expression.strip()
    if len(text) > MAX_CRON or not text.isascii():
        raise _fail(f"a cron expression has at most {MAX_CRON} ASCII characters")
    if len(text.split()) != 5:
        raise _fail(
            f"{text[:40]!r} is not a cron expression of 5 fields "
            "(minute hour day-of-month month day-of-week, e.g. '0 4 * * *')"
        )
    try:
        return CronSim(text, start)
    except CronSimError as err:
        raise _fail(f"{text[:40]!r} is not a valid cron expression: {err}") from err


class UpdateSchedule(StrictModel):
    """When the image's tag is checked again: `cron` (with `timezone`) or `interval`."""

    cron: str | None = Field(None, description="5 fields, e.g. '0 4 * * *'")
    timezone: str | None = Field(None, description="IANA name of the cron's zone (default UTC)")
    interval: DurationString | None = Field(None, description="a duration, e.g. '6h' (syncd)")

    @model_validator(mode="after")
    def _one_kind(self) -> UpdateSchedule:
        if (self.cron is None) == (self.interval is None):
            raise _fail("an updateSchedule has either a 'cron' expression or an 'interval'")
        if self.interval is not None:
            if self.timezone is not None:
                raise _fail("'timezone' goes with 'cron' only")
            seconds = parse_duration(self.interval)
            if not MIN_INTERVAL <= seconds <= MAX_INTERVAL:
                raise _fail(f"the interval is between {MIN_INTERVAL:g} s and 366 days")
            return self
        assert self.cron is not None
        times = cron(self.cron, _ANCHOR.astimezone(zone(self.timezone)))
        try:
            next(times)
        except (StopIteration, CronSimError) as err:
            raise _fail(f"{self.cron[:40]!r} never fires") from err
        return self


class ScheduleFields(StrictModel):
    """A service's own schedule (it wins over the stack's)."""

    update_schedule: UpdateSchedule | None = Field(
        None, description="check the image's tag for a new digest: {cron, timezone} or {interval}"
    )


def inherited(data: Any) -> Any:
    """A stack document's raw data with the stack's `updateSchedule` copied into each service
    that sets none (only a valid one: an invalid one is reported once, at the stack)."""
    if not isinstance(data, dict) or data.get("updateSchedule") is None:
        return data
    schedule = data["updateSchedule"]
    try:
        UpdateSchedule.model_validate(schedule)
    except ValueError:
        return data
    services = data.get("services")
    if not isinstance(services, dict):
        return data
    copied = {
        name: {**body, "updateSchedule": schedule}
        if isinstance(body, dict) and body and "updateSchedule" not in body
        else body
        for name, body in services.items()
    }
    return {**data, "services": copied}


class StackScheduleFields(StrictModel):
    """mittwald's stack-level schedule: the default of every service of the stack."""

    update_schedule: UpdateSchedule | None = Field(
        None, description="mittwald's {cron, timezone}: the default of the stack's services"
    )

    @model_validator(mode="before")
    @classmethod
    def _inherit(cls, data: Any) -> Any:
        return inherited(data)
