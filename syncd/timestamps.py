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
