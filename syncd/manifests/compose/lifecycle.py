"""`healthcheck`, `depends_on` and `restart` in Compose's meaning, as syncd's `Stack` model takes
them (`healthcheck`, `dependsOn`, `restartPolicy`).

- healthcheck: a string test is `["CMD-SHELL", s]` (never split); the first word of a list is
  `CMD`, `CMD-SHELL` or `NONE`; `disable: true` is `["NONE"]` (and with another test an error);
  `disable: false` alone is no healthcheck. A healthcheck without a test keeps the image's test
  with the timings given (D4). `start_interval` needs Engine API 1.44 and syncd speaks 1.41:
  a warning (the engine would drop it silently).
- depends_on: a list is `service_started` for each; the long form (`condition`, `restart`,
  `required`) is the model's long form when `restart` or `required` differ from the defaults.
- restart: `no`, `always`, `on-failure[:N]` (N: Docker's maximum retry count), `unless-stopped`.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from syncd.manifests.compose.context import Context, clip, kind_of
from syncd.manifests.model import DependsCondition, RestartPolicy
from syncd.manifests.options.lifecycle import MAX_HEALTH_RETRIES
from syncd.manifests.parse import suggest
from syncd.manifests.quantities import parse_duration
from syncd.manifests.yamlsafe import Path

_HEALTH_KEYS = (
    "test",
    "interval",
    "timeout",
    "start_period",
    "start_interval",
    "retries",
    "disable",
)
_DURATIONS = ("interval", "timeout", "start_period")
_CAMEL = {"interval": "interval", "timeout": "timeout", "start_period": "startPeriod"}
_TEST_WORDS = ("CMD", "CMD-SHELL", "NONE")
_DEPENDS_KEYS = frozenset({"condition", "required", "restart"})
MAX_RETRIES = MAX_HEALTH_RETRIES  # the model's bound


def _test(value: object, at: Path, ctx: Context) -> list[str] | None:
    if isinstance(value, str):
        return ["CMD-SHELL", value]
    if not isinstance(value, list) or not value:
        ctx.error(at, f"test is a string or a non-empty list, got {kind_of(value)}")
        return None
    words = [_word(v) for v in value]
    if any(w is None for w in words):
        ctx.error(at, "every word of a test is text")
        return None
    if words[0] not in _TEST_WORDS:
        ctx.error(
            (*at, 0), f"a test list starts with CMD, CMD-SHELL or NONE, not {clip(str(words[0]))!r}"
        )
        return None
    if (words[0] == "NONE") != (len(words) == 1):
        wrong = "['NONE'] takes no more words" if len(words) > 1 else f"{words[0]} needs a command"
        ctx.error(at, wrong)
        return None
    return [w for w in words if w is not None]


def _word(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    return str(value)


def read_healthcheck(value: object, at: Path, ctx: Context) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        ctx.error(at, f"healthcheck is a mapping, got {kind_of(value)}")
        return None
    for key in value:
        if key not in _HEALTH_KEYS and not key.startswith("x-"):
            ctx.error((*at, key), f"unknown key {key!r}{suggest(key, _HEALTH_KEYS)}", key=True)
            return None
    disable = value.get("disable", False)
    if not isinstance(disable, bool):
        ctx.error((*at, "disable"), f"expected true or false, got {kind_of(disable)}")
        return None
    test = _test(value["test"], (*at, "test"), ctx) if "test" in value else None
    if "test" in value and test is None:
        return None
    if disable:
        if test is not None and test != ["NONE"]:
            ctx.error((*at, "disable"), "disable: true with a test other than ['NONE']")
            return None
        return {"test": ["NONE"]}
    out: dict[str, Any] = {}
    for key in _DURATIONS:
        if key in value:
            text = value[key]
            if not isinstance(text, str):
                ctx.error((*at, key), f"a duration is text like '10s', got {kind_of(text)}")
                return None
            try:
                parse_duration(text)
            except ValueError as err:
                ctx.error((*at, key), str(err))
                return None
            out[_CAMEL[key]] = text
    if "retries" in value:
        retries = value["retries"]
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            ctx.error((*at, "retries"), "retries is a whole number, 0 or more")
            return None
        if retries > MAX_RETRIES:
            ctx.error((*at, "retries"), f"at most {MAX_RETRIES} retries")
            return None
        out["retries"] = retries
    if "start_interval" in value:
        ctx.warn(
            (*at, "start_interval"),
            "start_interval needs Docker Engine API 1.44; syncd speaks 1.41, so it is ignored",
        )
    if test is None:
        return out or None  # timings for the image's own test
    return {"test": test, **out}


def read_depends_on(
    value: object, at: Path, ctx: Context, services: Collection[str], deployed: Collection[str]
) -> dict[str, Any]:
    """`dependsOn` of the model: service -> condition, or the long form."""
    if isinstance(value, list):
        entries: dict[str, Any] = {}
        for index, item in enumerate(value):
            if not isinstance(item, str):
                ctx.error((*at, index), f"expected a service name, got {kind_of(item)}")
                continue
            entries[item] = {}
    elif isinstance(value, dict):
        entries = value
    else:
        ctx.error(at, f"depends_on is a list or a mapping, got {kind_of(value)}")
        return {}
    out: dict[str, Any] = {}
    for name, spec in entries.items():
        here = (*at, name) if isinstance(value, dict) else at
        if not isinstance(spec, dict):
            ctx.error(here, f"expected a mapping with 'condition', got {kind_of(spec)}")
            continue
        unknown = [k for k in spec if k not in _DEPENDS_KEYS]
        if unknown:
            ctx.error((*here, unknown[0]), f"unknown key {unknown[0]!r}", key=True)
            continue
        condition = spec.get("condition", DependsCondition.STARTED.value)
        if condition not in DependsCondition.__members__.values():
            choices = ", ".join(DependsCondition)
            ctx.error((*here, "condition"), f"{clip(str(condition))!r} is not one of {choices}")
            continue
        required = spec.get("required", True)
        restart = spec.get("restart", False)
        for key, flag in (("required", required), ("restart", restart)):
            if not isinstance(flag, bool):
                ctx.error((*here, key), f"expected true or false, got {kind_of(flag)}")
        if not isinstance(required, bool) or not isinstance(restart, bool):
            continue
        if name not in services:
            ctx.error(here, f"no service {clip(name)!r} in this file{suggest(name, services)}")
            continue
        if name not in deployed:
            if required is False:
                ctx.warn(here, f"{name} is not deployed (its profiles are off): not waited for")
            else:
                ctx.error(
                    here, f"{name} is not deployed (its profiles are off); set required: false"
                )
            continue
        if restart or not required:
            out[name] = {"condition": condition, "restart": restart, "required": required}
        else:
            out[name] = condition
    return out


def depends_origin(value: object, at: Path, name: str) -> Path:
    """Where the dependency on `name` was written."""
    if isinstance(value, list) and name in value:
        return (*at, value.index(name))
    return (*at, name)


def read_restart(value: object, at: Path, ctx: Context) -> str | None:
    if not isinstance(value, str):
        ctx.error(at, f"restart is text like 'unless-stopped', got {kind_of(value)}")
        return None
    name, sep, count = value.partition(":")
    if name not in RestartPolicy.__members__.values() or (sep and name != "on-failure"):
        ctx.error(at, f"{clip(value)!r} is not no, always, on-failure[:N] or unless-stopped")
        return None
    if sep:
        if not count.isascii() or not count.isdigit() or len(count) > 6:
            ctx.error(at, f"{clip(value)!r}: the retry count is a whole number")
            return None
        return f"{name}:{int(count)}" if int(count) else name
    return name
