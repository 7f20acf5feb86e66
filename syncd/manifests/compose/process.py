"""The process keys of a Compose service in Compose's meaning, as syncd's `Stack` model takes
them (`manifests.options.process`): user, working_dir, hostname, domainname, labels, init, tty,
stdin_open, stop_signal, stop_grace_period, extra_hosts, dns, dns_search, dns_opt, group_add,
platform, pull_policy, mac_address, label_file; `annotations` is refused (Engine API 1.43).

- numbers are text where Compose takes text (`user: 1000`, `group_add: [1001]`, label values);
- `labels` and `extra_hosts`: a map or a list (`K=V`; `host:ip` or `host=ip`); a host of the
  map form may list several addresses; `label_file`: files of the revision in the env file
  format (not interpolated from the operator's variables), `labels` winning over them;
- `dns`, `dns_search`, `dns_opt`: one string or a list;
- `stop_grace_period`: a duration; Docker counts whole seconds, so a fraction rounds up (a warning);
- `pull_policy`: `if_not_present` is `missing`; `daily`, `weekly`, `every_<duration>` are
  `missing` with a warning (syncd keeps no pull times: mapping D14); `build` is refused elsewhere.
Each value is checked with the model's own validators, at its place. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from syncd.manifests.compose.context import Context, Revision, clip, kind_of
from syncd.manifests.compose.envfile import parse_env_file
from syncd.manifests.fields import check_no_nul
from syncd.manifests.options.process import (
    AbsolutePath,
    Domain,
    ExtraHost,
    GracePeriod,
    HostName,
    IpAddress,
    LabelKey,
    MacAddress,
    Platform,
    PullPolicy,
    Signal,
    User,
    Word,
    grace_seconds,
)
from syncd.manifests.quantities import parse_duration
from syncd.manifests.yamlsafe import Path

# Compose key -> model field (camelCase), for origins and taint.
FIELDS = {
    "user": "user", "working_dir": "workingDir", "hostname": "hostname",
    "domainname": "domainname", "labels": "labels", "init": "init", "tty": "tty",
    "stdin_open": "stdinOpen", "stop_signal": "stopSignal",
    "stop_grace_period": "stopGracePeriod", "extra_hosts": "extraHosts", "dns": "dns",
    "dns_search": "dnsSearch", "dns_opt": "dnsOpt", "group_add": "groupAdd",
    "platform": "platform", "pull_policy": "pullPolicy", "mac_address": "macAddress",
}  # fmt: skip
_SCALARS: dict[str, TypeAdapter[str]] = {
    "user": TypeAdapter(User),
    "working_dir": TypeAdapter(AbsolutePath),
    "hostname": TypeAdapter(HostName),
    "domainname": TypeAdapter(HostName),
    "stop_signal": TypeAdapter(Signal),
    "platform": TypeAdapter(Platform),
    "mac_address": TypeAdapter(MacAddress),
}
_LISTS: dict[str, TypeAdapter[str]] = {
    "dns": TypeAdapter(IpAddress),
    "dns_search": TypeAdapter(Domain),
    "dns_opt": TypeAdapter(Word),
    "group_add": TypeAdapter(Word),
}
_FLAGS = ("init", "tty", "stdin_open")
_EXTRA_HOST = TypeAdapter(ExtraHost)
_LABEL_KEY = TypeAdapter(LabelKey)
_DURATION = TypeAdapter(GracePeriod)
_EVERY = re.compile(r"every_[0-9]+[a-z]+(?:[0-9]+[a-z]+)*", re.ASCII)
_PULL_ALIASES = {"if_not_present": PullPolicy.MISSING.value}


def _check(adapter: TypeAdapter[str], value: object, at: Path, ctx: Context) -> str | None:
    try:
        return adapter.validate_python(value)
    except ValidationError as err:
        ctx.error(at, err.errors(include_url=False)[0]["msg"])
        return None


def _text(value: object) -> str | None:
    """A scalar as Compose writes it into a string field (`true` -> "true")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    return None


def _scalar(key: str, value: object, at: Path, ctx: Context) -> str | None:
    if key in ("user", "stop_signal"):
        value = _text(value) if not isinstance(value, bool) else value
    if not isinstance(value, str):
        ctx.error(at, f"{key} is text, got {kind_of(value)}")
        return None
    return _check(_SCALARS[key], value, at, ctx)


def _list(key: str, value: object, at: Path, ctx: Context) -> list[str] | None:
    items = [(at, value)] if isinstance(value, str) else None
    if isinstance(value, list):
        items = [((*at, i), v) for i, v in enumerate(value)]
    if items is None:
        ctx.error(at, f"{key} is a string or a list, got {kind_of(value)}")
        return None
    out: list[str] = []
    for where, item in items:
        text = _text(item) if key == "group_add" else item
        if not isinstance(text, str):
            ctx.error(where, f"expected text, got {kind_of(item)}")
            return None
        checked = _check(_LISTS[key], text, where, ctx)
        if checked is None:
            return None
        out.append(checked)
    return out


def _labels(value: object, at: Path, ctx: Context) -> dict[str, str] | None:
    entries: list[tuple[Path, str, str | None]] = []
    if isinstance(value, dict):
        entries = [((*at, str(k)), str(k), "" if v is None else _text(v)) for k, v in value.items()]
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if not isinstance(item, str):
                ctx.error((*at, index), f"a label is 'name=value', got {kind_of(item)}")
                return None
            label, _sep, given = item.partition("=")
            entries.append(((*at, index), label, given))
    else:
        ctx.error(at, f"labels is a mapping or a list, got {kind_of(value)}")
        return None
    out: dict[str, str] = {}
    for where, name, text in entries:
        if text is None:
            ctx.error(where, "a label's value is text or a number")
            return None
        if _check(_LABEL_KEY, name, where, ctx) is None:
            return None
        try:
            check_no_nul(text)
        except ValueError as err:
            ctx.error(where, str(err))
            return None
        out[name] = text
    return dict(sorted(out.items()))


