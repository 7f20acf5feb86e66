"""A Compose service's update schedule: `x-syncd: {updateSchedule: {cron, timezone} | {interval}}`
(an extension: Compose itself has no such key, and docker compose ignores `x-` keys), read into
the model's `updateSchedule` (validated there: `manifests.options.schedule`). Plain values only:
a schedule is not taken from the environment. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from syncd.manifests.compose.context import Context, kind_of
from syncd.manifests.options.schedule import UpdateSchedule
from syncd.manifests.yamlsafe import Path

KEY = "x-syncd"
_KEYS = ("updateSchedule",)


def _has_variable(value: Any) -> bool:
    if isinstance(value, str):
        return "$" in value
    if isinstance(value, dict):
        return any(_has_variable(v) for v in value.values())
    return False


def _valid(value: Any, at: Path, ctx: Context) -> bool:
    """Checked here, so that a problem points at its Compose line (the model checks again)."""
    try:
        UpdateSchedule.model_validate(value)
    except ValidationError as err:
        detail = err.errors(include_url=False)[0]
        ctx.error((*at, *detail["loc"]), str(detail["msg"]))
        return False
    return True


def read_schedule(
    service: Mapping[str, Any],
    at: Path,
    ctx: Context,
    data: dict[str, Any],
    origins: dict[Path, Path],
) -> None:
    found = service.get(KEY)
    if found is None:
        return
    if not isinstance(found, dict):
        wrong = f"a service's x-syncd is a mapping {{updateSchedule}}, got {kind_of(found)}"
        ctx.error((*at, KEY), wrong)
        return
    for key, value in found.items():
        if key not in _KEYS:
            wrong = f"unknown key {key!r} (a service's x-syncd has updateSchedule)"
            ctx.error((*at, KEY, key), wrong, key=True)
        elif _has_variable(value) or ctx.tainted((*at, KEY, key)):
            ctx.error((*at, KEY, key), "x-syncd.updateSchedule is plain text (no variables)")
        elif _valid(value, (*at, KEY, key), ctx):
            data["updateSchedule"] = value
            origins[("updateSchedule",)] = (*at, KEY, key)
            if isinstance(value, dict):
                origins.update({("updateSchedule", k): (*at, KEY, key, k) for k in value})
