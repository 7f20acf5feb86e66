"""Moments as every API answer shows them: ISO 8601 in UTC (`2026-11-29T01:47:57.123456Z`).

syncd keeps unix seconds inside (the state store, the status); an answer converts them here,
once, at its boundary. Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt


def iso(seconds: float) -> str:
    """Unix seconds as ISO 8601 in UTC with a `Z` (microseconds when there are any)."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat().replace("+00:00", "Z")


def iso_or_none(seconds: float | None) -> str | None:
    return None if seconds is None else iso(seconds)


def parse(value: object) -> dt.datetime | None:
    """A moment as an answer may hold it: unix seconds (a number; older daemons) or an ISO 8601
    text (a naive one is UTC); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return dt.datetime.fromtimestamp(float(value), dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and value:
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)
    return None


def ago(seconds: float) -> str:
    """How long ago, for a terminal or a table cell: `45s`, `12m`, `3h`, `5d`."""
    left = max(int(seconds), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if left >= size:
            return f"{left // size}{unit}"
    return f"{left}s"


def utc_text(moment: dt.datetime | float) -> str:
    """A moment (a datetime, or unix seconds) for people: `2026-11-29 01:47:57 UTC`."""
    if not isinstance(moment, dt.datetime):
        moment = dt.datetime.fromtimestamp(moment, dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