def _label_files(value: object, at: Path, ctx: Context, revision: Revision) -> dict[str, str]:
    """Labels from files in the revision (the env file format, without the operator's
    variables: a label file holds no secret); a later file wins."""
    items: list[tuple[Path, object]] = [(at, value)]
    if isinstance(value, list):
        items = [((*at, i), item) for i, item in enumerate(value)]
    out: dict[str, str] = {}
    for where, item in items:
        if not isinstance(item, str) or not item:
            ctx.error(where, f"a label file is a path, got {kind_of(item)}")
            continue
        rel = revision.resolve(item)
        data = revision.read(rel) if rel is not None else None
        if rel is None or data is None:
            where_to = "outside the repository" if rel is None else f"not in the revision ({rel})"
            ctx.error(where, f"label file {clip(item)!r} is {where_to}")
            continue
        parsed = parse_env_file(rel, data, {})
        for problem in parsed.problems:
            ctx.add(problem)
        for name, text in parsed.values.items():
            if _check(_LABEL_KEY, name, where, ctx) is not None:
                out[name] = text
    return out


def _extra_hosts(value: object, at: Path, ctx: Context) -> list[str] | None:
    entries: list[tuple[Path, object]] = []
    if isinstance(value, list):
        entries = [((*at, i), item) for i, item in enumerate(value)]
    elif isinstance(value, dict):
        for host, addresses in value.items():
            where = (*at, str(host))
            many = addresses if isinstance(addresses, list) else [addresses]
            for address in many:
                if not isinstance(address, str):
                    ctx.error(where, f"an address is text, got {kind_of(address)}")
                    return None
                entries.append((where, f"{host}:{address}"))
    else:
        ctx.error(at, f"extra_hosts is a list or a mapping, got {kind_of(value)}")
        return None
    out: list[str] = []
    for where, item in entries:
        if not isinstance(item, str):
            ctx.error(where, f"an entry is 'host:ip', got {kind_of(item)}")
            return None
        checked = _check(_EXTRA_HOST, item, where, ctx)
        if checked is None:
            return None
        out.append(checked)
    return out


def _grace(value: object, at: Path, ctx: Context) -> str | None:
    if not isinstance(value, str):
        ctx.error(at, f"stop_grace_period is a duration like '30s', got {kind_of(value)}")
        return None
    text = _check(_DURATION, value, at, ctx)
    if text is None:
        return None
    seconds = grace_seconds(text)
    if parse_duration(text) != seconds:
        ctx.warn(at, f"{clip(text)!r} is rounded up to {seconds} second(s): Docker counts seconds")
    return text


def _pull_policy(value: object, at: Path, ctx: Context) -> str | None:
    if not isinstance(value, str):
        ctx.error(at, f"pull_policy is text, got {kind_of(value)}")
        return None
    if value in PullPolicy.__members__.values():
        return value
    if value in _PULL_ALIASES:
        return _PULL_ALIASES[value]
    if value in ("daily", "weekly") or _EVERY.fullmatch(value):
        ctx.warn(at, f"pull_policy {value}: syncd keeps no pull times; read as 'missing'")
        return PullPolicy.MISSING.value
    ctx.error(
        at,
        f"{clip(value)!r} is not always, never, missing, if_not_present, daily, weekly "
        "or every_<duration>",
    )
    return None


def read_process(
    service: Mapping[str, Any],
    at: Path,
    ctx: Context,
    *,
    data: dict[str, Any],
    secrets: set[Path],
    origins: dict[Path, Path],
    revision: Revision,
) -> None:
    """Write the process keys of `service` (at `at`) into `data` as model fields; note where
    each came from (`origins`) and which took a secret (`secrets`)."""
    if "annotations" in service:
        ctx.error(
            (*at, "annotations"),
            "annotations need Docker Engine API 1.43 (Docker 24); this engine has API 1.41",
            key=True,
        )
    if "label_file" in service:
        here = (*at, "label_file")
        from_files = _label_files(service["label_file"], here, ctx, revision)
        own = _labels(service["labels"], (*at, "labels"), ctx) if "labels" in service else {}
        if own is not None:
            data["labels"] = dict(sorted({**from_files, **own}.items()))
            origins[("labels",)] = (*at, "labels") if "labels" in service else here
            if ctx.tainted((*at, "labels")):
                secrets.add(("labels",))
    for key, target in FIELDS.items():
        if key not in service or (key == "labels" and "label_file" in service):
            continue
        value, here = service[key], (*at, key)
        found: Any
        if key in _SCALARS:
            found = _scalar(key, value, here, ctx)
        elif key in _LISTS:
            found = _list(key, value, here, ctx)
        elif key in _FLAGS:
            found = value if isinstance(value, bool) else None
            if found is None:
                ctx.error(here, f"{key} is true or false, got {kind_of(value)}")
        elif key == "labels":
            found = _labels(value, here, ctx)
        elif key == "extra_hosts":
            found = _extra_hosts(value, here, ctx)
        elif key == "stop_grace_period":
            found = _grace(value, here, ctx)
        else:
            found = _pull_policy(value, here, ctx)
        if found is None:
            continue
        data[target] = found
        origins[(target,)] = here
        if ctx.tainted(here):
            secrets.add((target,))
